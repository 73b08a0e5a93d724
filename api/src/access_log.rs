//! Reads of a person's data made on the platform's behalf (by admins and auditors), recorded
//! in `personal_data_access` before the data is answered, and listed for auditors.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::extract::Caller;

const RECORD: &str = "
INSERT INTO personal_data_access (subject_id, actor_subject, actor_role, resource, request_id)
VALUES ($1, $2, $3, $4, $5)";

/// Records that `caller` reads `resource` (a route template) of `subject`, when the caller
/// reads for the platform; a person reading its own data, or an employer reading what the
/// read policy shows it, is not recorded.
pub async fn record(
    pool: &PgPool,
    caller: &Caller,
    subject: Uuid,
    resource: &'static str,
) -> Result<(), sqlx::Error> {
    if !caller.actor.reads_everything() {
        return Ok(());
    }
    sqlx::query(RECORD)
        .bind(subject)
        .bind(caller.actor.subject)
        .bind(caller.actor.role.as_str())
        .bind(resource)
        .bind(&caller.context.request_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// One recorded read.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AccessEntry {
    pub id: i64,
    pub subject_id: Uuid,
    pub actor_subject: Uuid,
    pub actor_role: String,
    pub resource: String,
    pub request_id: Option<String>,
    pub read_at: DateTime<Utc>,
}

/// The recorded reads after `cursor` (an entry's id), oldest first, narrowed to a subject
/// and to a reader where given.
pub async fn list(
    pool: &PgPool,
    subject: Option<Uuid>,
    reader: Option<Uuid>,
    cursor: i64,
    limit: i64,
) -> Result<Vec<AccessEntry>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, subject_id, actor_subject, actor_role, resource, request_id, read_at
           FROM personal_data_access
          WHERE id > $1 AND ($2::uuid IS NULL OR subject_id = $2)
            AND ($3::uuid IS NULL OR actor_subject = $3)
          ORDER BY id LIMIT $4",
    )
    .bind(cursor)
    .bind(subject)
    .bind(reader)
    .bind(limit)
    .fetch_all(pool)
    .await
}
