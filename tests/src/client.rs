//! A scenario client over the running app: typed calls for the steps the end-to-end tests
//! repeat (register, post a job, swipe, grant, charge, ...), each answering a [`Response`]
//! that a test checks in one line (`.expect(201)`, `.expect_error(409, "already_swiped")`).
//! [`RunningApp::send`] stays for the requests no typed call covers.

use std::fmt;
use std::ops::Index;
use std::time::Duration;

use api::process::Parts;
use domain::pairing::Decision;
use domain::Role;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{RunningApp, TestEnv};

/// How long [`RunningApp::get_after`] retries a view that has not reached a position yet.
const CATCH_UP_DEADLINE: Duration = Duration::from_secs(60);

/// Someone who calls the API: a subject, its role, and a token signed for them.
#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub role: Role,
    pub token: String,
}

impl TestEnv {
    /// A user of `role` with a fresh id.
    pub fn user(&self, role: Role) -> User {
        self.user_with_id(Uuid::new_v4(), role)
    }

    /// A user of `role` whose token names `id`.
    pub fn user_with_id(&self, id: Uuid, role: Role) -> User {
        User {
            id,
            role,
            token: self.token(id, role),
        }
    }

    /// Starts the HTTP API alone: no relay, no projectors.
    pub async fn start_api(&self) -> RunningApp {
        self.start(Parts {
            api: true,
            ..Parts::default()
        })
        .await
    }
}

/// An answer of the API: its status and its body (JSON, or the text as a JSON string).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Value,
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

impl Index<&str> for Response {
    type Output = Value;

    fn index(&self, key: &str) -> &Value {
        &self.body[key]
    }
}

impl Response {
    /// Asserts a 2xx answer; returns the body.
    #[track_caller]
    pub fn expect_ok(self) -> Value {
        assert!((200..300).contains(&self.status), "{self}");
        self.body
    }

    /// Asserts the status; returns the body.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.body);
        self.body
    }

    /// Asserts the status, the error code and the one error shape
    /// (`{"error":{"code","message","details"}}`); returns the body.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> Value {
        if let Err(problem) = self.check_error(status, code) {
            panic!("{problem}");
        }
        self.body
    }

    /// What is wrong with this answer as the error `status` with `code`, if anything.
    pub fn check_error(&self, status: u16, code: &str) -> Result<(), String> {
        let error = &self.body["error"];
        if self.status != status || error["code"] != code {
            return Err(format!("expected {status} {code}, got {self}"));
        }
        if !error["message"].is_string() || error.get("details").is_none() {
            return Err(format!("not the error shape: {self}"));
        }
        Ok(())
    }

    /// The error code, `Null` for an answer that is not an error.
    pub fn code(&self) -> &Value {
        &self.body["error"]["code"]
    }

    /// The `id` of what a command wrote.
    #[track_caller]
    pub fn id(&self) -> String {
        text(&self.body, "id")
    }

    /// The position a command wrote, for a read that must reflect it.
    #[track_caller]
    pub fn position(&self) -> String {
        text(&self.body, "position")
    }
}

/// The string field `key` of `body`.
#[track_caller]
pub fn text(body: &Value, key: &str) -> String {
    match body[key].as_str() {
        Some(value) => value.to_owned(),
        None => panic!("no {key} in {body}"),
    }
}

