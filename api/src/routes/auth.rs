//! Signing in: registration, password sign-in, refresh, sign-out, the account itself, and
//! the two emailed links (verify an address, reset a password).
//!
//! A sign-in answers a short-lived access token (the bearer token of every other call) and
//! a refresh token that rotates on every use. Nothing here needs a bearer token but
//! `GET /auth/me`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use commands::accounts::{AccountView, Session};
use domain::Role;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{Caller, Json, RequestIds};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/token", post(sign_in))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(sign_out))
        .route("/auth/me", get(me))
        .route("/auth/verify-email", post(verify_email))
        .route("/auth/password-reset", post(request_reset))
        .route("/auth/password-reset/confirm", post(reset_password))
}

/// What every sign-in answers.
#[derive(Debug, Serialize)]
struct Tokens {
    access_token: String,
    token_type: &'static str,
    /// Seconds the access token is good for.
    expires_in: u64,
    refresh_token: String,
    refresh_expires_at: DateTime<Utc>,
    account_id: Uuid,
    role: Role,
}

fn tokens(state: &AppState, session: Session) -> Tokens {
    let ttl = state.auth.access_ttl_secs;
    Tokens {
        access_token: state
            .auth
            .local
            .mint(session.actor, Utc::now().timestamp(), ttl),
        token_type: "Bearer",
        expires_in: ttl,
        refresh_token: session.refresh_token,
        refresh_expires_at: session.refresh_expires_at,
        account_id: session.actor.subject,
        role: session.actor.role,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    email: String,
    password: String,
    /// `candidate` or `employer`. The account's id is then the id of the candidate or
    /// employer it registers next.
    role: Role,
}

async fn register(
    State(state): State<AppState>,
    RequestIds(request): RequestIds,
    Json(body): Json<RegisterBody>,
) -> Result<(StatusCode, axum::Json<Tokens>), ApiError> {
    let session = state
        .commands
        .accounts()
        .register(
            &request,
            Uuid::now_v7(),
            &body.email,
            &body.password,
            body.role,
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(tokens(&state, session))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignInBody {
    email: String,
    password: String,
}

async fn sign_in(
    State(state): State<AppState>,
    RequestIds(request): RequestIds,
    Json(body): Json<SignInBody>,
) -> Result<axum::Json<Tokens>, ApiError> {
    let session = state
        .commands
        .accounts()
        .sign_in(&request, &body.email, &body.password)
        .await?;
    Ok(axum::Json(tokens(&state, session)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    refresh_token: String,
}

async fn refresh(
    State(state): State<AppState>,
    Json(body): Json<RefreshBody>,
) -> Result<axum::Json<Tokens>, ApiError> {
    let session = state
        .commands
        .accounts()
        .refresh(&body.refresh_token)
        .await?;
    Ok(axum::Json(tokens(&state, session)))
}

/// Ends the sign-in the refresh token belongs to (its access tokens run out on their own).
async fn sign_out(
    State(state): State<AppState>,
    Json(body): Json<RefreshBody>,
) -> Result<StatusCode, ApiError> {
    state
        .commands
        .accounts()
        .sign_out(&body.refresh_token)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<AccountView>, ApiError> {
    let subject = caller.actor.subject;
    state
        .commands
        .accounts()
        .view(subject)
        .await?
        .map(axum::Json)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "{subject} has no account (its token was minted by `hirestream token`)"
            ))
        })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkBody {
    token: String,
}

#[derive(Debug, Serialize)]
struct Verified {
    account_id: Uuid,
    email_verified: bool,
}

async fn verify_email(
    State(state): State<AppState>,
    RequestIds(request): RequestIds,
    Json(body): Json<LinkBody>,
) -> Result<axum::Json<Verified>, ApiError> {
    let account_id = state
        .commands
        .accounts()
        .verify_email(&request, &body.token)
        .await?;
    Ok(axum::Json(Verified {
        account_id,
        email_verified: true,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetRequestBody {
    email: String,
}

/// Sends a reset link if an account has the address; answers the same either way, so the
/// answer tells nobody which addresses have accounts.
async fn request_reset(
    State(state): State<AppState>,
    Json(body): Json<ResetRequestBody>,
) -> Result<StatusCode, ApiError> {
    state.commands.accounts().request_reset(&body.email).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetBody {
    token: String,
    password: String,
}

async fn reset_password(
    State(state): State<AppState>,
    RequestIds(request): RequestIds,
    Json(body): Json<ResetBody>,
) -> Result<StatusCode, ApiError> {
    state
        .commands
        .accounts()
        .reset_password(&request, &body.token, &body.password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
