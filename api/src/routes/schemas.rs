//! The published events' contracts for analysts: every event type's JSON Schema (the files
//! of `docs/events/`, derived from the types, see `domain::schemas`) and an AsyncAPI 3
//! document of the topics, their CloudEvents headers and their messages.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::routing::get;
use axum::{Json, Router};
use domain::schemas::{event_schemas, EventSchema};
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/schemas/events", get(index))
        .route("/schemas/events/{aggregate_type}/{file}", get(one))
        .route("/asyncapi.json", get(|| async { Json(asyncapi().clone()) }))
}

fn schemas() -> &'static [EventSchema] {
    static SCHEMAS: OnceLock<Vec<EventSchema>> = OnceLock::new();
    SCHEMAS.get_or_init(event_schemas)
}

fn url(schema: &EventSchema) -> String {
    format!("/schemas/events/{}", schema.path())
}

async fn index() -> Json<Value> {
    let listed: Vec<Value> = schemas()
        .iter()
        .map(|s| {
            json!({
                "aggregate_type": s.aggregate_type,
                "event_type": s.event_type,
                "event_version": s.event_version,
                "url": url(s),
            })
        })
        .collect();
    Json(json!({ "schemas": listed }))
}

async fn one(
    Path((aggregate_type, file)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let path = format!("{aggregate_type}/{file}");
    schemas()
        .iter()
        .find(|s| s.path() == path)
        .map(|s| Json(s.schema.clone()))
        .ok_or_else(|| ApiError::not_found("no such event schema; /schemas/events lists them"))
}

/// The AsyncAPI document, built once from the schemas.
fn asyncapi() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(build_asyncapi)
}

fn build_asyncapi() -> Value {
    let envelope = schemars::schema_for!(domain::published::PublishedEvent).to_value();
    let (mut channels, mut operations) = (Map::new(), Map::new());
    let (mut messages, mut schemas_out) = (Map::new(), Map::new());
    for aggregate_type in domain::AGGREGATE_TYPES {
        let mut channel_messages = Map::new();
        let mut refs = Vec::new();
        for schema in schemas()
            .iter()
            .filter(|s| s.aggregate_type == *aggregate_type)
        {
            let name = format!("{aggregate_type}.{}", schema.event_type);
            let mut payload = envelope.clone();
            let object = payload.as_object_mut().expect("an object schema");
            object.remove("$schema");
            object.insert(
                "title".into(),
                format!("{name} v{}", schema.event_version).into(),
            );
            let properties = object["properties"].as_object_mut().expect("properties");
            properties.insert("aggregate_type".into(), json!({ "const": aggregate_type }));
            properties.insert("event_type".into(), json!({ "const": schema.event_type }));
            properties.insert(
                "event_version".into(),
                json!({ "const": schema.event_version }),
            );
            // Relative to this document: the schema as /schemas/events serves it.
            properties.insert("payload".into(), json!({ "$ref": &url(schema)[1..] }));
            schemas_out.insert(name.clone(), payload);
            messages.insert(
                name.clone(),
                json!({
                    "name": schema.event_type,
                    "title": format!("{} ({aggregate_type})", schema.event_type),
                    "contentType": "application/json",
                    "headers": { "$ref": "#/components/schemas/headers" },
                    "payload": { "$ref": format!("#/components/schemas/{name}") },
                    "bindings": { "kafka": { "key": { "type": "string", "description": "the aggregate's id" } } },
                }),
            );
            let reference = json!({ "$ref": format!("#/components/messages/{name}") });
            channel_messages.insert(schema.event_type.clone(), reference);
            refs.push(json!({ "$ref": format!("#/channels/{aggregate_type}/messages/{}", schema.event_type) }));
        }
        channels.insert(
            (*aggregate_type).to_owned(),
            json!({
                "address": format!("{{prefix}}.{aggregate_type}.events"),
                "title": format!("The {aggregate_type} events"),
                "description": format!(
                    "Every {aggregate_type} event in commit order, keyed by the aggregate's id, so one \
                     aggregate's events keep their order within a partition. Kept forever."
                ),
                "parameters": { "prefix": { "$ref": "#/components/parameters/prefix" } },
                "messages": channel_messages,
            }),
        );
        operations.insert(
            format!("read{}", capitalized(aggregate_type)),
            json!({
                "action": "receive",
                "channel": { "$ref": format!("#/channels/{aggregate_type}") },
                "messages": refs,
            }),
        );
    }
    schemas_out.insert("headers".into(), headers());
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "Hirestream events",
            "version": domain::FIRST_EVENT_VERSION,
            "description": "The event store's events as the relay publishes them to Kafka: one \
                topic per aggregate type, JSON values, CloudEvents headers (binary mode). Each \
                event type's payload schema is also served at /schemas/events.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": { "host": "127.0.0.1:9092", "protocol": "kafka", "description": "scripts/services" },
            "compose": { "host": "127.0.0.1:9094", "protocol": "kafka", "description": "docker-compose.yml, from the host" },
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "parameters": {
                "prefix": { "default": "hirestream", "description": "kafka.topic_prefix" },
            },
            "messages": messages,
            "schemas": schemas_out,
        },
    })
}

/// The message headers the relay sets.
fn headers() -> Value {
    let text = |description: &str| json!({ "type": "string", "description": description });
    json!({
        "type": "object",
        "required": ["ce_specversion", "ce_id", "ce_type", "ce_source", "ce_subject", "ce_time",
                     "content-type", "hirestream_sequence", "hirestream_global_position",
                     "hirestream_event_version"],
        "properties": {
            "ce_specversion": { "const": "1.0" },
            "ce_id": text("<aggregate_type>/<aggregate_id>/<sequence>, unique per event"),
            "ce_type": text("hirestream.<aggregate_type>.<EventType>"),
            "ce_source": text("/hirestream/<aggregate_type>"),
            "ce_subject": text("the aggregate's id"),
            "ce_time": text("when the event was recorded, RFC 3339 in UTC"),
            "content-type": { "const": "application/json" },
            "hirestream_sequence": text("the aggregate's version after this event, from 1"),
            "hirestream_global_position": text("the event's position in the store"),
            "hirestream_event_version": text("the payload's schema version"),
        },
    })
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_of_the_asyncapi_document_resolves_to_a_served_schema() {
        let document = build_asyncapi();
        assert_eq!(document["asyncapi"], "3.0.0");
        let messages = document["components"]["messages"]
            .as_object()
            .expect("messages");
        assert_eq!(messages.len(), schemas().len());
        for (name, message) in messages {
            let schema_ref = message["payload"]["$ref"].as_str().expect("ref");
            let schema_name = schema_ref.trim_start_matches("#/components/schemas/");
            let payload = &document["components"]["schemas"][schema_name];
            let served = payload["properties"]["payload"]["$ref"]
                .as_str()
                .expect("payload ref");
            let path = served.trim_start_matches("schemas/events/");
            assert!(
                schemas().iter().any(|s| s.path() == path),
                "{name}: {served}"
            );
        }
        let pairing = &document["channels"]["pairing"];
        assert_eq!(pairing["address"], "{prefix}.pairing.events");
        assert!(pairing["messages"]["Matched"].is_object(), "{pairing}");
    }
}
