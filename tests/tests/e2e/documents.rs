use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use api::process::Parts;
use api::settings::LlmProvider;
use domain::Role;
use hirestream_tests::fixtures::ledger_entries;
use hirestream_tests::{eventually, Market, Response, RunningApp, TestEnv, User};
use projections::reactors::{DocumentWorker, Reaction, RetryPolicy};
use serde_json::{json, Value};
use uuid::Uuid;

/// The job of the documents' market: the resume is tailored to its skills.
fn rust_and_kafka() -> Value {
    json!({"title": "Senior Rust Engineer", "description": "Rust and Kafka.",
           "skills": [{"name": "Rust", "proficiency": "expert"},
                      {"name": "Kafka", "proficiency": "working"}]})
}

/// A market with the Rust and Kafka job, whose candidate has a profile stronger in Python
/// than in Rust and `credits` in the wallet.
async fn market(env: &TestEnv, app: &RunningApp, credits: i64) -> Market {
    let market = Market::with_job(env, app, rust_and_kafka()).await;
    app.put_candidate_profile(
        &market.candidate,
        json!({
            "headline": "Backend engineer",
            "skills": [{"name": "Python", "proficiency": "expert"},
                       {"name": "Rust", "proficiency": "working"}],
            "years_experience": 6, "remote": "remote",
            "experience": [{"title": "Engineer", "company": "Initech", "start": "2019-01-01",
                            "highlights": ["Wrote a billing service in Rust"]}]
        }),
    )
    .await
    .expect(200);
    if credits > 0 {
        market.with_credits(app, credits).await
    } else {
        market
    }
}

/// The market's candidate asks for a resume tailored to the market's job.
async fn request(app: &RunningApp, market: &Market, key: &str) -> Response {
    app.request_document(
        &market.candidate,
        json!({"kind": "resume", "job_id": market.job, "idempotency_key": key}),
    )
    .await
}

/// The document once it is no longer pending.
async fn finished(app: &RunningApp, user: &User, document: &str) -> Value {
    eventually(
        "the document to be written",
        Duration::from_secs(60),
        || async {
            let view = app.get(user, &format!("/documents/{document}")).await;
            (view.status == 200 && view["status"] != "pending").then_some(view.body)
        },
    )
    .await
}

/// The wallet's entries once the refund has reached the ledger (three entries).
async fn ledger_after_refund(env: &TestEnv, candidate: Uuid) -> Vec<(String, i64)> {
    eventually("the refund", Duration::from_secs(60), || async {
        let entries = ledger_entries(env, candidate).await;
        (entries.len() == 3).then_some(entries)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_requested_resume_is_written_by_the_local_provider_and_charged_once() {
    let env = TestEnv::new().await;
    let app = env.start(Parts::everything()).await;
    let market = market(&env, &app, 12).await;
    let (ada, candidate) = (&market.candidate, market.candidate.id);

    let started = Instant::now();
    let first = request(&app, &market, "resume-1").await.expect(202);
    assert_eq!(first["credits"], 5);
    let document = first["id"].as_str().expect("id").to_owned();
    // The same request again: the same document, no second charge.
    let again = request(&app, &market, "resume-1").await.expect(202);
    assert_eq!(again["id"], json!(document));

    let view = finished(&app, ada, &document).await;
    let elapsed = started.elapsed();
    eprintln!("request to ready with the local provider: {elapsed:?}");
    assert_eq!(view["status"], "ready", "{view}");
    assert_eq!(view["provider"], "local");
    assert_eq!(view["prompt_version"], "resume-v1");
    assert_eq!(view["version"], 1);
    let response = app
        .client
        .get(app.url(&format!("/documents/{document}/markdown")))
        .bearer_auth(&ada.token)
        .send()
        .await
        .expect("markdown");
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .starts_with("text/markdown"));
    let markdown = response.text().await.expect("text");
    assert!(markdown.starts_with("# Ada Lovelace"), "{markdown}");
    // The job's skill first, although the candidate is stronger in Python.
    assert!(
        markdown.find("Rust (working)") < markdown.find("Python (expert)"),
        "{markdown}"
    );
    let html = app
        .client
        .get(app.url(&format!("/documents/{document}/html")))
        .bearer_auth(&ada.token)
        .send()
        .await
        .expect("html")
        .text()
        .await
        .expect("text");
    assert!(html.contains("<h1>Ada Lovelace</h1>"), "{html}");

    assert_eq!(
        ledger_entries(&env, candidate).await,
        [("grant".into(), 12), ("charge".into(), -5)]
    );
    let today = chrono::Utc::now().date_naive();
    let usage = app
        .get(
            ada,
            &format!("/candidates/{candidate}/usage?from={today}&to={today}"),
        )
        .await
        .expect(200);
    assert_eq!(usage["days"][0]["calls"], 1);
    assert_eq!(usage["days"][0]["documents"], 1);

    // Seven credits left: a second resume (5) is fine, a third is refused and not requested.
    let started = Instant::now();
    let second = request(&app, &market, "resume-2").await.expect(202);
    let view = finished(&app, ada, second["id"].as_str().expect("id")).await;
    assert_eq!(
        (view["status"].clone(), view["version"].clone()),
        (json!("ready"), json!(2))
    );
    eprintln!("request to ready, workers warm: {:?}", started.elapsed());
    let before = env.event_count().await;
    request(&app, &market, "resume-3")
        .await
        .expect_error(402, "insufficient_credits");
    assert_eq!(env.event_count().await, before);

    // Another candidate cannot read it.
    let stranger = env.user(Role::Candidate);
    app.get(&stranger, &format!("/documents/{document}"))
        .await
        .expect(403);

    app.stop().await;
    env.cleanup().await;
}

/// One scripted answer of the stub chat-completions endpoint.
#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    retry_after: Option<&'static str>,
    body: String,
}

fn completion(text: &str) -> Reply {
    Reply {
        status: 200,
        retry_after: None,
        body: json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1_800_000_000,
            "model": "gpt-test-1",
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
                         "message": {"role": "assistant", "content": text, "refusal": null}}],
            "usage": {"prompt_tokens": 321, "completion_tokens": 123, "total_tokens": 444}
        })
        .to_string(),
    }
}