impl RunningApp {
    /// Sends a request with an optional bearer token and JSON body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let text = response.text().await.expect("response body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Response { status, body }
    }

    pub async fn get(&self, user: &User, path: &str) -> Response {
        self.send(Method::GET, path, Some(&user.token), None).await
    }

    pub async fn post(&self, user: &User, path: &str, body: Value) -> Response {
        self.send(Method::POST, path, Some(&user.token), Some(body))
            .await
    }

    pub async fn put(&self, user: &User, path: &str, body: Value) -> Response {
        self.send(Method::PUT, path, Some(&user.token), Some(body))
            .await
    }

    /// A GET of a view that reflects at least `position`: the server waits a bounded time
    /// for its projection, and a `position_not_reached` answer is asked again until
    /// [`CATCH_UP_DEADLINE`].
    pub async fn get_after(&self, user: &User, path: &str, position: &str) -> Response {
        let separator = if path.contains('?') { '&' } else { '?' };
        let path = format!("{path}{separator}after={position}");
        let deadline = tokio::time::Instant::now() + CATCH_UP_DEADLINE;
        loop {
            let response = self.get(user, &path).await;
            let behind = response.status == 412 && response.code() == "position_not_reached";
            if !behind || tokio::time::Instant::now() >= deadline {
                return response;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn register_employer(&self, employer: &User, name: &str) -> Response {
        self.post(employer, "/employers", json!({ "name": name }))
            .await
    }

    pub async fn register_candidate(&self, candidate: &User, name: &str, email: &str) -> Response {
        let body = json!({ "name": name, "email": email });
        self.post(candidate, "/candidates", body).await
    }

    /// Replaces the profile of the employer the user is.
    pub async fn put_employer_profile(&self, employer: &User, profile: Value) -> Response {
        let path = format!("/employers/{}/profile", employer.id);
        self.put(employer, &path, profile).await
    }

    /// Replaces the profile of the candidate the user is.
    pub async fn put_candidate_profile(&self, candidate: &User, profile: Value) -> Response {
        let path = format!("/candidates/{}/profile", candidate.id);
        self.put(candidate, &path, profile).await
    }

    pub async fn post_job(&self, employer: &User, posting: Value) -> Response {
        self.post(employer, "/jobs", posting).await
    }

    pub async fn close_job(&self, employer: &User, job: &str) -> Response {
        let path = format!("/jobs/{job}/close");
        self.send(Method::POST, &path, Some(&employer.token), None)
            .await
    }

    /// The candidate's swipe on a job.
    pub async fn swipe(&self, candidate: &User, job: &str, decision: Decision) -> Response {
        let path = format!("/jobs/{job}/swipe");
        self.post(candidate, &path, json!({ "decision": decision }))
            .await
    }

    /// The employer's swipe on a candidate for a job.
    pub async fn swipe_candidate(
        &self,
        employer: &User,
        job: &str,
        candidate: Uuid,
        decision: Decision,
    ) -> Response {
        let path = format!("/jobs/{job}/candidates/{candidate}/swipe");
        self.post(employer, &path, json!({ "decision": decision }))
            .await
    }

    /// Grants `credits` to a wallet under a fresh grant id.
    pub async fn grant(&self, admin: &User, wallet: Uuid, credits: i64) -> Response {
        let body = json!({"grant_id": Uuid::new_v4(), "credits": credits, "reason": "welcome"});
        self.post(admin, &format!("/wallets/{wallet}/grants"), body)
            .await
    }

    pub async fn charge(
        &self,
        user: &User,
        wallet: Uuid,
        charge_id: Uuid,
        credits: i64,
        purpose: &str,
    ) -> Response {
        let body = json!({"charge_id": charge_id, "credits": credits, "purpose": purpose});
        self.post(user, &format!("/wallets/{wallet}/charges"), body)
            .await
    }

    pub async fn refund(
        &self,
        admin: &User,
        wallet: Uuid,
        charge_id: Uuid,
        credits: i64,
        reason: &str,
    ) -> Response {
        let body = json!({"charge_id": charge_id, "credits": credits, "reason": reason});
        self.post(admin, &format!("/wallets/{wallet}/refunds"), body)
            .await
    }

    /// Asks for a document (`{"kind", "idempotency_key", ...}`) for the candidate the user is.
    pub async fn request_document(&self, candidate: &User, request: Value) -> Response {
        let path = format!("/candidates/{}/documents", candidate.id);
        self.post(candidate, &path, request).await
    }

    /// The candidate's application to a job (`{"document_ids": [...]}` or `{}`).
    pub async fn apply(&self, candidate: &User, job: &str, body: Value) -> Response {
        self.post(candidate, &format!("/jobs/{job}/applications"), body)
            .await
    }

    /// Moves an application to `status`.
    pub async fn move_application(&self, user: &User, application: &str, status: &str) -> Response {
        let path = format!("/applications/{application}/status");
        self.post(user, &path, json!({ "status": status })).await
    }

    /// Imports a Greenhouse feed for an employer.
    pub async fn import_greenhouse(&self, admin: &User, employer: Uuid, feed: Value) -> Response {
        let body = json!({"source": "greenhouse", "employer_id": employer, "feed": feed});
        self.post(admin, "/admin/imports", body).await
    }
}
