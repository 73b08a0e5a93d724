use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use domain::job::PostJob;
use domain::pairing::Decision;
use domain::Role;
use serde::Deserialize;
use uuid::Uuid;

use super::acting_for;
use crate::error::ApiError;
use crate::extract::{Caller, Json, Path};
use crate::position::Written;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/jobs", post(post_job))
        .route("/jobs/{job_id}/close", post(close_job))
        .route("/jobs/{job_id}/swipe", post(swipe_job))
        .route(
            "/jobs/{job_id}/candidates/{candidate_id}/swipe",
            post(swipe_candidate),
        )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PostJobBody {
    /// Optional: a client that chooses the id can retry the request safely.
    job_id: Option<Uuid>,
    /// Only for admins; an employer posts its own jobs.
    employer_id: Option<Uuid>,
    title: String,
    description: String,
}

async fn post_job(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<PostJobBody>,
) -> Result<(StatusCode, axum::Json<Written>), ApiError> {
    let employer_id = acting_for(
        caller.actor,
        Role::Employer,
        body.employer_id,
        "employer_id",
    )?;
    let command = PostJob {
        job_id: body.job_id.unwrap_or_else(Uuid::now_v7),
        employer_id,
        title: body.title,
        description: body.description,
        posted_by: caller.actor,
    };
    let committed = state.commands.post_job(&caller.context, command).await?;
    Ok((StatusCode::CREATED, axum::Json(committed.into())))
}

async fn close_job(
    State(state): State<AppState>,
    caller: Caller,
    Path(job_id): Path<Uuid>,
) -> Result<axum::Json<Written>, ApiError> {
    if caller.actor.role == Role::Candidate {
        return Err(ApiError::forbidden(
            "only the job's employer or an admin closes a job",
        ));
    }
    let committed = state.commands.close_job(&caller.context, job_id).await?;
    Ok(axum::Json(committed.into()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SwipeJobBody {
    decision: Decision,
    /// Only for admins; a candidate swipes as itself.
    candidate_id: Option<Uuid>,
}

/// A candidate likes or passes on a job.
async fn swipe_job(
    State(state): State<AppState>,
    caller: Caller,
    Path(job_id): Path<Uuid>,
    Json(body): Json<SwipeJobBody>,
) -> Result<axum::Json<Written>, ApiError> {
    let candidate_id = acting_for(
        caller.actor,
        Role::Candidate,
        body.candidate_id,
        "candidate_id",
    )?;
    let committed = state
        .commands
        .swipe_job(&caller.context, candidate_id, job_id, body.decision)
        .await?;
    Ok(axum::Json(committed.into()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SwipeCandidateBody {
    decision: Decision,
}

/// The job's employer likes or passes on a candidate.
async fn swipe_candidate(
    State(state): State<AppState>,
    caller: Caller,
    Path((job_id, candidate_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<SwipeCandidateBody>,
) -> Result<axum::Json<Written>, ApiError> {
    if caller.actor.role == Role::Candidate {
        return Err(ApiError::forbidden(
            "only the job's employer or an admin swipes on candidates",
        ));
    }
    let committed = state
        .commands
        .swipe_candidate(&caller.context, job_id, candidate_id, body.decision)
        .await?;
    Ok(axum::Json(committed.into()))
}
