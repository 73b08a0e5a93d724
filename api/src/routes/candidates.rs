use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::Router;
use domain::candidate::{
    CandidateProfile, RegisterCandidate, UpdateCandidateProfile, ValidateCandidate,
};
use domain::{Role, Write};
use projections::profiles::{self, CandidateView, ProfilesProjector};
use serde::Deserialize;
use uuid::Uuid;

use super::{acting_for, AfterQuery};
use crate::error::ApiError;
use crate::extract::{Caller, Json, Path, Query};
use crate::position::{reflect, Written};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/candidates", post(register))
        .route("/candidates/{candidate_id}", get(show))
        .route("/candidates/{candidate_id}/profile", put(update_profile))
        .route("/candidates/{candidate_id}/validation", post(validate))
}

/// The candidate itself, admins and auditors see everything; employers see the profile
/// without the email address; other candidates see nothing.
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(candidate_id): Path<Uuid>,
    Query(query): Query<AfterQuery>,
) -> Result<axum::Json<CandidateView>, ApiError> {
    let full = caller.actor.reads_everything() || caller.actor.subject == candidate_id;
    if !full && caller.actor.role != Role::Employer {
        return Err(ApiError::forbidden("candidates see only their own profile"));
    }
    reflect::<ProfilesProjector>(&state, query.after.as_deref()).await?;
    let mut view = profiles::candidate(&state.pool, candidate_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("candidate {candidate_id} does not exist")))?;
    if !full {
        view.email = String::new();
    }
    Ok(axum::Json(view))
}

async fn update_profile(
    State(state): State<AppState>,
    caller: Caller,
    Path(candidate_id): Path<Uuid>,
    Json(profile): Json<CandidateProfile>,
) -> Result<axum::Json<Written>, ApiError> {
    super::authorize(caller.actor, Write::UpdateCandidateProfile, candidate_id)?;
    let command = UpdateCandidateProfile {
        candidate_id,
        profile: Box::new(profile),
        updated_by: caller.actor,
    };
    let written = state
        .commands
        .update_candidate_profile(&caller.context, command)
        .await?;
    Ok(axum::Json(written.into()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidationBody {
    score: i32,
}

/// An admin's 0–100 validation score.
async fn validate(
    State(state): State<AppState>,
    caller: Caller,
    Path(candidate_id): Path<Uuid>,
    Json(body): Json<ValidationBody>,
) -> Result<axum::Json<Written>, ApiError> {
    super::authorize(caller.actor, Write::ValidateCandidate, candidate_id)?;
    let command = ValidateCandidate {
        candidate_id,
        score: body.score,
        validated_by: caller.actor,
    };
    let written = state
        .commands
        .validate_candidate(&caller.context, command)
        .await?;
    Ok(axum::Json(written.into()))
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
