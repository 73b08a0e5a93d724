//! Per-caller rate limits: a token bucket per bearer token, refilled at a steady rate with
//! room for a burst. A caller beyond it gets `429 rate_limited` with `Retry-After`. Calls
//! without a token are refused by authentication before they cost anything, except the
//! sign-in calls, which are limited per client address.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ErrorCode};

/// How many requests a caller may make: `per_second` on average, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

/// Buckets kept before the full ones (callers gone quiet) are forgotten.
const MAX_BUCKETS: usize = 100_000;

#[derive(Debug, Clone)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Arc<Mutex<HashMap<String, (f64, Instant)>>>,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Arc::default(),
        }
    }

    /// Takes one request from `caller`'s bucket; when it is empty, how long until it holds
    /// one again.
    pub fn take(&self, caller: &str, now: Instant) -> Result<(), Duration> {
        self.take_within(caller, self.limit, now)
    }

    /// Like [`RateLimiter::take`], with a limit of `caller`'s own (an API key's).
    pub fn take_within(
        &self,
        caller: &str,
        limit: RateLimit,
        now: Instant,
    ) -> Result<(), Duration> {
        let RateLimit { per_second, burst } = limit;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * per_second < burst
            });
        }
        let (tokens, at) = buckets.entry(caller.to_owned()).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_second).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / per_second))
        }
    }
}

/// The middleware: callers are told apart by their bearer token; before they have one (the
/// sign-in calls under `/auth/`, each an expensive password check), by their address.
pub async fn limit(State(limiter): State<RateLimiter>, request: Request, next: Next) -> Response {
    let peer = || {
        let signing_in = request.uri().path().starts_with("/auth/");
        let peer = request
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip());
        peer.filter(|_| signing_in)
            .map(|ip| format!("address {ip}"))
    };
    let caller = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        // An API key has a limit of its own, applied when it is looked up.
        .filter(|value| {
            let token = value.get(7..).unwrap_or_default();
            !token.starts_with(commands::api_keys::KEY_PREFIX)
        })
        .or_else(peer);
    if let Some(caller) = caller {
        if let Err(wait) = limiter.take(&caller, Instant::now()) {
            let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                format!("too many requests; retry in {seconds} s"),
            )
            .into_response();
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return response;
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_caller_waits_for_the_refill() {
        let limiter = RateLimiter::new(RateLimit {
            per_second: 2.0,
            burst: 3.0,
        });
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take("a", start), Ok(()));
        }
        let wait = limiter.take("a", start).expect_err("the bucket is empty");
        assert_eq!(wait, Duration::from_millis(500));
        assert_eq!(
            limiter.take("b", start),
            Ok(()),
            "another caller has its own"
        );
        assert_eq!(
            limiter.take("a", start + Duration::from_millis(500)),
            Ok(())
        );
    }

    #[tokio::test]
    async fn a_burst_beyond_the_limit_gets_429_with_retry_after() {
        use axum::body::Body;
        use tower::ServiceExt;

        let app = crate::testing::app_with(Some(RateLimit {
            per_second: 0.5,
            burst: 2.0,
        }));
        let bearer = crate::testing::CANDIDATE.bearer();
        let mut statuses = Vec::new();
        let mut retry_after = None;
        for _ in 0..3 {
            let request = Request::builder()
                .uri("/notifications?limit=0")
                .header(header::AUTHORIZATION, &bearer)
                .body(Body::empty())
                .expect("request");
            let response = app.clone().oneshot(request).await.expect("response");
            statuses.push(response.status().as_u16());
            retry_after = response.headers().get(header::RETRY_AFTER).cloned();
        }
        assert_eq!(statuses, [400, 400, 429]);
        assert_eq!(
            retry_after.as_ref().and_then(|v| v.to_str().ok()),
            Some("2")
        );
    }
}
