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

pub mod feeds;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use commands::embeddings::Embedder;
use cqrs_es::Aggregate;
use domain::candidate::{Candidate, CandidateEvent, CandidateProfile};
use domain::employer::{Employer, EmployerEvent, EmployerProfile};
use domain::job::{Job, JobDetails, JobEvent};
use domain::matching::{self, CandidateSide, JobSide, Score};
use domain::pairing::{Decision, Pairing, PairingEvent};
use domain::profile::WorkArrangement;
use domain::published::PublishedEvent;
use serde_json::{json, Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::vectors::{place_tokens, Collection, Condition, Filter, Point, VectorIndex};
use crate::{Error, Projection};

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

/// Builds the vector index and the feeds from the candidate, employer, job and pairing
/// topics.
#[derive(Debug)]
pub struct MatchingProjector {
    index: Arc<dyn VectorIndex>,
    embedder: Arc<dyn Embedder>,
    config: MatchingConfig,
    /// What the batch in progress changed.
    pending: Mutex<Pending>,
    /// What the last batch's scoring did.
    last: Mutex<Rescored>,
    /// Points written since the index was last optimised, and whether it is being now.
    written: AtomicUsize,
    optimizing: Arc<AtomicBool>,
}

/// The index is optimised in the background after this many points were written.
const OPTIMIZE_EVERY: usize = 10_000;

#[derive(Debug, Default)]
struct Pending {
    /// Changed: embedded, indexed and scored again from scratch.
    candidates: BTreeSet<Uuid>,
    jobs: BTreeSet<Uuid>,
    /// Thinned by swipes or closed jobs: their own feed is topped up from the index.
    refill_candidates: BTreeSet<Uuid>,
    refill_jobs: BTreeSet<Uuid>,
}

/// What one batch's scoring did, for logs and the benchmark.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rescored {
    pub candidates: usize,
    pub jobs: usize,
    /// Points written to the index.
    pub indexed: usize,
    pub pairs_scored: usize,
}

impl MatchingProjector {
    pub fn new(
        index: Arc<dyn VectorIndex>,
        embedder: Arc<dyn Embedder>,
        config: MatchingConfig,
    ) -> Self {
        Self {
            index,
            embedder,
            config,
            pending: Mutex::new(Pending::default()),
            last: Mutex::new(Rescored::default()),
            written: AtomicUsize::new(0),
            optimizing: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Starts optimising the index in the background once enough points were written since
    /// the last time (and it is not running already).
    fn maybe_optimize(&self, points: usize) {
        let written = self.written.fetch_add(points, Ordering::Relaxed) + points;
        if written < OPTIMIZE_EVERY || self.optimizing.swap(true, Ordering::AcqRel) {
            return;
        }
        self.written.store(0, Ordering::Relaxed);
        let (index, optimizing) = (Arc::clone(&self.index), Arc::clone(&self.optimizing));
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            match index.optimize().await {
                Ok(()) => tracing::info!(elapsed = ?started.elapsed(), "vector index optimised"),
                Err(error) => tracing::warn!(%error, "vector index optimisation failed"),
            }
            optimizing.store(false, Ordering::Release);
        });
    }

