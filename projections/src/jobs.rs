//! Jobs, as candidates browse them: filterable by status, work arrangement, location and
//! text, newest first, a page at a time.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use domain::job::{Job, JobDetails, JobEvent};
use domain::published::PublishedEvent;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::page::{contains_pattern, Cursor, Page};
use crate::{Error, Projection};

/// Builds `job_view`.
#[derive(Debug, Default, Clone, Copy)]
pub struct JobsProjector;

const UPSERT_JOB: &str = "
INSERT INTO job_view (job_id, employer_id, title, description, details, status, remote, locations,
                      skills, min_years, salary_min, salary_max, currency, source, external_id,
                      posted_at, updated_at)
VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)
ON CONFLICT (job_id) DO UPDATE
   SET title = EXCLUDED.title, description = EXCLUDED.description, details = EXCLUDED.details,
       remote = EXCLUDED.remote, locations = EXCLUDED.locations, skills = EXCLUDED.skills,
       min_years = EXCLUDED.min_years, salary_min = EXCLUDED.salary_min,
       salary_max = EXCLUDED.salary_max, currency = EXCLUDED.currency,
       source = EXCLUDED.source, external_id = EXCLUDED.external_id,
       updated_at = EXCLUDED.updated_at";

const CLOSE_JOB: &str =
    "UPDATE job_view SET status = 'closed', closed_at = $2, updated_at = $2 WHERE job_id = $1";

impl Projection for JobsProjector {
    const NAME: &'static str = "jobs";
    const AGGREGATE_TYPES: &'static [&'static str] = &[Job::TYPE];

    async fn apply(&self, tx: &mut PgConnection, event: &PublishedEvent) -> Result<(), Error> {
        if event.aggregate_type != Job::TYPE {
            return Ok(());
        }
        let at = event.recorded_at;
        match event.decode().map_err(|e| Error::payload(event, e))? {
            JobEvent::JobPosted {
                job_id,
                employer_id,
                details,
            }
            | JobEvent::JobUpdated {
                job_id,
                employer_id,
                details,
            } => upsert(tx, job_id, employer_id, &details, at).await,
            JobEvent::JobClosed { job_id, .. } => {
                sqlx::query(CLOSE_JOB)
                    .bind(job_id)
                    .bind(at)
                    .execute(tx)
                    .await?;
                Ok(())
            }
            // Who may act on a job is the write side's (`job_recruiter`); no view shows it.
            JobEvent::RecruiterAssigned { .. } | JobEvent::RecruiterUnassigned { .. } => Ok(()),
        }
    }

    async fn reset(&self, tx: &mut PgConnection) -> Result<(), Error> {
        sqlx::query("DELETE FROM job_view").execute(tx).await?;
        Ok(())
    }
}

async fn upsert(
    tx: &mut PgConnection,
    job_id: Uuid,
    employer_id: Uuid,
    details: &JobDetails,
    at: DateTime<Utc>,
) -> Result<(), Error> {
    let skills: Vec<String> = details
        .skills
        .iter()
        .map(|s| s.name.to_lowercase())
        .collect();
    let salary = details.salary.as_ref();
    sqlx::query(UPSERT_JOB)
        .bind(job_id)
        .bind(employer_id)
        .bind(&details.title)
        .bind(&details.description)
        .bind(serde_json::to_value(details).unwrap_or_default())
        .bind(details.remote.as_str())
        .bind(&details.locations)
        .bind(skills)
        .bind(details.min_years)
        .bind(salary.map(|s| s.min))
        .bind(salary.map(|s| s.max))
        .bind(salary.map(|s| s.currency.clone()))
        .bind(details.source.kind.as_str())
        .bind(&details.source.external_id)
        .bind(at)
        .execute(tx)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct JobView {
    pub job_id: Uuid,
    pub employer_id: Uuid,
    pub title: String,
    pub status: String,
    pub details: serde_json::Value,
    pub posted_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// What to list; every field narrows the list.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub status: Option<String>,
    pub remote: Option<String>,
    pub location: Option<String>,
    pub text: Option<String>,
    pub employer_id: Option<Uuid>,
    pub skill: Option<String>,
}

const JOB_COLUMNS: &str =
    "job_id, employer_id, title, status, details, posted_at, updated_at, closed_at";

pub async fn job(pool: &PgPool, job_id: Uuid) -> Result<Option<JobView>, Error> {
    let query = format!("SELECT {JOB_COLUMNS} FROM job_view WHERE job_id = $1");
    Ok(sqlx::query_as(&query)
        .bind(job_id)
        .fetch_optional(pool)
        .await?)
}

pub async fn list(
    pool: &PgPool,
    filter: &JobFilter,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Page<JobView>, Error> {
    let query = format!(
        "SELECT {JOB_COLUMNS} FROM job_view
          WHERE ($1::text IS NULL OR status = $1)
            AND ($2::text IS NULL OR remote = $2)
            AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM unnest(locations) l WHERE l ILIKE $3))
            AND ($4::text IS NULL OR title ILIKE $4 OR description ILIKE $4)
            AND ($5::uuid IS NULL OR employer_id = $5)
            AND ($6::text IS NULL OR $6 = ANY (skills))
            AND ($7::timestamptz IS NULL OR (posted_at, job_id) < ($7, $8))
          ORDER BY posted_at DESC, job_id DESC
          LIMIT $9"
    );
    let rows: Vec<JobView> = sqlx::query_as(&query)
        .bind(&filter.status)
        .bind(&filter.remote)
        .bind(filter.location.as_deref().map(contains_pattern))
        .bind(filter.text.as_deref().map(contains_pattern))
        .bind(filter.employer_id)
        .bind(filter.skill.as_deref().map(str::to_lowercase))
        .bind(after.map(|c| c.at))
        .bind(after.map(|c| c.id))
        .bind(limit + 1)
        .fetch_all(pool)
        .await?;
    Ok(Page::from_rows(rows, limit, |j| Cursor {
        at: j.posted_at,
        id: j.job_id,
    }))
}
