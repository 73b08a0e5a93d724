use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::Router;
use commands::privacy::export::SubjectExport;
use domain::candidate::{
    CandidateProfile, EraseCandidate, RegisterCandidate, UpdateCandidateProfile, ValidateCandidate,
};
use domain::{Role, Write};
use projections::profiles::{self, CandidateView, ProfilesProjector};
use serde::Deserialize;
use uuid::Uuid;

use super::{acting_for, AfterQuery};
use crate::access_log;
use crate::error::ApiError;
use crate::extract::{Caller, Json, Path, Query};
use crate::position::{reflect, Written};
use crate::read_policy::{self, Access, Parties, Read, Relation, Sight};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/candidates", post(register))
        .route("/candidates/{candidate_id}", get(show).delete(erase))
        .route("/candidates/{candidate_id}/export", get(export))
        .route("/candidates/{candidate_id}/profile", put(update_profile))
        .route("/candidates/{candidate_id}/validation", post(validate))
}

fn no_such_candidate(candidate_id: Uuid) -> ApiError {
    ApiError::not_found(format!("candidate {candidate_id} does not exist"))
}

/// The candidate itself, admins and auditors see everything (the reads of the last two are
/// recorded); an employer sees what ties it to the candidate allows
/// ([`read_policy::employer_sight`]); other candidates see nothing.
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
    let sight = if access == Access::IfRelated {
        let (connected, considered) =
            profiles::employer_relation(&state.pool, caller.actor.subject, candidate_id).await?;
        let relation = match (connected, considered) {
            (true, _) => Relation::Connected,
            (false, true) => Relation::Considered,
            (false, false) => Relation::None,
        };
        read_policy::employer_sight(relation).ok_or_else(|| no_such_candidate(candidate_id))?
    } else {
        Sight::Full
    };
    let mut view = profiles::candidate(&state.pool, candidate_id)
        .await?
        .ok_or_else(|| no_such_candidate(candidate_id))?;
    access_log::record(
        &state.pool,
        &caller,
        candidate_id,
        "GET /candidates/{candidate_id}",
    )
    .await
    .map_err(commands::Error::from)?;
    if sight == Sight::Pseudonymous {
        view.name = String::new();
        view.email = String::new();
    }
    Ok(axum::Json(view))
}

/// The right to erasure, for the candidate itself or an admin: the candidate's key is
/// destroyed and every read model forgets the person. Erasing again changes nothing.
async fn erase(
    State(state): State<AppState>,
    caller: Caller,
    Path(candidate_id): Path<Uuid>,
) -> Result<axum::Json<Written>, ApiError> {
    super::authorize(caller.actor, Write::EraseCandidate, candidate_id)?;
    let command = EraseCandidate {
        candidate_id,
        erased_by: caller.actor,
    };
    let written = state
        .commands
        .erase_candidate(&caller.context, command)
        .await?;
    Ok(axum::Json(written.into()))
}

/// Everything held about the candidate, from the event store: for the candidate itself,
/// admins and auditors (whose reads are recorded).
async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Path(candidate_id): Path<Uuid>,
) -> Result<axum::Json<SubjectExport>, ApiError> {
    read_policy::may_read(
        caller.actor,
        Read::PersonalData,
        Parties::candidate(candidate_id),
    )?;
    access_log::record(
        &state.pool,
        &caller,
        candidate_id,
        "GET /candidates/{candidate_id}/export",
    )
    .await
    .map_err(commands::Error::from)?;
    use commands::audit::history::HistoryError;
    match commands::privacy::export::export(state.commands.keyring(), candidate_id).await {
        Ok(Some(export)) => Ok(axum::Json(export)),
        Ok(None) => Err(no_such_candidate(candidate_id)),
        Err(HistoryError::Database(e)) => Err(commands::Error::from(e).into()),
        Err(HistoryError::Privacy(e)) => Err(commands::Error::from(e).into()),
        Err(error) => Err(ApiError::internal(&error)),
    }
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
            Route {
                method: Method::DELETE,
                uri: "/candidates/{id}",
                body: None,
                callers: &EVERYONE,
                passes: &[CANDIDATE, ADMIN],
            },
            Route::get("/candidates/{id}/export", &[CANDIDATE, ADMIN, AUDITOR]),
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
