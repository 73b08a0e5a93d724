//! The console at `/console`: a page for auditors and admins over the audit API, compiled
//! into the binary (nothing is fetched from elsewhere). The page asks for a bearer token and
//! sends it with every call, so the assets themselves are public.

use axum::routing::get;
use axum::Router;

use crate::state::AppState;

const INDEX: &str = include_str!("../../console/index.html");
const SCRIPT: &str = include_str!("../../console/app.js");
const STYLE: &str = include_str!("../../console/style.css");

/// Only this server's own scripts, styles and API; no framing.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                      connect-src 'self'; img-src 'self' data:; form-action 'self'; \
                      frame-ancestors 'none'; base-uri 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/console",
            get(|| async { super::asset(POLICY, "text/html; charset=utf-8", INDEX) }),
        )
        .route(
            "/console/app.js",
            get(|| async { super::asset(POLICY, "text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/console/style.css",
            get(|| async { super::asset(POLICY, "text/css; charset=utf-8", STYLE) }),
        )
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{header, Request, StatusCode};
    use tower::ServiceExt;

    use crate::testing::app;

    #[tokio::test]
    async fn the_console_is_served_with_a_policy_that_allows_only_this_server() {
        for (uri, kind) in [
            ("/console", "text/html"),
            ("/console/app.js", "text/javascript"),
            ("/console/style.css", "text/css"),
        ] {
            let request = Request::builder()
                .uri(uri)
                .body(Body::empty())
                .expect("request");
            let response = app().oneshot(request).await.expect("response");
            assert_eq!(response.status(), StatusCode::OK, "{uri}");
            let headers = response.headers();
            let content_type = headers[header::CONTENT_TYPE].to_str().unwrap_or_default();
            assert!(content_type.starts_with(kind), "{uri}: {content_type}");
            let policy = headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap_or_default();
            assert!(policy.contains("script-src 'self'"), "{uri}: {policy}");
        }
    }
}
