//! The verifiable history: hashes the database computes and the verifier recomputes, signed
//! checkpoints, tampering by the database owner found and named, an export checked by a
//! program of another language, time travel and the causal chain of one request.

use std::time::Duration;

use api::consumer::Consumer;
use api::process::Parts;
use commands::audit::events::{self, EventFilter};
use commands::audit::verify::{self, Problem, Report};
use commands::audit::{canonical, Notary};
use domain::Role;
use hirestream_tests::{eventually, Market, RunningApp, TestEnv, User};
use serde_json::{json, Value};
use uuid::Uuid;

/// A candidate whose wallet has three events (grant 10, charge 3, grant 5) under a first
/// checkpoint, and two more (charge 2, charge 1) under a second one.
struct History {
    env: TestEnv,
    app: RunningApp,
    admin: User,
    candidate: User,
}

impl History {
    async fn new() -> Self {
        let env = TestEnv::new().await;
        let app = env.start_api().await;
        let admin = env.user(Role::Admin);
        let candidate = env.user(Role::Candidate);
        app.register_candidate(&candidate, "Ada Lovelace", "ada@example.com")
            .await
            .expect(201);
        let history = Self {
            env,
            app,
            admin,
            candidate,
        };
        history.grant(10).await;
        history.charge(3).await;
        history.grant(5).await;
        history.checkpoint().await;
        history.charge(2).await;
        history.charge(1).await;
        history.checkpoint().await;
        history
    }

    async fn grant(&self, credits: i64) {
        self.app
            .grant(&self.admin, self.candidate.id, credits)
            .await
            .expect(201);
    }

    async fn charge(&self, credits: i64) {
        self.app
            .charge(
                &self.candidate,
                self.candidate.id,
                Uuid::new_v4(),
                credits,
                "resume",
            )
            .await
            .expect(201);
    }

    async fn checkpoint(&self) {
        let settings = &self.env.settings.audit;
        let notary = Notary::new(
            self.env.pool.clone(),
            settings.signer().expect("the development key"),
            settings.notary_config(),
        );
        // Events wait for every transaction that began before theirs (in any database of the
        // server) to end.
        eventually("a checkpoint", Duration::from_secs(30), || async {
            notary.checkpoint(true).await.expect("a checkpoint")
        })
        .await;
    }

    fn key(&self) -> [u8; 32] {
        self.env.settings.audit.signer().expect("key").public_key()
    }

    async fn verify(&self) -> Report {
        verify::verify(&self.env.pool, &self.key(), |_| {})
            .await
            .expect("verify")
    }

    /// The global position of the wallet's event `sequence`.
    async fn position(&self, sequence: i64) -> i64 {
        sqlx::query_scalar(
            "SELECT global_position FROM events
              WHERE aggregate_type = 'wallet' AND aggregate_id = $1 AND sequence = $2",
        )
        .bind(self.candidate.id.to_string())
        .bind(sequence)
        .fetch_one(&self.env.pool)
        .await
        .expect("position")
    }

