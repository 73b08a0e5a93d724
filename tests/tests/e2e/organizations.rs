//! Organizations: members invited by email act for their employer within their roles, an
//! invitation works once, another organization's recruiter sees nothing, and a suspended
//! organization is refused everything until it is reinstated, its data intact.

use api::consumer::Consumer;
use api::process::Parts;
use domain::Role;
use hirestream_tests::client::text;
use hirestream_tests::fixtures::rust_job;
use hirestream_tests::{RunningApp, TestEnv};
use reqwest::Method;
use serde_json::{json, Value};

/// A signed-in employer account: its id and access token.
async fn employer_account(app: &RunningApp, email: &str) -> (String, String) {
    let signed_in = app
        .send(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"email": email, "password": "a long passphrase", "role": "employer"})),
        )
        .await
        .expect(201);
    (
        text(&signed_in, "account_id"),
        text(&signed_in, "access_token"),
    )
}

/// A request as `token`, acting for `organization` when given.
async fn call(
    app: &RunningApp,
    method: Method,
    path: &str,
    token: &str,
    organization: Option<&str>,
    body: Option<Value>,
) -> hirestream_tests::Response {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(organization) = organization {
        request = request.header("x-organization", organization);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("sent");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    hirestream_tests::Response {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

async fn invitation_token(env: &TestEnv, email: &str) -> String {
    let body: String = sqlx::query_scalar(
        "SELECT body FROM email_outbox WHERE recipient = $1 ORDER BY created_at DESC LIMIT 1",
    )
    .bind(email)
    .fetch_one(&env.pool)
    .await
    .expect("an invitation was queued");
    body.lines()
        .find_map(|line| line.strip_prefix("token: "))
        .expect("the token")
        .to_owned()
}

#[tokio::test]
async fn members_act_for_their_organization_within_their_roles_until_it_is_suspended() {
    let env = TestEnv::new().await;
    let app = env
        .start(Parts {
            api: true,
            relay: true,
            projectors: vec![Consumer::Jobs, Consumer::Applications],
        })
        .await;
    let (acme, owner) = employer_account(&app, "owner@acme.example").await;
    call(
        &app,
        Method::POST,
        "/employers",
        &owner,
        None,
        Some(json!({"name": "Acme"})),
    )
    .await
    .expect(201);
    let (recruiter_id, recruiter) = employer_account(&app, "rita@acme.example").await;
    let (_, viewer) = employer_account(&app, "victor@acme.example").await;

    // Invitations, each good once and only for an employer account.
    let invite = |email: &str, role: &str| json!({"email": email, "role": role});
    let invitations = format!("/employers/{acme}/invitations");
    for (email, role) in [
        ("rita@acme.example", "recruiter"),
        ("victor@acme.example", "viewer"),
    ] {
        call(
            &app,
            Method::POST,
            &invitations,
            &owner,
            None,
            Some(invite(email, role)),
        )
        .await
        .expect(201);
    }
    let rita_token = invitation_token(&env, "rita@acme.example").await;
    let joined = call(
        &app,
        Method::POST,
        "/invitations/accept",
        &recruiter,
        None,
        Some(json!({ "token": rita_token })),
    )
    .await
    .expect(200);
    assert_eq!(joined["role"], "recruiter");
    call(
        &app,
        Method::POST,
        "/invitations/accept",
        &viewer,
        None,
        Some(json!({ "token": rita_token })),
    )
    .await
    .expect_error(400, "invalid_link");
    let victor_token = invitation_token(&env, "victor@acme.example").await;
    call(
        &app,
        Method::POST,
        "/invitations/accept",
        &viewer,
        None,
        Some(json!({ "token": victor_token })),
    )
    .await
    .expect(200);

    // A recruiter posts for the organization; the event names the member who did.
    let org = Some(acme.as_str());
    let posted = call(
        &app,
        Method::POST,
        "/jobs",
        &recruiter,
        org,
        Some(rust_job()),
    )
    .await
    .expect(201);
    let job_id = text(&posted, "id");
    let member: String = sqlx::query_scalar(
        "SELECT metadata->>'actor_member' FROM events WHERE aggregate_type = 'job' AND aggregate_id = $1",
    )
    .bind(&job_id)
    .fetch_one(&env.pool)
    .await
    .expect("the job's event");
    assert_eq!(member, recruiter_id);
    // ...but may not manage members or keys; a viewer only reads.
    call(
        &app,
        Method::POST,
        &invitations,
        &recruiter,
        org,
        Some(invite("x@acme.example", "owner")),
    )
    .await
    .expect_error(403, "member_role");
    call(&app, Method::POST, "/jobs", &viewer, org, Some(rust_job()))
        .await
        .expect_error(403, "member_role");
    let applications = format!("/jobs/{job_id}/applications");
    call(&app, Method::GET, &applications, &viewer, org, None)
        .await
        .expect(200);

    // Another organization's recruiter sees none of it, with or without naming it.
    let (globex, other) = employer_account(&app, "owner@globex.example").await;
    call(
        &app,
        Method::POST,
        "/employers",
        &other,
        None,
        Some(json!({"name": "Globex"})),
    )
    .await
    .expect(201);
    call(&app, Method::GET, &applications, &other, org, None)
        .await
        .expect_error(403, "not_a_member");
    call(
        &app,
        Method::GET,
        &applications,
        &other,
        Some(globex.as_str()),
        None,
    )
    .await
    .expect_error(403, "forbidden");
    let members = call(
        &app,
        Method::GET,
        &format!("/employers/{acme}/members"),
        &owner,
        None,
        None,
    )
    .await
    .expect(200);
    assert_eq!(members["members"].as_array().map(Vec::len), Some(2));

    // Suspended: every request in the organization is refused, whoever makes it.
    let admin = env.user(Role::Admin);
    let suspension = format!("/admin/employers/{acme}/suspension");
    app.post(&admin, &suspension, json!({"reason": "unpaid invoices"}))
        .await
        .expect(200);
    for (token, organization) in [(&owner, None), (&recruiter, org), (&viewer, org)] {
        call(&app, Method::GET, &applications, token, organization, None)
            .await
            .expect_error(403, "tenant_suspended");
    }
    call(&app, Method::POST, "/jobs", &owner, None, Some(rust_job()))
        .await
        .expect_error(403, "tenant_suspended");
    // Globex is not touched; an admin still reads Acme's data.
    call(&app, Method::GET, "/jobs", &other, None, None)
        .await
        .expect(200);
    let position = text(&posted, "position");
    app.get_after(&admin, &format!("/jobs/{job_id}"), &position)
        .await
        .expect(200);

    // Reinstated, it works again, with everything it had.
    app.send(Method::DELETE, &suspension, Some(&admin.token), None)
        .await
        .expect(200);
    let job = call(
        &app,
        Method::GET,
        &format!("/jobs/{job_id}?after={position}"),
        &recruiter,
        org,
        None,
    )
    .await
    .expect(200);
    assert_eq!(job["employer_id"], json!(acme));

    // A removed member acts no more.
    call(
        &app,
        Method::DELETE,
        &format!("/employers/{acme}/members/{recruiter_id}"),
        &owner,
        None,
        None,
    )
    .await
    .expect(204);
    call(&app, Method::GET, &applications, &recruiter, org, None)
        .await
        .expect_error(403, "not_a_member");

    app.stop().await;
    env.cleanup().await;
}
