//! Matching end to end: profiles and jobs go in over HTTP, the matching projector embeds them
//! with the local model into the embedded Qdrant index and keeps both feeds ranked; swipes
//! and closed jobs leave the feeds; a replay from zero rebuilds the same feeds.

use std::collections::BTreeSet;
use std::time::Duration;

use api::process::{Matching, Parts};
use domain::pairing::Decision;
use domain::Role;
use hirestream_tests::{eventually, RunningApp, TestEnv, User};
use projections::matching::MatchingProjector;
use projections::vectors::Collection;
use projections::Projector;
use serde_json::{json, Value};
use uuid::Uuid;

fn skill(name: &str, proficiency: &str) -> Value {
    json!({"name": name, "proficiency": proficiency})
}

fn rust_engineer(locations: &[&str]) -> Value {
    json!({
        "headline": "Backend engineer building event-sourced systems in Rust",
        "summary": "Kafka pipelines, PostgreSQL event stores and real-time data services.",
        "skills": [skill("Rust", "expert"), skill("PostgreSQL", "working"), skill("Kafka", "working")],
        "years_experience": 5,
        "target_titles": ["Senior Rust Engineer"],
        "min_salary": {"amount": 80000, "currency": "EUR"},
        "locations": locations,
        "remote": "hybrid",
        "work_authorizations": ["EU"],
        "company_size": "small",
        "pace": "fast"
    })
}

fn job(
    title: &str,
    description: &str,
    skills: Vec<Value>,
    remote: &str,
    locations: &[&str],
) -> Value {
    json!({
        "title": title,
        "description": description,
        "skills": skills,
        "min_years": 2,
        "salary": {"min": 90000, "max": 120000, "currency": "EUR"},
        "locations": locations,
        "remote": remote
    })
}

/// Registers a candidate with a Rust engineer's profile; returns the profile write.
async fn rust_candidate(app: &RunningApp, candidate: &User, name: &str, places: &[&str]) -> Value {
    app.register_candidate(candidate, name, &format!("{name}@example.com"))
        .await
        .expect_ok();
    app.put_candidate_profile(candidate, rust_engineer(places))
        .await
        .expect_ok()
}

/// A GET that must succeed once the view has applied what `written` wrote.
async fn after(app: &RunningApp, path: &str, user: &User, written: &Value) -> Value {
    let position = written["position"].as_str().expect("position");
    app.get_after(user, path, position).await.expect_ok()
}

fn ids(feed: &Value, list: &str, id: &str) -> Vec<String> {
    feed[list]
        .as_array()
        .expect("list")
        .iter()
        .map(|e| e[id].as_str().expect("id").to_owned())
        .collect()
}

