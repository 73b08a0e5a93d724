//! Who may write what: every role against every write, with the token's subject equal to the
//! id of the resource's owner, and every client-chosen key checked for its caller first.

use domain::Role;
use hirestream_tests::client::text;
use hirestream_tests::fixtures::rust_job;
use hirestream_tests::{Market, Response, RunningApp, TestEnv};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

const ROLES: [Role; 4] = [Role::Candidate, Role::Employer, Role::Auditor, Role::Admin];

/// A market for one case: an employer with an open job and a second job the candidate has
/// applied to, and a candidate with 17 credits left after one 3-credit charge.
struct World {
    candidate: Uuid,
    employer: Uuid,
    job: String,
    application: String,
    charge: Uuid,
}

impl World {
    async fn new(env: &TestEnv, app: &RunningApp) -> Self {
        let market = Market::open(env, app).await.with_credits(app, 20).await;
        let applied_to = app.post_job(&market.employer, rust_job()).await.expect_ok();
        let applied_to = text(&applied_to, "id");
        let application = app
            .apply(&market.candidate, &applied_to, json!({}))
            .await
            .expect_ok();
        let charge = Uuid::new_v4();
        app.charge(&market.candidate, market.candidate.id, charge, 3, "resume")
            .await
            .expect_ok();
        World {
            candidate: market.candidate.id,
            employer: market.employer.id,
            job: market.job,
            application: text(&application, "id"),
            charge,
        }
    }
}

/// Sends a write with a JSON body as the holder of `token`.
async fn call(app: &RunningApp, method: Method, path: &str, token: &str, body: Value) -> Response {
    app.send(method, path, Some(token), Some(body)).await
}

/// One write: its request in a given world, for a caller of a given role, and which party
/// owns it (the token's subject for every role but admin).
struct Write {
    name: &'static str,
    owner: Owner,
    /// The owning role; `None` for writes only admins make.
    owning_role: Option<Role>,
    request: fn(&World, Role) -> (Method, String, Value),
}

#[derive(Clone, Copy)]
enum Owner {
    Candidate,
    Employer,
}

/// An admin names the party; others act as themselves.
fn named(role: Role, field: &str, id: Uuid, mut body: Value) -> Value {
    if role == Role::Admin {
        body[field] = json!(id);
    }
    body
}

