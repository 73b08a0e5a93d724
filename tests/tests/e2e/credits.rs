use std::sync::Arc;
use std::time::Duration;

use api::process::Parts;
use api::routes::payments::WebhookVerifier;
use commands::CommandService;
use domain::candidate::RegisterCandidate;
use domain::wallet::{ChargeCredits, GrantCredits};
use domain::{Actor, DomainError, Role};
use hirestream_tests::fixtures::{ledger_caught_up, ledger_parts};
use hirestream_tests::{context, Response, RunningApp, TestEnv};
use projections::ledger::{self, LedgerProjector};
use projections::Projector;
use serde_json::{json, Value};
use uuid::Uuid;

/// A registered candidate whose wallet was granted `credits`, written through the command
/// service rather than over HTTP.
async fn candidate_with_credits(service: &CommandService, credits: i64) -> Uuid {
    let candidate = Uuid::new_v4();
    let admin = context(Actor::new(Uuid::new_v4(), Role::Admin));
    service
        .register_candidate(
            &admin,
            RegisterCandidate {
                candidate_id: candidate,
                name: "Ada".into(),
                email: "ada@example.com".into(),
            },
        )
        .await
        .expect("candidate");
    if credits > 0 {
        let grant = GrantCredits {
            wallet_id: candidate,
            grant_id: Uuid::new_v4(),
            credits,
            reason: "welcome".into(),
            granted_by: admin.actor,
        };
        service.grant_credits(&admin, grant).await.expect("grant");
    }
    candidate
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_charges_on_twenty_credits_succeed_exactly_twenty_times() {
    let env = TestEnv::new().await;
    let service = Arc::new(CommandService::new(
        env.pool.clone(),
        5,
        commands::privacy::MasterKeys::development(),
    ));
    let wallet = candidate_with_credits(&service, 20).await;

    let charges: Vec<_> = (0..50)
        .map(|_| {
            let service = service.clone();
            tokio::spawn(async move {
                let ctx = context(Actor::new(wallet, Role::Candidate));
                let command = ChargeCredits {
                    wallet_id: wallet,
                    charge_id: Uuid::new_v4(),
                    credits: 1,
                    purpose: "resume".into(),
                    charged_by: ctx.actor,
                };
                service.charge_credits(&ctx, command).await
            })
        })
        .collect();
    let (mut succeeded, mut refused) = (0, 0);
    for charge in charges {
        match charge.await.expect("task") {
            Ok(_) => succeeded += 1,
            Err(commands::Error::Domain(DomainError::InsufficientCredits {
                requested: 1,
                available: 0,
            })) => refused += 1,
            Err(other) => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert_eq!((succeeded, refused), (20, 30));

    let app = env.start(ledger_parts()).await;
    ledger_caught_up(&env).await;
    let balance = ledger::balance(&env.pool, wallet)
        .await
        .expect("balance")
        .expect("wallet");
    assert_eq!(balance.balance, 0);
    let entries = ledger::entries(&env.pool, wallet, 0, 500)
        .await
        .expect("entries");
    assert_eq!(entries.len(), 21);
    assert!(entries.iter().all(|e| e.balance_after >= 0));
    assert_eq!(
        entries.iter().map(|e| e.amount).sum::<i64>(),
        balance.balance
    );
    assert_eq!(
        ledger::reconcile(&env.pool).await.expect("reconcile"),
        vec![]
    );

    // The ledger's rows cannot be rewritten.
    for statement in [
        "UPDATE ledger_entry SET amount = 1000",
        "DELETE FROM ledger_entry",
    ] {
        let error = sqlx::query(statement)
            .execute(&env.pool)
            .await
            .expect_err(statement);
        assert!(error.to_string().contains("immutable"), "{error}");
    }
    app.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reconcile_reports_a_ledger_that_disagrees_with_the_store() {
    let env = TestEnv::new().await;
    let service = CommandService::new(
        env.pool.clone(),
        5,
        commands::privacy::MasterKeys::development(),
    );
    let wallet = candidate_with_credits(&service, 5).await;
    let app = env.start(ledger_parts()).await;
    ledger_caught_up(&env).await;
    assert_eq!(
        ledger::reconcile(&env.pool).await.expect("reconcile"),
        vec![]
    );

    // A balance row that drifted from the entries (the only mutable ledger table).
    sqlx::query("UPDATE wallet_balance SET balance = 7 WHERE wallet_id = $1")
        .bind(wallet)
        .execute(&env.pool)
        .await
        .expect("tamper");
    let mismatches = ledger::reconcile(&env.pool).await.expect("reconcile");
    assert!(!mismatches.is_empty());
    assert!(mismatches.iter().all(|m| m.wallet_id == wallet.to_string()));
    app.stop().await;
    env.cleanup().await;
}

struct Webhook<'a> {
    app: &'a RunningApp,
    verifier: WebhookVerifier,
}

impl Webhook<'_> {
    async fn send(&self, body: &str, signature: Option<String>) -> Response {
        let mut request = self
            .app
            .client
            .post(self.app.url("/webhooks/stripe"))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(signature) = signature {
            request = request.header("stripe-signature", signature);
        }
        let response = request.send().await.expect("sent");
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        Response { status, body }
    }

    async fn signed(&self, body: &str) -> Response {
        let now = chrono::Utc::now().timestamp();
        self.send(body, Some(self.verifier.sign(body.as_bytes(), now)))
            .await
    }
}

fn checkout(event_id: &str, session_id: &str, candidate: Uuid, credits: &str) -> String {
    json!({
        "id": event_id,
        "object": "event",
        "type": "checkout.session.completed",
        "data": {"object": {
            "id": session_id,
            "object": "checkout.session",
            "payment_status": "paid",
            "amount_total": 1500,
            "currency": "usd",
            "metadata": {"candidate_id": candidate.to_string(), "credits": credits}
        }}
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_payment_webhook_buys_credits_once_and_only_when_signed() {
    let env = TestEnv::new().await;
    let service = CommandService::new(
        env.pool.clone(),
        5,
        commands::privacy::MasterKeys::development(),
    );
    let candidate = candidate_with_credits(&service, 0).await;
    let app = env.start(ledger_parts()).await;
    let secret = env
        .settings
        .payments
        .webhook_secret
        .expose()
        .as_bytes()
        .to_vec();
    let webhook = Webhook {
        app: &app,
        verifier: WebhookVerifier::new(&secret, Duration::from_secs(300)),
    };
    let owner = env.user_with_id(candidate, Role::Candidate);
    let body = checkout("evt_1", "cs_test_1", candidate, "15");

    let answer = webhook.signed(&body).await.expect(200);
    assert_eq!(answer["handled"], true);
    let position = answer["purchase"]["position"].as_str().expect("position");
    let wallet = app
        .get_after(&owner, &format!("/wallets/{candidate}"), position)
        .await
        .expect(200);
    assert_eq!(wallet["balance"], 15);
    let events = env.event_count().await;

    // The same event delivered again, freshly signed: acknowledged, nothing bought.
    webhook.signed(&body).await.expect(200);
    assert_eq!(env.event_count().await, events);

    // Wrong secret, stale timestamp, no signature: refused, nothing appended.
    let forged = WebhookVerifier::new(b"whsec_guess", Duration::from_secs(300))
        .sign(body.as_bytes(), chrono::Utc::now().timestamp());
    let stale = webhook
        .verifier
        .sign(body.as_bytes(), chrono::Utc::now().timestamp() - 3_600);
    for signature in [Some(forged), Some(stale), None] {
        let other = checkout("evt_2", "cs_test_2", candidate, "15");
        webhook
            .send(&other, signature)
            .await
            .expect_error(400, "invalid_signature");
    }
    // A valid signature over a body that is not an event, or lacks the metadata.
    webhook
        .signed("{not json")
        .await
        .expect_error(400, "malformed_json");
    webhook
        .signed(&checkout("evt_3", "cs_test_3", candidate, "lots"))
        .await
        .expect_error(422, "invalid_fields");
    // Other event types are acknowledged and ignored.
    let refund =
        json!({"id": "evt_4", "type": "charge.refunded", "data": {"object": {}}}).to_string();
    let ignored = webhook.signed(&refund).await.expect(200);
    assert_eq!(ignored["handled"], false);
    assert_eq!(env.event_count().await, events);

    app.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wallets_are_read_by_their_owner_admins_and_auditors_and_replay_to_the_same_ledger() {
    let env = TestEnv::new().await;
    let service = CommandService::new(
        env.pool.clone(),
        5,
        commands::privacy::MasterKeys::development(),
    );
    let candidate = candidate_with_credits(&service, 10).await;
    let app = env.start(ledger_parts()).await;
    let owner = env.user_with_id(candidate, Role::Candidate);
    let admin = env.user(Role::Admin);

    // Over HTTP: a charge, an overdraft, a refund by an admin.
    let charge_id = Uuid::new_v4();
    app.charge(&owner, candidate, charge_id, 4, "resume")
        .await
        .expect(201);
    let overdraft = app
        .charge(&owner, candidate, Uuid::new_v4(), 7, "cover letter")
        .await
        .expect(402);
    assert_eq!(
        overdraft["error"]["details"],
        json!({"requested": 7, "available": 6})
    );
    let refunded = app
        .refund(&admin, candidate, charge_id, 4, "generation failed")
        .await
        .expect(201);
    let position = refunded["position"].as_str().expect("position");

    let wallet = app
        .get_after(&owner, &format!("/wallets/{candidate}"), position)
        .await
        .expect(200);
    assert_eq!(wallet["balance"], 10);
    let page = app
        .get(&owner, &format!("/wallets/{candidate}/entries?limit=2"))
        .await
        .expect(200);
    assert_eq!(page["entries"].as_array().map(Vec::len), Some(2));
    let cursor = page["next_cursor"].as_i64().expect("cursor");
    let rest = app
        .get(
            &owner,
            &format!("/wallets/{candidate}/entries?cursor={cursor}"),
        )
        .await;
    let kinds: Vec<&str> = rest["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["refund"]);

    // A statement over all time, and the balance before anything happened.
    let statement = app
        .get(
            &owner,
            &format!(
                "/wallets/{candidate}/statement?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z"
            ),
        )
        .await
        .expect(200);
    assert_eq!(statement["opening_balance"], 0);
    assert_eq!(statement["closing_balance"], 10);
    assert_eq!(statement["entries"].as_array().map(Vec::len), Some(3));
    let before = app
        .get(
            &owner,
            &format!("/wallets/{candidate}/balance?at=2000-01-01T00:00:00Z"),
        )
        .await;
    assert_eq!(before["balance"], 0);

    // Who may read.
    let wallet = format!("/wallets/{candidate}");
    let entries = format!("/wallets/{candidate}/entries");
    for (reader, path, status) in [
        (env.user(Role::Auditor), &wallet, 200),
        (admin.clone(), &wallet, 200),
        (env.user(Role::Candidate), &wallet, 403),
        (env.user(Role::Employer), &entries, 403),
    ] {
        let read = app.get(&reader, path).await;
        assert_eq!(read.status, status, "{} {path}: {read}", reader.role);
    }
    app.charge(
        &env.user(Role::Candidate),
        candidate,
        Uuid::new_v4(),
        1,
        "x",
    )
    .await
    .expect(403);

    // Replay: the rebuilt ledger equals the live one, entry for entry.
    ledger_caught_up(&env).await;
    let live = ledger::all_entries(&env.pool).await.expect("entries");
    app.stop().await;
    let projector = Projector::new(
        LedgerProjector,
        env.pool.clone(),
        api::process::projector_config(&env.settings),
    );
    projector.reset().await.expect("reset");
    assert!(ledger::all_entries(&env.pool)
        .await
        .expect("entries")
        .is_empty());
    let app = env
        .start(Parts {
            projectors: vec![api::consumer::Consumer::Ledger],
            ..Parts::default()
        })
        .await;
    ledger_caught_up(&env).await;
    assert_eq!(ledger::all_entries(&env.pool).await.expect("entries"), live);
    assert_eq!(
        ledger::reconcile(&env.pool).await.expect("reconcile"),
        vec![]
    );
    app.stop().await;
    env.cleanup().await;
}
