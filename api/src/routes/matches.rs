//! Reading the match tables: my matches, and the matches of one job.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use projections::matches::{self, MatchView, MatchesOf, MatchesProjector};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{Caller, Path, Query};
use crate::position::reflect;
use crate::read_policy::{self, Parties, Read};
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
    let of = match read_policy::whose_matches(caller.actor, query.candidate_id, query.employer_id)?
    {
        read_policy::MatchesOf::Candidate(id) => MatchesOf::Candidate(id),
        read_policy::MatchesOf::Employer(id) => MatchesOf::Employer(id),
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
    read_policy::may_ask(caller.actor, Read::JobMatches)?;
    let job = state
        .commands
        .job_ref(job_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("job {job_id} does not exist")))?;
    read_policy::may_read(
        caller.actor,
        Read::JobMatches,
        Parties::employer(job.employer_id),
    )?;
    reflect::<MatchesProjector>(&state, query.after.as_deref()).await?;
    let matches = matches::list(&state.pool, MatchesOf::Job(job_id), limit).await?;
    Ok(Json(MatchList { matches }))
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    #[tokio::test]
    async fn each_role_is_refused_or_let_through_before_any_match_is_looked_up() {
        assert_role_matrix(vec![
            // Admins and auditors must name one party (a 400 below).
            Route::get("/matches", &PARTIES).asked_by(&PARTIES),
            Route::get("/matches?candidate_id={id}", &[ADMIN, AUDITOR]),
            Route::get("/matches?employer_id={id}", &[ADMIN, AUDITOR]),
            Route::get(
                "/jobs/{id}/matches",
                &[EMPLOYER, OTHER_EMPLOYER, ADMIN, AUDITOR],
            ),
        ])
        .await;
    }

    #[tokio::test]
    async fn an_admin_or_auditor_names_exactly_one_party() {
        for who in [ADMIN, AUDITOR] {
            assert_refusals(
                who,
                vec![
                    bad_get("/matches", 400, "invalid_query"),
                    bad_get(
                        "/matches?candidate_id={id}&employer_id={id}",
                        400,
                        "invalid_query",
                    ),
                ],
            )
            .await;
        }
    }

    #[tokio::test]
    async fn malformed_queries_are_400s_of_the_one_shape() {
        assert_refusals(
            CANDIDATE,
            vec![
                bad_get("/matches?limit=0", 400, "invalid_query"),
                bad_get("/matches?limit=201", 400, "invalid_query"),
                bad_get("/matches?limit=x", 400, "invalid_query"),
                bad_get("/matches?candidate_id=ada", 400, "invalid_query"),
                bad_get("/matches?after=nonsense", 400, "invalid_position"),
                bad_get("/matches?after=job:x:1", 400, "unsupported_position"),
                bad_get("/matches?after=%00", 400, "invalid_text"),
                bad_get("/jobs/{id}/matches?limit=0", 400, "invalid_query"),
            ],
        )
        .await;
    }
}
