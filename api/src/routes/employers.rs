use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use domain::employer::RegisterEmployer;
use domain::Role;
use serde::Deserialize;
use uuid::Uuid;

use super::acting_for;
use crate::error::ApiError;
use crate::extract::{Caller, Json};
use crate::position::Written;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/employers", post(register))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    /// Only for admins; an employer registers itself (its token's subject).
    employer_id: Option<Uuid>,
    name: String,
}

async fn register(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<RegisterBody>,
) -> Result<(StatusCode, axum::Json<Written>), ApiError> {
    let employer_id = acting_for(
        caller.actor,
        Role::Employer,
        body.employer_id,
        "employer_id",
    )?;
    let command = RegisterEmployer {
        employer_id,
        name: body.name,
    };
    let committed = state
        .commands
        .register_employer(&caller.context, command)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(committed.into())))
}
