//! API keys: an employer's systems calling the enterprise API without a person signed in.
//!
//! A key is `hsk_` and 256 random bits, shown once when it is created. Its creation and
//! revocation are events of the employer (who did it, when, with which scopes); the key
//! itself is kept only as its SHA-256, in `api_key`. Each request made with a key counts
//! towards its usage of the day, in the statement that looks the key up.

use chrono::{DateTime, NaiveDate, Utc};
use domain::employer::{ApiScope, CreateApiKey, EmployerCommand, RevokeApiKey};
use serde::Serialize;
use uuid::Uuid;

use crate::accounts::secrets;
use crate::{CommandContext, CommandService, Committed, Error};

/// What every key starts with, so a key is told from a token at a glance (and by scanners of
/// leaked secrets).
pub const KEY_PREFIX: &str = "hsk_";

/// A key as its employer sees it; never the secret.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ApiKeyView {
    pub key_id: Uuid,
    pub name: String,
    pub scopes: Vec<String>,
    pub requests_per_second: i32,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Requests made with the key, every day together.
    pub requests: i64,
}

/// The requests a key made on one UTC day.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DailyUsage {
    pub day: NaiveDate,
    pub requests: i64,
}

/// A valid key presented with a request.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyGrant {
    pub key_id: Uuid,
    pub employer_id: Uuid,
    pub scopes: Vec<ApiScope>,
    pub requests_per_second: u32,
}

impl CommandService {
    /// Creates a key and answers it, with the event that records it. The secret is in the
    /// answer and nowhere else.
    pub async fn create_api_key(
        &self,
        ctx: &CommandContext,
        cmd: CreateApiKey,
    ) -> Result<(Committed, String, DateTime<Utc>), Error> {
        let (secret, _) = secrets::generate().map_err(|e| Error::Store(Box::new(e)))?;
        let key = format!("{KEY_PREFIX}{secret}");
        let row = cmd.clone();
        let committed = self
            .employers
            .execute(
                &cmd.employer_id.to_string(),
                EmployerCommand::CreateApiKey(cmd),
                ctx,
            )
            .await?;
        let mut scopes: Vec<&str> = row.scopes.iter().map(|s| s.as_str()).collect();
        scopes.sort_unstable();
        scopes.dedup();
        let created_at = sqlx::query_scalar(
            "INSERT INTO api_key (key_id, employer_id, name, scopes, requests_per_second, \
             secret_hash, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING created_at",
        )
        .bind(row.key_id)
        .bind(row.employer_id)
        .bind(row.name.trim())
        .bind(&scopes)
        .bind(i32::try_from(row.requests_per_second).unwrap_or(i32::MAX))
        .bind(secrets::digest(&key))
        .bind(row.created_by.subject)
        .fetch_one(&self.pool)
        .await?;
        Ok((committed, key, created_at))
    }

    pub async fn revoke_api_key(
        &self,
        ctx: &CommandContext,
        cmd: RevokeApiKey,
    ) -> Result<Committed, Error> {
        let (employer_id, key_id) = (cmd.employer_id, cmd.key_id);
        let committed = self
            .employers
            .execute(
                &employer_id.to_string(),
                EmployerCommand::RevokeApiKey(cmd),
                ctx,
            )
            .await?;
        sqlx::query(
            "UPDATE api_key SET revoked_at = coalesce(revoked_at, now()) \
             WHERE key_id = $1 AND employer_id = $2",
        )
        .bind(key_id)
        .bind(employer_id)
        .execute(&self.pool)
        .await?;
        Ok(committed)
    }

    /// The grant of a key that exists and is not revoked, counting the request.
    pub async fn use_api_key(&self, key: &str) -> Result<Option<KeyGrant>, Error> {
        let row: Option<(Uuid, Uuid, Vec<String>, i32)> = sqlx::query_as(
            "WITH k AS ( \
               SELECT key_id, employer_id, scopes, requests_per_second FROM api_key \
               WHERE secret_hash = $1 AND revoked_at IS NULL), \
             counted AS ( \
               INSERT INTO api_key_usage (key_id, day, requests) \
               SELECT key_id, (now() AT TIME ZONE 'utc')::date, 1 FROM k \
               ON CONFLICT (key_id, day) DO UPDATE SET requests = api_key_usage.requests + 1) \
             SELECT key_id, employer_id, scopes, requests_per_second FROM k",
        )
        .bind(secrets::digest(key))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(key_id, employer_id, scopes, rate)| KeyGrant {
            key_id,
            employer_id,
            scopes: scopes.iter().filter_map(|s| s.parse().ok()).collect(),
            requests_per_second: u32::try_from(rate).unwrap_or(1),
        }))
    }

    /// The employer's keys, newest first.
    pub async fn api_keys(&self, employer_id: Uuid) -> Result<Vec<ApiKeyView>, Error> {
        Ok(sqlx::query_as(
            "SELECT k.key_id, k.name, k.scopes, k.requests_per_second, k.created_at, \
                    k.revoked_at, coalesce(sum(u.requests), 0)::bigint AS requests \
             FROM api_key k LEFT JOIN api_key_usage u USING (key_id) \
             WHERE k.employer_id = $1 \
             GROUP BY k.key_id ORDER BY k.created_at DESC, k.key_id",
        )
        .bind(employer_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A key's requests per day, oldest first; `None` when the employer has no such key.
    pub async fn api_key_usage(
        &self,
        employer_id: Uuid,
        key_id: Uuid,
    ) -> Result<Option<Vec<DailyUsage>>, Error> {
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM api_key WHERE key_id = $1 AND employer_id = $2)",
        )
        .bind(key_id)
        .bind(employer_id)
        .fetch_one(&self.pool)
        .await?;
        if !exists {
            return Ok(None);
        }
        Ok(Some(
            sqlx::query_as(
                "SELECT day, requests FROM api_key_usage WHERE key_id = $1 ORDER BY day",
            )
            .bind(key_id)
            .fetch_all(&self.pool)
            .await?,
        ))
    }
}
