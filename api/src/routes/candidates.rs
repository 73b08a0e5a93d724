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
use crate::read_policy::{self, Access, Parties, Read};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/candidates", post(register))
        .route("/candidates/{candidate_id}", get(show))
        .route("/candidates/{candidate_id}/profile", put(update_profile))
        .route("/candidates/{candidate_id}/validation", post(validate))
}

/// The candidate itself, admins and auditors see everything; employers see the profile
/// without the email address; other candidates see nothing (see [`read_policy`]).
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(candidate_id): Path<Uuid>,
    Query(query): Query<AfterQuery>,
) -> Result<axum::Json<CandidateView>, ApiError> {
    let access = read_policy::may_read(
        caller.actor,
        Read::CandidateProfile,
        Parties::candidate(candidate_id),
    )?;
    reflect::<ProfilesProjector>(&state, query.after.as_deref()).await?;
    let mut view = profiles::candidate(&state.pool, candidate_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("candidate {candidate_id} does not exist")))?;
    if access == Access::WithoutContact {
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

#[cfg(test)]
mod tests {
    use axum::http::Method;
    use serde_json::json;

    use crate::testing::*;

    fn profile() -> serde_json::Value {
        json!({"headline": "h", "skills": [{"name": "Rust", "proficiency": "expert"}],
               "years_experience": 1, "remote": "remote"})
    }

    #[tokio::test]
    async fn each_role_is_refused_or_let_through_before_the_candidate_is_looked_up() {
        assert_role_matrix(vec![
            Route::get(
                "/candidates/{id}",
                &[CANDIDATE, EMPLOYER, OTHER_EMPLOYER, ADMIN, AUDITOR],
            ),
            Route::with(
                Method::POST,
                "/candidates",
                json!({"candidate_id": OWNER, "name": "Ada", "email": "ada@example.com"}),
                &[CANDIDATE, ADMIN],
            ),
            Route::with(
                Method::PUT,
                "/candidates/{id}/profile",
                profile(),
                &[CANDIDATE, ADMIN],
            ),
            Route::with(
                Method::POST,
                "/candidates/{id}/validation",
                json!({"score": 80}),
                &[ADMIN],
            ),
        ])
        .await;
    }

    #[tokio::test]
    async fn malformed_requests_are_400s_of_the_one_shape() {
        let mut cases = vec![
            bad_get("/candidates/{id}?after=nonsense", 400, "invalid_position"),
            bad_get(
                "/candidates/{id}?after=wallet:x:1",
                400,
                "unsupported_position",
            ),
            bad_get(
                "/candidates/{id}?after=profile:x:0",
                400,
                "invalid_position",
            ),
            bad_get("/candidates/{id}?limit=5", 400, "invalid_query"),
            bad_get("/candidates/not-a-uuid", 400, "invalid_path"),
        ];
        cases.push(Refusal {
            method: Method::POST,
            uri: "/candidates",
            body: Some(json!({"name": "Ada", "email": "ada@example.com"})),
            status: 400,
            code: "missing_field",
        });
        cases.push(Refusal {
            method: Method::PUT,
            uri: "/candidates/{id}/profile",
            body: Some(json!({"headline": "h"})),
            status: 422,
            code: "invalid_body",
        });
        assert_refusals(ADMIN, cases).await;
    }
}
