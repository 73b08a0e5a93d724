//! The match tables: every pairing's swipes, and the mutual matches per candidate, per job
//! and per employer.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use domain::pairing::{Decision, Pairing, PairingEvent};
use domain::published::PublishedEvent;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{Error, Projection};

/// Builds `pairing_view` from the pairing topic.
#[derive(Debug, Default, Clone, Copy)]
pub struct MatchesProjector;

const UPSERT_CANDIDATE_SWIPE: &str = "
INSERT INTO pairing_view (pairing_id, candidate_id, job_id, employer_id, candidate_decision,
                          candidate_swiped_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (pairing_id) DO UPDATE
   SET candidate_decision = EXCLUDED.candidate_decision,
       candidate_swiped_at = EXCLUDED.candidate_swiped_at";

const UPSERT_EMPLOYER_SWIPE: &str = "
INSERT INTO pairing_view (pairing_id, candidate_id, job_id, employer_id, employer_decision,
                          employer_swiped_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (pairing_id) DO UPDATE
   SET employer_decision = EXCLUDED.employer_decision,
       employer_swiped_at = EXCLUDED.employer_swiped_at";

const UPSERT_MATCH: &str = "
INSERT INTO pairing_view (pairing_id, candidate_id, job_id, employer_id, matched_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (pairing_id) DO UPDATE SET matched_at = EXCLUDED.matched_at";

/// An ended match leaves both match lists.
const UNMATCH: &str =
    "UPDATE pairing_view SET matched_at = NULL, unmatched_at = $2 WHERE pairing_id = $1";

impl Projection for MatchesProjector {
    const NAME: &'static str = "matches";
    const AGGREGATE_TYPES: &'static [&'static str] = &[Pairing::TYPE];

    async fn apply(&self, tx: &mut PgConnection, event: &PublishedEvent) -> Result<(), Error> {
        if event.aggregate_type != Pairing::TYPE {
            return Ok(());
        }
        let at = event.recorded_at;
        let decoded: PairingEvent = event.decode().map_err(|e| Error::payload(event, e))?;
        if let PairingEvent::Unmatched { pairing_id, .. } = decoded {
            sqlx::query(UNMATCH)
                .bind(pairing_id)
                .bind(at)
                .execute(tx)
                .await?;
            return Ok(());
        }
        let (query, pairing_id, candidate_id, job_id, employer_id, decision) = match decoded {
            PairingEvent::CandidateSwiped {
                pairing_id,
                candidate_id,
                job_id,
                employer_id,
                decision,
            } => (
                UPSERT_CANDIDATE_SWIPE,
                pairing_id,
                candidate_id,
                job_id,
                employer_id,
                Some(decision),
            ),
            PairingEvent::EmployerSwiped {
                pairing_id,
                candidate_id,
                job_id,
                employer_id,
                decision,
            } => (
                UPSERT_EMPLOYER_SWIPE,
                pairing_id,
                candidate_id,
                job_id,
                employer_id,
                Some(decision),
            ),
            PairingEvent::Matched {
                pairing_id,
                candidate_id,
                job_id,
                employer_id,
            } => (
                UPSERT_MATCH,
                pairing_id,
                candidate_id,
                job_id,
                employer_id,
                None,
            ),
            // The conversation is the conversations projection's.
            PairingEvent::MessagePosted { .. }
            | PairingEvent::MessagesRead { .. }
            | PairingEvent::Unmatched { .. } => return Ok(()),
        };
        let query = sqlx::query(query)
            .bind(pairing_id)
            .bind(candidate_id)
            .bind(job_id)
            .bind(employer_id);
        let query = match decision {
            Some(decision) => query.bind(decision_str(decision)).bind(at),
            None => query.bind(at),
        };
        query.execute(tx).await?;
        Ok(())
    }

    async fn reset(&self, tx: &mut PgConnection) -> Result<(), Error> {
        sqlx::query("DELETE FROM pairing_view").execute(tx).await?;
        Ok(())
    }
}

fn decision_str(decision: Decision) -> &'static str {
    match decision {
        Decision::Like => "like",
        Decision::Pass => "pass",
    }
}

/// A mutual match, as the candidate and the employer see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct MatchView {
    pub pairing_id: Uuid,
    pub candidate_id: Uuid,
    pub job_id: Uuid,
    pub employer_id: Uuid,
    pub matched_at: DateTime<Utc>,
}

/// Whose matches to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchesOf {
    Candidate(Uuid),
    Employer(Uuid),
    Job(Uuid),
}

const MATCHES_OF_CANDIDATE: &str = "
SELECT pairing_id, candidate_id, job_id, employer_id, matched_at FROM pairing_view
 WHERE candidate_id = $1 AND matched_at IS NOT NULL ORDER BY matched_at DESC, pairing_id LIMIT $2";
const MATCHES_OF_EMPLOYER: &str = "
SELECT pairing_id, candidate_id, job_id, employer_id, matched_at FROM pairing_view
 WHERE employer_id = $1 AND matched_at IS NOT NULL ORDER BY matched_at DESC, pairing_id LIMIT $2";
const MATCHES_OF_JOB: &str = "
SELECT pairing_id, candidate_id, job_id, employer_id, matched_at FROM pairing_view
 WHERE job_id = $1 AND matched_at IS NOT NULL ORDER BY matched_at DESC, pairing_id LIMIT $2";

/// The most recent matches first, at most `limit`.
pub async fn list(pool: &PgPool, of: MatchesOf, limit: i64) -> Result<Vec<MatchView>, Error> {
    let (query, id) = match of {
        MatchesOf::Candidate(id) => (MATCHES_OF_CANDIDATE, id),
        MatchesOf::Employer(id) => (MATCHES_OF_EMPLOYER, id),
        MatchesOf::Job(id) => (MATCHES_OF_JOB, id),
    };
    let rows = sqlx::query_as(query)
        .bind(id)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    Ok(rows)
}

/// One pairing row, for checks and exports: both swipes and the match instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct PairingRow {
    pub pairing_id: Uuid,
    pub candidate_id: Uuid,
    pub job_id: Uuid,
    pub employer_id: Uuid,
    pub candidate_decision: Option<String>,
    pub employer_decision: Option<String>,
    pub candidate_swiped_at: Option<DateTime<Utc>>,
    pub employer_swiped_at: Option<DateTime<Utc>>,
    pub matched_at: Option<DateTime<Utc>>,
}

/// Every pairing, in id order.
pub async fn all_pairings(pool: &PgPool) -> Result<Vec<PairingRow>, Error> {
    let rows = sqlx::query_as("SELECT * FROM pairing_view ORDER BY pairing_id")
        .fetch_all(pool)
        .await?;
    Ok(rows)
}
