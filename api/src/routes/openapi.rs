//! The OpenAPI document, served at `/openapi.json`.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// Kept beside the code; a test checks that it documents every route.
pub const DOCUMENT: &str = include_str!("../../openapi.json");

pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(document))
}

async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Method, Request, StatusCode};
    use tower::ServiceExt;

    use super::DOCUMENT;
    use crate::testing::app;

    #[tokio::test]
    async fn every_documented_operation_is_served() {
        let document: serde_json::Value = serde_json::from_str(DOCUMENT).expect("valid JSON");
        let paths = document["paths"].as_object().expect("paths");
        assert!(paths.len() >= 30, "{} paths", paths.len());
        for (path, operations) in paths {
            let concrete = path
                .replace("{job_id}", "0192f1a0-0000-7000-8000-000000000001")
                .replace("{candidate_id}", "0192f1a0-0000-7000-8000-000000000002")
                .replace("{wallet_id}", "0192f1a0-0000-7000-8000-000000000003")
                .replace("{employer_id}", "0192f1a0-0000-7000-8000-000000000004")
                .replace("{application_id}", "0192f1a0-0000-7000-8000-000000000005")
                .replace("{document_id}", "0192f1a0-0000-7000-8000-000000000006");
            for method in operations.as_object().expect("operations").keys() {
                let method: Method = method.to_uppercase().parse().expect("method");
                let request = Request::builder()
                    .method(method.clone())
                    .uri(&concrete)
                    .body(Body::empty())
                    .expect("request");
                let response = app().oneshot(request).await.expect("response");
                assert!(
                    ![StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED]
                        .contains(&response.status()),
                    "{method} {path} is documented but not routed ({})",
                    response.status()
                );
            }
        }
    }

    #[tokio::test]
    async fn an_undocumented_route_is_a_404_with_the_error_shape() {
        let request = Request::builder()
            .uri("/no/such/thing")
            .body(Body::empty())
            .expect("request");
        let response = app().oneshot(request).await.expect("response");
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(json["error"]["code"], "not_found");
    }
}
