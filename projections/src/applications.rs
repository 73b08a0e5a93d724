//! Applications by candidate and by job, with their counts per status.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use domain::application::{Application, ApplicationEvent};
use domain::published::PublishedEvent;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::page::{Cursor, Page};
use crate::{Error, Projection};

/// Builds `application_view`.
#[derive(Debug, Default, Clone, Copy)]
pub struct ApplicationsProjector;

const INSERT_APPLICATION: &str = "
INSERT INTO application_view (application_id, candidate_id, job_id, employer_id, status,
                              document_ids, submitted_at, updated_at)
VALUES ($1, $2, $3, $4, 'submitted', $5, $6, $6)";

const UPDATE_STATUS: &str =
    "UPDATE application_view SET status = $2, updated_at = $3 WHERE application_id = $1";

impl Projection for ApplicationsProjector {
    const NAME: &'static str = "applications";
    const AGGREGATE_TYPES: &'static [&'static str] = &[Application::TYPE];

    async fn apply(&self, tx: &mut PgConnection, event: &PublishedEvent) -> Result<(), Error> {
        if event.aggregate_type != Application::TYPE {
            return Ok(());
        }
        let at = event.recorded_at;
        match event.decode().map_err(|e| Error::payload(event, e))? {
            ApplicationEvent::ApplicationSubmitted {
                application_id,
                candidate_id,
                job_id,
                employer_id,
                document_ids,
            } => {
                sqlx::query(INSERT_APPLICATION)
                    .bind(application_id)
                    .bind(candidate_id)
                    .bind(job_id)
                    .bind(employer_id)
                    .bind(document_ids)
                    .bind(at)
                    .execute(tx)
                    .await?;
            }
            ApplicationEvent::ApplicationStatusChanged {
                application_id, to, ..
            } => {
                sqlx::query(UPDATE_STATUS)
                    .bind(application_id)
                    .bind(to.as_str())
                    .bind(at)
                    .execute(tx)
                    .await?;
            }
            ApplicationEvent::ApplicationWithdrawn { application_id, .. } => {
                sqlx::query(UPDATE_STATUS)
                    .bind(application_id)
                    .bind("withdrawn")
                    .bind(at)
                    .execute(tx)
                    .await?;
            }
        }
        Ok(())
    }

    async fn reset(&self, tx: &mut PgConnection) -> Result<(), Error> {
        sqlx::query("DELETE FROM application_view")
            .execute(tx)
            .await?;
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ApplicationView {
    pub application_id: Uuid,
    pub candidate_id: Uuid,
    pub job_id: Uuid,
    pub employer_id: Uuid,
    pub status: String,
    pub document_ids: Vec<Uuid>,
    pub submitted_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Whose applications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationsOf {
    Candidate(Uuid),
    Job(Uuid),
}

/// A page of applications and, over all of them (not just the page), the count per status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApplicationList {
    #[serde(flatten)]
    pub page: Page<ApplicationView>,
    pub counts: BTreeMap<String, i64>,
}

pub async fn application(
    pool: &PgPool,
    application_id: Uuid,
) -> Result<Option<ApplicationView>, Error> {
    Ok(
        sqlx::query_as("SELECT * FROM application_view WHERE application_id = $1")
            .bind(application_id)
            .fetch_optional(pool)
            .await?,
    )
}

pub async fn list(
    pool: &PgPool,
    of: ApplicationsOf,
    status: Option<&str>,
    after: Option<Cursor>,
    limit: i64,
) -> Result<ApplicationList, Error> {
    let (candidate, job) = match of {
        ApplicationsOf::Candidate(id) => (Some(id), None),
        ApplicationsOf::Job(id) => (None, Some(id)),
    };
    let rows: Vec<ApplicationView> = sqlx::query_as(
        "SELECT * FROM application_view
          WHERE ($1::uuid IS NULL OR candidate_id = $1)
            AND ($2::uuid IS NULL OR job_id = $2)
            AND ($3::text IS NULL OR status = $3)
            AND ($4::timestamptz IS NULL OR (submitted_at, application_id) < ($4, $5))
          ORDER BY submitted_at DESC, application_id DESC
          LIMIT $6",
    )
    .bind(candidate)
    .bind(job)
    .bind(status)
    .bind(after.map(|c| c.at))
    .bind(after.map(|c| c.id))
    .bind(limit + 1)
    .fetch_all(pool)
    .await?;
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, count(*) FROM application_view
          WHERE ($1::uuid IS NULL OR candidate_id = $1) AND ($2::uuid IS NULL OR job_id = $2)
          GROUP BY status",
    )
    .bind(candidate)
    .bind(job)
    .fetch_all(pool)
    .await?;
    Ok(ApplicationList {
        page: Page::from_rows(rows, limit, |a| Cursor {
            at: a.submitted_at,
            id: a.application_id,
        }),
        counts: counts.into_iter().collect(),
    })
}
