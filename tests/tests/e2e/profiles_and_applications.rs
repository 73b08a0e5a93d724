use std::time::Duration;

use api::process::Parts;
use domain::Role;
use hirestream_tests::{eventually, RunningApp, TestEnv};
use reqwest::Method;
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

async fn import(app: &RunningApp, admin: &str, employer: Uuid, feed: &str) -> Value {
    let (status, report) = app
        .call(
            Method::POST,
            "/admin/imports",
            Some(admin),
            Some(json!({"source": "greenhouse", "employer_id": employer,
                        "feed": serde_json::from_str::<Value>(feed).expect("fixture")})),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    report
}

/// The sorted titles of the jobs `query` lists, once they are `expected`: the events of
/// different jobs reach the view in no fixed order, so a count alone can be reached early.
async fn titles(app: &RunningApp, token: &str, query: &str, expected: &[&str]) -> Vec<String> {
    eventually(
        &format!("jobs {expected:?} for {query}"),
        Duration::from_secs(30),
        || async {
            let (status, page) = app
                .call(Method::GET, &format!("/jobs?{query}"), Some(token), None)
                .await;
            let mut titles: Vec<String> = page["items"]
                .as_array()?
                .iter()
                .filter_map(|j| j["title"].as_str().map(str::to_owned))
                .collect();
            titles.sort();
            (status == 200 && titles == expected).then_some(titles)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_imported_job_gets_an_application_that_moves_to_interviewing() {
    let env = TestEnv::new().await;
    let app = env.start(Parts::everything()).await;
    let (employer, candidate) = (Uuid::new_v4(), Uuid::new_v4());
    let admin = env.token(Uuid::new_v4(), Role::Admin);
    let employer_token = env.token(employer, Role::Employer);
    let candidate_token = env.token(candidate, Role::Candidate);

    app.call(
        Method::POST,
        "/employers",
        Some(&employer_token),
        Some(json!({"name": "Acme Robotics"})),
    )
    .await;
    let (status, _) = app
        .call(
            Method::PUT,
            &format!("/employers/{employer}/profile"),
            Some(&employer_token),
            Some(
                json!({"name": "Acme Robotics", "size": "small", "industry": "Robotics",
                        "pace": "fast", "website": "https://acme-robotics.example"}),
            ),
        )
        .await;
    assert_eq!(status, 200);

    // The feed: three good postings and one without an id.
    let report = import(&app, &admin, employer, GREENHOUSE).await;
    assert_eq!(report["received"], 4);
    assert_eq!(report["posted"], 3);
    assert_eq!(
        report["rejected"],
        json!([{"index": 3, "reason": "`id` is missing or not a number"}])
    );
    let employer_filter = format!("employer_id={employer}");
    assert_eq!(
        titles(
            &app,
            &candidate_token,
            &employer_filter,
            &["Data Analyst", "Office Manager", "Senior Rust Engineer"]
        )
        .await,
        ["Data Analyst", "Office Manager", "Senior Rust Engineer"]
    );
    assert_eq!(
        titles(
            &app,
            &candidate_token,
            &format!("{employer_filter}&remote=remote"),
            &["Data Analyst"]
        )
        .await,
        ["Data Analyst"]
    );
    assert_eq!(
        titles(
            &app,
            &candidate_token,
            &format!("{employer_filter}&q=robots&location=berlin"),
            &["Senior Rust Engineer"]
        )
        .await,
        ["Senior Rust Engineer"]
    );
    assert_eq!(
        titles(
            &app,
            &candidate_token,
            &format!("{employer_filter}&skill=kafka"),
            &["Senior Rust Engineer"]
        )
        .await,
        ["Senior Rust Engineer"]
    );
    // Paging: one at a time, with the cursor.
    let (_, first) = app
        .call(
            Method::GET,
            &format!("/jobs?{employer_filter}&limit=2"),
            Some(&candidate_token),
            None,
        )
        .await;
    let cursor = first["next_cursor"]
        .as_str()
        .expect("more pages")
        .to_owned();
    let (_, second) = app
        .call(
            Method::GET,
            &format!("/jobs?{employer_filter}&limit=2&cursor={cursor}"),
            Some(&candidate_token),
            None,
        )
        .await;
    assert_eq!(second["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(second["next_cursor"], Value::Null);

    // Importing again with one change and one removal: one update, one closing.
    let report = import(&app, &admin, employer, GREENHOUSE_CHANGED).await;
    assert_eq!(
        (
            report["posted"].clone(),
            report["updated"].clone(),
            report["unchanged"].clone(),
            report["closed"].clone()
        ),
        (json!(0), json!(1), json!(1), json!(1))
    );
    assert_eq!(
        titles(
            &app,
            &candidate_token,
            &employer_filter,
            &["Senior Data Analyst", "Senior Rust Engineer"]
        )
        .await,
        ["Senior Data Analyst", "Senior Rust Engineer"]
    );
    assert_eq!(
        titles(
            &app,
            &candidate_token,
            &format!("{employer_filter}&status=closed"),
            &["Office Manager"]
        )
        .await,
        ["Office Manager"]
    );
    // The same feed once more changes nothing.
    let events = env.event_count().await;
    let report = import(&app, &admin, employer, GREENHOUSE_CHANGED).await;
    assert_eq!(report["unchanged"], 2);
    assert_eq!(env.event_count().await, events);

    // The candidate registers and fills a profile; a bad one is refused field by field.
    app.call(
        Method::POST,
        "/candidates",
        Some(&candidate_token),
        Some(json!({"name": "Ada Lovelace", "email": "ada@example.com"})),
    )
    .await;
    let mut bad = profile();
    bad["years_experience"] = json!(-3);
    bad["min_salary"]["currency"] = json!("euros");
    let (status, refused) = app
        .call(
            Method::PUT,
            &format!("/candidates/{candidate}/profile"),
            Some(&candidate_token),
            Some(bad),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(
        refused["error"]["details"]["fields"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let (status, written) = app
        .call(
            Method::PUT,
            &format!("/candidates/{candidate}/profile"),
            Some(&candidate_token),
            Some(profile()),
        )
        .await;
    assert_eq!(status, 200, "{written}");
    let (status, shown) = app
        .call(
            Method::GET,
            &format!(
                "/candidates/{candidate}?after={}",
                written["position"].as_str().expect("position")
            ),
            Some(&employer_token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["headline"], "Backend engineer");
    assert_eq!(shown["email"], "", "employers do not see the email address");

    // The candidate applies to the Rust job; the employer moves it to interviewing.
    let (_, rust_jobs) = app
        .call(
            Method::GET,
            &format!("/jobs?{employer_filter}&q=rust"),
            Some(&candidate_token),
            None,
        )
        .await;
    let job_id = rust_jobs["items"][0]["job_id"]
        .as_str()
        .expect("job")
        .to_owned();
    let (status, applied) = app
        .call(
            Method::POST,
            &format!("/jobs/{job_id}/applications"),
            Some(&candidate_token),
            Some(json!({"document_ids": []})),
        )
        .await;
    assert_eq!(status, 201, "{applied}");
    let application = applied["id"].as_str().expect("application").to_owned();
    let (status, again) = app
        .call(
            Method::POST,
            &format!("/jobs/{job_id}/applications"),
            Some(&candidate_token),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, again["error"]["code"].clone()),
        (409, json!("already_applied"))
    );

    let mut position = String::new();
    for stage in ["screening", "interviewing"] {
        let (status, moved) = app
            .call(
                Method::POST,
                &format!("/applications/{application}/status"),
                Some(&employer_token),
                Some(json!({"status": stage})),
            )
            .await;
        assert_eq!(status, 200, "{moved}");
        position = moved["position"].as_str().expect("position").to_owned();
    }
    let (status, skipped) = app
        .call(
            Method::POST,
            &format!("/applications/{application}/status"),
            Some(&employer_token),
            Some(json!({"status": "hired"})),
        )
        .await;
    assert_eq!(
        (status, skipped["error"]["code"].clone()),
        (409, json!("invalid_transition"))
    );
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/applications/{application}/status"),
            Some(&candidate_token),
            Some(json!({"status": "offered"})),
        )
        .await;
    assert_eq!(status, 403);

    // Both read models show it.
    let (status, mine) = app
        .call(
            Method::GET,
            &format!("/applications?after={position}"),
            Some(&candidate_token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["items"][0]["status"], "interviewing");
    assert_eq!(mine["counts"], json!({"interviewing": 1}));
    let (status, theirs) = app
        .call(
            Method::GET,
            &format!("/jobs/{job_id}/applications?after={position}&status=interviewing"),
            Some(&employer_token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{theirs}");
    assert_eq!(theirs["items"][0]["candidate_id"], candidate.to_string());
    assert_eq!(theirs["counts"], json!({"interviewing": 1}));
    let stranger = env.token(Uuid::new_v4(), Role::Employer);
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/jobs/{job_id}/applications"),
            Some(&stranger),
            None,
        )
        .await;
    assert_eq!(status, 403);

    app.stop().await;
    env.cleanup().await;
}
