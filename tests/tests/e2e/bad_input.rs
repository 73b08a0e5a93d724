use api::process::Parts;
use domain::Role;
use hirestream_tests::{RunningApp, TestEnv};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

/// Asserts the one error shape and the expected status and code.
fn assert_error(response: &(u16, Value), status: u16, code: &str) {
    let (actual, body) = response;
    assert_eq!(*actual, status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(body["error"].get("details").is_some(), "{body}");
}

async fn raw(
    app: &RunningApp,
    method: Method,
    path: &str,
    token: &str,
    body: &str,
) -> (u16, Value) {
    let response = app
        .client
        .request(method, app.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_requests_get_a_4xx_with_the_error_shape_and_append_nothing() {
    let env = TestEnv::new().await;
    let app = env
        .start(Parts {
            api: true,
            ..Parts::default()
        })
        .await;
    let (candidate, employer, other_employer) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let candidate_token = env.token(candidate, Role::Candidate);
    let employer_token = env.token(employer, Role::Employer);
    let other_token = env.token(other_employer, Role::Employer);
    app.call(
        Method::POST,
        "/employers",
        Some(&employer_token),
        Some(json!({"name": "Acme"})),
    )
    .await;
    app.call(
        Method::POST,
        "/employers",
        Some(&other_token),
        Some(json!({"name": "Globex"})),
    )
    .await;
    app.call(
        Method::POST,
        "/candidates",
        Some(&candidate_token),
        Some(json!({"name": "Ada", "email": "ada@example.com"})),
    )
    .await;
    let (_, job) = app
        .call(
            Method::POST,
            "/jobs",
            Some(&employer_token),
            Some(json!({"title": "Rust engineer", "description": "Build it."})),
        )
        .await;
    let job_id = job["id"].as_str().expect("job id").to_owned();
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/jobs/{job_id}/swipe"),
            Some(&candidate_token),
            Some(json!({"decision": "pass"})),
        )
        .await;
    assert_eq!(status, 200);
    let before = env.event_count().await;

    // Malformed JSON, a wrong field type, an unknown field, and no content type.
    let swipe = format!("/jobs/{job_id}/swipe");
    assert_error(
        &raw(
            &app,
            Method::POST,
            &swipe,
            &candidate_token,
            "{\"decision\":",
        )
        .await,
        400,
        "malformed_json",
    );
    assert_error(
        &raw(
            &app,
            Method::POST,
            &swipe,
            &candidate_token,
            "{\"decision\":\"maybe\"}",
        )
        .await,
        422,
        "invalid_body",
    );
    assert_error(
        &raw(
            &app,
            Method::POST,
            "/candidates",
            &candidate_token,
            "{\"name\":\"A\",\"email\":\"a@b.co\",\"admin\":true}",
        )
        .await,
        422,
        "invalid_body",
    );
    let no_content_type = app
        .client
        .post(app.url(&swipe))
        .bearer_auth(&candidate_token)
        .body("{\"decision\":\"like\"}")
        .send()
        .await
        .expect("sent");
    assert_eq!(no_content_type.status().as_u16(), 415);

    // A body over the limit, on a client of its own: the server answers without reading the
    // whole body and closes that connection, which a shared pool would try to reuse.
    let huge = format!(
        "{{\"name\":\"{}\",\"email\":\"a@b.co\"}}",
        "x".repeat((1 << 20) + 1)
    );
    let response = reqwest::Client::new()
        .post(app.url("/candidates"))
        .bearer_auth(&candidate_token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("oversized request sent");
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_error(&(status, body), 413, "payload_too_large");

    // Invalid fields are reported one by one.
    let invalid = app
        .call(
            Method::POST,
            "/candidates",
            Some(&env.token(Uuid::new_v4(), Role::Candidate)),
            Some(json!({"name": "", "email": "nope"})),
        )
        .await;
    assert_error(&invalid, 422, "invalid_fields");
    assert_eq!(
        invalid.1["error"]["details"]["fields"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    // Unknown ids, and ids that are not ids.
    let unknown_job = Uuid::new_v4();
    assert_error(
        &app.call(
            Method::POST,
            &format!("/jobs/{unknown_job}/swipe"),
            Some(&candidate_token),
            Some(json!({"decision": "like"})),
        )
        .await,
        404,
        "not_found",
    );
    assert_error(
        &app.call(
            Method::POST,
            &format!("/jobs/{job_id}/candidates/{}/swipe", Uuid::new_v4()),
            Some(&employer_token),
            Some(json!({"decision": "like"})),
        )
        .await,
        404,
        "not_found",
    );
    assert_error(
        &app.call(
            Method::POST,
            "/jobs/not-a-uuid/swipe",
            Some(&candidate_token),
            Some(json!({"decision": "like"})),
        )
        .await,
        400,
        "invalid_path",
    );
    assert_error(
        &app.call(
            Method::POST,
            &format!("/jobs/{unknown_job}/close"),
            Some(&employer_token),
            None,
        )
        .await,
        404,
        "not_found",
    );
    assert_error(
        &app.call(
            Method::POST,
            "/jobs",
            Some(&env.token(Uuid::new_v4(), Role::Employer)),
            Some(json!({"title": "T", "description": "D"})),
        )
        .await,
        404,
        "not_found",
    );

    // No token, a forged token, the wrong role.
    assert_error(
        &app.call(
            Method::POST,
            &swipe,
            None,
            Some(json!({"decision": "like"})),
        )
        .await,
        401,
        "unauthorized",
    );
    assert_error(
        &app.call(
            Method::POST,
            &swipe,
            Some("not.a.jwt"),
            Some(json!({"decision": "like"})),
        )
        .await,
        401,
        "unauthorized",
    );
    let forged = api::auth::TokenKeys::new(b"guessed").mint(
        domain::Actor::new(candidate, Role::Admin),
        1_900_000_000,
        60,
    );
    assert_error(
        &app.call(
            Method::POST,
            &swipe,
            Some(&forged),
            Some(json!({"decision": "like"})),
        )
        .await,
        401,
        "unauthorized",
    );
    assert_error(
        &app.call(
            Method::POST,
            &swipe,
            Some(&employer_token),
            Some(json!({"decision": "like"})),
        )
        .await,
        403,
        "forbidden",
    );
    assert_error(
        &app.call(
            Method::POST,
            "/jobs",
            Some(&candidate_token),
            Some(json!({"title": "T", "description": "D"})),
        )
        .await,
        403,
        "forbidden",
    );
    assert_error(
        &app.call(
            Method::POST,
            &format!("/jobs/{job_id}/candidates/{candidate}/swipe"),
            Some(&candidate_token),
            Some(json!({"decision": "like"})),
        )
        .await,
        403,
        "forbidden",
    );

    // A second swipe by the same side.
    assert_error(
        &app.call(
            Method::POST,
            &swipe,
            Some(&candidate_token),
            Some(json!({"decision": "like"})),
        )
        .await,
        409,
        "already_swiped",
    );

    // Another user's resources: a job of another employer, another candidate's identity.
    assert_error(
        &app.call(
            Method::POST,
            &format!("/jobs/{job_id}/close"),
            Some(&other_token),
            None,
        )
        .await,
        403,
        "forbidden",
    );
    assert_error(
        &app.call(
            Method::POST,
            &format!("/jobs/{job_id}/candidates/{candidate}/swipe"),
            Some(&other_token),
            Some(json!({"decision": "like"})),
        )
        .await,
        403,
        "forbidden",
    );
    assert_error(
        &app.call(
            Method::GET,
            &format!("/jobs/{job_id}/matches"),
            Some(&other_token),
            None,
        )
        .await,
        403,
        "forbidden",
    );
    assert_error(
        &app.call(
            Method::POST,
            "/jobs",
            Some(&other_token),
            Some(json!({"employer_id": employer, "title": "T", "description": "D"})),
        )
        .await,
        403,
        "forbidden",
    );
    assert_error(
        &app.call(
            Method::GET,
            &format!("/matches?candidate_id={}", Uuid::new_v4()),
            Some(&candidate_token),
            None,
        )
        .await,
        403,
        "forbidden",
    );

    // Query strings and positions.
    assert_error(
        &app.call(
            Method::GET,
            "/matches?limit=0",
            Some(&candidate_token),
            None,
        )
        .await,
        400,
        "invalid_query",
    );
    assert_error(
        &app.call(
            Method::GET,
            "/matches?limit=lots",
            Some(&candidate_token),
            None,
        )
        .await,
        400,
        "invalid_query",
    );
    assert_error(
        &app.call(
            Method::GET,
            "/matches?after=garbage",
            Some(&candidate_token),
            None,
        )
        .await,
        400,
        "invalid_position",
    );
    assert_error(
        &app.call(
            Method::GET,
            &format!("/matches?after=job:{job_id}:1"),
            Some(&candidate_token),
            None,
        )
        .await,
        400,
        "unsupported_position",
    );

    // Unknown routes and methods.
    assert_error(
        &app.call(Method::GET, "/nowhere", None, None).await,
        404,
        "not_found",
    );
    assert_error(
        &app.call(Method::DELETE, "/jobs", Some(&employer_token), None)
            .await,
        405,
        "method_not_allowed",
    );

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
    let app = env
        .start(Parts {
            api: true,
            ..Parts::default()
        })
        .await;
    let token = env.token(Uuid::new_v4(), Role::Employer);
    app.call(
        Method::POST,
        "/employers",
        Some(&token),
        Some(json!({"name": "Acme"})),
    )
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