    /// What the last batch's scoring did.
    pub fn last_rescored(&self) -> Rescored {
        *self.last.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn mark(&self, mark: impl FnOnce(&mut Pending)) {
        mark(&mut self.pending.lock().unwrap_or_else(|e| e.into_inner()));
    }

    async fn apply_candidate(
        &self,
        tx: &mut PgConnection,
        event: CandidateEvent,
    ) -> Result<(), Error> {
        let candidate_id = match event {
            CandidateEvent::CandidateRegistered { .. } => return Ok(()),
            CandidateEvent::CandidateProfileUpdated {
                candidate_id,
                profile,
            } => {
                sqlx::query(
                    "INSERT INTO matching_candidate (candidate_id, profile) VALUES ($1, $2)
                     ON CONFLICT (candidate_id) DO UPDATE SET profile = EXCLUDED.profile",
                )
                .bind(candidate_id)
                .bind(sqlx::types::Json(&profile))
                .execute(&mut *tx)
                .await?;
                candidate_id
            }
            CandidateEvent::CandidateValidated {
                candidate_id,
                score,
            } => {
                sqlx::query(
                    "INSERT INTO matching_candidate (candidate_id, validation) VALUES ($1, $2)
                     ON CONFLICT (candidate_id) DO UPDATE SET validation = EXCLUDED.validation",
                )
                .bind(candidate_id)
                .bind(score)
                .execute(&mut *tx)
                .await?;
                candidate_id
            }
        };
        self.mark(|p| {
            p.candidates.insert(candidate_id);
        });
        Ok(())
    }

    async fn apply_employer(
        &self,
        tx: &mut PgConnection,
        event: EmployerEvent,
    ) -> Result<(), Error> {
        let EmployerEvent::EmployerProfileUpdated {
            employer_id,
            profile,
        } = event
        else {
            return Ok(());
        };
        sqlx::query(
            "INSERT INTO matching_employer (employer_id, profile) VALUES ($1, $2)
             ON CONFLICT (employer_id) DO UPDATE SET profile = EXCLUDED.profile",
        )
        .bind(employer_id)
        .bind(sqlx::types::Json(&profile))
        .execute(&mut *tx)
        .await?;
        // Culture fit changed for every open job of the employer.
        let jobs: Vec<Uuid> =
            sqlx::query_scalar("SELECT job_id FROM matching_job WHERE employer_id = $1 AND open")
                .bind(employer_id)
                .fetch_all(&mut *tx)
                .await?;
        self.mark(|p| p.jobs.extend(jobs));
        Ok(())
    }

    async fn apply_job(&self, tx: &mut PgConnection, event: JobEvent) -> Result<(), Error> {
        let job_id = match event {
            JobEvent::JobPosted {
                job_id,
                employer_id,
                details,
            }
            | JobEvent::JobUpdated {
                job_id,
                employer_id,
                details,
            } => {
                sqlx::query(
                    "INSERT INTO matching_job (job_id, employer_id, details, open)
                     VALUES ($1, $2, $3, true)
                     ON CONFLICT (job_id) DO UPDATE SET details = EXCLUDED.details",
                )
                .bind(job_id)
                .bind(employer_id)
                .bind(sqlx::types::Json(&details))
                .execute(&mut *tx)
                .await?;
                job_id
            }
            JobEvent::JobClosed { job_id, .. } => {
                sqlx::query("UPDATE matching_job SET open = false WHERE job_id = $1")
                    .bind(job_id)
                    .execute(&mut *tx)
                    .await?;
                job_id
            }
        };
        self.mark(|p| {
            p.jobs.insert(job_id);
        });
        Ok(())
    }

    async fn apply_pairing(&self, tx: &mut PgConnection, event: PairingEvent) -> Result<(), Error> {
        let (candidate_id, job_id, by_candidate, decision) = match event {
            PairingEvent::CandidateSwiped {
                candidate_id,
                job_id,
                decision,
                ..
            } => (candidate_id, job_id, true, decision),
            PairingEvent::EmployerSwiped {
                candidate_id,
                job_id,
                decision,
                ..
            } => (candidate_id, job_id, false, decision),
            PairingEvent::Matched { .. } => return Ok(()),
        };
        let column = if by_candidate {
            "candidate_decision"
        } else {
            "employer_decision"
        };
        let decision = match decision {
            Decision::Like => "like",
            Decision::Pass => "pass",
        };
        sqlx::query(&format!(
            "INSERT INTO matching_swipe (candidate_id, job_id, {column}) VALUES ($1, $2, $3)
             ON CONFLICT (candidate_id, job_id) DO UPDATE SET {column} = EXCLUDED.{column}"
        ))
        .bind(candidate_id)
        .bind(job_id)
        .bind(decision)
        .execute(&mut *tx)
        .await?;
        // The swiper's own feed loses the pair; a pass takes it out of the other's too.
        let passed = decision == "pass";
        if by_candidate || passed {
            sqlx::query("DELETE FROM candidate_feed WHERE candidate_id = $1 AND job_id = $2")
                .bind(candidate_id)
                .bind(job_id)
                .execute(&mut *tx)
                .await?;
        }
        if !by_candidate || passed {
            sqlx::query("DELETE FROM job_feed WHERE job_id = $1 AND candidate_id = $2")
                .bind(job_id)
                .bind(candidate_id)
                .execute(&mut *tx)
                .await?;
        }
        if by_candidate || passed {
            let thinned = self.thin(tx, Feed::Candidate, &[candidate_id]).await?;
            self.mark(|p| p.refill_candidates.extend(thinned));
        }
        if !by_candidate || passed {
            let thinned = self.thin(tx, Feed::Job, &[job_id]).await?;
            self.mark(|p| p.refill_jobs.extend(thinned));
        }
        Ok(())
    }

    /// The owners whose feed holds fewer entries than the refill mark.
    async fn thin(
        &self,
        tx: &mut PgConnection,
        feed: Feed,
        owners: &[Uuid],
    ) -> Result<Vec<Uuid>, Error> {
        if owners.is_empty() {
            return Ok(Vec::new());
        }
        let (table, owner_column, _) = feed.columns();
        Ok(sqlx::query_scalar(&format!(
            "SELECT owner FROM (SELECT DISTINCT unnest($1::uuid[]) AS owner) AS owners
             WHERE (SELECT count(*) FROM {table} WHERE {owner_column} = owner) < $2"
        ))
        .bind(owners)
        .bind(self.config.refill_below as i64)
        .fetch_all(&mut *tx)
        .await?)
    }

    /// Embeds and indexes what the batch changed, then scores it against its neighbours.
    pub async fn rescore(&self, tx: &mut PgConnection) -> Result<Rescored, Error> {
        let mut pending =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if pending.jobs.is_empty()
            && pending.candidates.is_empty()
            && pending.refill_jobs.is_empty()
            && pending.refill_candidates.is_empty()
        {
            return Ok(Rescored::default());
        }
        let job_ids: Vec<Uuid> = pending.jobs.iter().copied().collect();
        let candidate_ids: Vec<Uuid> = pending.candidates.iter().copied().collect();

        let jobs = load_jobs(tx, &job_ids).await?;
        let (open, closed): (Vec<&JobRow>, Vec<&JobRow>) = jobs.iter().partition(|j| j.open);
        let closed_ids: Vec<Uuid> = closed.iter().map(|j| j.job_id).collect();
        self.index
            .delete(Collection::Jobs, closed_ids.clone())
            .await?;
        let left = take_out(tx, Feed::Job, &closed_ids, &[]).await?;
        // Feeds a closed job leaves thin are topped up like those thinned by swipes.
        let thinned = self.thin(tx, Feed::Candidate, &left).await?;
        pending.refill_candidates.extend(thinned);

        // Those scored again anyway need no refill.
        let refill_jobs: Vec<Uuid> = pending
            .refill_jobs
            .difference(&pending.jobs)
            .copied()
            .collect();
        let refill_candidates: Vec<Uuid> = pending
            .refill_candidates
            .difference(&pending.candidates)
            .copied()
            .collect();

        let job_vectors = self
            .index_points(
                Collection::Jobs,
                open.iter()
                    .map(|j| {
                        let payload = job_payload(j.employer_id, &j.details);
                        (j.job_id, matching::job_text(&j.details), payload)
                    })
                    .collect(),
            )
            .await?;
        let candidates = load_candidates(tx, &candidate_ids).await?;
        let candidate_vectors = self
            .index_points(
                Collection::Candidates,
                candidates
                    .values()
                    .map(|c| {
                        let payload = candidate_payload(&c.profile);
                        (
                            c.candidate_id,
                            matching::candidate_text(&c.profile),
                            payload,
                        )
                    })
                    .collect(),
            )
            .await?;
        self.index.flush().await?;

        let open: Vec<(&JobRow, &Vec<f32>)> = open.into_iter().zip(&job_vectors).collect();
        let candidates: Vec<(&CandidateRow, &Vec<f32>)> =
            candidates.values().zip(&candidate_vectors).collect();
        let mut touched = Touched::default();
        let mut pairs_scored = self
            .rescore_jobs(tx, &open, Scope::Change, &mut touched)
            .await?;
        let rescored_jobs: Vec<Uuid> = open.iter().map(|(j, _)| j.job_id).collect();
        pairs_scored += self
            .rescore_candidates(tx, &candidates, &rescored_jobs, Scope::Change, &mut touched)
            .await?;

        // Refills: the vectors are in the index (and the embedding cache) already.
        let thin_jobs: Vec<JobRow> = load_jobs(tx, &refill_jobs)
            .await?
            .into_iter()
            .filter(|j| j.open)
            .collect();
        let texts: Vec<String> = thin_jobs
            .iter()
            .map(|j| matching::job_text(&j.details))
            .collect();
        let vectors = self.embedder.embed(&texts).await?;
        let thin_jobs: Vec<(&JobRow, &Vec<f32>)> = thin_jobs.iter().zip(&vectors).collect();
        pairs_scored += self
            .rescore_jobs(tx, &thin_jobs, Scope::Refill, &mut touched)
            .await?;
        let thin_candidates = load_candidates(tx, &refill_candidates).await?;
        let texts: Vec<String> = thin_candidates
            .values()
            .map(|c| matching::candidate_text(&c.profile))
            .collect();
        let vectors = self.embedder.embed(&texts).await?;
        let thin_candidates: Vec<(&CandidateRow, &Vec<f32>)> =
            thin_candidates.values().zip(&vectors).collect();
        pairs_scored += self
            .rescore_candidates(tx, &thin_candidates, &[], Scope::Refill, &mut touched)
            .await?;

        prune(
            tx,
            Feed::Candidate,
            &touched.candidates,
            self.config.feed_size,
        )
        .await?;
        prune(tx, Feed::Job, &touched.jobs, self.config.feed_size).await?;
        Ok(Rescored {
            candidates: candidates.len() + thin_candidates.len(),
            jobs: open.len() + thin_jobs.len(),
            indexed: candidates.len() + open.len(),
            pairs_scored,
        })
    }

    /// Embeds each entity's text (through the cache) and writes it to the index with its
    /// payload; returns the vectors, in order.
    async fn index_points(
        &self,
        collection: Collection,
        entities: Vec<(Uuid, String, Map<String, Value>)>,
    ) -> Result<Vec<Vec<f32>>, Error> {
        let texts: Vec<String> = entities.iter().map(|(_, text, _)| text.clone()).collect();
        let vectors = self.embedder.embed(&texts).await?;
        let points = entities
            .into_iter()
            .zip(&vectors)
            .map(|((id, _, payload), vector)| Point {
                id,
                vector: vector.clone(),
                payload,
            })
            .collect();
        self.index.upsert(collection, points).await?;
        Ok(vectors)
    }

    /// Scores each job against the candidates nearest it. For a change, rewrites its entries
    /// in every feed; for a refill, only tops up its own feed with candidates not decided
    /// on yet. Returns the pairs scored.
    async fn rescore_jobs(
        &self,
        tx: &mut PgConnection,
        jobs: &[(&JobRow, &Vec<f32>)],
        scope: Scope,
        touched: &mut Touched,
    ) -> Result<usize, Error> {
        if jobs.is_empty() {
            return Ok(0);
        }
        let job_ids: Vec<Uuid> = jobs.iter().map(|(j, _)| j.job_id).collect();
        let swipes = load_swipes(tx, "job_id", &job_ids).await?;
        let mut hits = Vec::with_capacity(jobs.len());
        for (job, vector) in jobs {
            let mut filter = candidates_for(&job.details);
            if scope == Scope::Refill {
                filter.exclude = swipes
                    .iter()
                    .filter(|s| s.job_id == job.job_id && !s.in_job_feed())
                    .map(|s| s.candidate_id)
                    .collect();
            }
            hits.push(
                self.index
                    .search(
                        Collection::Candidates,
                        vector,
                        &filter,
                        self.config.neighbours,
                    )
                    .await?,
            );
        }
        let candidate_ids: Vec<Uuid> = hits.iter().flatten().map(|h| h.id).collect();
        let candidates = load_candidates(tx, &candidate_ids).await?;
        let employer_ids: Vec<Uuid> = jobs.iter().map(|(j, _)| j.employer_id).collect();
        let employers = load_employers(tx, &employer_ids).await?;
        let mut entries = Vec::new();
        for ((job, _), hits) in jobs.iter().zip(&hits) {
            let side = JobSide {
                details: &job.details,
                employer: employers.get(&job.employer_id),
            };
            entries.extend(hits.iter().filter_map(|hit| {
                entry(candidates.get(&hit.id)?, job.job_id, side, hit.similarity)
            }));
        }
        if scope == Scope::Change {
            take_out(tx, Feed::Job, &job_ids, &[]).await?;
        }
        self.place(tx, entries, &swipes, scope, Feed::Job, touched)
            .await?;
        // Every neighbour found is a pair scored (or ruled out by a hard filter).
        Ok(hits.iter().map(Vec::len).sum())
    }

    /// Scores each candidate against the open jobs nearest them. For a change, rewrites
    /// their entries in every feed, but for pairs with a job in `rescored_jobs` (just scored
    /// from the job's side, with the same result); for a refill, only tops up their own feed
    /// with jobs they have not decided on. Returns the pairs scored.
    async fn rescore_candidates(
        &self,
        tx: &mut PgConnection,
        candidates: &[(&CandidateRow, &Vec<f32>)],
        rescored_jobs: &[Uuid],
        scope: Scope,
        touched: &mut Touched,
    ) -> Result<usize, Error> {
        if candidates.is_empty() {
            return Ok(0);
        }
        let candidate_ids: Vec<Uuid> = candidates.iter().map(|(c, _)| c.candidate_id).collect();
        let swipes = load_swipes(tx, "candidate_id", &candidate_ids).await?;
        let mut hits = Vec::with_capacity(candidates.len());
        for (candidate, vector) in candidates {
            // A change leaves out pairs in neither feed (a liked pair stays in one); a
            // refill, every pair not in the candidate's feed.
            let mut filter = jobs_for(&candidate.profile);
            filter.exclude = swipes
                .iter()
                .filter(|s| {
                    s.candidate_id == candidate.candidate_id
                        && match scope {
                            Scope::Change => !s.in_candidate_feed() && !s.in_job_feed(),
                            Scope::Refill => !s.in_candidate_feed(),
                        }
                })
                .map(|s| s.job_id)
                .collect();
            hits.push(
                self.index
                    .search(Collection::Jobs, vector, &filter, self.config.neighbours)
                    .await?,
            );
        }
        let job_ids: Vec<Uuid> = hits.iter().flatten().map(|h| h.id).collect();
        let jobs: HashMap<Uuid, JobRow> = load_jobs(tx, &job_ids)
            .await?
            .into_iter()
            .filter(|j| j.open)
            .map(|j| (j.job_id, j))
            .collect();
        let employer_ids: Vec<Uuid> = jobs.values().map(|j| j.employer_id).collect();
        let employers = load_employers(tx, &employer_ids).await?;
        let mut entries = Vec::new();
        for ((candidate, _), hits) in candidates.iter().zip(&hits) {
            entries.extend(hits.iter().filter_map(|hit| {
                let job = jobs.get(&hit.id)?;
                let side = JobSide {
                    details: &job.details,
                    employer: employers.get(&job.employer_id),
                };
                entry(candidate, job.job_id, side, hit.similarity)
            }));
        }
        if scope == Scope::Change {
            take_out(tx, Feed::Candidate, &candidate_ids, rescored_jobs).await?;
        }
        self.place(tx, entries, &swipes, scope, Feed::Candidate, touched)
            .await?;
        // Every neighbour found is a pair scored (or ruled out by a hard filter).
        Ok(hits.iter().map(Vec::len).sum())
    }

    /// Puts scored entries into the feeds, minus what swipes took out: for a change (whose
    /// stale entries the caller deleted) into both, for a refill only into the `own` feed.
    async fn place(
        &self,
        tx: &mut PgConnection,
        entries: Vec<Entry>,
        swipes: &[SwipeRow],
        scope: Scope,
        own: Feed,
        touched: &mut Touched,
    ) -> Result<(), Error> {
        let (for_candidates, for_jobs) = split_by_swipes(entries, swipes);
        let size = self.config.feed_size;
        let both = scope == Scope::Change;
        if both || matches!(own, Feed::Candidate) {
            let gained = add(tx, Feed::Candidate, for_candidates, size).await?;
            touched.candidates.extend(gained);
        }
        if both || matches!(own, Feed::Job) {
            touched
                .jobs
                .extend(add(tx, Feed::Job, for_jobs, size).await?);
        }
        Ok(())
    }
}

/// Why an entity is scored again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// It changed: its entries everywhere are stale.
    Change,
    /// Swipes or closed jobs thinned its own feed: top it up.
    Refill,
}

