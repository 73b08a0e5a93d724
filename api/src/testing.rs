//! Helpers for handler tests: the whole router over a database that is never reached, so
//! requests that a check refuses before any query can be sent with `oneshot`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request};
use commands::CommandService;
use domain::{Actor, Role};
use serde_json::Value;
use sqlx::postgres::PgPoolOptions;
use tower::ServiceExt;
use uuid::Uuid;

use crate::app::{router, HttpLimits};
use crate::auth::TokenKeys;
use crate::routes::payments::WebhookVerifier;
use crate::state::AppState;

pub const SECRET: &[u8] = b"test";

pub fn app() -> axum::Router {
    // Nothing here reaches the database; a request that does fails fast with a 503.
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(50))
        .connect_lazy("postgres://nobody@127.0.0.1:1/nothing")
        .expect("lazy pool");
    let state = AppState {
        commands: Arc::new(CommandService::new(pool.clone(), 1)),
        pool,
        keys: Arc::new(TokenKeys::new(SECRET)),
        consistency_wait: Duration::from_millis(10),
        progress: Default::default(),
        health: Default::default(),
        webhook: Arc::new(WebhookVerifier::new(SECRET, Duration::from_secs(300))),
        search: None,
        imports: Arc::new(commands::import::FetchPolicy::default()),
    };
    router(
        state,
        HttpLimits {
            request_timeout: Duration::from_secs(5),
            body_limit_bytes: 1 << 16,
        },
    )
}

pub fn token(subject: Uuid, role: Role) -> String {
    TokenKeys::new(SECRET).mint(
        Actor::new(subject, role),
        chrono::Utc::now().timestamp(),
        600,
    )
}

/// Sends one request; returns the status, the headers and the body (JSON, or a string).
pub async fn send(
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> (u16, axum::http::HeaderMap, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request
        .body(body.map(Body::from).unwrap_or_default())
        .expect("request");
    let response = app().oneshot(request).await.expect("response");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, headers, body)
}
