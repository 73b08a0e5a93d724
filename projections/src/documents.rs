//! AI documents per candidate (and per target job), with versions, and usage per candidate
//! and day: provider calls, tokens and cost, from the events that record every call.

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::Aggregate;
use domain::candidate::{Candidate, CandidateEvent};
use domain::document::{Document, DocumentEvent};
use domain::published::PublishedEvent;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::page::{Cursor, Page};
use crate::{Error, Projection};

/// Builds `document_view` and `document_usage`.
#[derive(Debug, Default, Clone, Copy)]
pub struct DocumentsProjector;

/// A document of an erased candidate is not kept: a rebuild that meets the request after
/// the erasure leaves it out, as the erasure took it out of the live view.
const INSERT_DOCUMENT: &str = "
INSERT INTO document_view (document_id, candidate_id, job_id, kind, status, instructions, credits,
                           requested_position, requested_at)
SELECT $1, $2, $3, $4, 'pending', $5, $6, $7, $8
 WHERE NOT EXISTS (SELECT 1 FROM subject_key WHERE subject_id = $2 AND erased_at IS NOT NULL)";

/// An erased candidate's documents go; the usage (counts and costs) stays.
const ERASE_DOCUMENTS: &str = "DELETE FROM document_view WHERE candidate_id = $1";

const DOCUMENT_READY: &str = "
UPDATE document_view
   SET status = 'ready', content = $2, provider = $3, model = $4, prompt_version = $5,
       input_tokens = $6, output_tokens = $7, cost_micros = $8, latency_ms = $9, attempts = $10,
       finished_at = $11
 WHERE document_id = $1";

const DOCUMENT_FAILED: &str = "
UPDATE document_view
   SET status = 'failed', failure_reason = $2, provider = $3, attempts = $4, finished_at = $5
 WHERE document_id = $1";

const ADD_USAGE: &str = "
INSERT INTO document_usage (candidate_id, day, calls, input_tokens, output_tokens, cost_micros,
                            documents, failures)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (candidate_id, day) DO UPDATE
   SET calls = document_usage.calls + EXCLUDED.calls,
       input_tokens = document_usage.input_tokens + EXCLUDED.input_tokens,
       output_tokens = document_usage.output_tokens + EXCLUDED.output_tokens,
       cost_micros = document_usage.cost_micros + EXCLUDED.cost_micros,
       documents = document_usage.documents + EXCLUDED.documents,
       failures = document_usage.failures + EXCLUDED.failures";

