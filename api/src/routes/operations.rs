//! Operators' actions on the projectors this process runs: an admin asks one to rebuild its
//! read model from the event store (it goes on consuming afterwards), and admins and
//! auditors follow how the rebuild goes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use domain::Role;
use projections::rebuild::{RebuildHandle, RebuildStatus};

use crate::consumer::Consumer;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{Caller, Path};
use crate::read_policy::{may_ask, Read};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/admin/projections/{projection}/rebuild",
        get(status).post(start),
    )
}

/// The handle of a projection this process runs.
fn handle<'a>(state: &'a AppState, projection: &str) -> Result<&'a RebuildHandle, ApiError> {
    let known = Consumer::read_models().any(|(name, _)| name == projection);
    if !known {
        return Err(ApiError::not_found(format!(
            "no projection `{projection}`; see /audit/pipeline"
        )));
    }
    state.rebuilds.of(projection).ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::NotInThisProcess,
            format!("projection `{projection}` does not run in this process"),
        )
    })
}

async fn start(
    State(state): State<AppState>,
    caller: Caller,
    Path(projection): Path<String>,
) -> Result<(StatusCode, Json<RebuildStatus>), ApiError> {
    if caller.actor.role != Role::Admin {
        return Err(ApiError::forbidden("only admins rebuild projections"));
    }
    let handle = handle(&state, &projection)?;
    if !handle.request() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::RebuildInProgress,
            format!("projection `{projection}` is already rebuilding"),
        )
        .with_details(serde_json::to_value(handle.status()).unwrap_or_default()));
    }
    tracing::info!(%projection, admin = %caller.actor.subject, "rebuild asked");
    Ok((StatusCode::ACCEPTED, Json(handle.status())))
}

async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Path(projection): Path<String>,
) -> Result<Json<RebuildStatus>, ApiError> {
    may_ask(caller.actor, Read::History)?;
    Ok(Json(handle(&state, &projection)?.status()))
}

#[cfg(test)]
mod tests {
    use axum::http::Method;
    use serde_json::json;

    use crate::testing::*;

    /// The test app runs no projector: a caller the policy lets through learns that this
    /// process does not run the projection; the others are refused first.
    #[tokio::test]
    async fn only_admins_start_a_rebuild_and_auditors_may_follow_it() {
        let uri = "/admin/projections/profiles/rebuild";
        let mut failures = Vec::new();
        for who in EVERYONE {
            for (method, passes) in [
                (Method::POST, &[ADMIN][..]),
                (Method::GET, &[ADMIN, AUDITOR]),
            ] {
                let bearer = who.bearer();
                let body = (method == Method::POST).then(|| json!({}).to_string());
                let (status, _, answer) =
                    send(method.clone(), uri, &[("authorization", &bearer)], body).await;
                let expected = if passes.contains(&who) {
                    (409, "not_in_this_process")
                } else {
                    (403, "forbidden")
                };
                if (status, answer["error"]["code"].as_str()) != (expected.0, Some(expected.1)) {
                    failures.push(format!("{method} as {who}: {status} {answer}"));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[tokio::test]
    async fn an_unknown_projection_or_one_run_elsewhere_is_named() {
        assert_refusals(
            ADMIN,
            vec![
                bad_get("/admin/projections/nothing/rebuild", 404, "not_found"),
                bad_get(
                    "/admin/projections/profiles/rebuild",
                    409,
                    "not_in_this_process",
                ),
            ],
        )
        .await;
    }
}
