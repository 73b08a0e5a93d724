//! The API reference at `/docs`: Redoc (MIT, vendored in `api/docs/`) rendering
//! `/openapi.json`, served from the binary; nothing is fetched from elsewhere.

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
        .route(
            "/docs",
            get(|| async { super::asset(POLICY, "text/html; charset=utf-8", PAGE) }),
        )
        .route(
            "/docs/redoc.standalone.js",
            get(|| async { super::asset(POLICY, "text/javascript; charset=utf-8", REDOC) }),
        )
}
