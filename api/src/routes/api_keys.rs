//! An employer's API keys: created (the key shown once), listed, revoked, and their usage per
//! day. Keys are managed by the employer itself or an admin, never with a key.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::Router;
use chrono::{DateTime, Utc};
use commands::api_keys::{ApiKeyView, DailyUsage};
use domain::employer::{ApiScope, CreateApiKey, RevokeApiKey};
use domain::Write;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{Caller, Json, Path};
use crate::read_policy::{self, Parties, Read};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/employers/{employer_id}/api-keys", get(list).post(create))
        .route("/employers/{employer_id}/api-keys/{key_id}", delete(revoke))
        .route(
            "/employers/{employer_id}/api-keys/{key_id}/usage",
            get(usage),
        )
}

/// Requests per second a key gets when the request names none.
const DEFAULT_RATE: u32 = 10;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    scopes: Vec<ApiScope>,
    requests_per_second: Option<u32>,
}

#[derive(Debug, Serialize)]
struct Created {
    key_id: Uuid,
    /// The key itself: shown here once, kept nowhere.
    key: String,
    name: String,
    scopes: Vec<ApiScope>,
    requests_per_second: u32,
    created_at: DateTime<Utc>,
    position: String,
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(employer_id): Path<Uuid>,
    Json(body): Json<CreateBody>,
) -> Result<(StatusCode, axum::Json<Created>), ApiError> {
    super::authorize(caller.actor, Write::ManageApiKeys, employer_id)?;
    let command = CreateApiKey {
        employer_id,
        key_id: Uuid::now_v7(),
        name: body.name,
        scopes: body.scopes,
        requests_per_second: body.requests_per_second.unwrap_or(DEFAULT_RATE),
        created_by: caller.actor,
    };
    let (key_id, rate) = (command.key_id, command.requests_per_second);
    let name = command.name.trim().to_owned();
    let mut scopes = command.scopes.clone();
    scopes.sort_by_key(|scope| scope.as_str());
    scopes.dedup();
    let (committed, key, created_at) = state
        .commands
        .create_api_key(&caller.context, command)
        .await?;
    let written: crate::position::Written = committed.into();
    Ok((
        StatusCode::CREATED,
        axum::Json(Created {
            key_id,
            key,
            name,
            scopes,
            requests_per_second: rate,
            created_at,
            position: written.position,
        }),
    ))
}

#[derive(Debug, Serialize)]
struct Keys {
    keys: Vec<ApiKeyView>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(employer_id): Path<Uuid>,
) -> Result<axum::Json<Keys>, ApiError> {
    read_policy::may_read(caller.actor, Read::ApiKeys, Parties::employer(employer_id))?;
    let keys = state.commands.api_keys(employer_id).await?;
    Ok(axum::Json(Keys { keys }))
}

async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path((employer_id, key_id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    super::authorize(caller.actor, Write::ManageApiKeys, employer_id)?;
    let command = RevokeApiKey {
        employer_id,
        key_id,
        revoked_by: caller.actor,
    };
    state
        .commands
        .revoke_api_key(&caller.context, command)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize)]
struct Usage {
    key_id: Uuid,
    days: Vec<DailyUsage>,
}

async fn usage(
    State(state): State<AppState>,
    caller: Caller,
    Path((employer_id, key_id)): Path<(Uuid, Uuid)>,
) -> Result<axum::Json<Usage>, ApiError> {
    read_policy::may_read(caller.actor, Read::ApiKeys, Parties::employer(employer_id))?;
    let days = state
        .commands
        .api_key_usage(employer_id, key_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("API key {key_id} does not exist")))?;
    Ok(axum::Json(Usage { key_id, days }))
}
