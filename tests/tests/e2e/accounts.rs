//! Signing in: accounts with a password (register, verify, sign in, refresh, sign out,
//! lockout, reset) and the tokens of an OpenID Connect provider, served here by a local
//! issuer with its own JWKS.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::auth::oidc::IssuerSettings;
use api::process::Parts;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use domain::Role;
use hirestream_tests::client::text;
use hirestream_tests::{eventually, RunningApp, TestEnv};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{json, Value};

const DEADLINE: Duration = Duration::from_secs(30);
const PASSWORD: &str = "correct horse battery staple";

fn parts() -> Parts {
    // The relay's part sends the mail.
    Parts {
        api: true,
        relay: true,
        ..Parts::default()
    }
}

async fn call(app: &RunningApp, path: &str, body: Value) -> hirestream_tests::Response {
    app.send(Method::POST, path, None, Some(body)).await
}

async fn me(app: &RunningApp, token: &str) -> hirestream_tests::Response {
    app.send(Method::GET, "/auth/me", Some(token), None).await
}

/// The token of the latest email to `recipient` whose subject contains `subject`.
async fn emailed_token(env: &TestEnv, recipient: &str, subject: &str) -> String {
    let body: String = sqlx::query_scalar(
        "SELECT body FROM email_outbox WHERE recipient = $1 AND subject LIKE $2 \
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(recipient)
    .bind(format!("%{subject}%"))
    .fetch_one(&env.pool)
    .await
    .expect("an email was queued");
    body.lines()
        .find_map(|line| line.strip_prefix("token: "))
        .expect("the email carries its token")
        .to_owned()
}

async fn account_events(env: &TestEnv, account_id: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT event_type, payload::text FROM events \
         WHERE aggregate_type = 'account' AND aggregate_id = $1 ORDER BY sequence",
    )
    .bind(account_id)
    .fetch_all(&env.pool)
    .await
    .expect("account events")
}

#[tokio::test]
async fn an_account_registers_verifies_its_address_signs_in_refreshes_and_signs_out() {
    let env = TestEnv::new().await;
    let app = env.start(parts()).await;

    let registered = call(
        &app,
        "/auth/register",
        json!({"email": "Ada@Example.com", "password": PASSWORD, "role": "candidate"}),
    )
    .await
    .expect(201);
    let account_id = text(&registered, "account_id");
    let access = text(&registered, "access_token");
    assert_eq!(registered["token_type"], "Bearer");
    assert_eq!(registered["expires_in"], 900);
    let account = me(&app, &access).await.expect(200);
    assert_eq!(account["email"], "ada@example.com");
    assert_eq!(account["email_verified"], false);
    assert_eq!(account["role"], "candidate");

    // The account's token acts for the candidate of the same id.
    let candidate = app
        .send(
            Method::POST,
            "/candidates",
            Some(&access),
            Some(json!({"name": "Ada", "email": "ada@example.com"})),
        )
        .await
        .expect(201);
    assert_eq!(text(&candidate, "id"), account_id);

    call(
        &app,
        "/auth/register",
        json!({"email": "ada@example.com", "password": PASSWORD, "role": "employer"}),
    )
    .await
    .expect_error(409, "email_taken");
    call(
        &app,
        "/auth/register",
        json!({"email": "bob@example.com", "password": "short", "role": "admin"}),
    )
    .await
    .expect_error(422, "invalid_fields");

    // Verification, once.
    let token = emailed_token(&env, "ada@example.com", "Verify").await;
    call(&app, "/auth/verify-email", json!({ "token": token }))
        .await
        .expect(200);
    call(&app, "/auth/verify-email", json!({ "token": token }))
        .await
        .expect_error(400, "invalid_link");
    assert_eq!(me(&app, &access).await.expect(200)["email_verified"], true);
    // The sender wrote the message where a developer reads it.
    let mail_dir = std::path::PathBuf::from(&env.settings.mail.directory);
    eventually(
        "the verification email in the mail directory",
        DEADLINE,
        || {
            let (mail_dir, token) = (mail_dir.clone(), token.clone());
            async move {
                let entries = std::fs::read_dir(&mail_dir).ok()?;
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .find(|mail| mail.contains("To: ada@example.com\r\n") && mail.contains(&token))
            }
        },
    )
    .await;

    // Sign in: a wrong password and an unknown address answer alike.
    for body in [
        json!({"email": "ada@example.com", "password": "not the password"}),
        json!({"email": "nobody@example.com", "password": PASSWORD}),
    ] {
        call(&app, "/auth/token", body)
            .await
            .expect_error(401, "invalid_credentials");
    }
    let signed_in = call(
        &app,
        "/auth/token",
        json!({"email": "ADA@example.com", "password": PASSWORD}),
    )
    .await
    .expect(200);
    assert_eq!(text(&signed_in, "account_id"), account_id);

    // Each refresh token is good once; a second use revokes its family.
    let first = text(&signed_in, "refresh_token");
    let refreshed = call(&app, "/auth/refresh", json!({ "refresh_token": first }))
        .await
        .expect(200);
    let second = text(&refreshed, "refresh_token");
    assert_ne!(first, second);
    me(&app, &text(&refreshed, "access_token"))
        .await
        .expect(200);
    call(&app, "/auth/refresh", json!({ "refresh_token": first }))
        .await
        .expect_error(401, "refresh_token_reused");
    call(&app, "/auth/refresh", json!({ "refresh_token": second }))
        .await
        .expect_error(401, "invalid_refresh_token");
    // The registration's own sign-in is another family, untouched.
    let kept = call(
        &app,
        "/auth/refresh",
        json!({ "refresh_token": text(&registered, "refresh_token") }),
    )
    .await
    .expect(200);

    // Signing out ends the sign-in.
    let kept = text(&kept, "refresh_token");
    app.send(
        Method::POST,
        "/auth/logout",
        None,
        Some(json!({ "refresh_token": kept })),
    )
    .await
    .expect(204);
    call(&app, "/auth/refresh", json!({ "refresh_token": kept }))
        .await
        .expect_error(401, "invalid_refresh_token");

    // The history says what happened, and holds no password material.
    let events = account_events(&env, &account_id).await;
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(types, ["AccountOpened", "AccountEmailVerified"]);
    for (_, payload) in &events {
        assert!(
            !payload.contains(PASSWORD) && !payload.contains("argon2"),
            "{payload}"
        );
        assert!(
            !payload.contains("ada@example.com"),
            "the address is sealed: {payload}"
        );
    }

    app.stop().await;
    env.cleanup().await;
}

