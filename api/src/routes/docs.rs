//! The API reference at `/docs`: Redoc (MIT, vendored in `api/docs/`) rendering
//! `/openapi.json`, served from the binary; nothing is fetched from elsewhere.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::state::AppState;

const PAGE: &str = include_str!("../../docs/index.html");
const REDOC: &str = include_str!("../../docs/redoc.standalone.js");

/// Redoc styles itself inline and searches in a worker it makes from a blob.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                      img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
                      worker-src blob:; frame-ancestors 'none'; base-uri 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/docs", get(|| asset("text/html; charset=utf-8", PAGE)))
        .route(
            "/docs/redoc.standalone.js",
            get(|| asset("text/javascript; charset=utf-8", REDOC)),
        )
}

async fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
}
