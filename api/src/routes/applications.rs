//! Applications: a candidate's own list, one application, and the employer's and candidate's
//! changes to it.

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use domain::application::ApplicationStatus;
use domain::Role;
use projections::applications::{
    self, ApplicationList, ApplicationView, ApplicationsOf, ApplicationsProjector,
};
use serde::Deserialize;
use uuid::Uuid;

use super::{page_cursor, page_limit, AfterQuery};
use crate::error::ApiError;
use crate::extract::{Caller, Json, Path, Query};
use crate::position::{reflect, Written};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/applications", get(mine))
        .route("/applications/{application_id}", get(show))
        .route("/applications/{application_id}/status", post(change_status))
        .route("/applications/{application_id}/withdraw", post(withdraw))
}

/// A candidate's applications with counts per status; admins and auditors name the
/// candidate.
async fn mine(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ApplicationsQuery>,
) -> Result<axum::Json<ApplicationList>, ApiError> {
    let candidate_id = match (caller.actor.role, query.candidate_id) {
        (Role::Candidate, None) => caller.actor.subject,
        (_, Some(id)) if caller.actor.reads_everything() => id,
        (Role::Admin | Role::Auditor, None) => {
            return Err(ApiError::bad_request("invalid_query", "name candidate_id"))
        }
        _ => {
            return Err(ApiError::forbidden(
                "candidates list their own applications; employers list a job's",
            ))
        }
    };
    list_applications(&state, ApplicationsOf::Candidate(candidate_id), &query).await
}

/// The candidate, the job's employer, admins and auditors see an application.
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(application_id): Path<Uuid>,
    Query(query): Query<AfterQuery>,
) -> Result<axum::Json<ApplicationView>, ApiError> {
    reflect::<ApplicationsProjector>(&state, query.after.as_deref()).await?;
    let view = applications::application(&state.pool, application_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("application {application_id} does not exist"))
        })?;
    let party = match caller.actor.role {
        Role::Candidate => caller.actor.subject == view.candidate_id,
        Role::Employer => caller.actor.subject == view.employer_id,
        _ => caller.actor.reads_everything(),
    };
    if !party {
        return Err(ApiError::forbidden(
            "only the parties to an application see it",
        ));
    }
    Ok(axum::Json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: ApplicationStatus,
}

/// The job's employer moves the application (ChangeApplicationStatus).
async fn change_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(application_id): Path<Uuid>,
    Json(body): Json<StatusBody>,
) -> Result<axum::Json<Written>, ApiError> {
    if body.status == ApplicationStatus::Withdrawn {
        return Err(ApiError::bad_request(
            "invalid_body",
            "the candidate withdraws with POST /applications/{id}/withdraw",
        ));
    }
    let written = state
        .commands
        .change_application_status(&caller.context, application_id, body.status)
        .await?;
    Ok(axum::Json(written.into()))
}

/// The candidate withdraws its application (WithdrawApplication).
async fn withdraw(
    State(state): State<AppState>,
    caller: Caller,
    Path(application_id): Path<Uuid>,
) -> Result<axum::Json<Written>, ApiError> {
    let written = state
        .commands
        .withdraw_application(&caller.context, application_id)
        .await?;
    Ok(axum::Json(written.into()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApplicationsQuery {
    pub(crate) after: Option<String>,
    pub(crate) cursor: Option<String>,
    pub(crate) limit: Option<i64>,
    pub(crate) status: Option<String>,
    /// For admins and auditors listing a candidate's applications.
    pub(crate) candidate_id: Option<Uuid>,
}

/// One page of applications, once the view reflects `after`.
pub(crate) async fn list_applications(
    state: &AppState,
    of: ApplicationsOf,
    query: &ApplicationsQuery,
) -> Result<axum::Json<ApplicationList>, ApiError> {
    let limit = page_limit(query.limit, 50, 200)?;
    let after = page_cursor(query.cursor.as_deref())?;
    let status = query.status.as_deref();
    const STATUSES: [&str; 7] = [
        "submitted",
        "screening",
        "interviewing",
        "offered",
        "hired",
        "rejected",
        "withdrawn",
    ];
    if status.is_some_and(|s| !STATUSES.contains(&s)) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("status is one of {}", STATUSES.join(", ")),
        ));
    }
    reflect::<ApplicationsProjector>(state, query.after.as_deref()).await?;
    Ok(axum::Json(
        applications::list(&state.pool, of, status, after, limit).await?,
    ))
}
