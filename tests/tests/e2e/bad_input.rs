use domain::pairing::Decision;
use domain::{Actor, Role};
use hirestream_tests::{Market, Response, RunningApp, TestEnv, User};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

/// Who sends a bad request.
#[derive(Debug, Clone, Copy)]
enum Caller {
    /// The market's candidate, who passed on its job.
    Candidate,
    /// The market's employer, who owns the job.
    Employer,
    /// A registered employer who does not own the job.
    OtherEmployer,
    /// A candidate or employer who never registered.
    Unregistered(Role),
    /// No token at all.
    Anonymous,
    /// A bearer token that is not a JWT.
    NotAJwt,
    /// The candidate's id as an admin, signed with a guessed secret.
    Forged,
}

/// What a bad request carries.
#[derive(Debug, Clone)]
enum Body {
    None,
    Json(Value),
    /// Text sent as `application/json`.
    Raw(&'static str),
    /// A JSON body over the size limit.
    Oversized,
}

/// One bad request and the answer it must get.
#[derive(Debug)]
struct Case {
    what: &'static str,
    method: Method,
    path: String,
    caller: Caller,
    body: Body,
    status: u16,
    code: &'static str,
}

fn like() -> Body {
    Body::Json(json!({"decision": "like"}))
}

#[rustfmt::skip]
fn cases(market: &Market) -> Vec<Case> {
    use Body::{Json, Raw};
    use Caller::*;
    use Method as M;
    let (job, candidate) = (&market.job, market.candidate.id);
    let swipe = format!("/jobs/{job}/swipe");
    let case = |what, method, path: &str, caller, body, status, code| Case {
        what,
        method,
        path: path.to_owned(),
        caller,
        body,
        status,
        code,
    };
    vec![
        // Malformed JSON, a wrong field type, an unknown field, a body over the limit.
        case("malformed JSON", M::POST, &swipe, Candidate, Raw("{\"decision\":"), 400, "malformed_json"),
        case("a wrong field type", M::POST, &swipe, Candidate, Raw("{\"decision\":\"maybe\"}"), 422, "invalid_body"),
        case("an unknown field", M::POST, "/candidates", Candidate, Raw("{\"name\":\"A\",\"email\":\"a@b.co\",\"admin\":true}"), 422, "invalid_body"),
        case("a body over the limit", M::POST, "/candidates", Candidate, Body::Oversized, 413, "payload_too_large"),
        case("invalid fields", M::POST, "/candidates", Unregistered(Role::Candidate), Json(json!({"name": "", "email": "nope"})), 422, "invalid_fields"),
        // Unknown ids, and ids that are not ids.
        case("an unknown job", M::POST, &format!("/jobs/{}/swipe", Uuid::new_v4()), Candidate, like(), 404, "not_found"),
        case("an unknown candidate", M::POST, &format!("/jobs/{job}/candidates/{}/swipe", Uuid::new_v4()), Employer, like(), 404, "not_found"),
        case("a job id that is no id", M::POST, "/jobs/not-a-uuid/swipe", Candidate, like(), 400, "invalid_path"),
        case("closing an unknown job", M::POST, &format!("/jobs/{}/close", Uuid::new_v4()), Employer, Body::None, 404, "not_found"),
        case("a job of an unregistered employer", M::POST, "/jobs", Unregistered(Role::Employer), Json(json!({"title": "T", "description": "D"})), 404, "not_found"),
        // No token, a forged token, the wrong role.
        case("no token", M::POST, &swipe, Anonymous, like(), 401, "unauthorized"),
        case("a token that is no JWT", M::POST, &swipe, NotAJwt, like(), 401, "unauthorized"),
        case("a forged token", M::POST, &swipe, Forged, like(), 401, "unauthorized"),
        case("an employer swiping as a candidate", M::POST, &swipe, Employer, like(), 403, "forbidden"),
        case("a candidate posting a job", M::POST, "/jobs", Candidate, Json(json!({"title": "T", "description": "D"})), 403, "forbidden"),
        case("a candidate swiping as the employer", M::POST, &format!("/jobs/{job}/candidates/{candidate}/swipe"), Candidate, like(), 403, "forbidden"),
        // A second swipe by the same side.
        case("a second swipe", M::POST, &swipe, Candidate, like(), 409, "already_swiped"),
        // Another user's resources: a job of another employer, another candidate's identity.
        case("closing another employer's job", M::POST, &format!("/jobs/{job}/close"), OtherEmployer, Body::None, 403, "forbidden"),
        case("swiping for another employer's job", M::POST, &format!("/jobs/{job}/candidates/{candidate}/swipe"), OtherEmployer, like(), 403, "forbidden"),
        case("reading another employer's matches", M::GET, &format!("/jobs/{job}/matches"), OtherEmployer, Body::None, 403, "forbidden"),
        case("posting as another employer", M::POST, "/jobs", OtherEmployer, Json(json!({"employer_id": market.employer.id, "title": "T", "description": "D"})), 403, "forbidden"),
        case("reading another candidate's matches", M::GET, &format!("/matches?candidate_id={}", Uuid::new_v4()), Candidate, Body::None, 403, "forbidden"),
        // Query strings and positions.
        case("a zero limit", M::GET, "/matches?limit=0", Candidate, Body::None, 400, "invalid_query"),
        case("a limit that is no number", M::GET, "/matches?limit=lots", Candidate, Body::None, 400, "invalid_query"),
        case("a position that is no position", M::GET, "/matches?after=garbage", Candidate, Body::None, 400, "invalid_position"),
        case("a position of another aggregate type", M::GET, &format!("/matches?after=job:{job}:1"), Candidate, Body::None, 400, "unsupported_position"),
        // Unknown routes and methods.
        case("an unknown route", M::GET, "/nowhere", Anonymous, Body::None, 404, "not_found"),
        case("an unknown method", M::DELETE, "/jobs", Employer, Body::None, 405, "method_not_allowed"),
    ]
}

/// The callers' tokens, by the caller they stand for.
struct Callers {
    candidate: User,
    employer: User,
    other_employer: User,
    forged: String,
}

impl Callers {
    fn token(&self, env: &TestEnv, caller: Caller) -> Option<String> {
        match caller {
            Caller::Candidate => Some(self.candidate.token.clone()),
            Caller::Employer => Some(self.employer.token.clone()),
            Caller::OtherEmployer => Some(self.other_employer.token.clone()),
            Caller::Unregistered(role) => Some(env.user(role).token),
            Caller::Anonymous => None,
            Caller::NotAJwt => Some("not.a.jwt".into()),
            Caller::Forged => Some(self.forged.clone()),
        }
    }
}

/// Sends text as `application/json`, on `client`.
async fn raw(
    app: &RunningApp,
    client: &reqwest::Client,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: String,
) -> Response {
    let mut request = client
        .request(method, app.url(path))
        .header("content-type", "application/json")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    Response { status, body }
}

async fn send(app: &RunningApp, case: &Case, token: Option<&str>) -> Response {
    let (method, path) = (case.method.clone(), case.path.as_str());
    match &case.body {
        Body::None => app.send(method, path, token, None).await,
        Body::Json(body) => app.send(method, path, token, Some(body.clone())).await,
        Body::Raw(text) => raw(app, &app.client, method, path, token, (*text).into()).await,
        // On a client of its own: the server answers without reading the whole body and
        // closes that connection, which a shared pool would try to reuse.
        Body::Oversized => {
            let huge = format!(
                "{{\"name\":\"{}\",\"email\":\"a@b.co\"}}",
                "x".repeat((1 << 20) + 1)
            );
            raw(app, &reqwest::Client::new(), method, path, token, huge).await
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_requests_get_a_4xx_with_the_error_shape_and_append_nothing() {
    let env = TestEnv::new().await;
    let app = env.start_api().await;
    let market = Market::open(&env, &app).await;
    let other_employer = env.user(Role::Employer);
    app.register_employer(&other_employer, "Globex")
        .await
        .expect(201);
    app.swipe(&market.candidate, &market.job, Decision::Pass)
        .await
        .expect(200);
    let callers = Callers {
        candidate: market.candidate.clone(),
        employer: market.employer.clone(),
        other_employer,
        forged: api::auth::TokenKeys::new(b"guessed").mint(
            Actor::new(market.candidate.id, Role::Admin),
            1_900_000_000,
            60,
        ),
    };
    let before = env.event_count().await;

    let mut wrong = Vec::new();
    for case in cases(&market) {
        let token = callers.token(&env, case.caller);
        let response = send(&app, &case, token.as_deref()).await;
        if let Err(problem) = response.check_error(case.status, case.code) {
            wrong.push(format!(
                "{} ({} {}): {problem}",
                case.what, case.method, case.path
            ));
        } else if case.code == "invalid_fields" {
            // Invalid fields are reported one by one.
            let fields = response.body["error"]["details"]["fields"].as_array();
            if fields.map(Vec::len) != Some(2) {
                wrong.push(format!("{}: not two fields in {response}", case.what));
            }
        }
    }

    // No content type.
    let no_content_type = app
        .client
        .post(app.url(&format!("/jobs/{}/swipe", market.job)))
        .bearer_auth(&market.candidate.token)
        .body("{\"decision\":\"like\"}")
        .send()
        .await
        .expect("sent");
    if no_content_type.status().as_u16() != 415 {
        wrong.push(format!("no content type: {}", no_content_type.status()));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    assert_eq!(
        env.event_count().await,
        before,
        "a rejected request appended events"
    );
    app.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_event_store_rejects_updates_deletes_and_truncation() {
    let env = TestEnv::new().await;
    let app = env.start_api().await;
    app.register_employer(&env.user(Role::Employer), "Acme")
        .await;
    assert_eq!(env.event_count().await, 1);
    for statement in [
        "UPDATE events SET payload = '{}'",
        "DELETE FROM events",
        "TRUNCATE events",
    ] {
        let error = sqlx::query(statement)
            .execute(&env.pool)
            .await
            .expect_err(statement);
        assert!(
            error.to_string().contains("append-only"),
            "{statement}: {error}"
        );
    }
    assert_eq!(env.event_count().await, 1);
    app.stop().await;
    env.cleanup().await;
}