/// Owners of feeds that gained entries, to be cut back to size at the end of the batch.
#[derive(Debug, Default)]
struct Touched {
    candidates: Vec<Uuid>,
    jobs: Vec<Uuid>,
}

impl Projection for MatchingProjector {
    const NAME: &'static str = "matching";
    const AGGREGATE_TYPES: &'static [&'static str] =
        &[Candidate::TYPE, Employer::TYPE, Job::TYPE, Pairing::TYPE];

    async fn apply(&self, tx: &mut PgConnection, event: &PublishedEvent) -> Result<(), Error> {
        let payload = |e| Error::payload(event, e);
        match event.aggregate_type.as_str() {
            Candidate::TYPE => {
                self.apply_candidate(tx, event.decode().map_err(payload)?)
                    .await
            }
            Employer::TYPE => {
                self.apply_employer(tx, event.decode().map_err(payload)?)
                    .await
            }
            Job::TYPE => self.apply_job(tx, event.decode().map_err(payload)?).await,
            Pairing::TYPE => {
                self.apply_pairing(tx, event.decode().map_err(payload)?)
                    .await
            }
            _ => Ok(()),
        }
    }

    async fn finish_batch(&self, tx: &mut PgConnection) -> Result<(), Error> {
        let rescored = self.rescore(tx).await?;
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = rescored;
        self.maybe_optimize(rescored.indexed);
        if rescored != Rescored::default() {
            tracing::debug!(?rescored, "feeds rescored");
        }
        Ok(())
    }

    async fn reset(&self, tx: &mut PgConnection) -> Result<(), Error> {
        *self.pending.lock().unwrap_or_else(|e| e.into_inner()) = Pending::default();
        sqlx::query(
            "TRUNCATE matching_candidate, matching_employer, matching_job, matching_swipe,
                      candidate_feed, job_feed",
        )
        .execute(&mut *tx)
        .await?;
        self.index.clear().await?;
        Ok(())
    }
}