impl Projection for DocumentsProjector {
    const NAME: &'static str = "documents";
    const AGGREGATE_TYPES: &'static [&'static str] = &[Document::TYPE, Candidate::TYPE];

    async fn apply(&self, tx: &mut PgConnection, event: &PublishedEvent) -> Result<(), Error> {
        if event.aggregate_type == Candidate::TYPE {
            if let Ok(CandidateEvent::CandidateErased { candidate_id }) = event.decode() {
                sqlx::query(ERASE_DOCUMENTS)
                    .bind(candidate_id)
                    .execute(tx)
                    .await?;
            }
            return Ok(());
        }
        if event.aggregate_type != Document::TYPE {
            return Ok(());
        }
        let at = event.recorded_at;
        let day = at.date_naive();
        match event.decode().map_err(|e| Error::payload(event, e))? {
            DocumentEvent::DocumentRequested {
                document_id,
                candidate_id,
                kind,
                job_id,
                instructions,
                credits,
            } => {
                sqlx::query(INSERT_DOCUMENT)
                    .bind(document_id)
                    .bind(candidate_id)
                    .bind(job_id)
                    .bind(kind.as_str())
                    .bind(instructions)
                    .bind(credits)
                    .bind(event.global_position)
                    .bind(at)
                    .execute(tx)
                    .await?;
            }
            DocumentEvent::DocumentGenerated {
                document_id,
                candidate_id,
                generation: g,
            } => {
                sqlx::query(DOCUMENT_READY)
                    .bind(document_id)
                    .bind(&g.content)
                    .bind(&g.provider)
                    .bind(&g.model)
                    .bind(&g.prompt_version)
                    .bind(g.input_tokens)
                    .bind(g.output_tokens)
                    .bind(g.cost_micros)
                    .bind(g.latency_ms)
                    .bind(g.attempts)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(ADD_USAGE)
                    .bind(candidate_id)
                    .bind(day)
                    .bind(i64::from(g.attempts))
                    .bind(g.input_tokens)
                    .bind(g.output_tokens)
                    .bind(g.cost_micros)
                    .bind(1i64)
                    .bind(0i64)
                    .execute(tx)
                    .await?;
            }
            DocumentEvent::DocumentGenerationFailed {
                document_id,
                candidate_id,
                reason,
                provider,
                attempts,
                ..
            } => {
                sqlx::query(DOCUMENT_FAILED)
                    .bind(document_id)
                    .bind(reason)
                    .bind(provider)
                    .bind(attempts)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(ADD_USAGE)
                    .bind(candidate_id)
                    .bind(day)
                    .bind(i64::from(attempts))
                    .bind(0i64)
                    .bind(0i64)
                    .bind(0i64)
                    .bind(0i64)
                    .bind(1i64)
                    .execute(tx)
                    .await?;
            }
        }
        Ok(())
    }

    async fn reset(&self, tx: &mut PgConnection) -> Result<(), Error> {
        sqlx::query("DELETE FROM document_view")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM document_usage")
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct DocumentView {
    pub document_id: Uuid,
    pub candidate_id: Uuid,
    pub job_id: Option<Uuid>,
    pub kind: String,
    pub status: String,
    /// 1 for the candidate's first document of this kind for this job, then 2, …
    pub version: i64,
    pub instructions: Option<String>,
    pub credits: i64,
    pub content: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub prompt_version: Option<String>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub cost_micros: Option<i64>,
    pub latency_ms: Option<i64>,
    pub attempts: Option<i32>,
    pub failure_reason: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

const VERSIONED: &str = "
SELECT *, row_number() OVER (PARTITION BY candidate_id, kind, job_id
                             ORDER BY requested_position) AS version
  FROM document_view";

pub async fn document(pool: &PgPool, document_id: Uuid) -> Result<Option<DocumentView>, Error> {
    let query = format!(
        "SELECT * FROM ({VERSIONED} WHERE candidate_id = (SELECT candidate_id FROM document_view
                                                        WHERE document_id = $1)) d
          WHERE document_id = $1"
    );
    Ok(sqlx::query_as(&query)
        .bind(document_id)
        .fetch_optional(pool)
        .await?)
}

/// A candidate's documents, newest first, optionally for one job or of one kind.
pub async fn list(
    pool: &PgPool,
    candidate_id: Uuid,
    job_id: Option<Uuid>,
    kind: Option<&str>,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Page<DocumentView>, Error> {
    let query = format!(
        "SELECT * FROM ({VERSIONED} WHERE candidate_id = $1) d
          WHERE ($2::uuid IS NULL OR job_id = $2)
            AND ($3::text IS NULL OR kind = $3)
            AND ($4::timestamptz IS NULL OR (requested_at, document_id) < ($4, $5))
          ORDER BY requested_at DESC, document_id DESC
          LIMIT $6"
    );
    let rows: Vec<DocumentView> = sqlx::query_as(&query)
        .bind(candidate_id)
        .bind(job_id)
        .bind(kind)
        .bind(after.map(|c| c.at))
        .bind(after.map(|c| c.id))
        .bind(limit + 1)
        .fetch_all(pool)
        .await?;
    Ok(Page::from_rows(rows, limit, |d| Cursor {
        at: d.requested_at,
        id: d.document_id,
    }))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct UsageDay {
    pub day: NaiveDate,
    pub calls: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_micros: i64,
    pub documents: i64,
    pub failures: i64,
}

/// Usage per day in `[from, to]`, oldest first.
pub async fn usage(
    pool: &PgPool,
    candidate_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<UsageDay>, Error> {
    Ok(sqlx::query_as(
        "SELECT day, calls, input_tokens, output_tokens, cost_micros, documents, failures
           FROM document_usage WHERE candidate_id = $1 AND day BETWEEN $2 AND $3 ORDER BY day",
    )
    .bind(candidate_id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?)
}
