use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use domain::candidate::RegisterCandidate;
use domain::Role;
use serde::Deserialize;
use uuid::Uuid;

use super::acting_for;
use crate::error::ApiError;
use crate::extract::{Caller, Json};
use crate::position::Written;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/candidates", post(register))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    /// Only for admins; a candidate registers itself (its token's subject).
    candidate_id: Option<Uuid>,
    name: String,
    email: String,
}

async fn register(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<RegisterBody>,
) -> Result<(StatusCode, axum::Json<Written>), ApiError> {
    let candidate_id = acting_for(
        caller.actor,
        Role::Candidate,
        body.candidate_id,
        "candidate_id",
    )?;
    let command = RegisterCandidate {
        candidate_id,
        name: body.name,
        email: body.email,
    };
    let committed = state
        .commands
        .register_candidate(&caller.context, command)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(committed.into())))
}
