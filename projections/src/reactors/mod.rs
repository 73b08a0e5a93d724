//! Reactors: consumers that turn events into commands (the document worker, refunds).
//!
//! Unlike a projection, a reaction's effect is a command on the write side, which may take
//! long (a provider call) and must not run inside a database transaction. Delivery is
//! at-least-once: each reaction checks the current state before acting and issues only
//! idempotent commands, so a redelivered event does no harm.

mod document_worker;
mod refunds;

use std::future::Future;
use std::sync::Arc;

use commands::health::PartHealth;
use domain::published::PublishedEvent;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use document_worker::{DocumentWorker, RetryPolicy};
pub use refunds::DocumentRefunds;

use crate::runtime::{commit, decode, group_lag, store_offset, subscribe, topics, STALL_CHECK};
use crate::{Error, ProjectorConfig};

/// Something that reacts to events with commands.
pub trait Reaction: Send + Sync + 'static {
    const NAME: &'static str;
    const AGGREGATE_TYPES: &'static [&'static str];

    fn react(&self, event: &PublishedEvent) -> impl Future<Output = Result<(), Error>> + Send;
}

/// Runs one reaction as a Kafka consumer group, one event at a time.
#[derive(Debug)]
pub struct Reactor<R> {
    reaction: R,
    config: ProjectorConfig,
    health: PartHealth,
}

impl<R: Reaction> Reactor<R> {
    pub fn new(reaction: R, config: ProjectorConfig) -> Self {
        Self {
            reaction,
            config,
            health: PartHealth::detached(R::NAME),
        }
    }

    /// Reports this reactor's state and lag to `health`.
    pub fn with_health(mut self, health: PartHealth) -> Self {
        self.health = health;
        self
    }

    /// Reacts until `shutdown`; the event in hand is finished first.
    pub async fn run(&self, shutdown: CancellationToken) -> Result<(), Error> {
        let group = format!("{}.reactor.{}", self.config.topic_prefix, R::NAME);
        let consumer = Arc::new(subscribe(&self.config, &group, R::AGGREGATE_TYPES)?);
        tracing::info!(reactor = R::NAME, %group, "reactor started");
        self.health.running();
        let mut check = tokio::time::interval(STALL_CHECK);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let message = tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = check.tick() => {
                    let topics = topics(&self.config, R::AGGREGATE_TYPES);
                    if let Some(lag) = group_lag(Arc::clone(&consumer), topics).await {
                        self.health.lag(lag);
                    }
                    continue;
                }
                message = consumer.recv() => message,
            };
            let message = match message {
                Ok(message) => message,
                Err(error) => {
                    tracing::warn!(reactor = R::NAME, %error, "kafka consumer error");
                    self.health.problem(error.to_string());
                    tokio::time::sleep(self.config.retry_backoff).await;
                    continue;
                }
            };
            match decode(&message) {
                Ok(event) => {
                    let done = self
                        .react_until_done(&event, &shutdown)
                        .instrument(reaction_span(R::NAME, &event))
                        .await;
                    if !done {
                        break;
                    }
                }
                Err(error) => {
                    tracing::error!(reactor = R::NAME, %error, "skipping unreadable message")
                }
            }
            store_offset(&consumer, &message, R::NAME);
            self.health.progressed();
        }
        commit(&consumer)?;
        tracing::info!(reactor = R::NAME, "reactor stopped");
        Ok(())
    }

    /// Reacts, retrying while the failure is transient. False when shutdown interrupted a
    /// retry: the event is then left for the next run.
    async fn react_until_done(&self, event: &PublishedEvent, shutdown: &CancellationToken) -> bool {
        loop {
            match self.reaction.react(event).await {
                Ok(()) => return true,
                Err(error) if error.is_transient() => {
                    tracing::warn!(error = %domain::error_chain(&error), "reaction failed, retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return false,
                        _ = tokio::time::sleep(self.config.retry_backoff) => {}
                    }
                }
                Err(error) => {
                    tracing::error!(
                        sequence = event.sequence,
                        error = %domain::error_chain(&error),
                        "reaction refused; skipping the event"
                    );
                    return true;
                }
            }
        }
    }
}

/// The span a reaction runs in: the reactor, the event's aggregate and type, and the
/// correlation id it carries on into the commands the reaction issues.
pub fn reaction_span(reactor: &'static str, event: &PublishedEvent) -> tracing::Span {
    tracing::info_span!(
        "react",
        reactor,
        aggregate_id = %event.aggregate_id,
        event_type = %event.event_type,
        correlation_id = event
            .metadata
            .get(domain::published::metadata::CORRELATION_ID)
            .map(String::as_str),
    )
}

/// The metadata of the commands a reaction issues: the platform acts, the event is the
/// cause, and the correlation carries on.
pub(crate) fn context_for(event: &PublishedEvent, reactor: uuid::Uuid) -> commands::CommandContext {
    use domain::published::metadata;
    let cause = format!(
        "{}/{}/{}",
        event.aggregate_type, event.aggregate_id, event.sequence
    );
    commands::CommandContext {
        member: None,
        actor: domain::Actor::system(reactor),
        request_id: event
            .metadata
            .get(metadata::REQUEST_ID)
            .cloned()
            .unwrap_or_default(),
        correlation_id: event
            .metadata
            .get(metadata::CORRELATION_ID)
            .cloned()
            .unwrap_or_else(|| cause.clone()),
        causation_id: cause,
        // The reaction continues the trace of the event it handles (its span's, when traced).
        trace_parent: commands::trace::traceparent_of(&tracing::Span::current())
            .or_else(|| event.metadata.get(metadata::TRACEPARENT).cloned()),
    }
}
