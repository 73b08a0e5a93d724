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
    use crate::error::ErrorCode;
    use crate::testing::app;

    #[test]
    fn the_error_shape_lists_every_error_code_in_order() {
        let document: serde_json::Value = serde_json::from_str(DOCUMENT).expect("valid JSON");
        let listed = &document["components"]["schemas"]["Error"]["properties"]["error"]
            ["properties"]["code"]["enum"];
        let codes: Vec<&str> = ErrorCode::ALL.iter().map(|code| code.as_str()).collect();
        assert_eq!(listed, &serde_json::json!(codes));
    }

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
                .replace("{document_id}", "0192f1a0-0000-7000-8000-000000000006")
                .replace("{pairing_id}", "0192f1a0-0000-7000-8000-000000000007")
                .replace("{aggregate_type}", "pairing")
                .replace("{file}", "Matched.v1.0.json");
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

    /// Pages for people rather than for clients of the API.
    const UNDOCUMENTED: [&str; 5] = [
        "/console",
        "/console/app.js",
        "/console/style.css",
        "/docs",
        "/docs/redoc.standalone.js",
    ];

    /// The path of every route the route modules declare. A path that is not a literal
    /// fails the test, so a route cannot slip past it.
    fn routed_paths() -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("the route modules") {
            let file = entry.expect("entry").path();
            let source = std::fs::read_to_string(&file).expect("source");
            // The routes, not the tests below them.
            let source = source.split("#[cfg(test)]").next().unwrap_or_default();
            for (_, rest) in source
                .match_indices(".route(")
                .map(|(i, _)| source.split_at(i + 7))
            {
                let literal = rest
                    .trim_start()
                    .strip_prefix('"')
                    .and_then(|rest| rest.split_once('"'))
                    .map(|(path, _)| path.to_owned());
                match literal {
                    Some(path) => paths.push(path),
                    None => panic!("{}: a route whose path is not a literal", file.display()),
                }
            }
        }
        paths
    }

    /// The other direction: every method any route answers is documented for its path.
    #[tokio::test]
    async fn every_served_operation_is_documented() {
        let document: serde_json::Value = serde_json::from_str(DOCUMENT).expect("valid JSON");
        let routed = routed_paths();
        assert!(routed.len() >= 60, "{} routes found", routed.len());
        let mut failures = Vec::new();
        for path in routed
            .iter()
            .filter(|p| !UNDOCUMENTED.contains(&p.as_str()))
        {
            let concrete: String = path
                .split('/')
                .map(|segment| {
                    if segment.starts_with('{') {
                        "1"
                    } else {
                        segment
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            for method in [
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ] {
                let request = Request::builder()
                    .method(method.clone())
                    .uri(&concrete)
                    .body(Body::empty())
                    .expect("request");
                let response = app().oneshot(request).await.expect("response");
                let served = response.status() != StatusCode::METHOD_NOT_ALLOWED;
                let documented = document["paths"][path.as_str()]
                    .get(method.as_str().to_lowercase())
                    .is_some();
                if served && !documented {
                    failures.push(format!("{method} {path} is served but not documented"));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn every_signed_in_operation_names_its_roles_and_lists_a_403() {
        let document: serde_json::Value = serde_json::from_str(DOCUMENT).expect("valid JSON");
        let mut failures = Vec::new();
        for (path, operations) in document["paths"].as_object().expect("paths") {
            for (method, operation) in operations.as_object().expect("operations") {
                let open = operation["security"] == serde_json::json!([]);
                let roles = operation["x-roles"].as_array();
                let known = roles.is_some_and(|roles| {
                    !roles.is_empty()
                        && roles.iter().all(|role| {
                            matches!(
                                role.as_str(),
                                Some("candidate" | "employer" | "admin" | "auditor")
                            )
                        })
                });
                if open != roles.is_none() || (!open && !known) {
                    failures.push(format!("{method} {path}: x-roles {:?}", roles));
                }
                if !open && operation["responses"].get("403").is_none() {
                    failures.push(format!("{method} {path}: no 403 response"));
                }
                if !open && operation["responses"].get("401").is_none() {
                    failures.push(format!("{method} {path}: no 401 response"));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// A generated client names its calls after `operationId`s and groups them by tag.
    #[test]
    fn every_operation_has_a_unique_id_and_a_described_tag() {
        let document: serde_json::Value = serde_json::from_str(DOCUMENT).expect("valid JSON");
        let tags: Vec<&str> = document["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .filter(|t| t["description"].is_string())
            .filter_map(|t| t["name"].as_str())
            .collect();
        let mut ids = std::collections::HashSet::new();
        let mut failures = Vec::new();
        for (path, operations) in document["paths"].as_object().expect("paths") {
            for (method, operation) in operations.as_object().expect("operations") {
                match operation["operationId"].as_str() {
                    Some(id) if ids.insert(id.to_owned()) => {}
                    other => failures.push(format!("{method} {path}: operationId {other:?}")),
                }
                let tagged = operation["tags"]
                    .as_array()
                    .is_some_and(|t| t.len() == 1 && tags.contains(&t[0].as_str().unwrap_or("")));
                if !tagged {
                    failures.push(format!("{method} {path}: tags {}", operation["tags"]));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[tokio::test]
    async fn the_reference_is_served_from_the_binary() {
        for uri in ["/docs", "/docs/redoc.standalone.js"] {
            let request = Request::builder()
                .uri(uri)
                .body(Body::empty())
                .expect("request");
            let response = app().oneshot(request).await.expect("response");
            assert_eq!(response.status(), StatusCode::OK, "{uri}");
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
