//! Requests made with an API key: the key acts for its employer, within its scopes and its
//! own rate limit. Which operation needs which scope is the table below; every operation it
//! does not name refuses keys.

use std::time::Instant;

use axum::http::{Method, StatusCode};
use commands::api_keys::KeyGrant;
use domain::employer::ApiScope;
use domain::{Actor, Role};

use crate::error::{ApiError, ErrorCode};
use crate::rate_limit::{RateLimit, RateLimiter};
use crate::state::AppState;

/// The operations a key may call, with the scope each needs.
pub const SCOPED: [(Method, &str, ApiScope); 8] = [
    (Method::GET, "/jobs", ApiScope::ReadJobs),
    (Method::GET, "/jobs/search", ApiScope::ReadJobs),
    (Method::GET, "/jobs/{job_id}", ApiScope::ReadJobs),
    (Method::POST, "/jobs", ApiScope::PostJobs),
    (Method::PUT, "/jobs/{job_id}", ApiScope::PostJobs),
    (Method::POST, "/jobs/{job_id}/close", ApiScope::PostJobs),
    (
        Method::GET,
        "/jobs/{job_id}/applications",
        ApiScope::ReadApplications,
    ),
    (
        Method::GET,
        "/applications/{application_id}",
        ApiScope::ReadApplications,
    ),
];

/// The scope operation `method path` (its route template) needs from a key, if a key may
/// call it at all.
pub fn scope_for(method: &Method, path: &str) -> Option<ApiScope> {
    SCOPED
        .iter()
        .find(|(m, p, _)| m == method && *p == path)
        .map(|(_, _, scope)| *scope)
}

/// The employer a key acts for, when the key is valid, holds the scope `route` needs and is
/// within its rate.
pub async fn authenticate(
    state: &AppState,
    key: &str,
    route: Option<(&Method, &str)>,
) -> Result<(Actor, KeyGrant), ApiError> {
    let grant = state.commands.use_api_key(key).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "the API key is not valid or was revoked",
        )
    })?;
    let needed = route.and_then(|(method, path)| scope_for(method, path));
    match needed {
        None => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::ScopeMissing,
                "API keys may not call this operation",
            ))
        }
        Some(scope) if !grant.scopes.contains(&scope) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::ScopeMissing,
                format!("the API key lacks the scope `{}`", scope.as_str()),
            )
            .with_details(serde_json::json!({ "scope": scope.as_str() })))
        }
        Some(_) => {}
    }
    let rate = f64::from(grant.requests_per_second);
    let limit = RateLimit {
        per_second: rate,
        burst: rate.max(1.0),
    };
    if let Err(wait) =
        state
            .key_limits
            .take_within(&grant.key_id.to_string(), limit, Instant::now())
    {
        let seconds = wait.as_secs_f64().ceil().max(1.0) as i64;
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            format!("the API key's rate is used up; retry in {seconds} s"),
        )
        .with_retry_after(seconds));
    }
    Ok((Actor::new(grant.employer_id, Role::Employer), grant))
}

/// Buckets of the keys' own rates.
pub fn limiter() -> RateLimiter {
    RateLimiter::new(RateLimit {
        per_second: 1.0,
        burst: 1.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation of the table exists, as the API description names it.
    #[test]
    fn every_scoped_operation_is_a_documented_one() {
        let document: serde_json::Value =
            serde_json::from_str(crate::routes::openapi::DOCUMENT).expect("json");
        for (method, path, _) in SCOPED {
            let operation = &document["paths"][path][method.as_str().to_lowercase()];
            assert!(operation.is_object(), "{method} {path}");
            let scopes = operation["x-api-key-scope"].as_str();
            assert_eq!(
                scopes,
                scope_for(&method, path).map(ApiScope::as_str),
                "{method} {path}"
            );
        }
        assert_eq!(
            scope_for(&Method::POST, "/wallets/{wallet_id}/charges"),
            None
        );
    }
}
