//! Personal data: sealed at the source with a key per person, readable through the API,
//! exported whole, shown to employers only where they have a reason, and erased for good by
//! destroying the key: nothing the test wrote about the person is left anywhere, while the
//! books still balance and the history still verifies.

use std::path::Path;
use std::time::Duration;

use api::consumer::Consumer;
use api::process::{read_models_behind, Parts};
use commands::privacy::{Keyring, MasterKey, MasterKeys};
use domain::candidate::CandidateProfile;
use domain::Role;
use hirestream_tests::client::text;
use hirestream_tests::{eventually, read_topic, Market, RunningApp, TestEnv, User};
use projections::vectors::edge::EdgeIndex;
use projections::vectors::{Collection, VectorIndex};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

/// Strings only this person's data holds, so that finding one anywhere is a leak.
struct Secrets {
    name: String,
    email: String,
    headline: String,
    summary: String,
    company: String,
    instructions: String,
}

impl Secrets {
    fn new(tag: &str) -> Self {
        let unique = Uuid::new_v4().simple().to_string();
        let part = &unique[..12];
        Self {
            name: format!("{tag} Person{part}"),
            email: format!("{tag}.{part}@example.com").to_lowercase(),
            headline: format!("Headline{part}"),
            summary: format!("Summary{part} of a long career"),
            company: format!("Company{part}"),
            instructions: format!("Instructions{part}"),
        }
    }

    fn all(&self) -> [&str; 6] {
        [
            &self.name,
            &self.email,
            &self.headline,
            &self.summary,
            &self.company,
            &self.instructions,
        ]
    }

    fn profile(&self) -> Value {
        json!({
            "headline": self.headline,
            "summary": self.summary,
            "skills": [{"name": "Rust", "proficiency": "expert"}],
            "years_experience": 8, "remote": "remote", "locations": ["Berlin"],
            "experience": [{"title": "Engineer", "company": self.company, "start": "2018-01-01",
                            "highlights": ["Shipped"]}]
        })
    }
}

/// A registered candidate with a profile, credits, a generated resume and an application.
async fn person(app: &RunningApp, market: &Market, user: &User, secrets: &Secrets) -> String {
    app.register_candidate(user, &secrets.name, &secrets.email)
        .await
        .expect(201);
    app.put_candidate_profile(user, secrets.profile())
        .await
        .expect(200);
    app.grant(&market.admin, user.id, 20).await.expect(201);
    let document = app
        .request_document(
            user,
            json!({"kind": "resume", "idempotency_key": "cv-1",
                   "instructions": secrets.instructions}),
        )
        .await
        .expect(202);
    let document = text(&document, "id");
    eventually("the resume", Duration::from_secs(90), || async {
        let view = app.get(user, &format!("/documents/{document}")).await;
        (view.status == 200 && view["status"] == "ready").then_some(())
    })
    .await;
    document
}

/// Every read model has applied every event stored so far.
async fn caught_up(env: &TestEnv) {
    caught_up_in(env, &Consumer::ALL).await;
}

/// The read models of `running` have applied every event stored so far.
async fn caught_up_in(env: &TestEnv, running: &[Consumer]) {
    let through: i64 = sqlx::query_scalar("SELECT COALESCE(max(global_position), 0) FROM events")
        .fetch_one(&env.pool)
        .await
        .expect("last position");
    let names: Vec<&str> = running.iter().map(|c| c.name()).collect();
    eventually("the read models", Duration::from_secs(90), || async {
        let behind = read_models_behind(&env.pool, through)
            .await
            .expect("progress");
        behind
            .iter()
            .all(|(name, _)| !names.contains(name))
            .then_some(())
    })
    .await;
}

/// The events as stored, as text.
async fn stored_events(env: &TestEnv) -> String {
    let rows: Vec<String> = sqlx::query_scalar("SELECT e::text FROM events e")
        .fetch_all(&env.pool)
        .await
        .expect("events");
    rows.join("\n")
}

/// Every row of every table of the database, as text: events and snapshots included.
async fn whole_database(env: &TestEnv) -> String {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT quote_ident(table_name) FROM information_schema.tables
          WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .fetch_all(&env.pool)
    .await
    .expect("tables");
    let mut all = String::new();
    for table in tables {
        let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT t::text FROM {table} t"))
            .fetch_all(&env.pool)
            .await
            .expect("rows");
        all.extend(rows.into_iter().map(|row| row + "\n"));
    }
    all
}

