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
        "SELECT body FROM email_outbox WHERE recipient = $1 AND body LIKE '%/invitations?token=%' \
         ORDER BY created_at DESC LIMIT 1",
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
    // Rita's invitation is hers: another address's account cannot use it, and it stays good.
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

#[tokio::test]
async fn a_partner_onboards_its_tenants_administers_them_and_sees_no_other_partners() {
    let env = TestEnv::new().await;
    let app = env
        .start(Parts {
            api: true,
            relay: true,
            projectors: vec![Consumer::Jobs],
        })
        .await;
    let admin = env.user(Role::Admin);
    let (agency, agency_token) = employer_account(&app, "ops@agency.example").await;
    let (rival, rival_token) = employer_account(&app, "ops@rival.example").await;
    for (token, name) in [(&agency_token, "Agency"), (&rival_token, "Rival")] {
        call(
            &app,
            Method::POST,
            "/employers",
            token,
            None,
            Some(json!({"name": name})),
        )
        .await
        .expect(201);
    }
    let onboard = |name: &str, owner: &str| json!({"name": name, "owner_email": owner});
    let tenants = format!("/employers/{agency}/tenants");

    // Only a partner onboards, and only an admin makes one.
    call(
        &app,
        Method::POST,
        &tenants,
        &agency_token,
        None,
        Some(onboard("Initech", "boss@initech.example")),
    )
    .await
    .expect_error(403, "not_a_partner");
    call(
        &app,
        Method::POST,
        &format!("/admin/employers/{agency}/partner"),
        &agency_token,
        None,
        None,
    )
    .await
    .expect_error(403, "forbidden");
    for partner in [&agency, &rival] {
        app.post(
            &admin,
            &format!("/admin/employers/{partner}/partner"),
            json!({}),
        )
        .await
        .expect(200);
    }

    let onboarded = call(
        &app,
        Method::POST,
        &tenants,
        &agency_token,
        None,
        Some(onboard("Initech", "boss@initech.example")),
    )
    .await
    .expect(201);
    let tenant = text(&onboarded, "tenant_id");

    // The invited owner joins and acts for the tenant.
    let (_, boss) = employer_account(&app, "boss@initech.example").await;
    let token = invitation_token(&env, "boss@initech.example").await;
    let joined = call(
        &app,
        Method::POST,
        "/invitations/accept",
        &boss,
        None,
        Some(json!({"token": token})),
    )
    .await
    .expect(200);
    assert_eq!(joined["employer_id"], json!(tenant));
    assert_eq!(joined["role"], "owner");
    let org = Some(tenant.as_str());
    call(&app, Method::POST, "/jobs", &boss, org, Some(rust_job()))
        .await
        .expect(201);

    // The partner lists its own tenants, and no one else's.
    let listed = call(&app, Method::GET, &tenants, &agency_token, None, None)
        .await
        .expect(200);
    assert_eq!(
        listed["tenants"],
        json!([{"tenant_id": tenant, "name": "Initech", "suspended": false}])
    );
    call(&app, Method::GET, &tenants, &rival_token, None, None)
        .await
        .expect_error(403, "forbidden");
    let suspension = format!("/employers/{agency}/tenants/{tenant}/suspension");
    let rivals_try = format!("/employers/{rival}/tenants/{tenant}/suspension");
    call(
        &app,
        Method::POST,
        &rivals_try,
        &rival_token,
        None,
        Some(json!({"reason": "mine now"})),
    )
    .await
    .expect_error(404, "not_found");
    call(
        &app,
        Method::POST,
        &suspension,
        &rival_token,
        None,
        Some(json!({"reason": "mine now"})),
    )
    .await
    .expect_error(403, "forbidden");

    // Suspended by its partner, the tenant is refused everything; reinstated, it works again.
    call(
        &app,
        Method::POST,
        &suspension,
        &agency_token,
        None,
        Some(json!({"reason": "unpaid"})),
    )
    .await
    .expect(200);
    call(&app, Method::POST, "/jobs", &boss, org, Some(rust_job()))
        .await
        .expect_error(403, "tenant_suspended");
    let listed = call(&app, Method::GET, &tenants, &agency_token, None, None)
        .await
        .expect(200);
    assert_eq!(listed["tenants"][0]["suspended"], true);
    call(&app, Method::DELETE, &suspension, &agency_token, None, None)
        .await
        .expect(200);
    call(&app, Method::POST, "/jobs", &boss, org, Some(rust_job()))
        .await
        .expect(201);

    app.stop().await;
    env.cleanup().await;
}

