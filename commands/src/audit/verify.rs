//! `hirestream audit verify`: recomputes every stream's hash chain and every checkpoint, and
//! names what no longer matches. Both passes stream the store, so memory stays flat.

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::Serialize;
use sqlx::PgPool;

use super::events::Row;
use super::merkle::{self, Hash};
use super::notary::{chain, Checkpoint, SELECT_CHECKPOINTS};

/// Something the history says that its hashes or signatures do not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    /// The event's content, or its predecessor, is not what its hash was computed over.
    Altered {
        aggregate_type: String,
        aggregate_id: String,
        sequence: i64,
        global_position: i64,
    },
    /// Events of a stream are missing before this one.
    Removed {
        aggregate_type: String,
        aggregate_id: String,
        /// The first missing sequence, and the one found in its place.
        missing_from: i64,
        sequence: i64,
        global_position: i64,
    },
    /// The events a checkpoint covers are not the ones it signed.
    CheckpointMismatch { number: i64, reason: String },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Altered {
                aggregate_type,
                aggregate_id,
                sequence,
                global_position,
            } => write!(
                f,
                "event {sequence} of {aggregate_type} {aggregate_id} (global position \
                 {global_position}) does not match its hash: altered, inserted, or its \
                 predecessor changed"
            ),
            Problem::Removed {
                aggregate_type,
                aggregate_id,
                missing_from,
                sequence,
                global_position,
            } => write!(
                f,
                "events {missing_from}..{} of {aggregate_type} {aggregate_id} were removed \
                 (the next is {sequence}, global position {global_position})",
                sequence - 1
            ),
            Problem::CheckpointMismatch { number, reason } => {
                write!(f, "checkpoint {number} no longer matches: {reason}")
            }
        }
    }
}

/// What a verification found.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub events: u64,
    pub streams: u64,
    pub checkpoints: u64,
    /// Events after the last checkpoint (checked by their chains only).
    pub unsigned_events: u64,
    /// In the order found: stream problems first, then checkpoints.
    pub problems: Vec<Problem>,
    pub verified_at: Option<DateTime<Utc>>,
}