/// Every message of every topic, read from the start with a group of its own.
async fn whole_topics(env: &TestEnv) -> String {
    let mut all = String::new();
    for aggregate in domain::AGGREGATE_TYPES {
        let stored: i64 =
            sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_type = $1")
                .bind(aggregate)
                .fetch_one(&env.pool)
                .await
                .expect("count");
        if stored == 0 {
            continue;
        }
        let topic = domain::published::topic(&env.settings.kafka.topic_prefix, aggregate);
        let received = read_topic(
            &env.settings.kafka.brokers,
            &topic,
            Duration::from_secs(60),
            |received| received.len() as i64 >= stored,
        )
        .await;
        for message in received {
            all.push_str(&message.value.to_string());
            all.push('\n');
        }
    }
    all
}

fn leaks<'a>(haystack: &str, secrets: &'a Secrets) -> Vec<&'a str> {
    secrets
        .all()
        .into_iter()
        .filter(|secret| haystack.contains(secret))
        .collect()
}

async fn erase(app: &RunningApp, user: &User, candidate: Uuid) -> hirestream_tests::Response {
    app.send(
        Method::DELETE,
        &format!("/candidates/{candidate}"),
        Some(&user.token),
        None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_erased_candidate_leaves_nothing_readable_and_the_books_still_balance() {
    let env = TestEnv::new().await;
    let app = env.start(Parts::everything()).await;
    let market = Market::open(&env, &app).await;
    let (ada, other) = (env.user(Role::Candidate), env.user(Role::Candidate));
    let (secrets, others) = (Secrets::new("Ada"), Secrets::new("Other"));
    let document = person(&app, &market, &ada, &secrets).await;
    person(&app, &market, &other, &others).await;
    let application = app.apply(&ada, &market.job, json!({})).await.expect(201);
    let application = text(&application, "id");
    caught_up(&env).await;

    // Sealed at the source: the store and the topics hold ciphertext only, from the start;
    // the read models hold the clear text they show.
    assert_eq!(
        leaks(&stored_events(&env).await, &secrets),
        Vec::<&str>::new()
    );
    assert_eq!(
        leaks(&whole_topics(&env).await, &secrets),
        Vec::<&str>::new()
    );
    assert_eq!(leaks(&whole_database(&env).await, &secrets).len(), 6);
    let profile = app
        .get(&market.admin, &format!("/candidates/{}", ada.id))
        .await
        .expect_ok();
    assert_eq!(
        (profile["name"].clone(), profile["email"].clone()),
        (json!(secrets.name), json!(secrets.email))
    );

    // The export holds each piece of the person's data, and nothing about anyone else.
    let export = app
        .get(&ada, &format!("/candidates/{}/export", ada.id))
        .await
        .expect_ok();
    let exported = export.to_string();
    assert_eq!(leaks(&exported, &secrets).len(), 6, "{exported}");
    assert!(leaks(&exported, &others).is_empty());
    for id in [&document, &application, &market.job] {
        assert!(
            exported.contains(id.as_str()),
            "{id} missing from the export"
        );
    }
    assert!(exported.contains("CreditsGranted") && exported.contains("CreditsCharged"));
    assert!(
        exported.contains("actor_subject"),
        "events carry their metadata"
    );
    assert_eq!(
        export["aggregates"]["document"].as_array().map(Vec::len),
        Some(1)
    );
    let stored_profile: CandidateProfile =
        serde_json::from_value(export["aggregates"]["candidate"][0]["state"]["profile"].clone())
            .expect("the profile as the candidate aggregate holds it");
    let cached_text = commands::embeddings::cache::content_hash(&domain::matching::candidate_text(
        &stored_profile,
    ));
    let cached = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM embedding_cache WHERE content_hash = $1")
            .bind(&cached_text)
            .fetch_one(&env.pool)
            .await
            .expect("cache")
    };
    assert_eq!(cached().await, 1, "the profile's embedding is cached");
    app.get(&other, &format!("/candidates/{}/export", ada.id))
        .await
        .expect_error(403, "forbidden");

    // Erasure, by the candidate; again changes nothing.
    let events_before = env.event_count().await;
    let erased = erase(&app, &ada, ada.id).await.expect_ok();
    let events_after = env.event_count().await;
    assert_eq!(events_after, events_before + 1);
    erase(&app, &ada, ada.id).await.expect_ok();
    erase(&app, &market.admin, ada.id).await.expect_ok();
    assert_eq!(env.event_count().await, events_after);
    erase(&app, &market.employer, ada.id)
        .await
        .expect_error(403, "forbidden");
    app.get_after(
        &market.admin,
        &format!("/candidates/{}", ada.id),
        &text(&erased, "position"),
    )
    .await
    .expect_error(404, "not_found");

    // Nothing about the person can change any more.
    app.put_candidate_profile(&ada, secrets.profile())
        .await
        .expect_error(410, "candidate_erased");
    app.charge(&ada, ada.id, Uuid::new_v4(), 1, "resume")
        .await
        .expect_error(410, "candidate_erased");
    app.request_document(&ada, json!({"kind": "resume", "idempotency_key": "cv-2"}))
        .await
        .expect_error(410, "candidate_erased");
    app.apply(&other, &market.job, json!({})).await.expect(201);
    caught_up(&env).await;

    // Nowhere: not in any table, not in any topic, not in the embedding cache.
    assert_eq!(
        leaks(&whole_database(&env).await, &secrets),
        Vec::<&str>::new()
    );
    assert_eq!(
        leaks(&whole_topics(&env).await, &secrets),
        Vec::<&str>::new()
    );
    assert_eq!(cached().await, 0, "the profile's cached embedding is gone");
    // Other people are untouched.
    assert_eq!(leaks(&whole_database(&env).await, &others).len(), 6);
    let export = app
        .get(&market.admin, &format!("/candidates/{}/export", other.id))
        .await
        .expect_ok();
    assert_eq!(leaks(&export.to_string(), &others).len(), 6);
    // The erased person's export holds their facts, none of their words.
    let export = app
        .get(&market.admin, &format!("/candidates/{}/export", ada.id))
        .await
        .expect_ok();
    assert!(leaks(&export.to_string(), &secrets).is_empty());
    assert!(export.to_string().contains("CandidateErased"));

    // The books balance and the history verifies: the hashes cover the ciphertext.
    assert_eq!(
        projections::ledger::reconcile(&env.pool)
            .await
            .expect("reconcile"),
        vec![]
    );
    let key = env.settings.audit.signer().expect("key").public_key();
    let report = commands::audit::verify::verify(&env.pool, &key, |_| {})
        .await
        .expect("verify");
    assert!(report.is_intact(), "{:?}", report.problems);
    // The admin's reads were recorded for auditors; the candidate's own were not.
    let auditor = env.user(Role::Auditor);
    let reads = app
        .get(
            &auditor,
            &format!("/audit/personal-data-access?subject_id={}", ada.id),
        )
        .await
        .expect_ok();
    let resources: Vec<&str> = reads["reads"]
        .as_array()
        .expect("reads")
        .iter()
        .filter_map(|r| r["resource"].as_str())
        .collect();
    assert_eq!(
        resources,
        [
            "GET /candidates/{candidate_id}",
            "GET /candidates/{candidate_id}/export"
        ]
    );
    app.stop().await;

    // The index holds the other candidate's point only.
    let index = EdgeIndex::open(Path::new(&env.settings.matching.data_dir), 384).expect("index");
    assert_eq!(index.count(Collection::Candidates).await.expect("count"), 1);
    drop(index);
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replay_after_an_erasure_rebuilds_the_redacted_state() {
    use api::process::projector_config;
    use projections::documents::DocumentsProjector;
    use projections::profiles::ProfilesProjector;
    use projections::Projector;

    let env = TestEnv::new().await;
    let running = [
        Consumer::Profiles,
        Consumer::Documents,
        Consumer::DocumentWorker,
        Consumer::Ledger,
    ];
    let app = env
        .start(Parts {
            api: true,
            relay: true,
            projectors: running.to_vec(),
        })
        .await;
    let market = Market::open(&env, &app).await;
    let ada = env.user(Role::Candidate);
    let secrets = Secrets::new("Ada");
    person(&app, &market, &ada, &secrets).await;
    erase(&app, &ada, ada.id).await.expect_ok();
    caught_up_in(&env, &running).await;
    app.stop().await;

    let dump = |table: &'static str| {
        let pool = env.pool.clone();
        async move {
            let rows: Vec<String> =
                sqlx::query_scalar(&format!("SELECT t::text FROM {table} t ORDER BY 1"))
                    .fetch_all(&pool)
                    .await
                    .expect("rows");
            rows
        }
    };
    let live = (
        dump("candidate_view").await,
        dump("document_view").await,
        dump("document_usage").await,
    );
    let ada_id = ada.id.to_string();
    assert!(
        !live.0.iter().any(|row| row.contains(&ada_id)),
        "the profile is gone"
    );
    assert!(
        !live.1.iter().any(|row| row.contains(&ada_id)),
        "its documents too"
    );
    assert!(
        live.2.iter().any(|row| row.contains(&ada_id)),
        "the usage stays"
    );
    Projector::new(
        ProfilesProjector,
        env.pool.clone(),
        projector_config(&env.settings),
    )
    .rebuild_from_store(|_| {})
    .await
    .expect("rebuild profiles");
    Projector::new(
        DocumentsProjector,
        env.pool.clone(),
        projector_config(&env.settings),
    )
    .rebuild_from_store(|_| {})
    .await
    .expect("rebuild documents");
    let rebuilt = (
        dump("candidate_view").await,
        dump("document_view").await,
        dump("document_usage").await,
    );
    assert_eq!(rebuilt, live);
    assert!(leaks(&whole_database(&env).await, &secrets).is_empty());
    env.cleanup().await;
}

#[tokio::test]
async fn a_new_master_key_keeps_every_subject_readable() {
    let env = TestEnv::new().await;
    let service = commands::CommandService::new(env.pool.clone(), 5, MasterKeys::development());
    let candidate = Uuid::new_v4();
    let admin = domain::Actor::new(Uuid::new_v4(), Role::Admin);
    service
        .register_candidate(
            &hirestream_tests::context(admin),
            domain::candidate::RegisterCandidate {
                candidate_id: candidate,
                name: "Grace Hopper".into(),
                email: "grace@example.com".into(),
            },
        )
        .await
        .expect("registered");

    let new = MasterKey::from_base64(&MasterKey::generate().expect("random")).expect("a key");
    let rotating = MasterKeys::new(new.clone(), vec![MasterKeys::development().current]);
    let rotated = Keyring::new(env.pool.clone(), rotating)
        .rotate_master()
        .await
        .expect("rotate");
    assert_eq!(rotated, 1);
    let ids: Vec<String> = sqlx::query_scalar("SELECT master_key_id FROM subject_key")
        .fetch_all(&env.pool)
        .await
        .expect("keys");
    assert_eq!(ids, [new.id().to_owned()]);

    // Only the new key from now on: the candidate still reads in full.
    let service = commands::CommandService::new(env.pool.clone(), 5, MasterKeys::new(new, vec![]));
    let state = service.candidate(candidate).await.expect("load");
    assert_eq!(state.name, "Grace Hopper");
    // The old key alone reads nothing any more.
    let old = commands::CommandService::new(env.pool.clone(), 5, MasterKeys::development());
    assert!(old.candidate(candidate).await.is_err());
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_employer_sees_a_candidate_only_with_a_reason() {
    let env = TestEnv::new().await;
    let running = [
        Consumer::Profiles,
        Consumer::Matches,
        Consumer::Applications,
    ];
    let app = env
        .start(Parts {
            api: true,
            relay: true,
            projectors: running.to_vec(),
        })
        .await;
    let market = Market::open(&env, &app).await;
    let stranger = env.user(Role::Employer);
    app.register_employer(&stranger, "Stranger Inc")
        .await
        .expect(201);
    let profile = format!("/candidates/{}", market.candidate.id);
    caught_up_in(&env, &running).await;
    // No tie: as if the candidate did not exist.
    app.get(&market.employer, &profile)
        .await
        .expect_error(404, "not_found");

    // The candidate likes the job: the employer may consider it, without name or contact.
    app.swipe(
        &market.candidate,
        &market.job,
        domain::pairing::Decision::Like,
    )
    .await
    .expect(200);
    caught_up_in(&env, &running).await;
    let seen = app.get(&market.employer, &profile).await.expect_ok();
    assert_eq!(
        (seen["name"].clone(), seen["email"].clone()),
        (json!(""), json!(""))
    );
    app.get(&stranger, &profile)
        .await
        .expect_error(404, "not_found");

    // Once the candidate applies, the employer sees it in full.
    app.apply(&market.candidate, &market.job, json!({}))
        .await
        .expect(201);
    caught_up_in(&env, &running).await;
    let seen = app.get(&market.employer, &profile).await.expect_ok();
    assert_eq!(
        (seen["name"].clone(), seen["email"].clone()),
        (json!("Ada Lovelace"), json!("ada@example.com"))
    );
    app.get(&stranger, &profile)
        .await
        .expect_error(404, "not_found");
    // The employer's reads are its own business, not the platform's: none recorded.
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM personal_data_access")
        .fetch_one(&env.pool)
        .await
        .expect("count");
    assert_eq!(recorded, 0);
    app.stop().await;
    env.cleanup().await;
}
