//! The one error shape of the API: `{"error":{"code","message","details"}}`.
//!
//! Every failure a handler can meet is mapped here, in one place, to a status and a stable
//! `code`. Server-side failures are logged with their cause chain and answered with a generic
//! message that leaks nothing.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::DomainError;
use serde_json::{json, Value};

use crate::auth::TokenError;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Value::Null,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// A string that PostgreSQL cannot store (it holds a NUL character), in the body
    /// `field` or query `parameter` at `path`.
    pub fn unstorable_text(kind: &'static str, path: &str) -> Self {
        let shown = if path.is_empty() { "the body" } else { path };
        Self::bad_request(
            "invalid_text",
            format!("{kind} `{shown}` holds a NUL character (\\u0000), which cannot be stored"),
        )
        .with_details(json!({ kind: path }))
    }

    /// A failure on our side: logged with its causes, answered without them.
    pub fn internal(error: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = %domain::error_chain(error), "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server could not complete the request",
        )
    }

    fn unavailable(error: &(dyn std::error::Error + 'static)) -> Self {
        tracing::warn!(error = %domain::error_chain(error), "dependency unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "a backing service is unavailable; retry shortly",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "details": self.details,
            }
        });
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        let message = error.to_string();
        match error {
            DomainError::Invalid(fields) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_fields", message)
                    .with_details(json!({ "fields": fields }))
            }
            DomainError::CandidateAlreadyRegistered { .. }
            | DomainError::EmployerAlreadyRegistered { .. } => {
                ApiError::new(StatusCode::CONFLICT, "already_registered", message)
            }
            DomainError::JobAlreadyPosted { .. } => {
                ApiError::new(StatusCode::CONFLICT, "already_exists", message)
            }
            DomainError::CandidateNotFound { .. }
            | DomainError::EmployerNotFound { .. }
            | DomainError::JobNotFound { .. } => ApiError::not_found(message),
            DomainError::JobClosed { job_id } => {
                ApiError::new(StatusCode::CONFLICT, "job_closed", message)
                    .with_details(json!({ "job_id": job_id }))
            }
            DomainError::Forbidden { .. } => ApiError::forbidden(message),
            DomainError::InsufficientCredits {
                requested,
                available,
            } => ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                "insufficient_credits",
                message,
            )
            .with_details(json!({ "requested": requested, "available": available })),
            DomainError::IdempotencyKeyReused { .. } => {
                ApiError::new(StatusCode::CONFLICT, "idempotency_key_reused", message)
            }
            DomainError::KeyReusedWithOtherContent { key, field } => {
                ApiError::new(StatusCode::CONFLICT, "idempotency_key_reused", message)
                    .with_details(json!({ "key": key, "field": field }))
            }
            DomainError::ChargeNotFound { .. } => ApiError::not_found(message),
            DomainError::AlreadyRefunded { .. } => {
                ApiError::new(StatusCode::CONFLICT, "already_refunded", message)
            }
            DomainError::RefundExceedsCharge { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "refund_exceeds_charge",
                message,
            ),
            DomainError::AlreadyApplied { application_id } => {
                ApiError::new(StatusCode::CONFLICT, "already_applied", message)
                    .with_details(json!({ "application_id": application_id }))
            }
            DomainError::ApplicationNotFound { .. } => ApiError::not_found(message),
            DomainError::InvalidTransition { from, to } => {
                ApiError::new(StatusCode::CONFLICT, "invalid_transition", message)
                    .with_details(json!({ "from": from, "to": to }))
            }
            DomainError::DocumentKeyReused { .. } => {
                ApiError::new(StatusCode::CONFLICT, "idempotency_key_reused", message)
            }
            DomainError::DocumentNotFound { .. } => ApiError::not_found(message),
            DomainError::DocumentFinished { .. } => {
                ApiError::new(StatusCode::CONFLICT, "document_finished", message)
            }
            DomainError::AlreadySwiped { pairing_id, side } => {
                ApiError::new(StatusCode::CONFLICT, "already_swiped", message)
                    .with_details(json!({ "pairing_id": pairing_id, "side": side }))
            }
        }
    }
}

impl From<commands::Error> for ApiError {
    fn from(error: commands::Error) -> Self {
        match error {
            commands::Error::Domain(e) => e.into(),
            commands::Error::Conflict { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "concurrent_modification",
                "the resource changed concurrently; retry the request",
            ),
            commands::Error::Database(ref e) if is_unavailable(e) => ApiError::unavailable(&error),
            commands::Error::Store(_)
            | commands::Error::Database(_)
            | commands::Error::Migrate(_)
            | commands::Error::Kafka(_)
            | commands::Error::Encode { .. } => ApiError::internal(&error),
        }
    }
}

impl From<projections::Error> for ApiError {
    fn from(error: projections::Error) -> Self {
        match error {
            projections::Error::Database(ref e) if is_unavailable(e) => {
                ApiError::unavailable(&error)
            }
            projections::Error::Command(error) => error.into(),
            projections::Error::Index(_) | projections::Error::Embedding(_) => {
                ApiError::unavailable(&error)
            }
            projections::Error::Database(_)
            | projections::Error::Kafka(_)
            | projections::Error::Envelope { .. }
            | projections::Error::Payload { .. }
            | projections::Error::UnknownProjection(_) => ApiError::internal(&error),
        }
    }
}

impl From<projections::matching::feeds::SearchError> for ApiError {
    fn from(error: projections::matching::feeds::SearchError) -> Self {
        use projections::matching::feeds::SearchError;
        match error {
            SearchError::Database(e) => projections::Error::Database(e).into(),
            SearchError::Embedding(_) | SearchError::Index(_) => ApiError::unavailable(&error),
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(error: TokenError) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", error.to_string())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let code = match rejection {
            JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
            JsonRejection::JsonSyntaxError(_) => "malformed_json",
            JsonRejection::JsonDataError(_) => "invalid_body",
            _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            _ => "bad_request",
        };
        ApiError::new(rejection.status(), code, rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::bad_request("invalid_path", rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request("invalid_query", rejection.body_text())
    }
}

fn is_unavailable(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed
    )
}