/// An owner account of a fresh organization, and members of it with the roles given.
async fn organization_with(
    env: &TestEnv,
    app: &RunningApp,
    domain: &str,
    members: &[(&str, &str)],
) -> (String, String, Vec<(String, String)>) {
    let (organization, owner) = employer_account(app, &format!("owner@{domain}")).await;
    call(
        app,
        Method::POST,
        "/employers",
        &owner,
        None,
        Some(json!({"name": domain})),
    )
    .await
    .expect(201);
    let mut joined = Vec::new();
    for (name, role) in members {
        let email = format!("{name}@{domain}");
        call(
            app,
            Method::POST,
            &format!("/employers/{organization}/invitations"),
            &owner,
            None,
            Some(json!({"email": email, "role": role})),
        )
        .await
        .expect(201);
        let (account, token) = employer_account(app, &email).await;
        let invitation = invitation_token(env, &email).await;
        call(
            app,
            Method::POST,
            "/invitations/accept",
            &token,
            None,
            Some(json!({"token": invitation})),
        )
        .await
        .expect(200);
        joined.push((account, token));
    }
    (organization, owner, joined)
}

#[tokio::test]
async fn a_job_with_assigned_recruiters_is_theirs_to_change_and_its_owners() {
    let env = TestEnv::new().await;
    let app = env
        .start(Parts {
            api: true,
            relay: true,
            projectors: vec![Consumer::Jobs, Consumer::Applications],
        })
        .await;
    let (acme, owner, members) = organization_with(
        &env,
        &app,
        "acme.example",
        &[("rita", "recruiter"), ("ralph", "recruiter")],
    )
    .await;
    let [(rita_id, rita), (_, ralph)] = [members[0].clone(), members[1].clone()];
    let org = Some(acme.as_str());
    let posted = call(&app, Method::POST, "/jobs", &owner, None, Some(rust_job()))
        .await
        .expect(201);
    let job = text(&posted, "id");
    let candidate = env.user(Role::Candidate);
    app.register_candidate(&candidate, "Ada", "ada@example.com")
        .await
        .expect(201);
    let application = text(
        &app.apply(&candidate, &job, json!({})).await.expect(201),
        "id",
    );
    let screen = json!({"status": "screening"});
    let status = format!("/applications/{application}/status");

    // Only an owner assigns, and only a member.
    let assignment = format!("/jobs/{job}/recruiters/{rita_id}");
    call(&app, Method::PUT, &assignment, &ralph, org, None)
        .await
        .expect_error(403, "member_role");
    let outsider = env.user(Role::Employer);
    call(
        &app,
        Method::PUT,
        &format!("/jobs/{job}/recruiters/{}", outsider.id),
        &owner,
        None,
        None,
    )
    .await
    .expect_error(422, "invalid_fields");
    call(&app, Method::PUT, &assignment, &owner, None, None)
        .await
        .expect(200);
    let listed = call(
        &app,
        Method::GET,
        &format!("/jobs/{job}/recruiters"),
        &ralph,
        org,
        None,
    )
    .await
    .expect(200);
    assert_eq!(listed["recruiters"], json!([rita_id]));

    // The job is Rita's now: Ralph reads it but changes nothing of it.
    call(
        &app,
        Method::POST,
        &status,
        &ralph,
        org,
        Some(screen.clone()),
    )
    .await
    .expect_error(403, "not_assigned");
    let mut renamed = rust_job();
    renamed["title"] = json!("Senior Rust engineer");
    call(
        &app,
        Method::PUT,
        &format!("/jobs/{job}"),
        &ralph,
        org,
        Some(renamed.clone()),
    )
    .await
    .expect_error(403, "not_assigned");
    let read = format!("/jobs/{job}?after={}", text(&posted, "position"));
    call(&app, Method::GET, &read, &ralph, org, None)
        .await
        .expect(200);
    call(&app, Method::POST, &status, &rita, org, Some(screen))
        .await
        .expect(200);
    call(
        &app,
        Method::PUT,
        &format!("/jobs/{job}"),
        &owner,
        None,
        Some(renamed.clone()),
    )
    .await
    .expect(200);

    // Taken off again, the job is every recruiter's.
    call(&app, Method::DELETE, &assignment, &owner, None, None)
        .await
        .expect(200);
    call(
        &app,
        Method::PUT,
        &format!("/jobs/{job}"),
        &ralph,
        org,
        Some(renamed),
    )
    .await
    .expect(200);

    app.stop().await;
    env.cleanup().await;
}
