//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: it can reach
//! PostgreSQL and none of its parts (the relay, projectors) is stuck or failed; the answer
//! lists each part with its state and lag).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let parts = state.health.snapshot();
    let database = match sqlx::query("SELECT 1").execute(&state.pool).await {
        Ok(_) => "reachable",
        Err(error) => {
            tracing::warn!(%error, "not ready: database unreachable");
            "unreachable"
        }
    };
    let ready = database == "reachable" && state.health.is_ready();
    let (status, word) = if ready {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    };
    (
        status,
        Json(json!({ "status": word, "database": database, "parts": parts })),
    )
}
