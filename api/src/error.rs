//! The one error shape of the API: `{"error":{"code","message","details"}}`.
//!
//! Every failure a handler can meet is mapped here, in one place, to a status and a stable
//! [`ErrorCode`]. Server-side failures are logged with their cause chain and answered with a
//! generic message that leaks nothing.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::DomainError;
use serde::Serialize;
use serde_json::{json, Value};

use crate::auth::TokenError;

/// Declares [`ErrorCode`] with its wire names, so the list the API description checks
/// against ([`ErrorCode::ALL`]) cannot miss a variant.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)+) => {
        /// The stable, machine-readable `code` of an error answer, serialised as its
        /// snake_case name (the one [`ErrorCode::as_str`] gives).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum ErrorCode {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)+
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The name on the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)+
                }
            }
        }
    };
}

error_codes! {
    // The request itself.
    /// No `Content-Type: application/json` on a body.
    UnsupportedMediaType => "unsupported_media_type",
    /// A body that is not JSON (a lone surrogate escape included).
    MalformedJson => "malformed_json",
    /// A JSON body of the wrong shape, or a combination of fields the operation refuses.
    InvalidBody => "invalid_body",
    PayloadTooLarge => "payload_too_large",
    /// A body the JSON extractor refuses for another reason.
    BadRequest => "bad_request",
    /// A path parameter that is not a UUID.
    InvalidPath => "invalid_path",
    /// A malformed or out-of-range query parameter, or a combination the operation refuses.
    InvalidQuery => "invalid_query",
    /// Text holding a NUL character, which PostgreSQL cannot store.
    InvalidText => "invalid_text",
    /// An `x-request-id` or `x-correlation-id` that is empty, too long or not text.
    InvalidHeader => "invalid_header",
    /// A field an admin must name (the party it acts for).
    MissingField => "missing_field",
    /// An `after` that is not a position a command returned.
    InvalidPosition => "invalid_position",
    /// An `after` of an aggregate type the view is not built from.
    UnsupportedPosition => "unsupported_position",
    /// A payment webhook whose signature does not verify.
    InvalidSignature => "invalid_signature",
    MethodNotAllowed => "method_not_allowed",
    /// Too many requests from one caller; `Retry-After` says when to try again.
    RateLimited => "rate_limited",
    RequestTimeout => "request_timeout",
    // Who asks.
    Unauthorized => "unauthorized",
    Forbidden => "forbidden",
    /// An API key without the scope the operation needs, or an operation keys may not call.
    ScopeMissing => "scope_missing",
    /// `X-Organization` names an organization the caller is not a member of.
    NotAMember => "not_a_member",
    /// The caller's role in the organization does not allow the operation.
    MemberRole => "member_role",
    /// The organization is suspended: every request in it is refused until it is reinstated.
    TenantSuspended => "tenant_suspended",
    AlreadyMember => "already_member",
    /// A job with assigned recruiters is theirs to change, and its owners'.
    NotAssigned => "not_assigned",
    /// Only a partner onboards and administers tenants.
    NotAPartner => "not_a_partner",
    // Signing in.
    /// The email or the password is wrong (which one is not said).
    InvalidCredentials => "invalid_credentials",
    /// Too many failed sign-ins: password sign-in is refused until `details.locked_until`.
    AccountLocked => "account_locked",
    /// An account with this email exists.
    EmailTaken => "email_taken",
    /// A refresh token that is unknown, revoked or expired.
    InvalidRefreshToken => "invalid_refresh_token",
    /// A refresh token presented a second time: its whole sign-in is revoked.
    RefreshTokenReused => "refresh_token_reused",
    /// An emailed link's token that is unknown, used or expired.
    InvalidLink => "invalid_link",
    // The domain.
    /// Fields the domain refuses, one entry per problem in `details.fields`.
    InvalidFields => "invalid_fields",
    NotFound => "not_found",
    /// The candidate was erased: nothing about it can change any more.
    CandidateErased => "candidate_erased",
    AlreadyRegistered => "already_registered",
    AlreadyExists => "already_exists",
    JobClosed => "job_closed",
    InsufficientCredits => "insufficient_credits",
    IdempotencyKeyReused => "idempotency_key_reused",
    AlreadyRefunded => "already_refunded",
    RefundExceedsCharge => "refund_exceeds_charge",
    AlreadyApplied => "already_applied",
    InvalidTransition => "invalid_transition",
    DocumentFinished => "document_finished",
    AlreadySwiped => "already_swiped",
    /// The pair has not matched: there is no conversation.
    NotMatched => "not_matched",
    /// The match was ended; its conversation is closed.
    Unmatched => "unmatched",
    ConcurrentModification => "concurrent_modification",
    // Reads.
    /// The view has not reached the position in `after` within the wait.
    PositionNotReached => "position_not_reached",
    DocumentPending => "document_pending",
    DocumentFailed => "document_failed",
    // Imports.
    FeedUnreachable => "feed_unreachable",
    FeedHostNotAllowed => "feed_host_not_allowed",
    InvalidFeed => "invalid_feed",
    // Operations.
    /// The projection runs in another process: ask that one.
    NotInThisProcess => "not_in_this_process",
    RebuildInProgress => "rebuild_in_progress",
    // Our side.
    SearchUnavailable => "search_unavailable",
    Unavailable => "unavailable",
    Internal => "internal",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    details: Value,
    /// Seconds after which the same request may succeed, sent as `Retry-After`.
    retry_after: Option<i64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Value::Null,
            retry_after: None,
        }
    }

    pub fn with_retry_after(mut self, secs: i64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }

    /// A string that PostgreSQL cannot store (it holds a NUL character), in the body
    /// `field` or query `parameter` at `path`.
    pub fn unstorable_text(kind: &'static str, path: &str) -> Self {
        let shown = if path.is_empty() { "the body" } else { path };
        Self::bad_request(
            ErrorCode::InvalidText,
            format!("{kind} `{shown}` holds a NUL character (\\u0000), which cannot be stored"),
        )
        .with_details(json!({ kind: path }))
    }

    /// A failure on our side: logged with its causes, answered without them.
    pub fn internal(error: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = %domain::error_chain(error), "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "the server could not complete the request",
        )
    }

    fn unavailable(error: &(dyn std::error::Error + 'static)) -> Self {
        tracing::warn!(error = %domain::error_chain(error), "dependency unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
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
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs),
            );
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static(r#"Bearer realm="hirestream""#),
            );
        }
        response
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        let message = error.to_string();
        match error {
            DomainError::Invalid(fields) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidFields,
                message,
            )
            .with_details(json!({ "fields": fields })),
            DomainError::CandidateAlreadyRegistered { .. }
            | DomainError::EmployerAlreadyRegistered { .. } => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::AlreadyRegistered, message)
            }
            DomainError::JobAlreadyPosted { .. } => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::AlreadyExists, message)
            }
            DomainError::CandidateNotFound { .. }
            | DomainError::EmployerNotFound { .. }
            | DomainError::JobNotFound { .. } => ApiError::not_found(message),
            DomainError::NotMatched => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::NotMatched, message)
            }
            DomainError::Unmatched => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::Unmatched, message)
            }
            DomainError::CandidateErased { candidate_id } => {
                ApiError::new(StatusCode::GONE, ErrorCode::CandidateErased, message)
                    .with_details(json!({ "candidate_id": candidate_id }))
            }
            DomainError::JobClosed { job_id } => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::JobClosed, message)
                    .with_details(json!({ "job_id": job_id }))
            }
            DomainError::Forbidden { .. } => ApiError::forbidden(message),
            DomainError::InsufficientCredits {
                requested,
                available,
            } => ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                ErrorCode::InsufficientCredits,
                message,
            )
            .with_details(json!({ "requested": requested, "available": available })),
            DomainError::IdempotencyKeyReused { .. } => ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::IdempotencyKeyReused,
                message,
            ),
            DomainError::KeyReusedWithOtherContent { key, field } => ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::IdempotencyKeyReused,
                message,
            )
            .with_details(json!({ "key": key, "field": field })),
            DomainError::ChargeNotFound { .. } => ApiError::not_found(message),
            DomainError::AlreadyRefunded { .. } => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::AlreadyRefunded, message)
            }
            DomainError::RefundExceedsCharge { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::RefundExceedsCharge,
                message,
            ),
            DomainError::AlreadyApplied { application_id } => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::AlreadyApplied, message)
                    .with_details(json!({ "application_id": application_id }))
            }
            DomainError::ApplicationNotFound { .. } => ApiError::not_found(message),
            DomainError::InvalidTransition { from, to } => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::InvalidTransition, message)
                    .with_details(json!({ "from": from, "to": to }))
            }
            DomainError::DocumentKeyReused { .. } => ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::IdempotencyKeyReused,
                message,
            ),
            DomainError::DocumentNotFound { .. } => ApiError::not_found(message),
            DomainError::DocumentFinished { .. } => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::DocumentFinished, message)
            }
            DomainError::AccountAlreadyOpened { .. } => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::AlreadyRegistered, message)
            }
            DomainError::AccountNotFound { .. } | DomainError::ApiKeyNotFound { .. } => {
                ApiError::not_found(message)
            }
            DomainError::InvitationNotFound { .. } => {
                ApiError::bad_request(ErrorCode::InvalidLink, message)
            }
            DomainError::AlreadyMember { .. } => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::AlreadyMember, message)
            }
            DomainError::NotAPartner { .. } => {
                ApiError::new(StatusCode::FORBIDDEN, ErrorCode::NotAPartner, message)
            }
            // Another partner's tenant is not shown to exist.
            DomainError::NotATenant { .. } => ApiError::not_found(message),
            DomainError::AlreadyExists { .. } => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::AlreadyExists, message)
            }
            DomainError::AlreadySwiped { pairing_id, side } => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::AlreadySwiped, message)
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
                ErrorCode::ConcurrentModification,
                "the resource changed concurrently; retry the request",
            ),
            commands::Error::Database(ref e) if is_unavailable(e) => ApiError::unavailable(&error),
            commands::Error::Store(_)
            | commands::Error::Privacy(_)
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
            | projections::Error::Privacy(_)
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
        match error {
            TokenError::IssuerUnreachable => ApiError::unavailable(&error),
            _ => ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                error.to_string(),
            ),
        }
    }
}

