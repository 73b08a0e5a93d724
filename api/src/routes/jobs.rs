use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use domain::job::{JobDetails, JobSource, PostJob, UpdateJob};
use domain::pairing::Decision;
use domain::profile::{SalaryRange, Skill, WorkArrangement};
use domain::Role;
use projections::applications::{ApplicationList, ApplicationsOf};
use projections::jobs::{self, JobFilter, JobView, JobsProjector};
use projections::page::Page;
use serde::Deserialize;
use uuid::Uuid;

use super::acting_for;
use super::applications::{list_applications, ApplicationsQuery};
use super::{page_cursor, page_limit, AfterQuery};
use crate::error::{ApiError, ErrorCode};
use crate::extract::{Caller, Json, Path, Query};
use crate::position::{reflect, Written};
use crate::read_policy::{self, Parties, Read};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/jobs", post(post_job).get(list_jobs))
        .route("/jobs/{job_id}", get(show_job).put(update_job))
        .route(
            "/jobs/{job_id}/applications",
            post(apply).get(job_applications),
        )
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
            ErrorCode::InvalidBody,
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
    let committed = state
        .commands
        .swipe_candidate(&caller.context, job_id, candidate_id, body.decision)
        .await?;
    Ok(axum::Json(committed.into()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobsQuery {
    after: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
    /// `open` (the default) or `closed`; `any` for both.
    status: Option<String>,
    remote: Option<String>,
    location: Option<String>,
    /// Words in the title or description.
    q: Option<String>,
    employer_id: Option<Uuid>,
    skill: Option<String>,
}

/// Jobs, newest first, filtered; every signed-in caller may browse.
async fn list_jobs(
    State(state): State<AppState>,
    _caller: Caller,
    Query(query): Query<JobsQuery>,
) -> Result<axum::Json<Page<JobView>>, ApiError> {
    let limit = page_limit(query.limit, 20, 100)?;
    let after = page_cursor(query.cursor.as_deref())?;
    let status = match query.status.as_deref() {
        None | Some("open") => Some("open".to_owned()),
        Some("closed") => Some("closed".to_owned()),
        Some("any") => None,
        Some(_) => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidQuery,
                "status is open, closed or any",
            ))
        }
    };
    if let Some(remote) = query.remote.as_deref() {
        if !["remote", "hybrid", "onsite"].contains(&remote) {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidQuery,
                "remote is remote, hybrid or onsite",
            ));
        }
    }
    let text = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
    let filter = JobFilter {
        status,
        remote: query.remote,
        location: text(query.location),
        text: text(query.q),
        employer_id: query.employer_id,
        skill: text(query.skill),
    };
    reflect::<JobsProjector>(&state, query.after.as_deref()).await?;
    Ok(axum::Json(
        jobs::list(&state.pool, &filter, after, limit).await?,
    ))
}

async fn show_job(
    State(state): State<AppState>,
    _caller: Caller,
    Path(job_id): Path<Uuid>,
    Query(query): Query<AfterQuery>,
) -> Result<axum::Json<JobView>, ApiError> {
    reflect::<JobsProjector>(&state, query.after.as_deref()).await?;
    jobs::job(&state.pool, job_id)
        .await?
        .map(axum::Json)
        .ok_or_else(|| ApiError::not_found(format!("job {job_id} does not exist")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplyBody {
    #[serde(default)]
    document_ids: Vec<Uuid>,
    /// Only for admins; a candidate applies as itself.
    candidate_id: Option<Uuid>,
}

/// A candidate applies to an open job (SubmitApplication).
async fn apply(
    State(state): State<AppState>,
    caller: Caller,
    Path(job_id): Path<Uuid>,
    Json(body): Json<ApplyBody>,
) -> Result<(StatusCode, axum::Json<Written>), ApiError> {
    let candidate_id = acting_for(
        caller.actor,
        Role::Candidate,
        body.candidate_id,
        "candidate_id",
    )?;
    let written = state
        .commands
        .submit_application(&caller.context, candidate_id, job_id, body.document_ids)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(written.into())))
}

/// A job's applications with counts per status, for its employer, admins and auditors.
async fn job_applications(
    State(state): State<AppState>,
    caller: Caller,
    Path(job_id): Path<Uuid>,
    Query(query): Query<ApplicationsQuery>,
) -> Result<axum::Json<ApplicationList>, ApiError> {
    read_policy::may_ask(caller.actor, Read::JobApplications)?;
    let job = state
        .commands
        .job_ref(job_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("job {job_id} does not exist")))?;
    read_policy::may_read(
        caller.actor,
        Read::JobApplications,
        Parties::employer(job.employer_id),
    )?;
    if query.candidate_id.is_some() {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidQuery,
            "candidate_id is not a filter here",
        ));
    }
    list_applications(&state, ApplicationsOf::Job(job_id), &query).await
}