    /// Runs `statements` as the database owner, with the append-only triggers off.
    async fn tamper(&self, statements: &[String]) {
        const TRIGGERS: [(&str, &str); 2] = [
            ("events", "events_no_update_or_delete"),
            ("audit_checkpoints", "audit_checkpoints_no_update_or_delete"),
        ];
        let mut tx = self.env.pool.begin().await.expect("begin");
        for (table, trigger) in TRIGGERS {
            sqlx::query(&format!("ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
                .execute(&mut *tx)
                .await
                .expect("disable the triggers");
        }
        for statement in statements {
            sqlx::query(statement)
                .execute(&mut *tx)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        for (table, trigger) in TRIGGERS {
            sqlx::query(&format!("ALTER TABLE {table} ENABLE TRIGGER {trigger}"))
                .execute(&mut *tx)
                .await
                .expect("enable the triggers");
        }
        tx.commit().await.expect("commit");
    }

    async fn done(self) {
        self.app.stop().await;
        self.env.cleanup().await;
    }
}

fn altered(wallet: Uuid, sequence: i64, global_position: i64) -> Problem {
    Problem::Altered {
        aggregate_type: "wallet".into(),
        aggregate_id: wallet.to_string(),
        sequence,
        global_position,
    }
}

fn checkpoint_problem(report: &Report, number: i64) -> bool {
    report
        .problems
        .iter()
        .any(|p| matches!(p, Problem::CheckpointMismatch { number: n, .. } if *n == number))
}

#[tokio::test]
async fn the_database_and_the_verifier_write_json_alike() {
    let env = TestEnv::new().await;
    let values = [
        json!({"b": 1, "a": {"é": [true, null, -1.5], "aa": "x\ty\"\\\u{1}"}, "": 0}),
        json!([0.0000001, 1e21, 12345678901234567890_u64, "😀", {}, []]),
        json!("line\nbreak"),
        json!(null),
    ];
    for value in values {
        let (ours, text): (String, String) =
            sqlx::query_as("SELECT canonical_json($1::jsonb), $1::jsonb::text")
                .bind(&value)
                .fetch_one(&env.pool)
                .await
                .expect("canonical_json");
        assert_eq!(
            canonical::canonical_json(&text).expect("JSON"),
            ours,
            "{value}"
        );
    }
    env.cleanup().await;
}

#[tokio::test]
async fn an_untouched_history_verifies_with_every_event_signed() {
    let history = History::new().await;
    let report = history.verify().await;
    assert!(report.is_intact(), "{:?}", report.problems);
    // The registration and five wallet events, under two checkpoints.
    assert_eq!(
        (report.events, report.checkpoints, report.unsigned_events),
        (6, 2, 0)
    );
    // Another key is not trusted.
    let other = verify::verify(&history.env.pool, &[9; 32], |_| {})
        .await
        .expect("verify");
    assert!(checkpoint_problem(&other, 1) && checkpoint_problem(&other, 2));
    history.done().await;
}

#[tokio::test]
async fn a_changed_payload_is_named() {
    let history = History::new().await;
    let wallet = history.candidate.id;
    let position = history.position(2).await;
    history
        .tamper(&[format!(
            "UPDATE events SET payload = jsonb_set(payload, '{{CreditsCharged,credits}}', '1')
              WHERE global_position = {position}"
        )])
        .await;
    let report = history.verify().await;
    assert_eq!(report.problems, [altered(wallet, 2, position)]);
    history.done().await;
}

#[tokio::test]
async fn a_removed_event_is_named_and_its_checkpoint_fails() {
    let history = History::new().await;
    let wallet = history.candidate.id;
    let position = history.position(3).await;
    history
        .tamper(&[format!(
            "DELETE FROM events WHERE global_position = {}",
            history.position(2).await
        )])
        .await;
    let report = history.verify().await;
    assert_eq!(
        report.problems[0],
        Problem::Removed {
            aggregate_type: "wallet".into(),
            aggregate_id: wallet.to_string(),
            missing_from: 2,
            sequence: 3,
            global_position: position,
        }
    );
    assert!(checkpoint_problem(&report, 1), "{:?}", report.problems);
    history.done().await;
}

#[tokio::test]
async fn a_forged_event_inserted_mid_stream_is_found() {
    let history = History::new().await;
    let wallet = history.candidate.id;
    let moved = history.position(3).await;
    // Make room at sequence 3 and insert a grant there, its hash computed by the trigger.
    history
        .tamper(&[
            format!(
                "UPDATE events SET sequence = sequence + 1000
                  WHERE aggregate_type = 'wallet' AND aggregate_id = '{wallet}' AND sequence >= 3"
            ),
            format!(
                "UPDATE events SET sequence = sequence - 999
                  WHERE aggregate_type = 'wallet' AND aggregate_id = '{wallet}' AND sequence > 1000"
            ),
            format!(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type,
                                     event_version, payload, metadata)
                 SELECT aggregate_type, aggregate_id, 3, event_type, event_version,
                        jsonb_set(payload, '{{CreditsGranted,credits}}', '1000'), metadata
                   FROM events WHERE aggregate_type = 'wallet' AND aggregate_id = '{wallet}' AND sequence = 1"
            ),
        ])
        .await;
    let report = history.verify().await;
    // The event that was third now follows the forged one, which its hash does not name.
    assert_eq!(report.problems[0], altered(wallet, 4, moved));
    assert_eq!(
        report.unsigned_events, 1,
        "the forged event is under no checkpoint"
    );
    history.done().await;
}

#[tokio::test]
async fn two_events_swapped_are_named() {
    let history = History::new().await;
    let wallet = history.candidate.id;
    let (second, third) = (history.position(2).await, history.position(3).await);
    history
        .tamper(&[
            format!("UPDATE events SET sequence = 1002 WHERE global_position = {second}"),
            format!("UPDATE events SET sequence = 2 WHERE global_position = {third}"),
            format!("UPDATE events SET sequence = 3 WHERE global_position = {second}"),
        ])
        .await;
    let report = history.verify().await;
    assert_eq!(report.problems[0], altered(wallet, 2, third));
    history.done().await;
}

#[tokio::test]
async fn a_checkpoint_given_another_digest_is_named() {
    let history = History::new().await;
    history
        .tamper(&[
            "UPDATE audit_checkpoints SET digest = (SELECT digest FROM audit_checkpoints
                    WHERE number = 2) WHERE number = 1"
                .to_owned(),
        ])
        .await;
    let report = history.verify().await;
    assert!(checkpoint_problem(&report, 1), "{:?}", report.problems);
    assert!(
        report
            .problems
            .iter()
            .all(|p| matches!(p, Problem::CheckpointMismatch { .. })),
        "no event changed: {:?}",
        report.problems
    );
    history.done().await;
}

/// Runs the documented Python verifier on an export and the checkpoints.
async fn python_verifies(history: &History, export: &[u8]) -> bool {
    let dir = std::env::temp_dir().join(format!("hirestream-audit-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("a directory");
    let (events_file, checkpoints_file) = (dir.join("events.ndjson"), dir.join("checkpoints.json"));
    std::fs::write(&events_file, export).expect("write the export");
    let auditor = history.env.user(Role::Auditor);
    let checkpoints = history
        .app
        .get(&auditor, "/audit/checkpoints")
        .await
        .expect_ok();
    std::fs::write(&checkpoints_file, checkpoints.to_string()).expect("write the checkpoints");
    let key = history
        .app
        .get(&auditor, "/audit/public-key")
        .await
        .expect_ok();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/audit/verify.py");
    let output = tokio::process::Command::new("python3")
        .arg(script)
        .arg(&events_file)
        .arg("--checkpoints")
        .arg(&checkpoints_file)
        .arg("--public-key")
        .arg(key["public_key"].as_str().expect("a key"))
        .output()
        .await
        .expect("python3 runs");
    std::fs::remove_dir_all(&dir).ok();
    output.status.success()
}

#[tokio::test]
async fn an_export_checks_out_in_python_and_a_tampered_one_does_not() {
    let history = History::new().await;
    let mut export = Vec::new();
    let written = events::export(
        &history.env.pool,
        &EventFilter::default(),
        &mut export,
        |_| {},
    )
    .await
    .expect("export");
    assert_eq!(written, 6);
    assert!(python_verifies(&history, &export).await);

    let text = String::from_utf8(export).expect("UTF-8");
    let tampered = text.replacen("\"credits\": 10", "\"credits\": 99", 1);
    assert_ne!(tampered, text, "the export holds the first grant");
    assert!(!python_verifies(&history, tampered.as_bytes()).await);
    history.done().await;
}

#[tokio::test]
async fn a_wallet_is_rebuilt_as_it_was_at_each_version_and_instant() {
    let history = History::new().await;
    let auditor = history.env.user(Role::Auditor);
    let wallet = history.candidate.id;
    let path = format!("/audit/aggregates/wallet/{wallet}");
    let mut instants = Vec::new();
    for (version, balance) in [(1, 10), (2, 7), (3, 12), (5, 9)] {
        let state = history
            .app
            .get(&auditor, &format!("{path}?version={version}"))
            .await
            .expect_ok();
        assert_eq!(state["version"], version);
        assert_eq!(state["state"]["balance"], balance, "version {version}");
        let events = state["events"].as_array().expect("events");
        assert_eq!(events.len() as i64, version);
        instants.push((events[events.len() - 1]["recorded_at"].clone(), balance));
    }
    for (at, balance) in instants {
        let at = at.as_str().expect("an instant");
        let state = history
            .app
            .get(&auditor, &format!("{path}?as_of={at}"))
            .await
            .expect_ok();
        assert_eq!(state["state"]["balance"], balance, "as of {at}");
    }
    history
        .app
        .get(&auditor, &format!("{path}?as_of=2000-01-01T00:00:00Z"))
        .await
        .expect_error(404, "not_found");
    history
        .app
        .get(&auditor, "/audit/aggregates/nothing/x")
        .await
        .expect_error(404, "not_found");
    history.done().await;
}

#[tokio::test]
async fn a_job_is_rebuilt_as_it_was_posted_updated_and_closed() {
    let env = TestEnv::new().await;
    let app = env
        .start(Parts {
            api: true,
            relay: true,
            projectors: vec![Consumer::Jobs],
        })
        .await;
    let market = Market::open(&env, &app).await;
    let job = &market.job;
    app.put(
        &market.employer,
        &format!("/jobs/{job}"),
        json!({"title": "Staff Rust engineer", "description": "Build it."}),
    )
    .await
    .expect(200);
    let closed = app.close_job(&market.employer, job).await;
    assert_eq!(closed.status, 200, "{:?}", closed.body);
    let closed = closed.position();
    let auditor = env.user(Role::Auditor);
    let mut instants = Vec::new();
    for (version, status, title) in [
        (1, "Open", "Rust engineer"),
        (2, "Open", "Staff Rust engineer"),
        (3, "Closed", "Staff Rust engineer"),
    ] {
        let state = app
            .get(
                &auditor,
                &format!("/audit/aggregates/job/{job}?version={version}"),
            )
            .await
            .expect_ok();
        assert_eq!(
            (
                &state["state"]["status"],
                &state["state"]["details"]["title"]
            ),
            (&json!(status), &json!(title)),
            "version {version}"
        );
        instants.push((state["events"][version - 1]["recorded_at"].clone(), status));
    }
    for (at, status) in instants {
        let at = at.as_str().expect("an instant");
        let state = app
            .get(&auditor, &format!("/audit/aggregates/job/{job}?as_of={at}"))
            .await
            .expect_ok();
        assert_eq!(state["state"]["status"], status, "as of {at}");
    }
    // Today's state is the read model's.
    let now = app
        .get(&auditor, &format!("/audit/aggregates/job/{job}"))
        .await
        .expect_ok();
    let view = app
        .get_after(&auditor, &format!("/jobs/{job}"), &closed)
        .await
        .expect_ok();
    assert_eq!(
        (&now["state"]["details"]["title"], &json!("closed")),
        (&view["title"], &view["status"])
    );
    app.stop().await;
    env.cleanup().await;
}

#[tokio::test]
async fn a_proof_leads_from_one_event_to_its_signed_checkpoint() {
    let history = History::new().await;
    let auditor = history.env.user(Role::Auditor);
    let position = history.position(2).await;
    let proof = history
        .app
        .get(&auditor, &format!("/audit/events/{position}/proof"))
        .await
        .expect_ok();
    let encoding = proof["encoding"].as_str().expect("an encoding");
    let hash: [u8; 32] = sha2_digest(encoding.as_bytes());
    assert_eq!(proof["event"]["hash"], canonical::hex(&hash));
    let path: Vec<[u8; 32]> = proof["merkle_path"]
        .as_array()
        .expect("a path")
        .iter()
        .map(|h| hex32(h.as_str().expect("hex")))
        .collect();
    let checkpoint = &proof["checkpoint"];
    let root = commands::audit::merkle::root_from_path(
        commands::audit::merkle::leaf(&hash),
        proof["leaf_index"].as_u64().expect("an index") as usize,
        checkpoint["events"].as_u64().expect("a size") as usize,
        &path,
    );
    assert_eq!(
        root.map(|r| canonical::hex(&r)),
        checkpoint["root"].as_str().map(String::from)
    );
    history.done().await;
}

fn sha2_digest(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

fn hex32(text: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex");
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_document_requests_whole_chain_shares_its_correlation_and_up_signs_it() {
    let env = TestEnv::new().await;
    let app = env.start(Parts::everything()).await;
    let market = Market::open(&env, &app).await.with_credits(&app, 10).await;
    let document = app
        .request_document(
            &market.candidate,
            json!({"kind": "resume", "job_id": market.job, "idempotency_key": "cv-1"}),
        )
        .await
        .expect(202);
    let document = document["id"].as_str().expect("a document id").to_owned();
    let auditor = env.user(Role::Auditor);
    let correlation = |events: &Value| events["events"][0]["metadata"]["correlation_id"].clone();
    let requested = app
        .get(
            &auditor,
            &format!("/audit/events?aggregate_type=document&aggregate_id={document}"),
        )
        .await
        .expect_ok();
    let correlation_id = correlation(&requested);
    let chain: Vec<String> = eventually(
        "the document to be written",
        Duration::from_secs(60),
        || async {
            let chain = app
                .get(
                    &auditor,
                    &format!(
                        "/audit/events?correlation_id={}",
                        correlation_id.as_str().expect("a correlation id")
                    ),
                )
                .await
                .expect_ok();
            let types: Vec<String> = chain["events"]
                .as_array()
                .expect("events")
                .iter()
                .map(|e| e["event_type"].as_str().unwrap_or_default().to_owned())
                .collect();
            (types.len() == 3).then_some(types)
        },
    )
    .await;
    assert_eq!(
        chain,
        ["CreditsCharged", "DocumentRequested", "DocumentGenerated"]
    );
    // The notary of `up` signs every event within its interval.
    eventually("every event signed", Duration::from_secs(60), || async {
        let checkpoints = app
            .get(&auditor, "/audit/checkpoints?limit=500")
            .await
            .expect_ok();
        let signed = checkpoints["checkpoints"]
            .as_array()?
            .last()?
            .get("total_events")?
            .as_i64()?;
        (signed == env.event_count().await).then_some(())
    })
    .await;
    app.stop().await;
    env.cleanup().await;
}

/// Tables `hirestream_reader` may not read: secrets, and the migrations' own bookkeeping.
const NOT_FOR_READERS: [&str; 8] = [
    "_sqlx_migrations",
    "account_credential",
    "account_link",
    "api_key",
    "email_outbox",
    "organization_invitation",
    "refresh_token",
    "subject_key",
];

#[tokio::test]
async fn the_reader_role_reads_everything_but_the_secrets_and_writes_nothing() {
    let env = TestEnv::new().await;
    let tables: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT tablename,
                has_table_privilege('hirestream_reader', quote_ident(tablename), 'SELECT'),
                has_table_privilege('hirestream_reader', quote_ident(tablename),
                                    'INSERT, UPDATE, DELETE, TRUNCATE')
           FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    )
    .fetch_all(&env.pool)
    .await
    .expect("tables");
    assert!(tables.len() > 30, "{tables:?}");
    for (table, readable, writable) in tables {
        assert_eq!(
            readable,
            !NOT_FOR_READERS.contains(&table.as_str()),
            "{table}: grant it to hirestream_reader in a migration, or list it as a secret"
        );
        assert!(!writable, "{table} is writable by hirestream_reader");
    }
    env.cleanup().await;
}
