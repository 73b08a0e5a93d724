use std::time::Duration;

use api::process::Parts;
use domain::Role;
use hirestream_tests::{eventually, RunningApp, TestEnv, User};
use serde_json::{json, Value};
use uuid::Uuid;

const GREENHOUSE: &str = include_str!("../../../commands/src/import/fixtures/greenhouse.json");
const GREENHOUSE_CHANGED: &str =
    include_str!("../../../commands/src/import/fixtures/greenhouse-changed.json");

fn profile() -> Value {
    json!({
        "headline": "Backend engineer",
        "summary": "Event-sourced systems in Rust.",
        "skills": [{"name": "Rust", "proficiency": "expert"}, {"name": "Kafka", "proficiency": "working"}],
        "years_experience": 6,
        "industries": ["Robotics"],
        "target_titles": ["Senior Rust Engineer"],
        "min_salary": {"amount": 85000, "currency": "EUR"},
        "locations": ["Berlin"],
        "remote": "hybrid",
        "work_authorizations": ["EU"],
        "company_size": "startup",
        "pace": "fast",
        "experience": [{"title": "Engineer", "company": "Initech", "start": "2019-03-01", "end": null,
                        "highlights": ["Moved billing to an event store"]}],
        "education": [{"institution": "TU Berlin", "degree": "MSc", "field": "Computer Science", "graduated": 2018}]
    })
}

async fn import(app: &RunningApp, admin: &User, employer: Uuid, feed: &str) -> Value {
    let feed = serde_json::from_str::<Value>(feed).expect("fixture");
    app.import_greenhouse(admin, employer, feed)
        .await
        .expect(200)
}