impl From<commands::accounts::AuthError> for ApiError {
    fn from(error: commands::accounts::AuthError) -> Self {
        use commands::accounts::AuthError;
        let message = error.to_string();
        let unauthorized = |code| ApiError::new(StatusCode::UNAUTHORIZED, code, message.clone());
        match error {
            AuthError::InvalidCredentials => unauthorized(ErrorCode::InvalidCredentials),
            AuthError::InvalidRefreshToken => unauthorized(ErrorCode::InvalidRefreshToken),
            AuthError::RefreshTokenReused => unauthorized(ErrorCode::RefreshTokenReused),
            AuthError::Locked { until } => {
                let wait = (until - chrono::Utc::now()).num_seconds().max(1);
                ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    ErrorCode::AccountLocked,
                    message,
                )
                .with_details(json!({ "locked_until": until }))
                .with_retry_after(wait)
            }
            AuthError::EmailTaken => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::EmailTaken, message)
            }
            AuthError::InvalidLink => ApiError::bad_request(ErrorCode::InvalidLink, message),
            AuthError::Command(error) => error.into(),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let code = match rejection {
            JsonRejection::MissingJsonContentType(_) => ErrorCode::UnsupportedMediaType,
            JsonRejection::JsonSyntaxError(_) => ErrorCode::MalformedJson,
            JsonRejection::JsonDataError(_) => ErrorCode::InvalidBody,
            _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            _ => ErrorCode::BadRequest,
        };
        ApiError::new(rejection.status(), code, rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::bad_request(ErrorCode::InvalidPath, rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request(ErrorCode::InvalidQuery, rejection.body_text())
    }
}