/// Both feeds as stored, for comparison after a replay.
async fn feeds_snapshot(env: &TestEnv) -> Vec<(String, Uuid, Uuid, i16, String)> {
    sqlx::query_as(
        "SELECT 'candidate', candidate_id, job_id, score, factors::text FROM candidate_feed
         UNION ALL
         SELECT 'job', candidate_id, job_id, score, factors::text FROM job_feed
         ORDER BY 1, 2, 3",
    )
    .fetch_all(&env.pool)
    .await
    .expect("feeds")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn feeds_rank_by_score_lose_swiped_and_closed_jobs_and_replay_identically() {
    let env = TestEnv::new().await;
    let app = env.start(Parts::everything()).await;
    let employer = env.user(Role::Employer);
    let (ada, grace) = (env.user(Role::Candidate), env.user(Role::Candidate));

    app.register_employer(&employer, "Acme Streams")
        .await
        .expect_ok();
    let profile = json!({"name": "Acme Streams", "size": "small", "pace": "fast"});
    app.put_employer_profile(&employer, profile)
        .await
        .expect_ok();
    let mut written = vec![
        rust_candidate(&app, &ada, "Ada", &["Berlin, Germany"]).await,
        rust_candidate(&app, &grace, "Grace", &["Munich"]).await,
    ];

    let postings = [
        job(
            "Senior Rust engineer, event sourcing",
            "Build our event store and Kafka pipelines in Rust on PostgreSQL.",
            vec![
                skill("Rust", "expert"),
                skill("PostgreSQL", "working"),
                skill("Kafka", "working"),
            ],
            "remote",
            &[],
        ),
        job(
            "Platform engineer",
            "Run Rust services and PostgreSQL on Kubernetes.",
            vec![
                skill("Rust", "expert"),
                skill("PostgreSQL", "expert"),
                skill("Kubernetes", "expert"),
            ],
            "remote",
            &[],
        ),
        job(
            "Backend engineer, Berlin office",
            "Rust, Go and Kafka for our streaming platform, on site in Berlin.",
            vec![
                skill("Rust", "working"),
                skill("Kafka", "working"),
                skill("Go", "working"),
            ],
            "onsite",
            &["Berlin"],
        ),
        job(
            "Pastry chef",
            "Croissants, tarts and laminated doughs for our café.",
            vec![skill("Baking", "expert"), skill("Pastry", "expert")],
            "onsite",
            &["Berlin"],
        ),
        job(
            "Rust engineer, Tokyo office",
            "Rust services for real-time streaming, on site in Tokyo.",
            vec![skill("Rust", "expert"), skill("Kafka", "working")],
            "onsite",
            &["Tokyo"],
        ),
    ];
    let mut jobs = Vec::new();
    for posting in postings {
        let posted = app.post_job(&employer, posting).await.expect_ok();
        jobs.push(posted["id"].as_str().expect("job id").to_owned());
        written.push(posted);
    }
    let [event_sourcing, platform, berlin, pastry, tokyo] =
        <[String; 5]>::try_from(jobs).expect("five jobs");

    // Ada's feed, once every write above is reflected: ordered by score, each score the sum
    // of its factors; the pastry job scores too low and the Tokyo one fails a hard filter.
    let ada_feed_path = format!("/candidates/{}/feed", ada.id);
    for w in &written {
        after(&app, &ada_feed_path, &ada, w).await;
    }
    let feed = app.get(&ada, &ada_feed_path).await.expect_ok();
    let listed = ids(&feed, "jobs", "job_id");
    assert_eq!(listed.first(), Some(&event_sourcing), "{feed:#}");
    for expected in [&platform, &berlin] {
        assert!(
            listed.contains(expected),
            "{expected} missing from {feed:#}"
        );
    }
    for absent in [&pastry, &tokyo] {
        assert!(
            !listed.contains(absent),
            "{absent} should not be in {feed:#}"
        );
    }
    let entries = feed["jobs"].as_array().expect("jobs");
    for pair in entries.windows(2) {
        assert!(
            pair[0]["score"].as_i64() >= pair[1]["score"].as_i64(),
            "{feed:#}"
        );
    }
    for entry in entries {
        let score = entry["score"].as_f64().expect("score");
        let sum: f64 = entry["factors"]
            .as_object()
            .expect("factors")
            .values()
            .map(|v| v.as_f64().expect("points"))
            .sum();
        assert!(score >= 60.0 && (score - sum).abs() <= 1.0, "{entry}");
    }

    // The employer sees both candidates for the platform job; a candidate cannot read it.
    let platform_feed = app
        .get(&employer, &format!("/jobs/{platform}/feed"))
        .await
        .expect_ok();
    let mut candidates = ids(&platform_feed, "candidates", "candidate_id");
    candidates.sort();
    let mut both = vec![ada.id.to_string(), grace.id.to_string()];
    both.sort();
    assert_eq!(candidates, both, "{platform_feed:#}");
    app.get(&ada, &format!("/jobs/{platform}/feed"))
        .await
        .expect(403);
    app.get(&ada, &format!("/candidates/{}/feed", grace.id))
        .await
        .expect(403);

    // Semantic search finds the event-sourcing job first; filters narrow it.
    let found = app
        .get(
            &ada,
            "/jobs/search?q=event%20store%20and%20Kafka%20pipelines%20in%20Rust",
        )
        .await
        .expect_ok();
    assert_eq!(
        ids(&found, "jobs", "job_id").first(),
        Some(&event_sourcing),
        "{found:#}"
    );
    let on_site = app
        .get(
            &ada,
            "/jobs/search?q=Rust%20streaming&remote=onsite&location=Berlin",
        )
        .await
        .expect_ok();
    let mut on_site = ids(&on_site, "jobs", "job_id");
    on_site.sort();
    let mut in_berlin = vec![berlin.clone(), pastry.clone()];
    in_berlin.sort();
    assert_eq!(on_site, in_berlin);

    // Bad queries get a 400 with the error shape.
    for path in [
        "/jobs/search".to_owned(),
        "/jobs/search?q=%20".to_owned(),
        "/jobs/search?q=rust&limit=0".to_owned(),
        "/jobs/search?q=rust&remote=sometimes".to_owned(),
        "/jobs/search?q=rust&min_salary=-5".to_owned(),
        "/jobs/search?q=rust&colour=blue".to_owned(),
        format!("{ada_feed_path}?limit=500"),
        format!("{ada_feed_path}?after=nonsense"),
    ] {
        let refused = app.get(&ada, &path).await;
        assert_eq!(refused.status, 400, "{path}: {refused}");
        assert!(refused.code().is_string(), "{path}: {refused}");
    }
    app.get(&employer, &format!("/jobs/{}/feed", Uuid::new_v4()))
        .await
        .expect(404);

    // Ada likes the event-sourcing job: it leaves her feed, not Grace's.
    let swiped = app
        .swipe(&ada, &event_sourcing, Decision::Like)
        .await
        .expect_ok();
    let feed = after(&app, &ada_feed_path, &ada, &swiped).await;
    assert!(
        !ids(&feed, "jobs", "job_id").contains(&event_sourcing),
        "{feed:#}"
    );
    let grace_feed = app
        .get(&grace, &format!("/candidates/{}/feed", grace.id))
        .await
        .expect_ok();
    assert!(ids(&grace_feed, "jobs", "job_id").contains(&event_sourcing));

    // Closing the platform job takes it out of every feed and out of search.
    let closed = app.close_job(&employer, &platform).await.expect_ok();
    for candidate in [&ada, &grace] {
        let path = format!("/candidates/{}/feed", candidate.id);
        let feed = after(&app, &path, candidate, &closed).await;
        assert!(
            !ids(&feed, "jobs", "job_id").contains(&platform),
            "{feed:#}"
        );
    }
    let platform_feed = app
        .get(&employer, &format!("/jobs/{platform}/feed"))
        .await
        .expect_ok();
    assert_eq!(platform_feed["candidates"], json!([]));
    let found = app
        .get(&ada, "/jobs/search?q=Kubernetes%20platform&limit=10")
        .await
        .expect_ok();
    assert!(!ids(&found, "jobs", "job_id").contains(&platform));

    // A replay from zero rebuilds the vector index and the feeds exactly.
    let applied = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT COALESCE(sum(sequence), 0)::bigint FROM projection_applied
              WHERE projection = 'matching'",
        )
        .fetch_one(&env.pool)
        .await
        .expect("applied")
    };
    let events_applied = applied().await;
    let before = feeds_snapshot(&env).await;
    assert!(!before.is_empty());
    app.stop().await;
    {
        let matching = Matching::open(&env.settings, env.pool.clone())
            .await
            .expect("open index");
        let projector = Projector::new(
            MatchingProjector::new(
                matching.index.clone(),
                matching.cached.clone(),
                api::process::matching_config(&env.settings),
            ),
            env.pool.clone(),
            api::process::projector_config(&env.settings),
        );
        projector.reset().await.expect("reset");
        assert_eq!(
            matching.index.count(Collection::Jobs).await.expect("count"),
            0
        );
        assert!(feeds_snapshot(&env).await.is_empty());
    }
    let app = env.start(Parts::everything()).await;
    eventually("the replay", Duration::from_secs(120), || async {
        (applied().await == events_applied).then_some(())
    })
    .await;
    assert_eq!(feeds_snapshot(&env).await, before);
    let matching_jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM matching_job WHERE open")
        .fetch_one(&env.pool)
        .await
        .expect("count");
    assert_eq!(matching_jobs, 4);
    app.stop().await;
    env.cleanup().await;
}