fn writes() -> Vec<Write> {
    use Method as M;
    vec![
        Write {
            name: "register a candidate",
            owner: Owner::Candidate,
            owning_role: Some(Role::Candidate),
            request: |_, role| {
                // A fresh id: the world's candidate is registered already.
                (
                    M::POST,
                    "/candidates".into(),
                    named(
                        role,
                        "candidate_id",
                        Uuid::nil(),
                        json!({"name": "Bo", "email": "bo@example.com"}),
                    ),
                )
            },
        },
        Write {
            name: "register an employer",
            owner: Owner::Employer,
            owning_role: Some(Role::Employer),
            request: |_, role| {
                (
                    M::POST,
                    "/employers".into(),
                    named(role, "employer_id", Uuid::nil(), json!({"name": "Globex"})),
                )
            },
        },
        Write {
            name: "replace a candidate's profile",
            owner: Owner::Candidate,
            owning_role: Some(Role::Candidate),
            request: |w, _| {
                (
                    M::PUT,
                    format!("/candidates/{}/profile", w.candidate),
                    json!({"headline": "Engineer", "skills": [{"name": "Rust", "proficiency": "expert"}], "years_experience": 3, "remote": "remote"}),
                )
            },
        },
        Write {
            name: "validate a candidate",
            owner: Owner::Candidate,
            owning_role: None,
            request: |w, _| {
                (
                    M::POST,
                    format!("/candidates/{}/validation", w.candidate),
                    json!({"score": 80}),
                )
            },
        },
        Write {
            name: "replace an employer's profile",
            owner: Owner::Employer,
            owning_role: Some(Role::Employer),
            request: |w, _| {
                (
                    M::PUT,
                    format!("/employers/{}/profile", w.employer),
                    json!({"name": "Acme", "size": null, "pace": null}),
                )
            },
        },
        Write {
            name: "post a job",
            owner: Owner::Employer,
            owning_role: Some(Role::Employer),
            request: |w, role| {
                (
                    M::POST,
                    "/jobs".into(),
                    named(
                        role,
                        "employer_id",
                        w.employer,
                        json!({"title": "SRE", "description": "Keep it up."}),
                    ),
                )
            },
        },
        Write {
            name: "update a job",
            owner: Owner::Employer,
            owning_role: Some(Role::Employer),
            request: |w, _| {
                (
                    M::PUT,
                    format!("/jobs/{}", w.job),
                    json!({"title": "Staff Rust engineer", "description": "Build it."}),
                )
            },
        },
        Write {
            name: "close a job",
            owner: Owner::Employer,
            owning_role: Some(Role::Employer),
            request: |w, _| (M::POST, format!("/jobs/{}/close", w.job), json!({})),
        },
        Write {
            name: "swipe on a job",
            owner: Owner::Candidate,
            owning_role: Some(Role::Candidate),
            request: |w, role| {
                (
                    M::POST,
                    format!("/jobs/{}/swipe", w.job),
                    named(
                        role,
                        "candidate_id",
                        w.candidate,
                        json!({"decision": "like"}),
                    ),
                )
            },
        },
        Write {
            name: "swipe on a candidate",
            owner: Owner::Employer,
            owning_role: Some(Role::Employer),
            request: |w, _| {
                (
                    M::POST,
                    format!("/jobs/{}/candidates/{}/swipe", w.job, w.candidate),
                    json!({"decision": "like"}),
                )
            },
        },
        Write {
            name: "apply to a job",
            owner: Owner::Candidate,
            owning_role: Some(Role::Candidate),
            request: |w, role| {
                (
                    M::POST,
                    format!("/jobs/{}/applications", w.job),
                    named(role, "candidate_id", w.candidate, json!({})),
                )
            },
        },
        Write {
            name: "move an application",
            owner: Owner::Employer,
            owning_role: Some(Role::Employer),
            request: |w, _| {
                (
                    M::POST,
                    format!("/applications/{}/status", w.application),
                    json!({"status": "screening"}),
                )
            },
        },
        Write {
            name: "withdraw an application",
            owner: Owner::Candidate,
            owning_role: Some(Role::Candidate),
            request: |w, _| {
                (
                    M::POST,
                    format!("/applications/{}/withdraw", w.application),
                    json!({}),
                )
            },
        },
        Write {
            name: "grant credits",
            owner: Owner::Candidate,
            owning_role: None,
            request: |w, _| {
                (
                    M::POST,
                    format!("/wallets/{}/grants", w.candidate),
                    json!({"grant_id": Uuid::new_v4(), "credits": 5, "reason": "sorry"}),
                )
            },
        },
        Write {
            name: "charge credits",
            owner: Owner::Candidate,
            owning_role: Some(Role::Candidate),
            request: |w, _| {
                (
                    M::POST,
                    format!("/wallets/{}/charges", w.candidate),
                    json!({"charge_id": Uuid::new_v4(), "credits": 1, "purpose": "resume"}),
                )
            },
        },
        Write {
            name: "refund a charge",
            owner: Owner::Candidate,
            owning_role: None,
            request: |w, _| {
                (
                    M::POST,
                    format!("/wallets/{}/refunds", w.candidate),
                    json!({"charge_id": w.charge, "credits": 3, "reason": "failed"}),
                )
            },
        },
        Write {
            name: "request a document",
            owner: Owner::Candidate,
            owning_role: Some(Role::Candidate),
            request: |w, _| {
                (
                    M::POST,
                    format!("/candidates/{}/documents", w.candidate),
                    json!({"kind": "cover_letter", "idempotency_key": "matrix"}),
                )
            },
        },
        Write {
            name: "import jobs",
            owner: Owner::Employer,
            owning_role: None,
            request: |w, _| {
                (
                    M::POST,
                    "/admin/imports".into(),
                    json!({"source": "greenhouse", "employer_id": w.employer, "feed": {"jobs": []}}),
                )
            },
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_the_owning_role_or_an_admin_makes_a_write_whatever_the_tokens_subject() {
    let env = TestEnv::new().await;
    let app = env.start_api().await;
    let mut wrong = Vec::new();
    for write in writes() {
        let world = World::new(&env, &app).await;
        let owner = match write.owner {
            Owner::Candidate => world.candidate,
            Owner::Employer => world.employer,
        };
        // The registrations name a party not yet registered.
        let registers = write.name.starts_with("register");
        let owner = if registers { Uuid::new_v4() } else { owner };
        // Those who may not go first, so the state they meet is the world's.
        let mut roles = ROLES.to_vec();
        roles.sort_by_key(|role| Some(*role) == write.owning_role || *role == Role::Admin);
        for role in roles {
            if role == Role::Admin && write.owning_role.is_some() {
                // The admin gets a world of its own below: the owner's write changed this one.
                continue;
            }
            let (method, path, mut body) = (write.request)(&world, role);
            if registers && role == Role::Admin {
                body[if write.name.ends_with("candidate") {
                    "candidate_id"
                } else {
                    "employer_id"
                }] = json!(owner);
            }
            let subject = if role == Role::Admin {
                Uuid::new_v4()
            } else {
                owner
            };
            let answer = call(&app, method.clone(), &path, &env.token(subject, role), body).await;
            let allowed = Some(role) == write.owning_role || role == Role::Admin;
            let as_expected = if allowed {
                (200..300).contains(&answer.status)
            } else {
                answer.status == 403 && answer.code() == "forbidden"
            };
            if !as_expected {
                wrong.push(format!(
                    "{role} may{} {}: {answer}",
                    if allowed { "" } else { " not" },
                    write.name
                ));
            }
        }
        if write.owning_role.is_some() {
            let world = World::new(&env, &app).await;
            let (method, path, mut body) = (write.request)(&world, Role::Admin);
            if registers {
                body[if write.name.ends_with("candidate") {
                    "candidate_id"
                } else {
                    "employer_id"
                }] = json!(Uuid::new_v4());
            }
            let admin = env.user(Role::Admin);
            let answer = call(&app, method, &path, &admin.token, body).await;
            if !(200..300).contains(&answer.status) {
                wrong.push(format!("admin may {}: {answer}", write.name));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    app.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_client_key_answers_only_its_owner_and_only_for_the_same_content() {
    let env = TestEnv::new().await;
    let app = env.start_api().await;
    let world = World::new(&env, &app).await;
    let c = world.candidate;
    let owner = env.user_with_id(c, Role::Candidate);
    let admin = env.user(Role::Admin);
    let documents = format!("/candidates/{c}/documents");
    let request = json!({"kind": "resume", "idempotency_key": "mine", "instructions": "One page"});
    let first = app
        .request_document(&owner, request.clone())
        .await
        .expect(202);
    let document = text(&first, "id");

    // Another candidate, and an employer or auditor whose subject is the candidate's id, learn
    // nothing about the document with the same key; nor about the charge.
    let strangers = [
        env.user(Role::Candidate),
        env.user_with_id(c, Role::Employer),
        env.user_with_id(c, Role::Auditor),
    ];
    let charge = json!({"charge_id": world.charge, "credits": 3, "purpose": "resume"});
    for stranger in &strangers {
        for (path, body) in [
            (&documents, &request),
            (&format!("/wallets/{c}/charges"), &charge),
        ] {
            let answer = app.post(stranger, path, body.clone()).await;
            assert!(!answer.body.to_string().contains(&document), "{answer}");
            answer.expect_error(403, "forbidden");
        }
    }

    // The same key with other content is a conflict, for each client-chosen key.
    let reused = [
        (
            documents.clone(),
            json!({"kind": "resume", "idempotency_key": "mine", "instructions": "Two pages"}),
        ),
        (
            documents.clone(),
            json!({"kind": "resume", "idempotency_key": "mine"}),
        ),
        (
            format!("/wallets/{c}/charges"),
            json!({"charge_id": world.charge, "credits": 3, "purpose": "cover letter"}),
        ),
        (
            format!("/wallets/{c}/charges"),
            json!({"charge_id": world.charge, "credits": 4, "purpose": "resume"}),
        ),
    ];
    for (path, body) in reused {
        let answer = app.post(&owner, &path, body.clone()).await;
        if let Err(problem) = answer.check_error(409, "idempotency_key_reused") {
            panic!("{body}: {problem}");
        }
    }
    let grant_id = Uuid::new_v4();
    let grants = format!("/wallets/{c}/grants");
    let grant = json!({"grant_id": grant_id, "credits": 2, "reason": "welcome"});
    app.post(&admin, &grants, grant.clone()).await.expect(201);
    let retry = app.post(&admin, &grants, grant).await;
    assert_eq!(retry.status, 201, "a retry: {retry}");
    app.post(
        &admin,
        &grants,
        json!({"grant_id": grant_id, "credits": 2, "reason": "apology"}),
    )
    .await
    .expect_error(409, "idempotency_key_reused");

    // The same request again is the same document.
    let again = app.request_document(&owner, request).await.expect(202);
    assert_eq!(again["id"], json!(document), "{again}");
    app.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_application_attaches_only_the_applicants_own_documents() {
    let env = TestEnv::new().await;
    let app = env.start_api().await;
    let (ada, bo) = (World::new(&env, &app).await, World::new(&env, &app).await);
    let bo = env.user_with_id(bo.candidate, Role::Candidate);
    let theirs = app
        .request_document(&bo, json!({"kind": "resume", "idempotency_key": "bo-1"}))
        .await
        .expect(202);
    let job = ada.job;
    let ada = env.user_with_id(ada.candidate, Role::Candidate);
    for documents in [json!([theirs["id"]]), json!([Uuid::new_v4()])] {
        app.apply(&ada, &job, json!({"document_ids": documents}))
            .await
            .expect_error(422, "invalid_fields");
    }
    let mine = app
        .request_document(&ada, json!({"kind": "resume", "idempotency_key": "ada-1"}))
        .await
        .expect(202);
    app.apply(&ada, &job, json!({"document_ids": [mine["id"]]}))
        .await
        .expect(201);
    app.stop().await;
    env.cleanup().await;
}
