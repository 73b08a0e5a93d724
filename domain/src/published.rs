//! The contract between the write side and every reader of the Kafka topics: the topic names,
//! the metadata every event carries, and the JSON value of a published event.

use schemars::JsonSchema;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The topic that carries the events of one aggregate type: `<prefix>.<aggregate>.events`.
/// The prefix is `hirestream` in production; tests choose their own.
pub fn topic(prefix: &str, aggregate_type: &str) -> String {
    format!("{prefix}.{aggregate_type}.events")
}

/// Keys of the metadata stored with every event.
pub mod metadata {
    pub const ACTOR_SUBJECT: &str = "actor_subject";
    pub const ACTOR_ROLE: &str = "actor_role";
    /// The member account that acted for an organization (the actor), when one did.
    pub const ACTOR_MEMBER: &str = "actor_member";
    pub const CORRELATION_ID: &str = "correlation_id";
    pub const CAUSATION_ID: &str = "causation_id";
    pub const REQUEST_ID: &str = "request_id";
    pub const COMMAND: &str = "command";
    /// The W3C trace context of the work that appended the event (`00-<trace>-<span>-<flags>`),
    /// when it was traced: the relay, the projectors and the reactors continue that trace.
    pub const TRACEPARENT: &str = "traceparent";
}

/// One committed event as the relay publishes it: the Kafka message value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PublishedEvent {
    pub aggregate_type: String,
    pub aggregate_id: String,
    /// The aggregate's version after this event, from 1.
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    /// The event itself, as the aggregate's event enum serializes it.
    pub payload: serde_json::Value,
    pub metadata: HashMap<String, String>,
    /// Position in the event store, unique and increasing in insertion order.
    pub global_position: i64,
    pub recorded_at: DateTime<Utc>,
}

impl PublishedEvent {
    /// Decodes the payload as the event enum of aggregate `A`.
    pub fn decode<E: serde::de::DeserializeOwned>(&self) -> Result<E, serde_json::Error> {
        E::deserialize(&self.payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_named_after_the_aggregate() {
        assert_eq!(topic("hirestream", "pairing"), "hirestream.pairing.events");
    }
}
