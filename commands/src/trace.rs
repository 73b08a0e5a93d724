//! W3C trace context across the spine. A request's trace rides in the metadata of the events
//! it appends (`traceparent`), in a Kafka header of each published event, and every part that
//! handles an event (the relay, each projector, each reactor) makes its span a child of it, so
//! one trace shows a request from the API to every read model it changed.
//!
//! Without an OpenTelemetry layer (no exporter configured), spans carry no trace context:
//! nothing here does anything, and an incoming `traceparent` is kept as it came.

use std::collections::{HashMap, HashSet};

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

pub use domain::published::metadata::TRACEPARENT;

/// The trace context `traceparent` names, if it is a valid one.
fn context_of(traceparent: &str) -> Option<opentelemetry::Context> {
    let carrier = HashMap::from([(TRACEPARENT.to_owned(), traceparent.to_owned())]);
    let context = TraceContextPropagator::new().extract(&carrier);
    context.span().span_context().is_valid().then_some(context)
}

/// `traceparent` in its canonical form, or `None` when it is not a valid trace context.
pub fn valid(traceparent: &str) -> Option<String> {
    let context = context_of(traceparent.trim())?;
    inject(&context)
}

fn inject(context: &opentelemetry::Context) -> Option<String> {
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(context, &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// Makes `span` a child of the trace `traceparent` names, if any, unless the span it was
/// created in already belongs to that trace (an event's span inside its batch's).
pub fn continue_trace(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(context) = traceparent.and_then(context_of) else {
        return;
    };
    let trace = context.span().span_context().trace_id();
    let enclosing = tracing::Span::current().context();
    if enclosing.span().span_context().trace_id() != trace {
        let _ = span.set_parent(context);
    }
}

/// Continues the one trace all `traceparents` share; when they name several (a batch of
/// events from many requests), links `span` to each instead.
pub fn continue_or_link<'a>(
    span: &tracing::Span,
    traceparents: impl IntoIterator<Item = Option<&'a str>>,
) {
    // A batch's events mostly share a few traces: each distinct one is parsed once, and spans
    // keep a bounded number of links.
    const MOST_LINKS: usize = 128;
    let mut seen = HashSet::new();
    let mut contexts: Vec<opentelemetry::trace::SpanContext> = Vec::new();
    for traceparent in traceparents.into_iter().flatten() {
        if contexts.len() == MOST_LINKS {
            break;
        }
        if !seen.insert(traceparent) {
            continue;
        }
        if let Some(context) = context_of(traceparent) {
            contexts.push(context.span().span_context().clone());
        }
    }
    match contexts.as_slice() {
        [] => {}
        [one] => {
            let parent = opentelemetry::Context::new().with_remote_span_context(one.clone());
            let _ = span.set_parent(parent);
        }
        many => {
            for context in many {
                span.add_link(context.clone());
            }
        }
    }
}

/// The `traceparent` of `span`, when it belongs to a trace.
pub fn traceparent_of(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    inject(&context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_valid_trace_context_is_kept_and_in_its_canonical_form() {
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(valid(traceparent).as_deref(), Some(traceparent));
        assert_eq!(
            valid(&format!(" {traceparent} ")).as_deref(),
            Some(traceparent)
        );
        for bad in [
            "",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "garbage",
        ] {
            assert_eq!(valid(bad), None, "{bad}");
        }
    }

    #[test]
    fn without_a_tracing_layer_a_span_has_no_trace_context() {
        let span = tracing::info_span!("untraced");
        continue_trace(
            &span,
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        );
        assert_eq!(traceparent_of(&span), None);
    }
}
