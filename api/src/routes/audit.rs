//! The audit API, for auditors and admins (read-only): the events with their metadata and
//! hashes, any aggregate as it was, one event's proof, the signed checkpoints, and who read
//! whose personal data.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use commands::audit::events::{self, AuditEvent, EventFilter};
use commands::audit::history::{self, AsOf, HistoryError};
use commands::audit::notary::{self, CheckpointView};
use commands::audit::{canonical, merkle};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{next_cursor, page};
use crate::access_log::{self, AccessEntry};
use crate::error::{ApiError, ErrorCode};
use crate::extract::{Caller, Path, Query};
use crate::read_policy::{may_ask, Read};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/audit/events", get(list_events))
        .route("/audit/events/{position}/proof", get(proof))
        .route(
            "/audit/aggregates/{aggregate_type}/{aggregate_id}",
            get(aggregate),
        )
        .route("/audit/checkpoints", get(checkpoints))
        .route("/audit/public-key", get(public_key))
        .route("/audit/personal-data-access", get(personal_data_access))
        .route("/audit/streams", get(streams))
        .route("/audit/verification", get(verification))
        .route("/audit/pipeline", get(pipeline))
        .route("/audit/ledger/reconciliation", get(reconciliation))
}

fn may_audit(caller: &Caller) -> Result<(), ApiError> {
    may_ask(caller.actor, Read::History)
}

fn bad_query(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(ErrorCode::InvalidQuery, message)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    aggregate_type: Option<String>,
    aggregate_id: Option<String>,
    actor: Option<String>,
    correlation_id: Option<String>,
    event_type: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    from_position: Option<i64>,
    to_position: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<i64>,
    limit: Option<i64>,
}

#[derive(Debug, Serialize)]
struct EventPage {
    events: Vec<AuditEvent>,
    /// Pass as `cursor` for the next page; absent on the last page.
    next_cursor: Option<i64>,
}