impl Report {
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Stops reporting problems past this many (the first ones name the damage).
const MAX_PROBLEMS: usize = 100;

/// Verifies the whole store against `trusted_key` (the notary's public key): every checkpoint
/// must be signed with it. `progress` is called with the events checked so far, every 10,000.
pub async fn verify(
    pool: &PgPool,
    trusted_key: &[u8; 32],
    mut progress: impl FnMut(u64),
) -> Result<Report, crate::Error> {
    let mut report = Report::default();
    verify_streams(pool, &mut report, &mut progress).await?;
    verify_checkpoints(pool, trusted_key, &mut report, &mut progress).await?;
    report.verified_at = Some(Utc::now());
    Ok(report)
}

async fn verify_streams(
    pool: &PgPool,
    report: &mut Report,
    progress: &mut impl FnMut(u64),
) -> Result<(), crate::Error> {
    // Each row's predecessor is the one read before it: none is joined.
    let mut rows = sqlx::query_as::<_, Row>(
        "SELECT global_position, tx_id::text::bigint AS tx_id, aggregate_type, aggregate_id,
                sequence, event_type, event_version, payload::text AS payload,
                metadata::text AS metadata, recorded_at, hash, NULL::bytea AS previous_hash
           FROM events ORDER BY aggregate_type, aggregate_id, sequence",
    )
    .fetch(pool);
    // The previous row of the same stream: its type, id, sequence and stored hash.
    let mut previous: Option<(String, String, i64, Vec<u8>)> = None;
    while let Some(row) = rows.try_next().await? {
        report.events += 1;
        if report.events.is_multiple_of(10_000) {
            progress(report.events);
        }
        let same_stream = previous
            .as_ref()
            .is_some_and(|(t, id, _, _)| *t == row.aggregate_type && *id == row.aggregate_id);
        if !same_stream {
            report.streams += 1;
        }
        let (expected, predecessor) = match &previous {
            Some((_, _, sequence, hash)) if same_stream => (sequence + 1, Some(hash.as_slice())),
            _ => (1, None),
        };
        let mut problem = None;
        if row.sequence != expected {
            problem = Some(Problem::Removed {
                aggregate_type: row.aggregate_type.clone(),
                aggregate_id: row.aggregate_id.clone(),
                missing_from: expected,
                sequence: row.sequence,
                global_position: row.global_position,
            });
        } else {
            let matches = row
                .fields()
                .hash(predecessor)
                .is_ok_and(|hash| hash.as_slice() == row.hash.as_slice());
            if !matches {
                problem = Some(Problem::Altered {
                    aggregate_type: row.aggregate_type.clone(),
                    aggregate_id: row.aggregate_id.clone(),
                    sequence: row.sequence,
                    global_position: row.global_position,
                });
            }
        }
        if let Some(problem) = problem {
            if report.problems.len() < MAX_PROBLEMS {
                report.problems.push(problem);
            }
        }
        previous = Some((row.aggregate_type, row.aggregate_id, row.sequence, row.hash));
    }
    Ok(())
}

async fn verify_checkpoints(
    pool: &PgPool,
    trusted_key: &[u8; 32],
    report: &mut Report,
    progress: &mut impl FnMut(u64),
) -> Result<(), crate::Error> {
    let checkpoints: Vec<Checkpoint> =
        sqlx::query_as(&format!("{SELECT_CHECKPOINTS} ORDER BY number"))
            .fetch_all(pool)
            .await?;
    let mut rows = sqlx::query_as::<_, (i64, i64, Vec<u8>)>(
        "SELECT tx_id::text::bigint, global_position, hash FROM events
          ORDER BY tx_id, global_position",
    )
    .fetch(pool);
    let problem = |report: &mut Report, number: i64, reason: String| {
        if report.problems.len() < MAX_PROBLEMS {
            report
                .problems
                .push(Problem::CheckpointMismatch { number, reason });
        }
    };
    let mut previous_digest: Option<Vec<u8>> = None;
    let mut carried: Option<(i64, i64, Vec<u8>)> = None;
    let mut seen = 0u64;
    for (i, checkpoint) in checkpoints.iter().enumerate() {
        report.checkpoints += 1;
        let expected_number = i as i64 + 1;
        if checkpoint.number != expected_number {
            problem(
                report,
                checkpoint.number,
                format!("checkpoint {expected_number} is missing"),
            );
        }
        let end = (checkpoint.tx_id, checkpoint.global_position);
        let mut leaves: Vec<Hash> = Vec::new();
        loop {
            let row = match carried.take() {
                Some(row) => Some(row),
                None => rows.try_next().await?,
            };
            let Some(row) = row else { break };
            if (row.0, row.1) > end {
                carried = Some(row);
                break;
            }
            seen += 1;
            if seen.is_multiple_of(10_000) {
                progress(report.events + seen);
            }
            leaves.push(merkle::leaf(&row.2));
        }
        let number = checkpoint.number;
        if leaves.len() as i64 != checkpoint.events {
            problem(
                report,
                number,
                format!(
                    "it signed {} events and {} are in its range (removed or inserted)",
                    checkpoint.events,
                    leaves.len()
                ),
            );
        } else if merkle::root(&leaves).as_slice() != checkpoint.root.as_slice() {
            problem(
                report,
                number,
                "the hashes of its events are not the ones it signed".into(),
            );
        }
        let digest = chain(previous_digest.as_deref(), &to_hash(&checkpoint.root));
        if digest.as_slice() != checkpoint.digest.as_slice() {
            problem(
                report,
                number,
                "its digest does not chain its root to the previous checkpoint".into(),
            );
        }
        if checkpoint.public_key.as_slice() != trusted_key.as_slice() {
            problem(report, number, "it is signed with another key".into());
        } else if !checkpoint.signature_verifies() {
            problem(report, number, "its signature does not verify".into());
        }
        previous_digest = Some(checkpoint.digest.clone());
    }
    let mut unsigned = u64::from(carried.is_some());
    while rows.try_next().await?.is_some() {
        unsigned += 1;
    }
    report.unsigned_events = unsigned;
    Ok(())
}

fn to_hash(bytes: &[u8]) -> Hash {
    let mut hash = [0u8; 32];
    if bytes.len() == 32 {
        hash.copy_from_slice(bytes);
    }
    hash
}
