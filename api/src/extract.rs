//! Extractors that turn every malformed request into an [`ApiError`] of the one shape.

use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use commands::CommandContext;
use domain::Actor;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body; a syntax error, a wrong field or a missing content type is a 4xx.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

/// Path parameters; an id that is not a UUID is a 400.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// Query parameters; a malformed one is a 400.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

pub const REQUEST_ID: &str = "x-request-id";
pub const CORRELATION_ID: &str = "x-correlation-id";

/// The authenticated caller and the metadata its commands carry.
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub context: CommandContext,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(&parts.headers)?;
        let now = chrono::Utc::now().timestamp();
        let actor = state.keys.verify(token, now)?;
        if actor.role == domain::Role::System {
            return Err(ApiError::forbidden(
                "the system role belongs to the platform's own processes, not to callers",
            ));
        }
        let request_id = header_text(&parts.headers, REQUEST_ID)?
            .unwrap_or_default()
            .to_owned();
        let correlation_id = header_text(&parts.headers, CORRELATION_ID)?.map(str::to_owned);
        Ok(Caller {
            actor,
            context: CommandContext::for_request(actor, request_id, correlation_id),
        })
    }
}

impl OptionalFromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, ApiError> {
        if parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION)
        {
            <Caller as FromRequestParts<AppState>>::from_request_parts(parts, state)
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    }
}

fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let unauthorized = |message: &str| {
        ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "unauthorized",
            message,
        )
    };
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("an `Authorization: Bearer <token>` header is required"))?;
    let value = value
        .to_str()
        .map_err(|_| unauthorized("the Authorization header is not text"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() => {
            Ok(token.trim())
        }
        _ => Err(unauthorized(
            "the Authorization header must be `Bearer <token>`",
        )),
    }
}

/// A short, printable header value, or `None` when absent.
fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(text) if !text.is_empty() && text.len() <= 128 => Ok(Some(text)),
        _ => Err(ApiError::bad_request(
            "invalid_header",
            format!("{name} must be 1 to 128 printable characters"),
        )),
    }
}
