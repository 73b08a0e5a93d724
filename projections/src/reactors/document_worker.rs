//! The document worker: for each requested document, builds the prompt from the candidate's
//! profile and the target job, calls the provider (retrying transient failures with
//! exponential backoff, honouring a rate limit's Retry-After), and records the document or
//! the failure.

use std::sync::Arc;
use std::time::{Duration, Instant};

use commands::providers::{DocumentWriter, ProviderError, Written};
use commands::CommandService;
use cqrs_es::Aggregate;
use domain::document::{Document, DocumentEvent, DocumentStatus, Generation};
use domain::published::PublishedEvent;
use uuid::Uuid;

use super::{context_for, Reaction};
use crate::Error;

/// The subject the worker acts as.
pub const DOCUMENT_WORKER: Uuid = Uuid::from_u128(0xd0c5_0000_0000_4000_8000_0000_0000_0001);

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Provider calls per document, the first included.
    pub max_attempts: i32,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// The pause before attempt `attempt + 1`: doubling from `first_backoff`, or what the
    /// provider asked for, never more than `max_backoff`.
    pub fn pause(&self, attempt: i32, asked: Option<Duration>) -> Duration {
        let doubled = self
            .first_backoff
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1) as u32));
        asked.unwrap_or(doubled).min(self.max_backoff)
    }
}

#[derive(Debug, Clone)]
pub struct DocumentWorker {
    commands: Arc<CommandService>,
    writer: Arc<dyn DocumentWriter>,
    retry: RetryPolicy,
}

impl DocumentWorker {
    pub fn new(
        commands: Arc<CommandService>,
        writer: Arc<dyn DocumentWriter>,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            commands,
            writer,
            retry,
        }
    }
}

impl Reaction for DocumentWorker {
    const NAME: &'static str = "document-worker";
    const AGGREGATE_TYPES: &'static [&'static str] = &[Document::TYPE];

    async fn react(&self, event: &PublishedEvent) -> Result<(), Error> {
        if event.event_type != "DocumentRequested" {
            return Ok(());
        }
        let DocumentEvent::DocumentRequested { document_id, .. } =
            event.decode().map_err(|e| Error::payload(event, e))?
        else {
            return Ok(());
        };
        // A redelivered request for a finished document calls nobody.
        let document = self.commands.document(document_id).await?;
        if document.status != Some(DocumentStatus::Pending) {
            tracing::debug!(%document_id, "document already finished");
            return Ok(());
        }
        let prompt = self.commands.document_prompt(&document).await?;
        let ctx = context_for(event, DOCUMENT_WORKER);
        let provider = self.writer.provider();
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.writer.write(&prompt).await;
            record_call(provider, &outcome);
            match outcome {
                Ok(written) => {
                    let generation = Generation {
                        content: written.content,
                        provider: provider.into(),
                        model: written.model,
                        prompt_version: prompt.version().into(),
                        input_tokens: written.input_tokens,
                        output_tokens: written.output_tokens,
                        cost_micros: written.cost_micros,
                        latency_ms: started.elapsed().as_millis() as i64,
                        attempts: attempt,
                    };
                    self.commands
                        .complete_document(&ctx, document_id, generation)
                        .await?;
                    return Ok(());
                }
                Err(error) if error.is_retryable() && attempt < self.retry.max_attempts => {
                    let asked = match &error {
                        ProviderError::RateLimited { retry_after } => *retry_after,
                        _ => None,
                    };
                    let pause = self.retry.pause(attempt, asked);
                    tracing::info!(%document_id, attempt, ?pause, %error, "provider call failed, retrying");
                    tokio::time::sleep(pause).await;
                }
                Err(error) => {
                    let reason = format!("{error} (after {attempt} attempts)");
                    tracing::warn!(%document_id, %reason, "document generation failed");
                    self.commands
                        .fail_document(&ctx, document_id, reason, provider, attempt)
                        .await?;
                    return Ok(());
                }
            }
        }
    }
}

/// Counts a provider call: by outcome, and for a success its tokens and cost by model.
fn record_call(provider: &'static str, outcome: &Result<Written, ProviderError>) {
    let written = match outcome {
        Ok(written) => written,
        Err(error) => {
            let outcome = if error.is_retryable() {
                "retryable"
            } else {
                "failed"
            };
            metrics::counter!("hirestream_llm_calls_total", "provider" => provider, "outcome" => outcome)
                .increment(1);
            return;
        }
    };
    metrics::counter!("hirestream_llm_calls_total", "provider" => provider, "outcome" => "ok")
        .increment(1);
    let model = written.model.clone();
    metrics::counter!("hirestream_llm_tokens_total", "provider" => provider, "model" => model.clone(), "kind" => "input")
        .increment(written.input_tokens.max(0) as u64);
    metrics::counter!("hirestream_llm_tokens_total", "provider" => provider, "model" => model.clone(), "kind" => "output")
        .increment(written.output_tokens.max(0) as u64);
    metrics::counter!("hirestream_llm_cost_microdollars_total", "provider" => provider, "model" => model)
        .increment(written.cost_micros.max(0) as u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_honours_retry_after_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 5,
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        };
        assert_eq!(policy.pause(1, None), Duration::from_millis(100));
        assert_eq!(policy.pause(3, None), Duration::from_millis(400));
        assert_eq!(policy.pause(10, None), Duration::from_secs(2));
        assert_eq!(
            policy.pause(1, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        assert_eq!(
            policy.pause(1, Some(Duration::from_secs(60))),
            Duration::from_secs(2)
        );
    }
}