/// The candidate's feed as a set of job ids.
fn job_set(feed: &Value) -> BTreeSet<String> {
    ids(feed, "jobs", "job_id").into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn feeds_thinned_by_a_swipe_or_a_closed_job_are_topped_up_from_the_index() {
    let mut env = TestEnv::new().await;
    // Feeds of two, topped up as soon as one entry goes.
    env.settings.matching.feed_size = 2;
    env.settings.matching.refill_below = 2;
    let app = env.start(Parts::everything()).await;
    let employer = env.user(Role::Employer);
    let ada = env.user(Role::Candidate);
    app.register_employer(&employer, "Acme Streams")
        .await
        .expect_ok();
    let mut written = vec![rust_candidate(&app, &ada, "Ada", &["Berlin, Germany"]).await];
    // Four remote jobs Ada fits, more or less closely.
    let mut jobs = BTreeSet::new();
    for (title, skills) in [
        (
            "Senior Rust engineer, event sourcing",
            vec!["Rust", "PostgreSQL", "Kafka"],
        ),
        ("Rust engineer, data platform", vec!["Rust", "PostgreSQL"]),
        ("Rust engineer, streaming", vec!["Rust", "Kafka"]),
        ("Rust engineer", vec!["Rust"]),
    ] {
        let skills = skills.into_iter().map(|s| skill(s, "working")).collect();
        let posting = job(
            title,
            "Rust services on PostgreSQL and Kafka.",
            skills,
            "remote",
            &[],
        );
        let posted = app.post_job(&employer, posting).await.expect_ok();
        jobs.insert(posted["id"].as_str().expect("job id").to_owned());
        written.push(posted);
    }
    let feed_path = format!("/candidates/{}/feed", ada.id);
    for w in &written {
        after(&app, &feed_path, &ada, w).await;
    }
    let first = job_set(&app.get(&ada, &feed_path).await.expect_ok());
    assert_eq!(first.len(), 2, "{first:?}");

    // Ada passes on a job of her feed, leaving one: it is topped up to two again.
    let swiped_job = first.first().expect("a job").clone();
    let swiped = app
        .swipe(&ada, &swiped_job, Decision::Pass)
        .await
        .expect_ok();
    let second = job_set(&after(&app, &feed_path, &ada, &swiped).await);
    assert_eq!(second.len(), 2, "{second:?}");
    assert!(!second.contains(&swiped_job), "{second:?}");

    // A job of her feed closes: the two jobs still open and not passed on are her feed.
    let closing = second.first().expect("a job").clone();
    let closed = app.close_job(&employer, &closing).await.expect_ok();
    let third = job_set(&after(&app, &feed_path, &ada, &closed).await);
    let expected: BTreeSet<String> = jobs
        .iter()
        .filter(|j| **j != swiped_job && **j != closing)
        .cloned()
        .collect();
    assert_eq!(third, expected);
    app.stop().await;
    env.cleanup().await;
}
