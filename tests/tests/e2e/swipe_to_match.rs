use std::time::Instant;

use api::process::Parts;
use domain::pairing::Decision::Like;
use domain::Role;
use hirestream_tests::{Market, TestEnv};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_candidate_and_an_employer_who_like_each_other_both_see_the_match() {
    let env = TestEnv::new().await;
    let app = env.start(Parts::everything()).await;
    let Market {
        candidate,
        employer,
        job,
        ..
    } = Market::open(&env, &app).await;

    let first = app.swipe(&candidate, &job, Like).await.expect(200);
    assert_eq!(first["version"], 1);
    // The first swipe is no match yet; waiting for it also warms up the projector, so the
    // time measured below is the steady-state path.
    let position = first["position"].as_str().expect("position");
    let none = app
        .get_after(&candidate, "/matches", position)
        .await
        .expect(200);
    assert_eq!(none["matches"], json!([]));

    let second_swipe = Instant::now();
    let second = app
        .swipe_candidate(&employer, &job, candidate.id, Like)
        .await
        .expect(200);
    // The employer's swipe and the match it made.
    assert_eq!(second["version"], 3);
    let position = second["position"].as_str().expect("position");

    let mine = app.get_after(&candidate, "/matches", position).await;
    let visible_after = second_swipe.elapsed();
    let mine = mine.expect(200);
    let matches = mine["matches"].as_array().expect("matches");
    assert_eq!(matches.len(), 1);
    assert_eq!(matches[0]["job_id"], job.as_str());
    assert_eq!(matches[0]["employer_id"], employer.id.to_string());
    eprintln!("second swipe to match visible in the read model: {visible_after:?}");

    for path in ["/matches".to_owned(), format!("/jobs/{job}/matches")] {
        let theirs = app.get_after(&employer, &path, position).await.expect(200);
        let matches = theirs["matches"].as_array().expect("matches");
        assert_eq!(matches.len(), 1, "{path}");
        assert_eq!(matches[0]["candidate_id"], candidate.id.to_string());
    }

    // Every event carries who did it and what request caused it.
    let metadata: serde_json::Value =
        sqlx::query_scalar("SELECT metadata FROM events WHERE event_type = 'Matched'")
            .fetch_one(&env.pool)
            .await
            .expect("matched event");
    assert_eq!(metadata["actor_subject"], employer.id.to_string());
    assert_eq!(metadata["actor_role"], "employer");
    assert_eq!(metadata["command"], "SwipeCandidate");
    for key in ["correlation_id", "causation_id", "request_id"] {
        assert!(
            metadata[key].as_str().is_some_and(|v| !v.is_empty()),
            "{key} missing in {metadata}"
        );
    }

    // The same work, counted in the process's metrics.
    let metrics = app
        .send(reqwest::Method::GET, "/metrics", None, None)
        .await
        .expect(200);
    let metrics = metrics.as_str().expect("Prometheus text");
    for (name, labels) in [
        (
            "hirestream_commands_total",
            &["command=\"SwipeCandidate\"", "outcome=\"ok\""][..],
        ),
        ("hirestream_relay_published_total", &[]),
        (
            "hirestream_projector_events_applied_total",
            &["projection=\"matches\""],
        ),
        (
            "hirestream_http_requests_total",
            &["route=\"/matches\"", "status=\"200\""],
        ),
        (
            "hirestream_projector_batch_duration_seconds_count",
            &["projection=\"matches\""],
        ),
    ] {
        let value = sample(metrics, name, labels)
            .unwrap_or_else(|| panic!("no {name} {labels:?} in:\n{metrics}"));
        assert!(value >= 1.0, "{name} {labels:?} = {value}");
    }

    app.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_likes_make_exactly_one_match() {
    let env = TestEnv::new().await;
    let app = env.start_api().await;
    let Market { employer, job, .. } = Market::open(&env, &app).await;

    for _ in 0..20 {
        let candidate = env.user(Role::Candidate);
        app.register_candidate(&candidate, "Grace", "grace@example.com")
            .await;
        let (a, b) = tokio::join!(
            app.swipe(&candidate, &job, Like),
            app.swipe_candidate(&employer, &job, candidate.id, Like),
        );
        assert_eq!((a.status, b.status), (200, 200), "{a} {b}");
        let pairing = domain::pairing::pairing_id(candidate.id, job.parse().expect("uuid"));
        let events: Vec<String> = sqlx::query_scalar(
            "SELECT event_type FROM events WHERE aggregate_id = $1 ORDER BY sequence",
        )
        .bind(pairing.to_string())
        .fetch_all(&env.pool)
        .await
        .expect("pairing events");
        assert_eq!(events.len(), 3, "{events:?}");
        assert_eq!(events.iter().filter(|e| *e == "Matched").count(), 1);
        assert_eq!(events[2], "Matched");
    }

    app.stop().await;
    env.cleanup().await;
}

/// The value of the first sample of `name` whose labels include every one of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .find(|line| labels.iter().all(|label| line.contains(label)))
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
}
