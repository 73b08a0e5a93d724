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
    app_with(None)
}

/// The test app with a per-caller rate limit.
pub fn app_with(rate_limit: Option<crate::rate_limit::RateLimit>) -> axum::Router {
    // Nothing here reaches the database; a request that does fails fast with a 503.
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(50))
        .connect_lazy("postgres://nobody@127.0.0.1:1/nothing")
        .expect("lazy pool");
    let state = AppState {
        commands: Arc::new(CommandService::new(
            pool.clone(),
            1,
            commands::privacy::MasterKeys::development(),
        )),
        pool,
        auth: Arc::new(crate::auth::Authenticator {
            local: TokenKeys::new(SECRET),
            issuers: crate::auth::Issuers::none(),
            access_ttl_secs: 600,
        }),
        key_limits: crate::api_keys::limiter(),
        suspensions: crate::organizations::Suspensions::disabled(),
        consistency_wait: Duration::from_millis(10),
        progress: Default::default(),
        health: Default::default(),
        rebuilds: Default::default(),
        shutdown: Default::default(),
        webhook: Arc::new(WebhookVerifier::new(SECRET, Duration::from_secs(300))),
        search: None,
        audit_key: None,
        imports: Arc::new(commands::import::FetchPolicy::default()),
    };
    router(
        state,
        HttpLimits {
            request_timeout: Duration::from_secs(5),
            body_limit_bytes: 1 << 16,
            cors_origins: vec![ALLOWED_ORIGIN.into()],
            rate_limit,
        },
    )
}

/// The one origin the test app lets browsers call it from.
pub const ALLOWED_ORIGIN: &str = "https://app.example.com";

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

/// The party a role matrix's paths and bodies name (`{id}` in a path).
pub const OWNER: Uuid = Uuid::from_u128(0x0192_f1a0_0000_7000_8000_0000_0000_0007);

/// A caller in a role matrix: a role, with the subject the route names or another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Who {
    pub role: Role,
    pub own: bool,
}

pub const CANDIDATE: Who = Who::own(Role::Candidate);
pub const OTHER_CANDIDATE: Who = Who::other(Role::Candidate);
pub const EMPLOYER: Who = Who::own(Role::Employer);
pub const OTHER_EMPLOYER: Who = Who::other(Role::Employer);
pub const ADMIN: Who = Who::other(Role::Admin);
pub const AUDITOR: Who = Who::other(Role::Auditor);
/// Callers who are themselves a party (not admins or auditors, who name the party they read).
pub const PARTIES: [Who; 4] = [CANDIDATE, OTHER_CANDIDATE, EMPLOYER, OTHER_EMPLOYER];
pub const EVERYONE: [Who; 6] = [
    CANDIDATE,
    OTHER_CANDIDATE,
    EMPLOYER,
    OTHER_EMPLOYER,
    ADMIN,
    AUDITOR,
];

impl Who {
    const fn own(role: Role) -> Self {
        Self { role, own: true }
    }

    const fn other(role: Role) -> Self {
        Self { role, own: false }
    }

    pub fn bearer(self) -> String {
        let subject = if self.own {
            OWNER
        } else {
            Uuid::from_u128(0x0192_f1a0_0000_7000_8000_0000_0000_0099)
        };
        format!("Bearer {}", token(subject, self.role))
    }
}

impl std::fmt::Display for Who {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let whose = if self.own { "owning" } else { "other" };
        write!(f, "{whose} {}", self.role)
    }
}

/// One row of a role matrix: a route (`{id}` stands for [`OWNER`]) with a well-formed body,
/// the callers it is sent as ([`EVERYONE`] unless told) and those the policy lets through.
pub struct Route {
    pub method: Method,
    pub uri: &'static str,
    pub body: Option<Value>,
    pub callers: &'static [Who],
    pub passes: &'static [Who],
}

impl Route {
    pub fn get(uri: &'static str, passes: &'static [Who]) -> Self {
        Self {
            method: Method::GET,
            uri,
            body: None,
            callers: &EVERYONE,
            passes,
        }
    }

    pub fn with(method: Method, uri: &'static str, body: Value, passes: &'static [Who]) -> Self {
        Self {
            method,
            uri,
            body: Some(body),
            callers: &EVERYONE,
            passes,
        }
    }

    /// Sends the route only as `callers` (the others are refused otherwise than by role, in
    /// a table of refusals).
    pub fn asked_by(self, callers: &'static [Who]) -> Self {
        Self { callers, ..self }
    }
}

