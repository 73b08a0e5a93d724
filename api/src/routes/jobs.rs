use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use domain::job::{JobDetails, JobSource, PostJob, UpdateJob};
use domain::pairing::Decision;
use domain::profile::{SalaryRange, Skill, WorkArrangement};
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
        .route("/jobs/{job_id}", axum::routing::put(update_job))
        .route("/jobs/{job_id}/close", post(close_job))
        .route("/jobs/{job_id}/swipe", post(swipe_job))
        .route(
            "/jobs/{job_id}/candidates/{candidate_id}/swipe",
            post(swipe_candidate),
        )
}

/// A job as a client writes it (imports set the source themselves).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobBody {
    /// On creation only, optional: a client that chooses the id can retry safely.
    job_id: Option<Uuid>,
    /// On creation by an admin only; an employer posts its own jobs.
    employer_id: Option<Uuid>,
    title: String,
    description: String,
    #[serde(default)]
    skills: Vec<Skill>,
    #[serde(default)]
    min_years: i32,
    #[serde(default)]
    salary: Option<SalaryRange>,
    #[serde(default)]
    locations: Vec<String>,
    #[serde(default)]
    remote: WorkArrangement,
    #[serde(default)]
    work_authorizations: Vec<String>,
    #[serde(default)]
    department: Option<String>,
    #[serde(default)]
    employment_type: Option<String>,
}

impl From<JobBody> for JobDetails {
    fn from(body: JobBody) -> Self {
        JobDetails {
            title: body.title,
            description: body.description,
            skills: body.skills,
            min_years: body.min_years,
            salary: body.salary,
            locations: body.locations,
            remote: body.remote,
            work_authorizations: body.work_authorizations,
            department: body.department,
            employment_type: body.employment_type,
            source: JobSource::default(),
        }
    }
}

async fn post_job(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<JobBody>,
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
        details: body.into(),
        posted_by: caller.actor,
    };
    let committed = state.commands.post_job(&caller.context, command).await?;
    Ok((StatusCode::CREATED, axum::Json(committed.into())))
}

/// The job's employer replaces its details.
async fn update_job(
    State(state): State<AppState>,
    caller: Caller,
    Path(job_id): Path<Uuid>,
    Json(body): Json<JobBody>,
) -> Result<axum::Json<Written>, ApiError> {
    if body.job_id.is_some() || body.employer_id.is_some() {
        return Err(ApiError::bad_request(
            "invalid_body",
            "a job's id and employer cannot change",
        ));
    }
    let command = UpdateJob {
        job_id,
        details: body.into(),
        updated_by: caller.actor,
    };
    let committed = state.commands.update_job(&caller.context, command).await?;
    Ok(axum::Json(committed.into()))
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