fn is_unavailable(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed
    )
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use domain::pairing::Side;
    use domain::{DomainError, FieldError, Role};
    use uuid::Uuid;

    use super::{ApiError, ErrorCode};

    const ID: Uuid = Uuid::from_u128(7);

    /// Every domain error, with the status and code the API answers it with.
    fn domain_errors() -> Vec<(DomainError, StatusCode, ErrorCode)> {
        use StatusCode as S;
        vec![
            (
                DomainError::Invalid(vec![FieldError::new("name", "must not be empty")]),
                S::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidFields,
            ),
            (
                DomainError::CandidateAlreadyRegistered { candidate_id: ID },
                S::CONFLICT,
                ErrorCode::AlreadyRegistered,
            ),
            (
                DomainError::CandidateNotFound { candidate_id: ID },
                S::NOT_FOUND,
                ErrorCode::NotFound,
            ),
            (
                DomainError::EmployerAlreadyRegistered { employer_id: ID },
                S::CONFLICT,
                ErrorCode::AlreadyRegistered,
            ),
            (
                DomainError::EmployerNotFound { employer_id: ID },
                S::NOT_FOUND,
                ErrorCode::NotFound,
            ),
            (
                DomainError::JobAlreadyPosted { job_id: ID },
                S::CONFLICT,
                ErrorCode::AlreadyExists,
            ),
            (
                DomainError::JobNotFound { job_id: ID },
                S::NOT_FOUND,
                ErrorCode::NotFound,
            ),
            (
                DomainError::JobClosed { job_id: ID },
                S::CONFLICT,
                ErrorCode::JobClosed,
            ),
            (
                DomainError::Forbidden {
                    subject: ID,
                    role: Role::Auditor,
                    resource: format!("job {ID}"),
                },
                S::FORBIDDEN,
                ErrorCode::Forbidden,
            ),
            (
                DomainError::InsufficientCredits {
                    requested: 5,
                    available: 2,
                },
                S::PAYMENT_REQUIRED,
                ErrorCode::InsufficientCredits,
            ),
            (
                DomainError::IdempotencyKeyReused {
                    key: "k".into(),
                    first_credits: 1,
                    credits: 2,
                },
                S::CONFLICT,
                ErrorCode::IdempotencyKeyReused,
            ),
            (
                DomainError::KeyReusedWithOtherContent {
                    key: "k".into(),
                    field: "purpose",
                },
                S::CONFLICT,
                ErrorCode::IdempotencyKeyReused,
            ),
            (
                DomainError::ChargeNotFound { charge_id: ID },
                S::NOT_FOUND,
                ErrorCode::NotFound,
            ),
            (
                DomainError::AlreadyRefunded {
                    charge_id: ID,
                    refunded: 3,
                },
                S::CONFLICT,
                ErrorCode::AlreadyRefunded,
            ),
            (
                DomainError::RefundExceedsCharge {
                    charge_id: ID,
                    charged: 3,
                    requested: 4,
                },
                S::UNPROCESSABLE_ENTITY,
                ErrorCode::RefundExceedsCharge,
            ),
            (
                DomainError::AlreadyApplied { application_id: ID },
                S::CONFLICT,
                ErrorCode::AlreadyApplied,
            ),
            (
                DomainError::ApplicationNotFound { application_id: ID },
                S::NOT_FOUND,
                ErrorCode::NotFound,
            ),
            (
                DomainError::InvalidTransition {
                    from: "hired",
                    to: "screening",
                },
                S::CONFLICT,
                ErrorCode::InvalidTransition,
            ),
            (
                DomainError::DocumentKeyReused { document_id: ID },
                S::CONFLICT,
                ErrorCode::IdempotencyKeyReused,
            ),
            (
                DomainError::DocumentNotFound { document_id: ID },
                S::NOT_FOUND,
                ErrorCode::NotFound,
            ),
            (
                DomainError::DocumentFinished { document_id: ID },
                S::CONFLICT,
                ErrorCode::DocumentFinished,
            ),
            (
                DomainError::AlreadySwiped {
                    pairing_id: ID,
                    side: Side::Employer,
                },
                S::CONFLICT,
                ErrorCode::AlreadySwiped,
            ),
        ]
    }

    async fn body_of(error: ApiError) -> (StatusCode, serde_json::Value) {
        let response = axum::response::IntoResponse::into_response(error);
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        (status, serde_json::from_slice(&bytes).expect("json"))
    }

    #[tokio::test]
    async fn every_domain_error_has_its_status_and_code_in_the_one_shape() {
        for (error, status, code) in domain_errors() {
            let message = error.to_string();
            let (got, body) = body_of(error.into()).await;
            assert_eq!(
                (got, body["error"]["code"].as_str()),
                (status, Some(code.as_str()))
            );
            assert_eq!(body["error"]["message"], message.as_str(), "{code}");
            assert!(body["error"].get("details").is_some(), "{code}: {body}");
        }
    }

    #[test]
    fn a_domain_error_through_the_command_service_answers_the_same() {
        for (error, status, code) in domain_errors() {
            let api: ApiError = commands::Error::Domain(error).into();
            assert_eq!((api.status(), api.code()), (status, code));
        }
    }

    #[tokio::test]
    async fn the_details_name_the_facts_of_the_refusal() {
        let cases = [
            (
                DomainError::InsufficientCredits {
                    requested: 5,
                    available: 2,
                },
                serde_json::json!({"requested": 5, "available": 2}),
            ),
            (
                DomainError::AlreadySwiped {
                    pairing_id: ID,
                    side: Side::Candidate,
                },
                serde_json::json!({"pairing_id": ID, "side": "candidate"}),
            ),
            (
                DomainError::Invalid(vec![FieldError::new("name", "must not be empty")]),
                serde_json::json!({"fields": [{"field": "name", "problem": "must not be empty"}]}),
            ),
        ];
        for (error, details) in cases {
            let (_, body) = body_of(error.into()).await;
            assert_eq!(body["error"]["details"], details);
        }
    }

    #[test]
    fn a_conflict_after_retries_is_a_409_that_asks_for_a_retry() {
        let api: ApiError = commands::Error::Conflict {
            aggregate_type: "wallet",
            aggregate_id: ID.to_string(),
            attempts: 3,
        }
        .into();
        assert_eq!(
            (api.status(), api.code()),
            (StatusCode::CONFLICT, ErrorCode::ConcurrentModification)
        );
    }

    #[test]
    fn every_code_serialises_as_its_name_and_names_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert_eq!(
                serde_json::to_value(code).expect("json"),
                serde_json::Value::String(code.as_str().to_owned())
            );
            assert!(seen.insert(code.as_str()), "{code} twice");
            assert!(code
                .as_str()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_'));
        }
    }
}