/// Sends every route as each of its callers: a caller the policy refuses gets a 403
/// `forbidden` before anything is looked up; one it lets through reaches the store, which the
/// test app cannot reach (a 503). Reports every pair that answers otherwise.
pub async fn assert_role_matrix(routes: Vec<Route>) {
    let mut calls = tokio::task::JoinSet::new();
    for route in &routes {
        for &who in route.callers {
            let method = route.method.clone();
            let uri = route.uri.replace("{id}", &OWNER.to_string());
            let body = route.body.as_ref().map(Value::to_string);
            let passes = route.passes.contains(&who);
            calls.spawn(async move {
                let bearer = who.bearer();
                let (status, _, answer) =
                    send(method.clone(), &uri, &[("authorization", &bearer)], body).await;
                let expected = if passes { 503 } else { 403 };
                let code_ok = passes || answer["error"]["code"] == "forbidden";
                (status == expected && code_ok).then_some(()).ok_or(format!(
                    "{method} {uri} as {who}: expected {expected}, got {status} {answer}"
                ))
            });
        }
    }
    let mut failures = Vec::new();
    while let Some(result) = calls.join_next().await {
        if let Err(failure) = result.expect("task") {
            failures.push(failure);
        }
    }
    failures.extend(documented_as_tested(&routes));
    failures.sort();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// One request the server must refuse before anything is looked up: `{id}` stands for
/// [`OWNER`]; the status and code it answers.
pub struct Refusal {
    pub method: Method,
    pub uri: &'static str,
    pub body: Option<Value>,
    pub status: u16,
    pub code: &'static str,
}

/// A GET `uri` that is answered `status` with `code`.
pub fn bad_get(uri: &'static str, status: u16, code: &'static str) -> Refusal {
    Refusal {
        method: Method::GET,
        uri,
        body: None,
        status,
        code,
    }
}

/// Sends each request as `who` and checks the status and the error shape of the answer,
/// reporting every case that answers otherwise.
pub async fn assert_refusals(who: Who, cases: Vec<Refusal>) {
    let mut failures = Vec::new();
    for case in cases {
        let uri = case.uri.replace("{id}", &OWNER.to_string());
        let bearer = who.bearer();
        let (status, _, answer) = send(
            case.method.clone(),
            &uri,
            &[("authorization", &bearer)],
            case.body.as_ref().map(Value::to_string),
        )
        .await;
        let error = &answer["error"];
        let shaped = error["code"].is_string()
            && error["message"].is_string()
            && error.get("details").is_some();
        if status != case.status || error["code"] != case.code || !shaped {
            failures.push(format!(
                "{} {uri} as {who}: expected {} {}, got {status} {answer}",
                case.method, case.status, case.code
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The `x-roles` the API description gives the operation `method template` (no query; a
/// path parameter written as `{id}` or as a value).
fn documented_roles(method: &Method, template: &str) -> Option<Vec<Role>> {
    let document: Value =
        serde_json::from_str(crate::routes::openapi::DOCUMENT).expect("valid JSON");
    let paths = document["paths"].as_object()?;
    // A `{parameter}` of the description matches any segment of the template; the path with
    // the fewest parameters wins (`/jobs/search` over `/jobs/{job_id}`).
    let (_, operations) = paths
        .iter()
        .filter(|(path, _)| {
            let (documented, tested): (Vec<&str>, Vec<&str>) =
                (path.split('/').collect(), template.split('/').collect());
            documented.len() == tested.len()
                && documented
                    .iter()
                    .zip(&tested)
                    .all(|(d, t)| d == t || d.starts_with('{'))
        })
        .min_by_key(|(path, _)| path.matches('{').count())?;
    let roles = operations[method.as_str().to_lowercase()]["x-roles"].as_array()?;
    roles
        .iter()
        .map(|role| role.as_str()?.parse().ok())
        .collect()
}

/// The description and the matrices agree, operation by operation: every role `x-roles` lists
/// gets past the policy in some row, and where no row lets everyone through to the lookup (so
/// the role alone decides), no other role does.
fn documented_as_tested(routes: &[Route]) -> Vec<String> {
    let mut operations: Vec<(&Method, &str)> = Vec::new();
    for route in routes {
        let operation = (
            &route.method,
            route.uri.split('?').next().unwrap_or_default(),
        );
        if !operations.contains(&operation) {
            operations.push(operation);
        }
    }
    let mut failures = Vec::new();
    for (method, template) in operations {
        let label = format!("{method} {template}");
        let Some(documented) = documented_roles(method, template) else {
            failures.push(format!("{label}: no x-roles in the API description"));
            continue;
        };
        let rows: Vec<&Route> = routes
            .iter()
            .filter(|r| r.method == *method && r.uri.split('?').next() == Some(template))
            .collect();
        let passing = |role: Role| rows.iter().any(|r| r.passes.iter().any(|w| w.role == role));
        let decided_by_role = rows.iter().all(|r| r.passes != EVERYONE);
        for role in [Role::Candidate, Role::Employer, Role::Admin, Role::Auditor] {
            if documented.contains(&role) && !passing(role) {
                failures.push(format!(
                    "{label}: x-roles lists {role}, whom the policy refuses"
                ));
            }
            if decided_by_role && !documented.contains(&role) && passing(role) {
                failures.push(format!("{label}: {role} gets through but x-roles omits it"));
            }
        }
    }
    failures
}
