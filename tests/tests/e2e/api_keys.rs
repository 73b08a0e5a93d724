//! API keys of the enterprise API: shown once, scoped, rate-limited per key, counted per
//! day, and refused once revoked.

use api::consumer::Consumer;
use api::process::Parts;
use domain::Role;
use hirestream_tests::client::text;
use hirestream_tests::fixtures::rust_job;
use hirestream_tests::{TestEnv, User};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_key_acts_for_its_employer_within_its_scopes_and_rate_until_revoked() {
    let env = TestEnv::new().await;
    let app = env
        .start(Parts {
            api: true,
            relay: true,
            projectors: vec![Consumer::Jobs, Consumer::Applications],
        })
        .await;
    let acme = env.user(Role::Employer);
    app.register_employer(&acme, "Acme").await.expect(201);
    let keys = format!("/employers/{}/api-keys", acme.id);
    let create = |name: &str, scopes: serde_json::Value, rate: u32| json!({"name": name, "scopes": scopes, "requests_per_second": rate});

    let jobs_key = app
        .post(
            &acme,
            &keys,
            create("ATS sync", json!(["jobs:read", "jobs:write"]), 100),
        )
        .await
        .expect(201);
    let secret = text(&jobs_key, "key");
    assert!(secret.starts_with("hsk_") && secret.len() == 47, "{secret}");
    let applications_key = app
        .post(
            &acme,
            &keys,
            create("Reports", json!(["applications:read"]), 100),
        )
        .await
        .expect(201);
    let as_key = |key: &serde_json::Value| User {
        id: acme.id,
        role: Role::Employer,
        token: text(key, "key"),
    };
    let (jobs, applications) = (as_key(&jobs_key), as_key(&applications_key));

    // Within its scopes, a key acts for its employer.
    let posted = app.post_job(&jobs, rust_job()).await.expect(201);
    let job_id = text(&posted, "id");
    let job = app
        .get_after(
            &jobs,
            &format!("/jobs/{job_id}"),
            &text(&posted, "position"),
        )
        .await
        .expect(200);
    assert_eq!(job["employer_id"], json!(acme.id));
    // Outside them, it is refused with the scope it lacks, and nothing changes.
    for (key, method, path) in [
        (&jobs, Method::GET, format!("/jobs/{job_id}/applications")),
        (&applications, Method::POST, "/jobs".to_owned()),
        (&jobs, Method::GET, "/auth/me".to_owned()),
        (&jobs, Method::GET, keys.clone()),
    ] {
        let body = (method == Method::POST).then(rust_job);
        app.send(method, &path, Some(&key.token), body)
            .await
            .expect_error(403, "scope_missing");
    }
    app.get(&applications, &format!("/jobs/{job_id}/applications"))
        .await
        .expect(200);

    // Another employer sees none of it.
    let other = env.user(Role::Employer);
    app.get(&other, &keys).await.expect_error(403, "forbidden");
    app.post(&other, &keys, create("Mine", json!(["jobs:read"]), 5))
        .await
        .expect_error(403, "forbidden");

    // A key's own rate: one request a second, the second at once is a 429.
    let slow = app
        .post(&acme, &keys, create("Slow", json!(["jobs:read"]), 1))
        .await
        .expect(201);
    let slow_id = text(&slow, "key_id");
    let slow = as_key(&slow);
    app.get(&slow, "/jobs").await.expect(200);
    let refused = app
        .client
        .get(app.url("/jobs"))
        .bearer_auth(&slow.token)
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));

    // Every request made with the key is counted for the day, the refused one too.
    let usage = app
        .get(&acme, &format!("{keys}/{slow_id}/usage"))
        .await
        .expect(200);
    assert_eq!(usage["days"].as_array().map(Vec::len), Some(1), "{usage}");
    assert_eq!(usage["days"][0]["requests"], 2, "{usage}");

    // Revoked, the key is refused; the list says so and never holds a key.
    app.send(
        Method::DELETE,
        &format!("{keys}/{}", text(&jobs_key, "key_id")),
        Some(&acme.token),
        None,
    )
    .await
    .expect(204);
    app.get(&jobs, "/jobs")
        .await
        .expect_error(401, "unauthorized");
    let listed = app.get(&acme, &keys).await.expect(200);
    assert_eq!(listed["keys"].as_array().map(Vec::len), Some(3));
    assert!(!listed.to_string().contains("hsk_"), "{listed}");
    let revoked = listed["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|k| k["key_id"] == jobs_key["key_id"])
        .expect("the revoked key is listed");
    assert!(revoked["revoked_at"].is_string());

    // The history records who made and revoked keys, and no key.
    let events: Vec<(String, String)> = sqlx::query_as(
        "SELECT event_type, payload::text FROM events \
         WHERE aggregate_type = 'employer' AND aggregate_id = $1 ORDER BY sequence",
    )
    .bind(acme.id.to_string())
    .fetch_all(&env.pool)
    .await
    .expect("events");
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "EmployerRegistered",
            "ApiKeyCreated",
            "ApiKeyCreated",
            "ApiKeyCreated",
            "ApiKeyRevoked"
        ]
    );
    assert!(events.iter().all(|(_, payload)| !payload.contains("hsk_")));

    app.stop().await;
    env.cleanup().await;
}
