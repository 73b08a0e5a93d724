//! Matching: the vector index and the two ranked feeds built on it.
//!
//! Events only record what changed (profiles, jobs, swipes) and which candidates and jobs
//! need new scores; the work happens once per batch, in [`Projection::finish_batch`]: the
//! changed texts are embedded (through the embedding cache) and written to the vector
//! index, then each changed job is scored against the candidates the index finds near it,
//! and each changed candidate against the open jobs near them, never against everyone. The
//! index is written and flushed before the batch's transaction commits; its writes are
//! idempotent, so a batch retried after a crash leaves the same index.
//!
//! A candidate's feed keeps their best open jobs (at most [`MatchingConfig::feed_size`]), a
//! job's feed its best candidates; only scores of [`domain::matching::SHOWN_AT`] and above are kept. A pair
//! leaves the candidate's feed once the candidate swiped it or the employer passed, and the
//! job's feed once the employer swiped it or the candidate passed. A closed job leaves every
//! feed. A feed that swipes or closed jobs thin out below [`MatchingConfig::refill_below`] is
//! topped up from the index.
//!
//! The parts, each changed for its own reasons:
//! - `projector`: applying events and finishing a batch;
//! - `index`: what the vector index holds of a job or a candidate (payloads, points) and
//!   which neighbours a search may return (filters);
//! - `scoring`: loading the rows a batch needs, scoring pairs and placing them in feeds;
//! - [`feeds`]: the feed tables, written by `feeds::write` and read by the API.
//!
//! [`Projection::finish_batch`]: crate::Projection::finish_batch

pub mod feeds;
mod index;
mod projector;
mod scoring;
#[cfg(test)]
mod scratch;

pub use projector::MatchingProjector;
pub use scoring::Rescored;

/// How far the incremental scoring reaches and how long feeds are.
#[derive(Debug, Clone, Copy)]
pub struct MatchingConfig {
    /// How many nearest neighbours a changed job or candidate is scored against.
    pub neighbours: usize,
    /// Most jobs in a candidate's feed, and most candidates in a job's.
    pub feed_size: usize,
    /// A feed left with fewer entries after a swipe is scored again.
    pub refill_below: usize,
}

impl Default for MatchingConfig {
    fn default() -> Self {
        Self {
            neighbours: 500,
            feed_size: 100,
            refill_below: 50,
        }
    }
}
