//! Logs and traces. Logs: readable text locally, JSON lines in production; `RUST_LOG`
//! overrides the filter. Traces: when an OTLP endpoint is configured, every span (a request,
//! a command, a relay batch, a projector batch, a reaction) is exported over OTLP/gRPC, and
//! the spine carries the trace from one part to the next (`commands::trace`).

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::settings::{LogFormat, LogSettings, TelemetrySettings};

/// What must outlive the process's work: the trace exporter, flushed by [`Telemetry::shutdown`].
#[derive(Debug, Default)]
#[must_use = "dropping it does not flush the spans not yet exported"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Whether spans are exported.
    pub fn exports_traces(&self) -> bool {
        self.provider.is_some()
    }

    /// Exports the spans still buffered and stops the exporter.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider {
            if let Err(error) = provider.shutdown() {
                tracing::warn!(%error, "traces not all exported");
            }
        }
    }
}

/// The OTLP endpoint: the setting, else the standard `OTEL_EXPORTER_OTLP_ENDPOINT`.
fn endpoint(telemetry: &TelemetrySettings) -> Option<String> {
    Some(telemetry.otlp_endpoint.clone())
        .filter(|e| !e.is_empty())
        .or_else(|| std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok())
        .filter(|e| !e.trim().is_empty())
}

/// Installs the process's subscriber: logs, and traces when an endpoint is configured. Must
/// run inside the Tokio runtime (the exporter's gRPC channel lives there). A second call
/// (tests start several apps) keeps the first subscriber.
pub fn init(log: &LogSettings, telemetry: &TelemetrySettings) -> Telemetry {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let provider = endpoint(telemetry).and_then(|endpoint| {
        match tracer_provider(&endpoint, &telemetry.service_name) {
            Ok(provider) => Some(provider),
            Err(error) => {
                eprintln!("traces are not exported: {error}");
                None
            }
        }
    });
    let traces = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("hirestream")));
    let registry = tracing_subscriber::registry().with(filter).with(traces);
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let installed = match log.format {
        LogFormat::Text => registry.with(logs).try_init(),
        LogFormat::Json => registry.with(logs.json().flatten_event(true)).try_init(),
    };
    match installed {
        Ok(()) => Telemetry { provider },
        Err(_) => Telemetry::default(),
    }
}

fn tracer_provider(
    endpoint: &str,
    service_name: &str,
) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_owned())
                .build(),
        )
        .build())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use opentelemetry::trace::{Tracer as _, TracerProvider as _};
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
        TraceService, TraceServiceServer,
    };
    use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
    };

    use super::*;

    /// An OTLP/gRPC collector that keeps what it receives.
    #[derive(Debug, Clone, Default)]
    struct Collector(Arc<Mutex<Vec<ExportTraceServiceRequest>>>);

    #[tonic::async_trait]
    impl TraceService for Collector {
        async fn export(
            &self,
            request: tonic::Request<ExportTraceServiceRequest>,
        ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
            self.0.lock().expect("requests").push(request.into_inner());
            Ok(tonic::Response::new(ExportTraceServiceResponse {
                partial_success: None,
            }))
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn spans_reach_an_otlp_collector_over_grpc_under_the_service_name() {
        let collector = Collector::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(collector.clone()))
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
        );
        let provider =
            tracer_provider(&format!("http://{addr}"), "hirestream-test").expect("provider");
        provider.tracer("test").in_span("checked", |_| {});
        // Shutting down flushes the batch: it blocks, off the runtime's threads.
        tokio::task::spawn_blocking(move || provider.shutdown())
            .await
            .expect("joined")
            .expect("exported");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let received = loop {
            let received = collector.0.lock().expect("requests").clone();
            if !received.is_empty() || tokio::time::Instant::now() > deadline {
                break received;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let resource = received
            .iter()
            .flat_map(|r| &r.resource_spans)
            .find(|r| {
                r.scope_spans
                    .iter()
                    .flat_map(|s| &s.spans)
                    .any(|s| s.name == "checked")
            })
            .unwrap_or_else(|| panic!("no span named checked in {received:?}"));
        let service = resource
            .resource
            .as_ref()
            .into_iter()
            .flat_map(|r| &r.attributes)
            .find(|a| a.key == "service.name")
            .expect("service.name");
        assert!(
            format!("{service:?}").contains("hirestream-test"),
            "{service:?}"
        );
    }
}