/// The sorted titles of the jobs `query` lists, once they are `expected`: the events of
/// different jobs reach the view in no fixed order, so a count alone can be reached early.
async fn titles(app: &RunningApp, user: &User, query: &str, expected: &[&str]) -> Vec<String> {
    eventually(
        &format!("jobs {expected:?} for {query}"),
        Duration::from_secs(30),
        || async {
            let page = app.get(user, &format!("/jobs?{query}")).await;
            let mut titles: Vec<String> = page["items"]
                .as_array()?
                .iter()
                .filter_map(|j| j["title"].as_str().map(str::to_owned))
                .collect();
            titles.sort();
            (page.status == 200 && titles == expected).then_some(titles)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_imported_job_gets_an_application_that_moves_to_interviewing() {
    let env = TestEnv::new().await;
    let app = env.start(Parts::everything()).await;
    let admin = env.user(Role::Admin);
    let employer = env.user(Role::Employer);
    let ada = env.user(Role::Candidate);

    app.register_employer(&employer, "Acme Robotics").await;
    app.put_employer_profile(
        &employer,
        json!({"name": "Acme Robotics", "size": "small", "industry": "Robotics",
               "pace": "fast", "website": "https://acme-robotics.example"}),
    )
    .await
    .expect(200);

    // The feed: three good postings and one without an id.
    let report = import(&app, &admin, employer.id, GREENHOUSE).await;
    assert_eq!(report["received"], 4);
    assert_eq!(report["posted"], 3);
    assert_eq!(
        report["rejected"],
        json!([{"index": 3, "reason": "`id` is missing or not a number"}])
    );
    let employer_filter = format!("employer_id={}", employer.id);
    for (query, expected) in [
        (
            employer_filter.clone(),
            &["Data Analyst", "Office Manager", "Senior Rust Engineer"][..],
        ),
        (
            format!("{employer_filter}&remote=remote"),
            &["Data Analyst"][..],
        ),
        (
            format!("{employer_filter}&q=robots&location=berlin"),
            &["Senior Rust Engineer"][..],
        ),
        (
            format!("{employer_filter}&skill=kafka"),
            &["Senior Rust Engineer"][..],
        ),
    ] {
        assert_eq!(titles(&app, &ada, &query, expected).await, expected);
    }
    // Paging: one at a time, with the cursor.
    let first = app
        .get(&ada, &format!("/jobs?{employer_filter}&limit=2"))
        .await;
    let cursor = first["next_cursor"].as_str().expect("more pages");
    let second = app
        .get(
            &ada,
            &format!("/jobs?{employer_filter}&limit=2&cursor={cursor}"),
        )
        .await;
    assert_eq!(second["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(second["next_cursor"], Value::Null);

    // Importing again with one change and one removal: one update, one closing.
    let report = import(&app, &admin, employer.id, GREENHOUSE_CHANGED).await;
    assert_eq!(
        (
            report["posted"].clone(),
            report["updated"].clone(),
            report["unchanged"].clone(),
            report["closed"].clone()
        ),
        (json!(0), json!(1), json!(1), json!(1))
    );
    for (query, expected) in [
        (
            employer_filter.clone(),
            &["Senior Data Analyst", "Senior Rust Engineer"][..],
        ),
        (
            format!("{employer_filter}&status=closed"),
            &["Office Manager"][..],
        ),
    ] {
        assert_eq!(titles(&app, &ada, &query, expected).await, expected);
    }
    // The same feed once more changes nothing.
    let events = env.event_count().await;
    let report = import(&app, &admin, employer.id, GREENHOUSE_CHANGED).await;
    assert_eq!(report["unchanged"], 2);
    assert_eq!(env.event_count().await, events);

    // The candidate registers and fills a profile; a bad one is refused field by field.
    app.register_candidate(&ada, "Ada Lovelace", "ada@example.com")
        .await;
    let mut bad = profile();
    bad["years_experience"] = json!(-3);
    bad["min_salary"]["currency"] = json!("euros");
    let refused = app.put_candidate_profile(&ada, bad).await.expect(422);
    assert_eq!(
        refused["error"]["details"]["fields"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let written = app.put_candidate_profile(&ada, profile()).await.expect(200);
    let shown = app
        .get_after(
            &ada,
            &format!("/candidates/{}", ada.id),
            written["position"].as_str().expect("position"),
        )
        .await
        .expect(200);
    assert_eq!(shown["headline"], "Backend engineer");
    // An employer with no tie to the candidate does not see it at all.
    app.get(&employer, &format!("/candidates/{}", ada.id))
        .await
        .expect_error(404, "not_found");

    // The candidate applies to the Rust job; the employer moves it to interviewing.
    let rust_jobs = app
        .get(&ada, &format!("/jobs?{employer_filter}&q=rust"))
        .await;
    let job_id = rust_jobs["items"][0]["job_id"].as_str().expect("job");
    let applied = app
        .apply(&ada, job_id, json!({"document_ids": []}))
        .await
        .expect(201);
    let application = applied["id"].as_str().expect("application");
    app.apply(&ada, job_id, json!({}))
        .await
        .expect_error(409, "already_applied");

    let mut position = String::new();
    for stage in ["screening", "interviewing"] {
        let moved = app
            .move_application(&employer, application, stage)
            .await
            .expect(200);
        position = moved["position"].as_str().expect("position").to_owned();
    }
    app.move_application(&employer, application, "hired")
        .await
        .expect_error(409, "invalid_transition");
    app.move_application(&ada, application, "offered")
        .await
        .expect(403);

    // Both read models show it.
    let mine = app
        .get_after(&ada, "/applications", &position)
        .await
        .expect(200);
    assert_eq!(mine["items"][0]["status"], "interviewing");
    assert_eq!(mine["counts"], json!({"interviewing": 1}));
    let theirs = app
        .get_after(
            &employer,
            &format!("/jobs/{job_id}/applications?status=interviewing"),
            &position,
        )
        .await
        .expect(200);
    assert_eq!(theirs["items"][0]["candidate_id"], ada.id.to_string());
    assert_eq!(theirs["counts"], json!({"interviewing": 1}));
    // The applicant's profile, in full, for the employer it applied to.
    let applicant = app
        .get(&employer, &format!("/candidates/{}", ada.id))
        .await
        .expect(200);
    assert_eq!(applicant["email"], "ada@example.com");
    let stranger = env.user(Role::Employer);
    app.get(&stranger, &format!("/jobs/{job_id}/applications"))
        .await
        .expect(403);

    app.stop().await;
    env.cleanup().await;
}
