//! The HTTP application: every resource's router, behind the layers every request passes.

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_http::LatencyUnit;

use crate::error::{ApiError, ErrorCode};
use crate::extract::{CORRELATION_ID, REQUEST_ID};
use crate::rate_limit::{self, RateLimit, RateLimiter};
use crate::routes;
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct HttpLimits {
    pub request_timeout: Duration,
    pub body_limit_bytes: usize,
    /// Origins browsers may call the API from.
    pub cors_origins: Vec<String>,
    /// Per-caller limit, if any.
    pub rate_limit: Option<RateLimit>,
}

pub fn router(state: AppState, limits: HttpLimits) -> Router {
    let request_id = HeaderName::from_static(REQUEST_ID);
    let mut routes = Router::new()
        .merge(routes::health::router())
        .merge(routes::openapi::router())
        .merge(routes::auth::router())
        .merge(routes::candidates::router())
        .merge(routes::employers::router())
        .merge(routes::api_keys::router())
        .merge(routes::organizations::router())
        .merge(routes::jobs::router())
        .merge(routes::matches::router())
        .merge(routes::feeds::router())
        .merge(routes::wallets::router())
        .merge(routes::payments::router())
        .merge(routes::applications::router())
        .merge(routes::imports::router())
        .merge(routes::documents::router())
        .merge(routes::audit::router())
        .merge(routes::console::router())
        .merge(routes::docs::router())
        .merge(routes::operations::router())
        .merge(routes::conversations::router())
        .merge(routes::notifications::router())
        .merge(routes::schemas::router())
        .merge(crate::metrics::router());
    if let Some(limit) = limits.rate_limit {
        routes = routes.layer(middleware::from_fn_with_state(
            RateLimiter::new(limit),
            rate_limit::limit,
        ));
    }
    let routes = routes.layer(middleware::from_fn(crate::metrics::track));
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(CatchPanicLayer::custom(panicked))
        .layer(DefaultBodyLimit::max(limits.body_limit_bytes))
        .layer(middleware::from_fn_with_state(
            limits.request_timeout,
            deadline,
        ))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .on_response(
                    // One access-log line per request at the default level.
                    DefaultOnResponse::new()
                        .level(tracing::Level::INFO)
                        .latency_unit(LatencyUnit::Micros),
                )
                .make_span_with(|request: &Request| {
                    let request_id = request
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    let span = tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id,
                    );
                    let traceparent = request
                        .headers()
                        .get(commands::trace::TRACEPARENT)
                        .and_then(|v| v.to_str().ok());
                    commands::trace::continue_trace(&span, traceparent);
                    span
                }),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(cors(&limits.cors_origins))
}

/// Cross-origin calls from the configured origins only: a preflight from another origin gets
/// no `Access-Control-Allow-Origin`, so the browser refuses the call.
fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin.trim_end_matches('/')).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("last-event-id"),
            HeaderName::from_static(REQUEST_ID),
            HeaderName::from_static(CORRELATION_ID),
            HeaderName::from_static(crate::extract::ORGANIZATION),
            HeaderName::from_static(commands::trace::TRACEPARENT),
        ])
        .expose_headers([
            HeaderName::from_static(REQUEST_ID),
            header::RETRY_AFTER,
            header::WWW_AUTHENTICATE,
        ])
        .max_age(Duration::from_secs(600))
}

/// Bounds the time one request may take; the answer is then a 408 of the usual shape.
async fn deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            ErrorCode::RequestTimeout,
            format!("the request took longer than {limit:?}"),
        )
        .into_response(),
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such resource; see /openapi.json")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
        "this resource does not accept that method; see /openapi.json",
    )
}

fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::Internal,
        "the server could not complete the request",
    )
    .into_response()
}
