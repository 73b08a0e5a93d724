//! Tenants stay apart: another organization, by its own token or by a member acting for it,
//! reaches none of an organization's jobs, applications, matches, feeds, keys or members,
//! and changes nothing of them.

use std::time::Duration;

use api::consumer::Consumer;
use api::process::Parts;
use domain::pairing::Decision::Like;
use domain::Role;
use hirestream_tests::client::text;
use hirestream_tests::fixtures::rust_job;
use hirestream_tests::{eventually, Market, TestEnv};
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn no_endpoint_lets_one_organization_reach_anothers_data() {
    let env = TestEnv::new().await;
    let app = env
        .start(Parts {
            api: true,
            relay: true,
            projectors: vec![
                Consumer::Jobs,
                Consumer::Applications,
                Consumer::Matches,
                Consumer::Profiles,
            ],
        })
        .await;
    let Market {
        employer: acme,
        candidate,
        job,
        ..
    } = Market::open(&env, &app).await;
    let globex = env.user(Role::Employer);
    app.register_employer(&globex, "Globex").await.expect(201);

    // Acme's data: an application, a match, an API key.
    let applied = app.apply(&candidate, &job, json!({})).await.expect(201);
    let application = text(&applied, "id");
    app.swipe(&candidate, &job, Like).await.expect(200);
    let matched = app
        .swipe_candidate(&acme, &job, candidate.id, Like)
        .await
        .expect(200);
    let key = app
        .post(
            &acme,
            &format!("/employers/{}/api-keys", acme.id),
            json!({"name": "ATS", "scopes": ["jobs:read"], "requests_per_second": 10}),
        )
        .await
        .expect(201);
    let key_id = text(&key, "key_id");
    let position = matched["position"].as_str().expect("position");
    app.get_after(&acme, &format!("/jobs/{job}/matches"), position)
        .await
        .expect(200);

    let acme_id = acme.id;
    let mut taken_over = rust_job();
    taken_over["title"] = json!("Ours now");
    let candidate_id = candidate.id;
    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (Method::POST, format!("/jobs/{job}/close"), Some(json!({}))),
        (Method::PUT, format!("/jobs/{job}"), Some(taken_over)),
        (
            Method::POST,
            format!("/jobs/{job}/candidates/{candidate_id}/swipe"),
            Some(json!({"decision": "pass"})),
        ),
        (Method::GET, format!("/jobs/{job}/matches"), None),
        (Method::GET, format!("/jobs/{job}/applications"), None),
        (Method::GET, format!("/jobs/{job}/feed"), None),
        (Method::GET, format!("/applications/{application}"), None),
        (
            Method::POST,
            format!("/applications/{application}/status"),
            Some(json!({"status": "rejected"})),
        ),
        (
            Method::PUT,
            format!("/employers/{acme_id}/profile"),
            Some(json!({"name": "Acme", "size": "small", "industry": "Robotics"})),
        ),
        (Method::GET, format!("/employers/{acme_id}/api-keys"), None),
        (
            Method::POST,
            format!("/employers/{acme_id}/api-keys"),
            Some(json!({"name": "mine", "scopes": ["jobs:read"], "requests_per_second": 1})),
        ),
        (
            Method::DELETE,
            format!("/employers/{acme_id}/api-keys/{key_id}"),
            None,
        ),
        (
            Method::GET,
            format!("/employers/{acme_id}/api-keys/{key_id}/usage"),
            None,
        ),
        (
            Method::POST,
            format!("/employers/{acme_id}/invitations"),
            Some(json!({"email": "mole@globex.example", "role": "owner"})),
        ),
        (Method::GET, format!("/employers/{acme_id}/members"), None),
    ];
    for (method, path, body) in &attempts {
        let response = app
            .send(method.clone(), path, Some(&globex.token), body.clone())
            .await;
        assert!(
            [403, 404].contains(&response.status),
            "Globex got {response} from {method} {path}"
        );
        // Acting for Acme without being its member is refused just the same.
        let mut request = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(&globex.token)
            .header("x-organization", acme_id.to_string());
        if let Some(body) = body {
            request = request.json(body);
        }
        let status = request.send().await.expect("sent").status().as_u16();
        assert_eq!(status, 403, "Globex acting for Acme: {method} {path}");
    }

    // Globex's own lists hold nothing of Acme's.
    let theirs = app.get(&globex, "/matches").await.expect(200);
    assert_eq!(theirs["matches"], json!([]), "{theirs}");

    // And Acme's data is as it was.
    let applied_at = text(&applied, "position");
    let ours = app
        .get_after(&acme, &format!("/applications/{application}"), &applied_at)
        .await
        .expect(200);
    assert_eq!(ours["status"], "submitted", "{ours}");
    let path = format!("/jobs/{job}");
    let ours = eventually(
        "Acme's job in the jobs view",
        Duration::from_secs(30),
        || {
            let (app, acme, path) = (&app, &acme, &path);
            async move {
                let response = app.get(acme, path).await;
                (response.status == 200).then_some(response.body)
            }
        },
    )
    .await;
    assert_eq!(ours["status"], "open", "{ours}");
    assert_ne!(ours["title"], "Ours now");
    let keys = app
        .get(&acme, &format!("/employers/{acme_id}/api-keys"))
        .await
        .expect(200);
    assert!(keys.to_string().contains(&key_id), "{keys}");
    let matches = app
        .get(&acme, &format!("/jobs/{job}/matches"))
        .await
        .expect(200);
    assert_eq!(matches["matches"].as_array().map(Vec::len), Some(1));

    app.stop().await;
    env.cleanup().await;
}