/// The payload a job is filtered on.
fn job_payload(employer_id: Uuid, job: &JobDetails) -> Map<String, Value> {
    let mut payload = json!({
        "employer_id": employer_id.to_string(),
        "remote": job.remote.as_str(),
        "locations": place_tokens(&job.locations),
        "skills": job.skills.iter().map(|s| s.name.to_lowercase()).collect::<Vec<_>>(),
        "min_years": job.min_years,
    });
    if let Some(salary) = &job.salary {
        payload["salary_min"] = json!(salary.min);
        payload["salary_max"] = json!(salary.max);
        payload["currency"] = json!(salary.currency);
    }
    match payload {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

/// The payload a candidate is filtered on.
fn candidate_payload(profile: &CandidateProfile) -> Map<String, Value> {
    match json!({
        "remote": profile.remote.as_str(),
        "locations": place_tokens(&profile.locations),
        "years": profile.years_experience,
    }) {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

/// Candidates a job can match: experienced enough and, for work on site, in one of its
/// places. The match score's hard filters have the last word.
fn candidates_for(job: &JobDetails) -> Filter {
    let mut filter = Filter::default();
    if job.min_years > 0 {
        filter.must.push(Condition::Range {
            field: "years",
            gte: Some(f64::from(job.min_years)),
            lte: None,
        });
    }
    if job.remote != WorkArrangement::Remote && !job.locations.is_empty() {
        filter.must.push(Condition::Keyword {
            field: "locations",
            any_of: place_tokens(&job.locations),
        });
    }
    filter
}

/// Jobs a candidate can match: remote, or in (or not tied to) one of their places.
fn jobs_for(profile: &CandidateProfile) -> Filter {
    let mut places = place_tokens(&profile.locations);
    if !places.iter().any(|p| p == crate::vectors::ANYWHERE) {
        places.push(crate::vectors::ANYWHERE.to_owned());
    }
    Filter {
        should: vec![
            Condition::Keyword {
                field: "remote",
                any_of: vec![WorkArrangement::Remote.as_str().to_owned()],
            },
            Condition::Keyword {
                field: "locations",
                any_of: places,
            },
        ],
        ..Filter::default()
    }
}

#[derive(Debug)]
struct JobRow {
    job_id: Uuid,
    employer_id: Uuid,
    details: JobDetails,
    open: bool,
}

#[derive(Debug)]
struct CandidateRow {
    candidate_id: Uuid,
    profile: CandidateProfile,
    validation: Option<i32>,
}

#[derive(Debug)]
struct SwipeRow {
    candidate_id: Uuid,
    job_id: Uuid,
    candidate_decision: Option<String>,
    employer_decision: Option<String>,
}

async fn load_jobs(tx: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<JobRow>, Error> {
    let rows: Vec<(Uuid, Uuid, sqlx::types::Json<JobDetails>, bool)> = sqlx::query_as(
        "SELECT job_id, employer_id, details, open FROM matching_job
          WHERE job_id = ANY($1) ORDER BY job_id",
    )
    .bind(ids)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(job_id, employer_id, details, open)| JobRow {
            job_id,
            employer_id,
            details: details.0,
            open,
        })
        .collect())
}

/// Candidates with a profile, by id (ordered, so that a batch is processed the same way on
/// every run).
async fn load_candidates(
    tx: &mut PgConnection,
    ids: &[Uuid],
) -> Result<std::collections::BTreeMap<Uuid, CandidateRow>, Error> {
    let rows: Vec<(Uuid, sqlx::types::Json<CandidateProfile>, Option<i32>)> = sqlx::query_as(
        "SELECT candidate_id, profile, validation FROM matching_candidate
          WHERE candidate_id = ANY($1) AND profile IS NOT NULL",
    )
    .bind(ids)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(candidate_id, profile, validation)| {
            (
                candidate_id,
                CandidateRow {
                    candidate_id,
                    profile: profile.0,
                    validation,
                },
            )
        })
        .collect())
}

async fn load_employers(
    tx: &mut PgConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, EmployerProfile>, Error> {
    let rows: Vec<(Uuid, sqlx::types::Json<EmployerProfile>)> = sqlx::query_as(
        "SELECT employer_id, profile FROM matching_employer WHERE employer_id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows.into_iter().map(|(id, p)| (id, p.0)).collect())
}

/// The swipes of the given candidates or jobs (`column` says which).
async fn load_swipes(
    tx: &mut PgConnection,
    column: &str,
    ids: &[Uuid],
) -> Result<Vec<SwipeRow>, Error> {
    let rows: Vec<(Uuid, Uuid, Option<String>, Option<String>)> = sqlx::query_as(&format!(
        "SELECT candidate_id, job_id, candidate_decision, employer_decision FROM matching_swipe
          WHERE {column} = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(candidate_id, job_id, candidate_decision, employer_decision)| SwipeRow {
                candidate_id,
                job_id,
                candidate_decision,
                employer_decision,
            },
        )
        .collect())
}

/// One scored pair, shown in feeds.
#[derive(Debug, Clone)]
struct Entry {
    candidate_id: Uuid,
    job_id: Uuid,
    score: Score,
    similarity: f32,
}

/// The pair's entry when it passes the hard filters and scores high enough to be shown.
fn entry(
    candidate: &CandidateRow,
    job_id: Uuid,
    job: JobSide<'_>,
    similarity: f32,
) -> Option<Entry> {
    // Rounded, so that both directions of a search give a pair the same score.
    let similarity = (similarity * 10_000.0).round() / 10_000.0;
    let side = CandidateSide {
        profile: &candidate.profile,
        validation: candidate.validation,
    };
    let score = matching::score(side, job, similarity).ok()?;
    score.shown().then_some(Entry {
        candidate_id: candidate.candidate_id,
        job_id,
        score,
        similarity,
    })
}

impl SwipeRow {
    /// The candidate has not swiped the job, and the employer has not passed on them.
    fn in_candidate_feed(&self) -> bool {
        self.candidate_decision.is_none() && self.employer_decision.as_deref() != Some("pass")
    }

    /// The employer has not swiped the candidate, and the candidate has not passed.
    fn in_job_feed(&self) -> bool {
        self.employer_decision.is_none() && self.candidate_decision.as_deref() != Some("pass")
    }
}

/// The entries for candidates' feeds and for jobs' feeds, leaving out what swipes took out.
fn split_by_swipes(entries: Vec<Entry>, swipes: &[SwipeRow]) -> (Vec<Entry>, Vec<Entry>) {
    let decided: HashMap<(Uuid, Uuid), &SwipeRow> = swipes
        .iter()
        .map(|s| ((s.candidate_id, s.job_id), s))
        .collect();
    let mut for_candidates = Vec::new();
    let mut for_jobs = Vec::new();
    for entry in entries {
        let swipe = decided.get(&(entry.candidate_id, entry.job_id));
        if swipe.is_none_or(|s| s.in_candidate_feed()) {
            for_candidates.push(entry.clone());
        }
        if swipe.is_none_or(|s| s.in_job_feed()) {
            for_jobs.push(entry);
        }
    }
    (for_candidates, for_jobs)
}

#[derive(Debug, Clone, Copy)]
enum Feed {
    Candidate,
    Job,
}

impl Feed {
    /// The table, its owner's column and the other side's.
    fn columns(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Feed::Candidate => ("candidate_feed", "candidate_id", "job_id"),
            Feed::Job => ("job_feed", "job_id", "candidate_id"),
        }
    }
}

impl Entry {
    fn owner(&self, feed: Feed) -> Uuid {
        match feed {
            Feed::Candidate => self.candidate_id,
            Feed::Job => self.job_id,
        }
    }

    fn other(&self, feed: Feed) -> Uuid {
        match feed {
            Feed::Candidate => self.job_id,
            Feed::Job => self.candidate_id,
        }
    }
}

/// Adds the entries that can make their owner's feed (at most `size` per owner, none that
/// ranks below a full feed's last entry) and returns the owners that gained any.
async fn add(
    tx: &mut PgConnection,
    feed: Feed,
    mut entries: Vec<Entry>,
    size: usize,
) -> Result<Vec<Uuid>, Error> {
    // Feed order: score, then similarity, then the other side's id.
    entries.sort_by(|a, b| {
        a.owner(feed)
            .cmp(&b.owner(feed))
            .then(b.score.total.cmp(&a.score.total))
            .then(b.similarity.total_cmp(&a.similarity))
            .then(a.other(feed).cmp(&b.other(feed)))
    });
    let mut kept: Vec<Entry> = Vec::with_capacity(entries.len());
    let mut run = 0;
    for entry in entries {
        match kept.last() {
            Some(last) if last.owner(feed) == entry.owner(feed) => run += 1,
            _ => run = 1,
        }
        if run <= size {
            kept.push(entry);
        }
    }
    let mut owners: Vec<Uuid> = kept.iter().map(|e| e.owner(feed)).collect();
    owners.dedup();
    let (table, owner, other) = feed.columns();
    let floors: Vec<(Uuid, i16, f32)> = sqlx::query_as(&format!(
        "SELECT o.id, last.score, last.similarity
           FROM UNNEST($1::uuid[]) AS o(id),
                LATERAL (SELECT score, similarity FROM {table}
                          WHERE {owner} = o.id
                          ORDER BY score DESC, similarity DESC, {other}
                         OFFSET $2 LIMIT 1) last"
    ))
    .bind(&owners)
    .bind(size as i64 - 1)
    .fetch_all(&mut *tx)
    .await?;
    let floors: HashMap<Uuid, (i16, f32)> = floors
        .into_iter()
        .map(|(id, score, similarity)| (id, (score, similarity)))
        .collect();
    kept.retain(|e| {
        floors
            .get(&e.owner(feed))
            .is_none_or(|&(score, similarity)| {
                (i16::from(e.score.total), e.similarity) >= (score, similarity)
            })
    });
    insert(tx, feed, &kept).await?;
    let mut gained: Vec<Uuid> = kept.iter().map(|e| e.owner(feed)).collect();
    gained.dedup();
    Ok(gained)
}

async fn insert(tx: &mut PgConnection, feed: Feed, entries: &[Entry]) -> Result<(), Error> {
    if entries.is_empty() {
        return Ok(());
    }
    let (table, owner, other) = feed.columns();
    let mut seen = HashSet::new();
    let entries: Vec<&Entry> = entries
        .iter()
        .filter(|e| seen.insert((e.candidate_id, e.job_id)))
        .collect();
    let candidates: Vec<Uuid> = entries.iter().map(|e| e.candidate_id).collect();
    let jobs: Vec<Uuid> = entries.iter().map(|e| e.job_id).collect();
    let scores: Vec<i16> = entries.iter().map(|e| i16::from(e.score.total)).collect();
    let factors: Vec<Value> = entries
        .iter()
        .map(|e| feeds::factors_json(&e.score.factors))
        .collect();
    let similarities: Vec<f32> = entries.iter().map(|e| e.similarity).collect();
    sqlx::query(&format!(
        "INSERT INTO {table} (candidate_id, job_id, score, factors, similarity)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::int2[], $4::jsonb[], $5::real[])
         ON CONFLICT ({owner}, {other}) DO UPDATE
            SET score = EXCLUDED.score, factors = EXCLUDED.factors,
                similarity = EXCLUDED.similarity"
    ))
    .bind(&candidates)
    .bind(&jobs)
    .bind(&scores)
    .bind(&factors)
    .bind(&similarities)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Takes every entry of the given jobs (`Feed::Job`) or candidates (`Feed::Candidate`) out
/// of both feeds, but pairs with a job in `keep_jobs`; returns the candidates whose feed lost
/// any.
async fn take_out(
    tx: &mut PgConnection,
    of: Feed,
    ids: &[Uuid],
    keep_jobs: &[Uuid],
) -> Result<Vec<Uuid>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let (_, column, _) = of.columns();
    let lost = sqlx::query_scalar(&format!(
        "WITH gone AS (DELETE FROM candidate_feed
                        WHERE {column} = ANY($1) AND NOT job_id = ANY($2)
                       RETURNING candidate_id)
         SELECT DISTINCT candidate_id FROM gone"
    ))
    .bind(ids)
    .bind(keep_jobs)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query(&format!(
        "DELETE FROM job_feed WHERE {column} = ANY($1) AND NOT job_id = ANY($2)"
    ))
    .bind(ids)
    .bind(keep_jobs)
    .execute(&mut *tx)
    .await?;
    Ok(lost)
}

/// Keeps at most `size` entries in each of the given owners' feeds, the best ones.
async fn prune(
    tx: &mut PgConnection,
    feed: Feed,
    owners: &[Uuid],
    size: usize,
) -> Result<(), Error> {
    if owners.is_empty() {
        return Ok(());
    }
    let (table, owner, other) = feed.columns();
    let mut owners = owners.to_vec();
    owners.sort_unstable();
    owners.dedup();
    // Walks each owner's ranked index past the first `size` entries.
    sqlx::query(&format!(
        "DELETE FROM {table} f
          USING UNNEST($1::uuid[]) AS o(id),
                LATERAL (SELECT {other} FROM {table}
                          WHERE {owner} = o.id
                          ORDER BY score DESC, similarity DESC, {other}
                         OFFSET $2) beyond
          WHERE f.{owner} = o.id AND f.{other} = beyond.{other}"
    ))
    .bind(&owners)
    .bind(size as i64)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn swipe(candidate: &str, employer: &str) -> SwipeRow {
        let decision = |d: &str| (!d.is_empty()).then(|| d.to_owned());
        SwipeRow {
            candidate_id: Uuid::nil(),
            job_id: Uuid::nil(),
            candidate_decision: decision(candidate),
            employer_decision: decision(employer),
        }
    }

    fn placed(swipe: SwipeRow) -> (bool, bool) {
        let entry = Entry {
            candidate_id: Uuid::nil(),
            job_id: Uuid::nil(),
            score: Score {
                total: 80,
                factors: matching::Factors {
                    skills: 40.0,
                    experience: 20.0,
                    semantic: 10.0,
                    salary: 5.0,
                    culture: 5.0,
                    validation: 0.0,
                },
            },
            similarity: 0.5,
        };
        let (c, j) = split_by_swipes(vec![entry], &[swipe]);
        (!c.is_empty(), !j.is_empty())
    }

    #[test]
    fn a_swipe_takes_a_pair_out_of_the_swipers_feed_and_a_pass_out_of_both() {
        assert_eq!(placed(swipe("", "")), (true, true));
        assert_eq!(placed(swipe("like", "")), (false, true));
        assert_eq!(placed(swipe("pass", "")), (false, false));
        assert_eq!(placed(swipe("", "like")), (true, false));
        assert_eq!(placed(swipe("", "pass")), (false, false));
    }
}
