use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::Router;
use domain::employer::{EmployerProfile, RegisterEmployer, UpdateEmployerProfile};
use domain::{Role, Write};
use projections::profiles::{self, EmployerView, ProfilesProjector};
use serde::Deserialize;
use uuid::Uuid;

use super::{acting_for, AfterQuery};
use crate::error::ApiError;
use crate::extract::{Caller, Json, Path, Query};
use crate::position::{reflect, Written};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/employers", post(register))
        .route("/employers/{employer_id}", get(show))
        .route("/employers/{employer_id}/profile", put(update_profile))
}

/// Employer profiles are public to every signed-in caller.
async fn show(
    State(state): State<AppState>,
    _caller: Caller,
    Path(employer_id): Path<Uuid>,
    Query(query): Query<AfterQuery>,
) -> Result<axum::Json<EmployerView>, ApiError> {
    reflect::<ProfilesProjector>(&state, query.after.as_deref()).await?;
    profiles::employer(&state.pool, employer_id)
        .await?
        .map(axum::Json)
        .ok_or_else(|| ApiError::not_found(format!("employer {employer_id} does not exist")))
}

async fn update_profile(
    State(state): State<AppState>,
    caller: Caller,
    Path(employer_id): Path<Uuid>,
    Json(profile): Json<EmployerProfile>,
) -> Result<axum::Json<Written>, ApiError> {
    super::authorize(caller.actor, Write::UpdateEmployerProfile, employer_id)?;
    let command = UpdateEmployerProfile {
        employer_id,
        profile,
        updated_by: caller.actor,
    };
    let written = state
        .commands
        .update_employer_profile(&caller.context, command)
        .await?;
    Ok(axum::Json(written.into()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    /// Only for admins; an employer registers itself (its token's subject).
    employer_id: Option<Uuid>,
    name: String,
}

async fn register(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<RegisterBody>,
) -> Result<(StatusCode, axum::Json<Written>), ApiError> {
    let employer_id = acting_for(
        caller.actor,
        Role::Employer,
        body.employer_id,
        "employer_id",
    )?;
    let command = RegisterEmployer {
        employer_id,
        name: body.name,
    };
    let committed = state
        .commands
        .register_employer(&caller.context, command)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(committed.into())))
}

#[cfg(test)]
mod tests {
    use axum::http::Method;
    use serde_json::json;

    use crate::testing::*;

    #[tokio::test]
    async fn each_role_is_refused_or_let_through_before_the_employer_is_looked_up() {
        assert_role_matrix(vec![
            Route::get("/employers/{id}", &EVERYONE),
            Route::with(
                Method::POST,
                "/employers",
                json!({"employer_id": OWNER, "name": "Acme"}),
                &[EMPLOYER, ADMIN],
            ),
            Route::with(
                Method::PUT,
                "/employers/{id}/profile",
                json!({"name": "Acme", "size": null, "pace": null, "industry": "software"}),
                &[EMPLOYER, ADMIN],
            ),
        ])
        .await;
    }

    #[tokio::test]
    async fn malformed_requests_are_400s_of_the_one_shape() {
        assert_refusals(
            EMPLOYER,
            vec![
                bad_get("/employers/{id}?after=nonsense", 400, "invalid_position"),
                bad_get("/employers/{id}?after=job:x:1", 400, "unsupported_position"),
                bad_get("/employers/{id}?after=%00", 400, "invalid_text"),
                bad_get("/employers/{id}?cursor=x", 400, "invalid_query"),
                Refusal {
                    method: Method::POST,
                    uri: "/employers",
                    body: Some(json!({"name": "Acme", "extra": 1})),
                    status: 422,
                    code: "invalid_body",
                },
            ],
        )
        .await;
    }
}