async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<EventsQuery>,
) -> Result<Json<EventPage>, ApiError> {
    may_audit(&caller)?;
    let (cursor, limit) = page(query.cursor, query.limit, 100, 500)?;
    if let (Some(since), Some(until)) = (query.since, query.until) {
        if since >= until {
            return Err(bad_query("`since` must be before `until`"));
        }
    }
    let filter = EventFilter {
        aggregate_type: query.aggregate_type,
        aggregate_id: query.aggregate_id,
        actor: query.actor,
        correlation_id: query.correlation_id,
        event_type: query.event_type,
        since: query.since,
        until: query.until,
        from_position: query.from_position,
        to_position: query.to_position,
    };
    let events = events::list(&state.pool, &filter, cursor, limit)
        .await
        .map_err(commands::Error::from)?;
    Ok(Json(EventPage {
        next_cursor: next_cursor(&events, limit, |e| e.global_position),
        events,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AsOfQuery {
    as_of: Option<DateTime<Utc>>,
    version: Option<i64>,
}

async fn aggregate(
    State(state): State<AppState>,
    caller: Caller,
    Path((aggregate_type, aggregate_id)): Path<(String, String)>,
    Query(query): Query<AsOfQuery>,
) -> Result<Json<history::State>, ApiError> {
    may_audit(&caller)?;
    let as_of = match (query.as_of, query.version) {
        (Some(_), Some(_)) => return Err(bad_query("name `as_of` or `version`, not both")),
        (Some(at), None) => AsOf::Instant(at),
        (None, Some(n)) if n >= 1 => AsOf::Version(n),
        (None, Some(_)) => return Err(bad_query("version must be at least 1")),
        (None, None) => AsOf::Latest,
    };
    match history::state(
        state.commands.keyring(),
        &aggregate_type,
        &aggregate_id,
        as_of,
    )
    .await
    {
        Ok(Some(found)) => Ok(Json(found)),
        Ok(None) => Err(ApiError::not_found(format!(
            "{aggregate_type} {aggregate_id} has no events by then"
        ))),
        Err(HistoryError::UnknownType(name)) => {
            Err(ApiError::not_found(format!("no aggregate type `{name}`")))
        }
        Err(HistoryError::Database(e)) => Err(commands::Error::from(e).into()),
        Err(HistoryError::Privacy(e)) => Err(commands::Error::from(e).into()),
        Err(error @ HistoryError::Payload { .. }) => Err(ApiError::internal(&error)),
    }
}

#[derive(Debug, Serialize)]
struct Proof {
    event: AuditEvent,
    /// What the event's hash is SHA-256 of.
    encoding: String,
    /// The checkpoint that covers the event, absent until one does.
    checkpoint: Option<CheckpointView>,
    /// The event's place among the checkpoint's events and the Merkle path from its leaf
    /// (SHA-256(0x00 || hash)) up to the checkpoint's root, lowest sibling first.
    leaf_index: Option<usize>,
    merkle_path: Vec<String>,
}

async fn proof(
    State(state): State<AppState>,
    caller: Caller,
    Path(position): Path<i64>,
) -> Result<Json<Proof>, ApiError> {
    may_audit(&caller)?;
    let not_found = || ApiError::not_found(format!("no event at position {position}"));
    let (event, encoding) = events::at_position(&state.pool, position)
        .await
        .map_err(commands::Error::from)?
        .ok_or_else(not_found)?;
    let covering = notary::covering(&state.pool, event.tx_id, event.global_position)
        .await
        .map_err(commands::Error::from)?;
    let (checkpoint, leaf_index, merkle_path) = match covering {
        Some((checkpoint, hashes)) => {
            let leaves: Vec<merkle::Hash> = hashes.iter().map(|h| merkle::leaf(h)).collect();
            let index = hashes
                .iter()
                .position(|h| canonical::hex(h) == event.hash)
                .ok_or_else(|| ApiError::internal(&Unproven(position)))?;
            let path = merkle::path(&leaves, index)
                .iter()
                .map(|h| canonical::hex(h))
                .collect();
            (Some(checkpoint.view()), Some(index), path)
        }
        None => (None, None, Vec::new()),
    };
    Ok(Json(Proof {
        event,
        encoding,
        checkpoint,
        leaf_index,
        merkle_path,
    }))
}

#[derive(Debug, thiserror::Error)]
#[error("the event at position {0} is not among the events of the checkpoint covering it")]
struct Unproven(i64);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointsQuery {
    cursor: Option<i64>,
    limit: Option<i64>,
}

#[derive(Debug, Serialize)]
struct CheckpointPage {
    checkpoints: Vec<CheckpointView>,
    next_cursor: Option<i64>,
}

async fn checkpoints(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<CheckpointsQuery>,
) -> Result<Json<CheckpointPage>, ApiError> {
    may_audit(&caller)?;
    let (cursor, limit) = page(query.cursor, query.limit, 100, 500)?;
    let found = notary::checkpoints(&state.pool, cursor, limit)
        .await
        .map_err(commands::Error::from)?;
    Ok(Json(CheckpointPage {
        checkpoints: found.iter().map(|c| c.view()).collect(),
        next_cursor: next_cursor(&found, limit, |c| c.number),
    }))
}

async fn public_key(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    may_audit(&caller)?;
    let key = state.audit_key.ok_or_else(no_audit_key)?;
    Ok(Json(json!({
        "algorithm": "Ed25519",
        "public_key": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, key),
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessQuery {
    /// Reads of this person's data only.
    subject_id: Option<Uuid>,
    /// Reads by this admin or auditor only.
    reader: Option<Uuid>,
    cursor: Option<i64>,
    limit: Option<i64>,
}

#[derive(Debug, Serialize)]
struct AccessPage {
    reads: Vec<AccessEntry>,
    next_cursor: Option<i64>,
}

/// Who read whose personal data on the platform's behalf, and when: every read of a
/// profile or an export by an admin or an auditor, oldest first.
async fn personal_data_access(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<AccessQuery>,
) -> Result<Json<AccessPage>, ApiError> {
    may_audit(&caller)?;
    let (cursor, limit) = page(query.cursor, query.limit, 100, 500)?;
    let found = access_log::list(&state.pool, query.subject_id, query.reader, cursor, limit)
        .await
        .map_err(commands::Error::from)?;
    Ok(Json(AccessPage {
        next_cursor: next_cursor(&found, limit, |e| e.id),
        reads: found,
    }))
}

#[derive(Debug, Serialize, sqlx::FromRow)]
struct StreamCount {
    aggregate_type: String,
    streams: i64,
    events: i64,
}

/// Each aggregate type with how many streams and events the store holds.
async fn streams(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    may_audit(&caller)?;
    let counts: Vec<StreamCount> = sqlx::query_as(
        "SELECT aggregate_type, count(DISTINCT aggregate_id) AS streams, count(*) AS events
           FROM events GROUP BY aggregate_type ORDER BY aggregate_type",
    )
    .fetch_all(&state.pool)
    .await
    .map_err(commands::Error::from)?;
    Ok(Json(json!({ "aggregate_types": counts })))
}

/// `hirestream audit verify`, run now: every stream's chain and every checkpoint, against
/// the key this process signs with.
async fn verification(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<commands::audit::verify::Report>, ApiError> {
    may_audit(&caller)?;
    let key = state.audit_key.ok_or_else(no_audit_key)?;
    let report = commands::audit::verify::verify(&state.pool, &key, |_| {}).await?;
    Ok(Json(report))
}

fn no_audit_key() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Unavailable,
        "this process has no valid audit signing key",
    )
}

#[derive(Debug, Serialize, sqlx::FromRow)]
struct RelayRow {
    relay_name: String,
    global_position: i64,
    published: i64,
    updated_at: DateTime<Utc>,
    last_error: Option<String>,
    last_error_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
struct ProjectionRow {
    projection: String,
    generation: i32,
    events_applied: i64,
    events_skipped: i64,
    last_position: Option<i64>,
    updated_at: DateTime<Utc>,
}

/// The spine as the database records it (the store's head, each relay's and projection's
/// progress) and as this process sees its own parts (state, lag, last problem).
async fn pipeline(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    may_audit(&caller)?;
    let database = |e: sqlx::Error| ApiError::from(commands::Error::from(e));
    let head: i64 = sqlx::query_scalar("SELECT COALESCE(max(global_position), 0) FROM events")
        .fetch_one(&state.pool)
        .await
        .map_err(database)?;
    let relays: Vec<RelayRow> = sqlx::query_as(
        "SELECT relay_name, global_position, published, updated_at, last_error, last_error_at
           FROM relay_checkpoint ORDER BY relay_name",
    )
    .fetch_all(&state.pool)
    .await
    .map_err(database)?;
    let projections: Vec<ProjectionRow> = sqlx::query_as(
        "SELECT projection, generation, events_applied, events_skipped, last_position, updated_at
           FROM projection_checkpoint ORDER BY projection",
    )
    .fetch_all(&state.pool)
    .await
    .map_err(database)?;
    Ok(Json(json!({
        "head_position": head,
        "relays": relays,
        "projections": projections,
        "parts": state.health.snapshot(),
    })))
}

/// `hirestream ledger reconcile`, run now: every wallet recomputed from the store and
/// compared with the ledger.
async fn reconciliation(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    may_audit(&caller)?;
    let pending = projections::ledger::pending_events(&state.pool).await?;
    let mismatches = projections::ledger::reconcile(&state.pool).await?;
    Ok(Json(json!({
        "clean": mismatches.is_empty(),
        "pending_events": pending,
        "mismatches": mismatches,
    })))
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    const AUDITORS: &[Who] = &[ADMIN, AUDITOR];

    #[tokio::test]
    async fn only_admins_and_auditors_get_past_the_policy() {
        assert_role_matrix(vec![
            Route::get("/audit/events", AUDITORS),
            Route::get("/audit/events/1/proof", AUDITORS),
            Route::get("/audit/aggregates/wallet/{id}", AUDITORS),
            Route::get("/audit/checkpoints", AUDITORS),
            Route::get("/audit/personal-data-access", AUDITORS),
            Route::get("/audit/streams", AUDITORS),
            Route::get("/audit/verification", AUDITORS),
            Route::get("/audit/pipeline", AUDITORS),
            Route::get("/audit/ledger/reconciliation", AUDITORS),
        ])
        .await;
    }

    #[tokio::test]
    async fn malformed_queries_are_400s_of_the_one_shape() {
        assert_refusals(
            AUDITOR,
            vec![
                bad_get("/audit/events?limit=0", 400, "invalid_query"),
                bad_get("/audit/events?limit=501", 400, "invalid_query"),
                bad_get("/audit/events?cursor=-1", 400, "invalid_query"),
                bad_get("/audit/events?since=yesterday", 400, "invalid_query"),
                bad_get(
                    "/audit/events?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z",
                    400,
                    "invalid_query",
                ),
                bad_get("/audit/events?actor=%00", 400, "invalid_text"),
                bad_get("/audit/events/x/proof", 400, "invalid_path"),
                bad_get(
                    "/audit/aggregates/wallet/{id}?as_of=2026-01-01T00:00:00Z&version=2",
                    400,
                    "invalid_query",
                ),
                bad_get(
                    "/audit/aggregates/wallet/{id}?version=0",
                    400,
                    "invalid_query",
                ),
                bad_get("/audit/checkpoints?limit=0", 400, "invalid_query"),
                bad_get(
                    "/audit/personal-data-access?subject_id=x",
                    400,
                    "invalid_query",
                ),
            ],
        )
        .await;
    }
}
