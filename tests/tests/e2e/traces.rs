//! One trace from a request through the relay to every read model it changed: the caller's
//! `traceparent` is continued by the API, written into the events' metadata and a Kafka
//! header, and continued by the relay and the projectors.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::consumer::Consumer;
use api::process::Parts;
use domain::pairing::Decision::Like;
use hirestream_tests::{eventually, Market, TestEnv};
use opentelemetry::trace::{SpanId, TraceId, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;

/// Keeps every span it is given.
#[derive(Debug, Clone, Default)]
struct Collected(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Collected {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.lock().expect("spans").extend(batch);
        Ok(())
    }
}

impl Collected {
    /// The spans of `trace`, and those linked to it (a batch of events of several traces
    /// links to each).
    fn of_trace(&self, trace: TraceId) -> Vec<SpanData> {
        let spans = self.0.lock().expect("spans");
        spans
            .iter()
            .filter(|s| {
                s.span_context.trace_id() == trace
                    || s.links.iter().any(|l| l.span_context.trace_id() == trace)
            })
            .cloned()
            .collect()
    }
}

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

// One thread: the tracing subscriber of this test is the thread's, so that every part of the
// app (spawned on this runtime) reports to it whatever other tests installed.
#[tokio::test(flavor = "current_thread")]
async fn a_swipe_is_one_trace_from_the_request_through_the_relay_to_the_match_view() {
    let spans = Collected::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(spans.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new("info"))
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    let _traced = tracing::subscriber::set_default(subscriber);

    let env = TestEnv::new().await;
    let app = env
        .start(Parts {
            api: true,
            relay: true,
            projectors: vec![Consumer::Matches, Consumer::Notifications],
        })
        .await;
    let Market {
        candidate,
        employer,
        job,
        ..
    } = Market::open(&env, &app).await;
    let first = app.swipe(&candidate, &job, Like).await.expect(200);
    let first = first["position"].as_str().expect("position");
    app.get_after(&candidate, "/matches", first)
        .await
        .expect(200);

    // The employer's swipe, in a trace of the caller's own.
    let trace = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").expect("trace id");
    let caller_span = SpanId::from_hex("00f067aa0ba902b7").expect("span id");
    let response = app
        .client
        .post(app.url(&format!("/jobs/{job}/candidates/{}/swipe", candidate.id)))
        .bearer_auth(&employer.token)
        .header("traceparent", format!("00-{trace}-{caller_span}-01"))
        .json(&json!({ "decision": "like" }))
        .send()
        .await
        .expect("swipe sent");
    assert_eq!(response.status(), 200);
    let swiped: serde_json::Value = response.json().await.expect("json");
    let position = swiped["position"].as_str().expect("position");
    let matches = app
        .get_after(&candidate, "/matches", position)
        .await
        .expect(200);
    assert_eq!(matches["matches"].as_array().map(Vec::len), Some(1));

    // The events name the trace, as the request's span saw it.
    let traceparent: String = sqlx::query_scalar(
        "SELECT metadata->>'traceparent' FROM events WHERE event_type = 'Matched'",
    )
    .fetch_one(&env.pool)
    .await
    .expect("matched event");
    assert!(
        traceparent.starts_with(&format!("00-{trace}-")),
        "{traceparent}"
    );

    let projected = |spans: &[SpanData], projection: &str| {
        spans.iter().any(|s| {
            s.name == "project_batch" && attribute(s, "projection").as_deref() == Some(projection)
        })
    };
    let traced = eventually("the trace's spans", Duration::from_secs(30), || {
        let found = spans.of_trace(trace);
        let complete = found.iter().any(|s| s.name == "request")
            && found.iter().any(|s| s.name == "relay_batch")
            && projected(&found, "matches")
            && projected(&found, "notifications");
        async move { complete.then_some(found) }
    })
    .await;
    let request = traced
        .iter()
        .find(|s| s.name == "request")
        .expect("request span");
    assert_eq!(request.parent_span_id, caller_span);
    let mut lines: Vec<String> = traced
        .iter()
        .map(|s| {
            let projection = attribute(s, "projection").unwrap_or_default();
            let linked = if s.span_context.trace_id() == trace {
                ""
            } else {
                " (linked)"
            };
            format!(
                "{} {} parent {} {} {projection}{linked}",
                s.span_context.trace_id(),
                s.span_context.span_id(),
                s.parent_span_id,
                s.name
            )
        })
        .collect();
    lines.sort();
    eprintln!("the swipe's trace:\n{}", lines.join("\n"));

    app.stop().await;
    env.cleanup().await;
    drop(_traced);
    provider.shutdown().ok();
}