#[tokio::test]
async fn failed_sign_ins_lock_an_account_until_a_reset_sets_a_new_password() {
    let mut env = TestEnv::new().await;
    env.settings.auth.lockout_after = 3;
    let app = env.start(parts()).await;
    let registered = call(
        &app,
        "/auth/register",
        json!({"email": "grace@example.com", "password": PASSWORD, "role": "employer"}),
    )
    .await
    .expect(201);
    let account_id = text(&registered, "account_id");
    let wrong = json!({"email": "grace@example.com", "password": "wrong guess 1"});
    for _ in 0..3 {
        call(&app, "/auth/token", wrong.clone())
            .await
            .expect_error(401, "invalid_credentials");
    }
    // Locked: even the right password is refused, with when to come back.
    let right = json!({"email": "grace@example.com", "password": PASSWORD});
    let response = app
        .client
        .post(app.url("/auth/token"))
        .json(&right)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((1..=15 * 60).contains(&wait), "{wait}");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "account_locked");
    let events = account_events(&env, &account_id).await;
    assert!(
        events.iter().any(|(t, _)| t == "AccountLocked"),
        "{events:?}"
    );

    // A reset is asked for without saying whether the address has an account.
    for email in ["grace@example.com", "nobody@example.com"] {
        call(&app, "/auth/password-reset", json!({ "email": email }))
            .await
            .expect(202);
    }
    let queued: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM email_outbox WHERE recipient = 'nobody@example.com'",
    )
    .fetch_one(&env.pool)
    .await
    .expect("count");
    assert_eq!(queued, 0);
    let token = emailed_token(&env, "grace@example.com", "Reset").await;
    let new_password = "a new and longer passphrase";
    call(
        &app,
        "/auth/password-reset/confirm",
        json!({ "token": token, "password": new_password }),
    )
    .await
    .expect(204);
    call(
        &app,
        "/auth/password-reset/confirm",
        json!({ "token": token, "password": new_password }),
    )
    .await
    .expect_error(400, "invalid_link");

    // The lock is lifted, the old password is gone, and earlier sign-ins ended.
    call(&app, "/auth/token", right)
        .await
        .expect_error(401, "invalid_credentials");
    call(
        &app,
        "/auth/token",
        json!({"email": "grace@example.com", "password": new_password}),
    )
    .await
    .expect(200);
    call(
        &app,
        "/auth/refresh",
        json!({ "refresh_token": text(&registered, "refresh_token") }),
    )
    .await
    .expect_error(401, "invalid_refresh_token");
    let types: Vec<String> = account_events(&env, &account_id)
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(
        types,
        ["AccountOpened", "AccountLocked", "AccountPasswordChanged"]
    );

    app.stop().await;
    env.cleanup().await;
}

