use std::time::Instant;

use api::process::Parts;
use domain::Role;
use hirestream_tests::TestEnv;
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_candidate_and_an_employer_who_like_each_other_both_see_the_match() {
    let env = TestEnv::new().await;
    let app = env.start(Parts::everything()).await;
    let (candidate, employer) = (Uuid::new_v4(), Uuid::new_v4());
    let candidate_token = env.token(candidate, Role::Candidate);
    let employer_token = env.token(employer, Role::Employer);

    let (status, _) = app
        .call(
            Method::POST,
            "/employers",
            Some(&employer_token),
            Some(json!({"name": "Acme Robotics"})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = app
        .call(
            Method::POST,
            "/candidates",
            Some(&candidate_token),
            Some(json!({"name": "Ada Lovelace", "email": "ada@example.com"})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, job) = app
        .call(
            Method::POST,
            "/jobs",
            Some(&employer_token),
            Some(json!({"title": "Rust engineer", "description": "Event-sourced systems."})),
        )
        .await;
    assert_eq!(status, 201, "{job}");
    let job_id = job["id"].as_str().expect("job id").to_owned();

    let (status, first) = app
        .call(
            Method::POST,
            &format!("/jobs/{job_id}/swipe"),
            Some(&candidate_token),
            Some(json!({"decision": "like"})),
        )
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["version"], 1);
    // The first swipe is no match yet; waiting for it also warms up the projector, so the
    // time measured below is the steady-state path.
    let (status, none) = app
        .call(
            Method::GET,
            &format!(
                "/matches?after={}",
                first["position"].as_str().expect("position")
            ),
            Some(&candidate_token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{none}");
    assert_eq!(none["matches"], json!([]));

    let second_swipe = Instant::now();
    let (status, second) = app
        .call(
            Method::POST,
            &format!("/jobs/{job_id}/candidates/{candidate}/swipe"),
            Some(&employer_token),
            Some(json!({"decision": "like"})),
        )
        .await;
    assert_eq!(status, 200, "{second}");
    // The employer's swipe and the match it made.
    assert_eq!(second["version"], 3);
    let position = second["position"].as_str().expect("position");

    let (status, mine) = app
        .call(
            Method::GET,
            &format!("/matches?after={position}"),
            Some(&candidate_token),
            None,
        )
        .await;
    let visible_after = second_swipe.elapsed();
    assert_eq!(status, 200, "{mine}");
    let matches = mine["matches"].as_array().expect("matches");
    assert_eq!(matches.len(), 1);
    assert_eq!(matches[0]["job_id"], job_id.as_str());
    assert_eq!(matches[0]["employer_id"], employer.to_string());
    eprintln!("second swipe to match visible in the read model: {visible_after:?}");

    for path in ["/matches".to_owned(), format!("/jobs/{job_id}/matches")] {
        let (status, theirs) = app
            .call(
                Method::GET,
                &format!("{path}?after={position}"),
                Some(&employer_token),
                None,
            )
            .await;
        assert_eq!(status, 200, "{theirs}");
        let matches = theirs["matches"].as_array().expect("matches");
        assert_eq!(matches.len(), 1, "{path}");
        assert_eq!(matches[0]["candidate_id"], candidate.to_string());
    }

    // Every event carries who did it and what request caused it.
    let metadata: serde_json::Value =
        sqlx::query_scalar("SELECT metadata FROM events WHERE event_type = 'Matched'")
            .fetch_one(&env.pool)
            .await
            .expect("matched event");
    assert_eq!(metadata["actor_subject"], employer.to_string());
    assert_eq!(metadata["actor_role"], "employer");
    assert_eq!(metadata["command"], "SwipeCandidate");
    for key in ["correlation_id", "causation_id", "request_id"] {
        assert!(
            metadata[key].as_str().is_some_and(|v| !v.is_empty()),
            "{key} missing in {metadata}"
        );
    }

    app.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_likes_make_exactly_one_match() {
    let env = TestEnv::new().await;
    let app = env
        .start(Parts {
            api: true,
            ..Parts::default()
        })
        .await;
    let employer = Uuid::new_v4();
    let employer_token = env.token(employer, Role::Employer);
    app.call(
        Method::POST,
        "/employers",
        Some(&employer_token),
        Some(json!({"name": "Acme"})),
    )
    .await;
    let (_, job) = app
        .call(
            Method::POST,
            "/jobs",
            Some(&employer_token),
            Some(json!({"title": "SRE", "description": "Keep it running."})),
        )
        .await;
    let job_id = job["id"].as_str().expect("job id").to_owned();

    for _ in 0..20 {
        let candidate = Uuid::new_v4();
        let candidate_token = env.token(candidate, Role::Candidate);
        app.call(
            Method::POST,
            "/candidates",
            Some(&candidate_token),
            Some(json!({"name": "Grace", "email": "grace@example.com"})),
        )
        .await;
        let like = Some(json!({"decision": "like"}));
        let (candidate_path, employer_path) = (
            format!("/jobs/{job_id}/swipe"),
            format!("/jobs/{job_id}/candidates/{candidate}/swipe"),
        );
        let (a, b) = tokio::join!(
            app.call(
                Method::POST,
                &candidate_path,
                Some(&candidate_token),
                like.clone()
            ),
            app.call(
                Method::POST,
                &employer_path,
                Some(&employer_token),
                like.clone()
            ),
        );
        assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
        let pairing = domain::pairing::pairing_id(candidate, job_id.parse().expect("uuid"));
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