fn status(code: u16) -> Reply {
    Reply {
        status: code,
        retry_after: None,
        body: json!({"error": {"message": "try later", "type": "server_error", "param": null, "code": null}})
            .to_string(),
    }
}

/// A local HTTP server that speaks the chat-completions contract, answering from a script
/// (the last answer repeats) and recording each call.
#[derive(Debug, Clone)]
struct Stub {
    addr: SocketAddr,
    calls: Arc<Mutex<Vec<(Instant, Value)>>>,
}

impl Stub {
    async fn start(script: Vec<Reply>) -> Self {
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let calls = Arc::new(Mutex::new(Vec::new()));
        let (s, c) = (script.clone(), calls.clone());
        let router = axum::Router::new().route(
            "/v1/chat/completions",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let (script, calls) = (s.clone(), c.clone());
                    async move {
                        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        let authorized = headers
                            .get("authorization")
                            .is_some_and(|v| v == "Bearer sk-test");
                        calls.lock().expect("calls").push((Instant::now(), request));
                        let reply = {
                            let mut script = script.lock().expect("script");
                            if script.len() > 1 {
                                script.pop_front()
                            } else {
                                script.front().cloned()
                            }
                        }
                        .unwrap_or_else(|| status(500));
                        let reply = if authorized { reply } else { status(401) };
                        let mut response = axum::response::Response::builder()
                            .status(reply.status)
                            .header("content-type", "application/json");
                        if let Some(seconds) = reply.retry_after {
                            response = response.header("retry-after", seconds);
                        }
                        response
                            .body(axum::body::Body::from(reply.body))
                            .expect("response")
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { addr, calls }
    }

    fn calls(&self) -> Vec<(Instant, Value)> {
        self.calls.lock().expect("calls").clone()
    }
}

/// An app whose documents are written by the stub.
async fn with_stub(script: Vec<Reply>) -> (TestEnv, RunningApp, Stub) {
    let stub = Stub::start(script).await;
    let mut env = TestEnv::new().await;
    env.settings.llm.provider = LlmProvider::Openai;
    env.settings.llm.base_url = format!("http://{}/v1", stub.addr);
    env.settings.llm.api_key = api::settings::Secret::new("sk-test");
    env.settings.llm.model = "gpt-test".into();
    env.settings.llm.max_attempts = 3;
    env.settings.llm.first_backoff_ms = 10;
    env.settings.llm.max_backoff_ms = 5_000;
    let app = env.start(Parts::everything()).await;
    (env, app, stub)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_openai_compatible_provider_writes_the_document_and_its_usage_is_recorded() {
    let (env, app, stub) = with_stub(vec![completion("# Ada\n\nWritten by a model.")]).await;
    let market = market(&env, &app, 10).await;
    let (ada, candidate) = (&market.candidate, market.candidate.id);
    let requested = request(&app, &market, "k").await;
    let document = requested.id();
    let view = finished(&app, ada, &document).await;
    assert_eq!(view["status"], "ready", "{view}");
    assert_eq!(view["content"], "# Ada\n\nWritten by a model.");
    assert_eq!(
        (view["provider"].clone(), view["model"].clone()),
        (json!("openai"), json!("gpt-test-1"))
    );
    assert_eq!(
        (view["input_tokens"].clone(), view["output_tokens"].clone()),
        (json!(321), json!(123))
    );
    // 321 tokens at 150 and 123 at 600 millionths of a dollar per thousand.
    assert_eq!(view["cost_micros"], (321 * 150 + 123 * 600) / 1000);
    let calls = stub.calls();
    assert_eq!(calls.len(), 1);
    let sent = &calls[0].1;
    assert_eq!(sent["model"], "gpt-test");
    assert_eq!(sent["messages"][0]["role"], "system");
    assert!(sent["messages"][1]["content"]
        .as_str()
        .unwrap_or_default()
        .contains("Senior Rust Engineer"));
    assert_eq!(
        ledger_entries(&env, candidate).await,
        [("grant".into(), 10), ("charge".into(), -5)]
    );

    // The request event delivered again: the document is finished, nobody is called.
    let event = requested_event(&env, &document).await;
    let worker = DocumentWorker::new(
        Arc::new(commands::CommandService::new(
            env.pool.clone(),
            5,
            commands::privacy::MasterKeys::development(),
        )),
        api::process::writer(&env.settings),
        RetryPolicy {
            max_attempts: 3,
            first_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_secs(1),
        },
    );
    worker.react(&event).await.expect("redelivery");
    assert_eq!(stub.calls().len(), 1);
    assert_eq!(ledger_entries(&env, candidate).await.len(), 2);

    app.stop().await;
    env.cleanup().await;
}

async fn requested_event(env: &TestEnv, document: &str) -> domain::published::PublishedEvent {
    let (payload, metadata, global_position, recorded_at): (
        Value,
        Value,
        i64,
        chrono::DateTime<chrono::Utc>,
    ) = sqlx::query_as(
        "SELECT payload, metadata, global_position, recorded_at FROM events
              WHERE aggregate_id = $1 AND sequence = 1",
    )
    .bind(document)
    .fetch_one(&env.pool)
    .await
    .expect("request event");
    domain::published::PublishedEvent {
        aggregate_type: "document".into(),
        aggregate_id: document.to_owned(),
        sequence: 1,
        event_type: "DocumentRequested".into(),
        event_version: "1.0".into(),
        payload,
        metadata: serde_json::from_value(metadata).expect("metadata"),
        global_position,
        recorded_at,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rate_limit_is_waited_out_for_as_long_as_retry_after_says() {
    let limited = Reply {
        status: 429,
        retry_after: Some("1"),
        body: json!({"error": {"message": "slow down", "type": "rate_limit_error", "param": null, "code": null}})
            .to_string(),
    };
    let (env, app, stub) = with_stub(vec![limited, completion("# Ada")]).await;
    let market = market(&env, &app, 10).await;
    let (ada, candidate) = (&market.candidate, market.candidate.id);
    let requested = request(&app, &market, "k").await;
    let view = finished(&app, ada, &requested.id()).await;
    assert_eq!(
        (view["status"].clone(), view["attempts"].clone()),
        (json!("ready"), json!(2))
    );
    let calls = stub.calls();
    assert_eq!(calls.len(), 2);
    let waited = calls[1].0 - calls[0].0;
    assert!(
        waited >= Duration::from_secs(1),
        "retried after {waited:?}, before Retry-After"
    );
    assert_eq!(
        ledger_entries(&env, candidate).await,
        [("grant".into(), 10), ("charge".into(), -5)]
    );
    app.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_provider_that_keeps_failing_fails_the_document_and_refunds_it_once() {
    let (env, app, stub) = with_stub(vec![status(500)]).await;
    let market = market(&env, &app, 10).await;
    let (ada, candidate) = (&market.candidate, market.candidate.id);
    let requested = request(&app, &market, "k").await;
    let document = requested.id();
    let view = finished(&app, ada, &document).await;
    assert_eq!(view["status"], "failed", "{view}");
    assert!(
        view["failure_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("500"),
        "{view}"
    );
    assert_eq!(stub.calls().len(), 3, "bounded retries");
    let ledger = ledger_after_refund(&env, candidate).await;
    assert_eq!(
        ledger,
        [
            ("grant".into(), 10),
            ("charge".into(), -5),
            ("refund".into(), 5)
        ]
    );
    app.get(ada, &format!("/documents/{document}/markdown"))
        .await
        .expect(409);
    app.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_malformed_answer_fails_at_once_with_a_clear_reason_and_is_refunded() {
    let garbage = Reply {
        status: 200,
        retry_after: None,
        body: "{\"choices\": \"not a list\"".into(),
    };
    let (env, app, stub) = with_stub(vec![garbage]).await;
    let market = market(&env, &app, 10).await;
    let (ada, candidate) = (&market.candidate, market.candidate.id);
    let requested = request(&app, &market, "k").await;
    let view = finished(&app, ada, &requested.id()).await;
    assert_eq!(view["status"], "failed", "{view}");
    assert!(
        view["failure_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("malformed"),
        "{view}"
    );
    assert_eq!(stub.calls().len(), 1, "a malformed answer is not retried");
    let ledger = ledger_after_refund(&env, candidate).await;
    assert_eq!(
        ledger,
        [
            ("grant".into(), 10),
            ("charge".into(), -5),
            ("refund".into(), 5)
        ]
    );
    app.stop().await;
    env.cleanup().await;
}
