//! Applications: a candidate's own list, one application, and the employer's and candidate's
//! changes to it.

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use domain::application::ApplicationStatus;
use projections::applications::{
    self, ApplicationList, ApplicationView, ApplicationsOf, ApplicationsProjector,
};
use serde::Deserialize;
use uuid::Uuid;

use super::{page_cursor, page_limit, AfterQuery};
use crate::error::{ApiError, ErrorCode};
use crate::extract::{Caller, Json, Path, Query};
use crate::position::{reflect, Written};
use crate::read_policy::{self, Parties, Read};
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
    let candidate_id = read_policy::whose_applications(caller.actor, query.candidate_id)?;
    list_applications(&state, ApplicationsOf::Candidate(candidate_id), &query).await
}

/// The candidate, the job's employer, admins and auditors see an application.
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(application_id): Path<Uuid>,
    Query(query): Query<AfterQuery>,
) -> Result<axum::Json<ApplicationView>, ApiError> {
    read_policy::may_ask(caller.actor, Read::Application)?;
    reflect::<ApplicationsProjector>(&state, query.after.as_deref()).await?;
    let view = applications::application(&state.pool, application_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("application {application_id} does not exist"))
        })?;
    read_policy::may_read(
        caller.actor,
        Read::Application,
        Parties::both(view.candidate_id, view.employer_id),
    )?;
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
            ErrorCode::InvalidBody,
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
            ErrorCode::InvalidQuery,
            format!("status is one of {}", STATUSES.join(", ")),
        ));
    }
    reflect::<ApplicationsProjector>(state, query.after.as_deref()).await?;
    Ok(axum::Json(
        applications::list(&state.pool, of, status, after, limit).await?,
    ))
}

#[cfg(test)]
mod tests {
    use axum::http::Method;
    use serde_json::json;

    use crate::testing::*;

    #[tokio::test]
    async fn each_role_is_refused_or_let_through_before_the_application_is_looked_up() {
        assert_role_matrix(vec![
            // Admins and auditors must name the candidate (a 400 below).
            Route::get("/applications", &[CANDIDATE, OTHER_CANDIDATE]).asked_by(&PARTIES),
            Route::get("/applications?candidate_id={id}", &[ADMIN, AUDITOR]),
            // Only the application names its parties: every caller gets as far as it.
            Route::get("/applications/{id}", &EVERYONE),
            Route::with(
                Method::POST,
                "/applications/{id}/status",
                json!({"status": "screening"}),
                &EVERYONE,
            ),
            Route::with(
                Method::POST,
                "/applications/{id}/withdraw",
                json!({}),
                &EVERYONE,
            ),
        ])
        .await;
    }

    #[tokio::test]
    async fn malformed_requests_are_4xx_of_the_one_shape() {
        let mut cases = vec![
            bad_get("/applications?limit=0", 400, "invalid_query"),
            bad_get("/applications?limit=201", 400, "invalid_query"),
            bad_get("/applications?cursor=nonsense", 400, "invalid_query"),
            bad_get("/applications?status=pending", 400, "invalid_query"),
            bad_get("/applications?after=nonsense", 400, "invalid_position"),
            bad_get(
                "/applications?after=wallet:x:1",
                400,
                "unsupported_position",
            ),
            bad_get("/applications?status=%00", 400, "invalid_text"),
        ];
        cases.push(Refusal {
            method: Method::POST,
            uri: "/applications/{id}/status",
            body: Some(json!({"status": "withdrawn"})),
            status: 400,
            code: "invalid_body",
        });
        assert_refusals(CANDIDATE, cases).await;
        assert_refusals(ADMIN, vec![bad_get("/applications", 400, "invalid_query")]).await;
    }
}
