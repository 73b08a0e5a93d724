//! The ranked feeds and semantic job search: a candidate's next jobs, a job's best
//! candidates, and open jobs found by meaning.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use domain::profile::WorkArrangement;
use projections::matching::feeds::{self, CandidateEntry, JobEntry, SearchFilter, SearchHit};
use projections::matching::MatchingProjector;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ApiError, ErrorCode};
use crate::extract::{Caller, Path, Query};
use crate::position::reflect;
use crate::read_policy::{self, Parties, Read};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/candidates/{candidate_id}/feed", get(candidate_feed))
        .route("/jobs/{job_id}/feed", get(job_feed))
        .route("/jobs/search", get(search_jobs))
}

/// A feed holds at most this many entries (the matching projector's default feed size).
const MAX_FEED: i64 = 100;
const MAX_SEARCH: i64 = 100;
const MAX_QUERY_CHARS: usize = 1_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedQuery {
    /// A position a command returned: wait until the feed reflects it.
    after: Option<String>,
    limit: Option<i64>,
}

#[derive(Debug, Serialize)]
struct JobFeed {
    jobs: Vec<JobEntry>,
}

#[derive(Debug, Serialize)]
struct CandidateFeed {
    candidates: Vec<CandidateEntry>,
}

/// The candidate's next jobs, best first, each with its score broken down by factor.
async fn candidate_feed(
    State(state): State<AppState>,
    caller: Caller,
    Path(candidate_id): Path<Uuid>,
    Query(query): Query<FeedQuery>,
) -> Result<Json<JobFeed>, ApiError> {
    read_policy::may_read(
        caller.actor,
        Read::CandidateFeed,
        Parties::candidate(candidate_id),
    )?;
    let limit = super::page_limit(query.limit, 20, MAX_FEED)?;
    reflect::<MatchingProjector>(&state, query.after.as_deref()).await?;
    let jobs = feeds::candidate_feed(&state.pool, candidate_id, limit).await?;
    Ok(Json(JobFeed { jobs }))
}

/// The job's best candidates, for its employer.
async fn job_feed(
    State(state): State<AppState>,
    caller: Caller,
    Path(job_id): Path<Uuid>,
    Query(query): Query<FeedQuery>,
) -> Result<Json<CandidateFeed>, ApiError> {
    let limit = super::page_limit(query.limit, 20, MAX_FEED)?;
    read_policy::may_ask(caller.actor, Read::JobFeed)?;
    let job = state
        .commands
        .job_ref(job_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("job {job_id} does not exist")))?;
    read_policy::may_read(
        caller.actor,
        Read::JobFeed,
        Parties::employer(job.employer_id),
    )?;
    reflect::<MatchingProjector>(&state, query.after.as_deref()).await?;
    let candidates = feeds::job_feed(&state.pool, job_id, limit).await?;
    Ok(Json(CandidateFeed { candidates }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    /// Free text: what the job is about.
    q: String,
    remote: Option<WorkArrangement>,
    location: Option<String>,
    skill: Option<String>,
    min_salary: Option<i64>,
    employer_id: Option<Uuid>,
    limit: Option<i64>,
    after: Option<String>,
}

#[derive(Debug, Serialize)]
struct SearchResults {
    jobs: Vec<SearchHit>,
}

/// Open jobs nearest in meaning to `q`, filtered by work arrangement, place, skill, pay and
/// employer.
async fn search_jobs(
    State(state): State<AppState>,
    _caller: Caller,
    Query(query): Query<SearchQuery>,
) -> Result<Json<SearchResults>, ApiError> {
    let text = query.q.trim();
    if text.is_empty() || text.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidQuery,
            format!("q must be between 1 and {MAX_QUERY_CHARS} characters"),
        ));
    }
    if query.min_salary.is_some_and(|s| s < 0) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidQuery,
            "min_salary cannot be negative",
        ));
    }
    let limit = super::page_limit(query.limit, 20, MAX_SEARCH)?;
    let Some(search) = &state.search else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::SearchUnavailable,
            "this process does not reach the vector index: run it with the matching projector, \
             or configure a Qdrant server",
        ));
    };
    reflect::<MatchingProjector>(&state, query.after.as_deref()).await?;
    let filter = SearchFilter {
        remote: query.remote,
        location: query.location.filter(|l| !l.trim().is_empty()),
        skill: query.skill.filter(|s| !s.trim().is_empty()),
        min_salary: query.min_salary,
        employer_id: query.employer_id,
    };
    let jobs = search
        .search(&state.pool, text, &filter, limit as usize)
        .await?;
    Ok(Json(SearchResults { jobs }))
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    #[tokio::test]
    async fn each_role_is_refused_or_let_through_before_any_feed_is_looked_up() {
        assert_role_matrix(vec![
            Route::get("/candidates/{id}/feed", &[CANDIDATE, ADMIN, AUDITOR]),
            Route::get(
                "/jobs/{id}/feed",
                &[EMPLOYER, OTHER_EMPLOYER, ADMIN, AUDITOR],
            ),
            // Search needs the vector index, which the test app does not have: a 503 too.
            Route::get("/jobs/search?q=rust", &EVERYONE),
        ])
        .await;
    }

    #[tokio::test]
    async fn malformed_queries_are_400s_of_the_one_shape() {
        assert_refusals(
            CANDIDATE,
            vec![
                bad_get("/candidates/{id}/feed?limit=0", 400, "invalid_query"),
                bad_get("/candidates/{id}/feed?limit=101", 400, "invalid_query"),
                bad_get("/candidates/{id}/feed?after=x", 400, "invalid_position"),
                bad_get(
                    "/candidates/{id}/feed?after=wallet:x:1",
                    400,
                    "unsupported_position",
                ),
                bad_get("/candidates/{id}/feed?cursor=1", 400, "invalid_query"),
                bad_get("/jobs/{id}/feed?limit=x", 400, "invalid_query"),
                bad_get("/jobs/search", 400, "invalid_query"),
                bad_get("/jobs/search?q=", 400, "invalid_query"),
                bad_get("/jobs/search?q=%20%20", 400, "invalid_query"),
                bad_get("/jobs/search?q=rust&min_salary=-1", 400, "invalid_query"),
                bad_get("/jobs/search?q=rust&limit=101", 400, "invalid_query"),
                bad_get("/jobs/search?q=rust&remote=moon", 400, "invalid_query"),
                bad_get("/jobs/search?q=rust%00", 400, "invalid_text"),
            ],
        )
        .await;
    }
}
