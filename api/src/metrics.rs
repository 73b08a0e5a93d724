//! Metrics in Prometheus' text format. Every part records through the `metrics` facade into
//! one recorder per process; the API renders it at `/metrics`, and a process without an API
//! (the relay, the projectors) serves the same route on `metrics.addr`.
//!
//! The names (all `hirestream_`): `http_requests_total` and `http_request_duration_seconds`
//! by method, route and status; `commands_total` by aggregate, command and outcome and
//! `command_conflict_retries_total`; `relay_published_total`, `relay_failures_total`,
//! `relay_lag_events`, `relay_lag_seconds`; per projection `projector_events_applied_total`,
//! `projector_events_skipped_total`, `projector_batch_duration_seconds`,
//! `projector_lag_events` and `projector_lag_seconds`; `llm_calls_total`,
//! `llm_tokens_total` and `llm_cost_microdollars_total` by provider and model;
//! `embeddings_computed_total` and `embedding_cache_hits_total` by model; and
//! `sse_connections`.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio_util::sync::CancellationToken;

/// Bucket bounds of every duration, in seconds: a millisecond to a minute.
const SECONDS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed by the first caller. Several apps in one process (the
/// tests) share it.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics shows nothing");
        }
        handle
    })
}

/// `GET /metrics`; installs the recorder, so that what the app records from then on shows.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    handle();
    Router::new().route("/metrics", get(render))
}

async fn render() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle().render(),
    )
        .into_response()
}

/// Counts each request and times it, by its route's template (`/jobs/{job_id}`), so that
/// ids do not make a series each.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(
        "hirestream_http_request_duration_seconds",
        "method" => method.clone(), "route" => route.clone()
    )
    .record(started.elapsed().as_secs_f64());
    metrics::counter!(
        "hirestream_http_requests_total",
        "method" => method, "route" => route, "status" => status
    )
    .increment(1);
    response
}

/// Drains the histograms now and then, as the exporter expects when it serves no listener
/// of its own; stops with `shutdown`.
pub async fn upkeep(shutdown: CancellationToken) {
    let handle = handle();
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => handle.run_upkeep(),
        }
    }
}

/// Serves `/metrics` alone on `listener`, for a process without an API.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router::<()>())
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::StatusCode;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn requests_are_counted_by_route_template_and_rendered_as_prometheus_text() {
        let app = Router::new()
            .route("/things/{id}", get(|| async { "a thing" }))
            .merge(router())
            .layer(axum::middleware::from_fn(track));
        for id in ["1", "2"] {
            let response = app
                .clone()
                .oneshot(
                    Request::get(format!("/things/{id}"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
        }
        let response = app
            .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        let line = text
            .lines()
            .find(|l| {
                l.starts_with("hirestream_http_requests_total{")
                    && l.contains("route=\"/things/{id}\"")
            })
            .unwrap_or_else(|| panic!("no request counter in:\n{text}"));
        assert!(line.contains("status=\"200\""), "{line}");
        assert!(line.ends_with(" 2"), "{line}");
        assert!(
            text.contains("hirestream_http_request_duration_seconds_bucket{"),
            "no latency histogram in:\n{text}"
        );
    }
}