#[cfg(test)]
mod tests {
    use axum::http::Method;
    use serde_json::json;

    use crate::testing::*;

    #[tokio::test]
    async fn each_role_is_refused_or_let_through_before_the_job_is_looked_up() {
        let job = || json!({"title": "Rust engineer", "description": "Build things"});
        assert_role_matrix(vec![
            Route::get("/jobs", &EVERYONE),
            Route::get("/jobs/{id}", &EVERYONE),
            Route::with(
                Method::POST,
                "/jobs",
                json!({"employer_id": OWNER, "title": "Rust", "description": "d"}),
                &[EMPLOYER, ADMIN],
            ),
            // The job's employer decides these, so every caller gets as far as the job.
            Route::with(Method::PUT, "/jobs/{id}", job(), &EVERYONE),
            Route::with(Method::POST, "/jobs/{id}/close", json!({}), &EVERYONE),
            Route::with(
                Method::POST,
                "/jobs/{id}/candidates/{id}/swipe",
                json!({"decision": "like"}),
                &EVERYONE,
            ),
            Route::with(
                Method::POST,
                "/jobs/{id}/swipe",
                json!({"decision": "pass", "candidate_id": OWNER}),
                &[CANDIDATE, ADMIN],
            ),
            Route::with(
                Method::POST,
                "/jobs/{id}/applications",
                json!({"candidate_id": OWNER}),
                &[CANDIDATE, ADMIN],
            ),
            Route::get(
                "/jobs/{id}/applications",
                &[EMPLOYER, OTHER_EMPLOYER, ADMIN, AUDITOR],
            ),
        ])
        .await;
    }

    #[tokio::test]
    async fn malformed_queries_and_bodies_are_4xx_of_the_one_shape() {
        let mut cases = vec![
            bad_get("/jobs?limit=0", 400, "invalid_query"),
            bad_get("/jobs?limit=101", 400, "invalid_query"),
            bad_get("/jobs?limit=-1", 400, "invalid_query"),
            bad_get("/jobs?limit=ten", 400, "invalid_query"),
            bad_get("/jobs?limit=99999999999999999999", 400, "invalid_query"),
            bad_get("/jobs?cursor=nonsense", 400, "invalid_query"),
            bad_get("/jobs?status=draft", 400, "invalid_query"),
            bad_get("/jobs?remote=moon", 400, "invalid_query"),
            bad_get("/jobs?employer_id=acme", 400, "invalid_query"),
            bad_get("/jobs?colour=blue", 400, "invalid_query"),
            bad_get("/jobs?after=nonsense", 400, "invalid_position"),
            bad_get("/jobs?after=job:x:zero", 400, "invalid_position"),
            bad_get("/jobs?after=wallet:x:1", 400, "unsupported_position"),
            bad_get("/jobs?q=%00", 400, "invalid_text"),
            bad_get("/jobs/{id}?after=:x:1", 400, "invalid_position"),
            bad_get("/jobs/{id}?limit=1", 400, "invalid_query"),
            bad_get("/jobs/42", 400, "invalid_path"),
        ];
        cases.extend([
            Refusal {
                method: Method::PUT,
                uri: "/jobs/{id}",
                body: Some(json!({"title": "t", "description": "d", "employer_id": OWNER})),
                status: 400,
                code: "invalid_body",
            },
            Refusal {
                method: Method::POST,
                uri: "/jobs",
                body: Some(json!({"title": "t", "description": "d"})),
                status: 400,
                code: "missing_field",
            },
            Refusal {
                method: Method::POST,
                uri: "/jobs/{id}/swipe",
                body: Some(json!({"decision": "maybe", "candidate_id": OWNER})),
                status: 422,
                code: "invalid_body",
            },
        ]);
        assert_refusals(ADMIN, cases).await;
    }

    #[tokio::test]
    async fn a_body_without_its_content_type_or_not_json_is_refused() {
        let bearer = ADMIN.bearer();
        let request = axum::http::Request::builder()
            .method(Method::POST)
            .uri("/jobs")
            .header("authorization", &bearer)
            .body(axum::body::Body::from("{}"))
            .expect("request");
        let response = tower::ServiceExt::oneshot(app(), request)
            .await
            .expect("response");
        assert_eq!(response.status(), 415);
        let (status, _, answer) = send(
            Method::POST,
            "/jobs",
            &[("authorization", &bearer)],
            Some("{\"title\": ".into()),
        )
        .await;
        assert_eq!(
            (status, &answer["error"]["code"]),
            (400, &json!("malformed_json"))
        );
    }
}