/// A local OpenID Connect issuer: its discovery document and its JWKS, which a test changes
/// to rotate keys.
struct Issuer {
    url: String,
    published: Arc<Mutex<Vec<Value>>>,
    keys: Value,
}

impl Issuer {
    async fn start(kids: &[&str]) -> Self {
        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/oidc");
        let keys: Value = serde_json::from_str(
            &std::fs::read_to_string(format!("{fixtures}/public-jwks.json")).expect("fixture"),
        )
        .expect("json");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let published = Arc::new(Mutex::new(Vec::new()));
        let issuer = Self {
            url: url.clone(),
            published: Arc::clone(&published),
            keys,
        };
        issuer.publish(kids);
        let discovery = json!({"issuer": url, "jwks_uri": format!("{url}/jwks")});
        let router = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                axum::routing::get(move || async move { axum::Json(discovery) }),
            )
            .route(
                "/jwks",
                axum::routing::get(move || async move {
                    let keys = published.lock().expect("lock").clone();
                    axum::Json(json!({ "keys": keys }))
                }),
            );
        tokio::spawn(async move { axum::serve(listener, router).await.ok() });
        issuer
    }

    fn publish(&self, kids: &[&str]) {
        *self.published.lock().expect("lock") =
            kids.iter().map(|kid| self.keys[*kid].clone()).collect();
    }

    fn settings(&self) -> IssuerSettings {
        IssuerSettings {
            issuer: self.url.clone(),
            audience: "hirestream-test".into(),
            role: Role::Candidate,
            jwks_url: None,
        }
    }

    fn claims(&self, subject: &str) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": self.url,
            "aud": "hirestream-test",
            "sub": subject,
            "iat": now,
            "exp": now + 300,
            "email": format!("{subject}@provider.example"),
            "email_verified": true,
        })
    }
}

/// `claims` signed with the private key of fixture `key`, naming key id `kid`.
fn sign(key: &str, kid: &str, claims: &Value) -> String {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/oidc");
    let (algorithm, encoding) = match key {
        "ec-1" => (
            Algorithm::ES256,
            EncodingKey::from_ec_der(
                &std::fs::read(format!("{fixtures}/ec-private-pkcs8.der")).expect("key"),
            ),
        ),
        "rsa-1" => (
            Algorithm::RS256,
            EncodingKey::from_rsa_der(
                &std::fs::read(format!("{fixtures}/rsa-private-pkcs1.der")).expect("key"),
            ),
        ),
        "rsa-2" => (
            Algorithm::RS256,
            EncodingKey::from_rsa_der(
                &std::fs::read(format!("{fixtures}/rsa2-private-pkcs1.der")).expect("key"),
            ),
        ),
        other => panic!("no fixture key {other}"),
    };
    let mut header = Header::new(algorithm);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &encoding).expect("sign")
}

fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("json"));
    format!("{header}.{claims}.")
}

