//! Reading the match tables: my matches, and the matches of one job.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use domain::Role;
use projections::matches::{self, MatchView, MatchesOf, MatchesProjector};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{Caller, Path, Query};
use crate::position::reflect;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/matches", get(my_matches))
        .route("/jobs/{job_id}/matches", get(job_matches))
}

const MAX_LIMIT: i64 = 200;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchesQuery {
    /// A position a command returned: wait until the view reflects it.
    after: Option<String>,
    limit: Option<i64>,
    /// For admins: whose matches.
    candidate_id: Option<Uuid>,
    employer_id: Option<Uuid>,
}

#[derive(Debug, Serialize)]
struct MatchList {
    matches: Vec<MatchView>,
}

/// A candidate's matches, or an employer's across all its jobs.
async fn my_matches(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<MatchesQuery>,
) -> Result<Json<MatchList>, ApiError> {
    let limit = super::page_limit(query.limit, 50, MAX_LIMIT)?;
    let of = match (caller.actor.role, query.candidate_id, query.employer_id) {
        (Role::Candidate, None, None) => MatchesOf::Candidate(caller.actor.subject),
        (Role::Employer, None, None) => MatchesOf::Employer(caller.actor.subject),
        (_, Some(id), None) if caller.actor.reads_everything() => MatchesOf::Candidate(id),
        (_, None, Some(id)) if caller.actor.reads_everything() => MatchesOf::Employer(id),
        (Role::Admin | Role::Auditor, _, _) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "an admin or auditor names exactly one of candidate_id or employer_id",
            ))
        }
        _ => {
            return Err(ApiError::forbidden(
                "candidate_id and employer_id are for admins; others see their own matches",
            ))
        }
    };
    reflect::<MatchesProjector>(&state, query.after.as_deref()).await?;
    let matches = matches::list(&state.pool, of, limit).await?;
    Ok(Json(MatchList { matches }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobMatchesQuery {
    after: Option<String>,
    limit: Option<i64>,
}

/// The matches of one job, for its employer.
async fn job_matches(
    State(state): State<AppState>,
    caller: Caller,
    Path(job_id): Path<Uuid>,
    Query(query): Query<JobMatchesQuery>,
) -> Result<Json<MatchList>, ApiError> {
    let limit = super::page_limit(query.limit, 50, MAX_LIMIT)?;
    let job = state
        .commands
        .job_ref(job_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("job {job_id} does not exist")))?;
    let reads = caller.actor.reads_everything()
        || (caller.actor.role == Role::Employer && caller.actor.subject == job.employer_id);
    if !reads {
        return Err(ApiError::forbidden(format!(
            "only the employer of job {job_id} sees its matches"
        )));
    }
    reflect::<MatchesProjector>(&state, query.after.as_deref()).await?;
    let matches = matches::list(&state.pool, MatchesOf::Job(job_id), limit).await?;
    Ok(Json(MatchList { matches }))
}