#[tokio::test]
async fn an_identity_providers_tokens_are_accepted_and_forgeries_refused() {
    let issuer = Issuer::start(&["rsa-1", "ec-1"]).await;
    let mut env = TestEnv::new().await;
    env.settings.auth.oidc_issuers = vec![issuer.settings()];
    env.settings.auth.jwks_min_refresh_secs = 0;
    let app = env.start_api().await;

    // RS256 and ES256 tokens map their subjects to accounts, opened on first sight.
    let rs256 = sign("rsa-1", "rsa-1", &issuer.claims("user-1"));
    let account = me(&app, &rs256).await.expect(200);
    assert_eq!(account["role"], "candidate");
    assert_eq!(account["email"], "user-1@provider.example");
    assert_eq!(
        account["identities"],
        json!([{"issuer": issuer.url, "subject": "user-1"}])
    );
    let again = me(&app, &sign("rsa-1", "rsa-1", &issuer.claims("user-1")))
        .await
        .expect(200);
    assert_eq!(again["account_id"], account["account_id"]);
    let es256 = me(&app, &sign("ec-1", "ec-1", &issuer.claims("user-2")))
        .await
        .expect(200);
    assert_ne!(es256["account_id"], account["account_id"]);
    let opened = account_events(&env, &text(&account, "account_id")).await;
    assert_eq!(opened.len(), 1, "{opened:?}");

    // Forgeries and misfits.
    let mut wrong_issuer = issuer.claims("user-1");
    wrong_issuer["iss"] = json!("https://issuer.invalid");
    let mut wrong_audience = issuer.claims("user-1");
    wrong_audience["aud"] = json!("another-service");
    let mut expired = issuer.claims("user-1");
    expired["exp"] = json!(chrono::Utc::now().timestamp() - 3600);
    // HS256 with the issuer's public key as the secret: the classic key confusion.
    let public_key = serde_json::to_vec(&issuer.keys["rsa-1"]).expect("json");
    let mut confused = Header::new(Algorithm::HS256);
    confused.kid = Some("rsa-1".into());
    let confused = jsonwebtoken::encode(
        &confused,
        &issuer.claims("user-1"),
        &EncodingKey::from_secret(&public_key),
    )
    .expect("sign");
    let forged = [
        ("wrong issuer", sign("rsa-1", "rsa-1", &wrong_issuer)),
        ("wrong audience", sign("rsa-1", "rsa-1", &wrong_audience)),
        ("expired", sign("rsa-1", "rsa-1", &expired)),
        ("alg none", unsigned(&issuer.claims("user-1"))),
        ("HS256 with the public key", confused),
        (
            "another key under rsa-1's id",
            sign("rsa-2", "rsa-1", &issuer.claims("user-1")),
        ),
        (
            "a key not published",
            sign("rsa-2", "rsa-2", &issuer.claims("user-1")),
        ),
    ];
    for (what, token) in forged {
        let response = me(&app, &token).await;
        assert_eq!(response.status, 401, "{what}: {:?}", response.body);
        assert_eq!(response.body["error"]["code"], "unauthorized", "{what}");
    }

    // The issuer rotates to a new key: a token naming it fetches the keys again.
    issuer.publish(&["rsa-2"]);
    me(&app, &sign("rsa-2", "rsa-2", &issuer.claims("user-1")))
        .await
        .expect(200);
    // The retired key is gone after that fetch.
    let retired = me(&app, &sign("rsa-1", "rsa-1", &issuer.claims("user-1"))).await;
    assert_eq!(retired.status, 401, "{:?}", retired.body);

    app.stop().await;
    env.cleanup().await;
}

#[tokio::test]
async fn erasing_a_candidate_forgets_the_address_and_password_of_its_account() {
    let env = TestEnv::new().await;
    let app = env.start_api().await;
    let registered = call(
        &app,
        "/auth/register",
        json!({"email": "erin@example.com", "password": PASSWORD, "role": "candidate"}),
    )
    .await
    .expect(201);
    let (id, access) = (
        text(&registered, "account_id"),
        text(&registered, "access_token"),
    );
    app.send(
        Method::POST,
        "/candidates",
        Some(&access),
        Some(json!({"name": "Erin", "email": "erin@example.com"})),
    )
    .await
    .expect(201);
    app.send(
        Method::DELETE,
        &format!("/candidates/{id}"),
        Some(&access),
        None,
    )
    .await
    .expect(200);

    call(
        &app,
        "/auth/token",
        json!({"email": "erin@example.com", "password": PASSWORD}),
    )
    .await
    .expect_error(401, "invalid_credentials");
    call(
        &app,
        "/auth/refresh",
        json!({ "refresh_token": text(&registered, "refresh_token") }),
    )
    .await
    .expect_error(401, "invalid_refresh_token");
    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM account_credential WHERE email = 'erin@example.com') \
              + (SELECT count(*) FROM email_outbox WHERE recipient = 'erin@example.com')",
    )
    .fetch_one(&env.pool)
    .await
    .expect("count");
    assert_eq!(left, 0);
    // The account's history stays, its address unreadable.
    let account = me(&app, &access).await.expect(200);
    assert_eq!(account["email"], Value::Null, "{account}");

    app.stop().await;
    env.cleanup().await;
}
