//! The published events' contracts: a JSON Schema (draft 2020-12) for each event type and
//! version, derived from the event enums themselves (schemars), so that it cannot drift from
//! what the store writes. A payload is serde's external tagging of the aggregate's event enum,
//! `{"<EventType>": {...}}`, and each schema describes exactly that.
//!
//! The schemas are published in `docs/events/<aggregate>/<EventType>.v<version>.json` and at
//! `/schemas/events/...`; a test fails when the types and the published files part, and
//! [`breaking_changes`] tells a change old consumers survive from one that needs a new
//! `event_version` and an upcaster.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde_json::{Map, Value};

use crate::FIRST_EVENT_VERSION;

/// One event type's schema at one version.
#[derive(Debug, Clone, PartialEq)]
pub struct EventSchema {
    pub aggregate_type: &'static str,
    pub event_type: String,
    pub event_version: &'static str,
    pub schema: Value,
}

impl EventSchema {
    /// The schema's path under `docs/events/` and `/schemas/events/`.
    pub fn path(&self) -> String {
        format!(
            "{}/{}.v{}.json",
            self.aggregate_type, self.event_type, self.event_version
        )
    }
}

/// The schema of every event type of every aggregate, in the order of
/// [`crate::AGGREGATE_TYPES`], then of each enum's variants.
pub fn event_schemas() -> Vec<EventSchema> {
    use crate::{account, application, candidate, document, employer, job, pairing, wallet};
    let mut all = Vec::new();
    split::<candidate::CandidateEvent>(type_of::<candidate::Candidate>(), &mut all);
    split::<employer::EmployerEvent>(type_of::<employer::Employer>(), &mut all);
    split::<job::JobEvent>(type_of::<job::Job>(), &mut all);
    split::<pairing::PairingEvent>(type_of::<pairing::Pairing>(), &mut all);
    split::<wallet::WalletEvent>(type_of::<wallet::Wallet>(), &mut all);
    split::<application::ApplicationEvent>(type_of::<application::Application>(), &mut all);
    split::<document::DocumentEvent>(type_of::<document::Document>(), &mut all);
    split::<account::AccountEvent>(type_of::<account::Account>(), &mut all);
    all
}

fn type_of<A: cqrs_es::Aggregate>() -> &'static str {
    A::TYPE
}

/// One schema per variant of `E`'s `oneOf`, each with the definitions it refers to.
fn split<E: JsonSchema>(aggregate_type: &'static str, out: &mut Vec<EventSchema>) {
    let root = schemars::schema_for!(E).to_value();
    let defs = root.get("$defs").and_then(Value::as_object);
    for variant in root["oneOf"].as_array().into_iter().flatten() {
        let event_type = variant["required"][0]
            .as_str()
            .or_else(|| variant["const"].as_str())
            .expect("an externally tagged variant names itself")
            .to_owned();
        let mut schema = Map::new();
        schema.insert(
            "$schema".into(),
            "https://json-schema.org/draft/2020-12/schema".into(),
        );
        schema.insert(
            "title".into(),
            format!("{aggregate_type} {event_type} v{FIRST_EVENT_VERSION}").into(),
        );
        if let Some(Value::String(text)) = variant.get("description") {
            schema.insert("description".into(), text.clone().into());
        }
        for (key, value) in variant.as_object().into_iter().flatten() {
            if key != "description" {
                schema.insert(key.clone(), value.clone());
            }
        }
        let empty = Map::new();
        let defs = defs.unwrap_or(&empty);
        if let Some(personal) = crate::personal::personal_fields(aggregate_type, &event_type) {
            let body = &mut schema["properties"][&event_type];
            for (path, _) in personal.fields {
                let path: Vec<&str> = path.split('/').collect();
                seal(body, defs, &path);
            }
        }
        let used = referenced(&Value::Object(schema.clone()), defs);
        if !used.is_empty() {
            let picked = used
                .into_iter()
                .map(|name| (name.clone(), defs[&name].clone()))
                .collect();
            schema.insert("$defs".into(), Value::Object(picked));
        }
        out.push(EventSchema {
            aggregate_type,
            event_type,
            event_version: FIRST_EVENT_VERSION,
            schema: Value::Object(schema),
        });
    }
}

/// A personal field as published: sealed with its subject's key (see `crate::personal`),
/// whatever its type before sealing.
fn sealed() -> Value {
    serde_json::json!({
        "type": "string",
        "pattern": "^sealed:v1:[0-9a-f-]{36}:[A-Za-z0-9_-]+$",
        "description": "Personal data, sealed: `sealed:v1:<subject id>:<XChaCha20-Poly1305 \
                        ciphertext, base64url>`. Only Hirestream opens it, and nobody once the \
                        subject is erased.",
    })
}

/// Replaces the field at `path` inside `schema` with [`sealed`], inlining the definitions on
/// the way (they may be shared with fields that stay in clear) and following every
/// alternative of an enum.
fn seal(schema: &mut Value, defs: &Map<String, Value>, path: &[&str]) {
    let Some((field, rest)) = path.split_first() else {
        return;
    };
    for _ in 0..16 {
        let target = schema.get("$ref").and_then(Value::as_str);
        match target.and_then(|t| defs.get(t.strip_prefix("#/$defs/")?)) {
            Some(found) => *schema = found.clone(),
            None => break,
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(alternatives)) = schema.get_mut(key) {
            for alternative in alternatives {
                seal(alternative, defs, path);
            }
        }
    }
    if let Some(slot) = schema.get_mut("properties").and_then(|p| p.get_mut(*field)) {
        if rest.is_empty() {
            *slot = sealed();
        } else {
            seal(slot, defs, rest);
        }
    }
}

/// The names of the definitions `schema` refers to, directly or through other definitions.
fn referenced(schema: &Value, defs: &Map<String, Value>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut pending = vec![schema];
    while let Some(next) = pending.pop() {
        match next {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    if let Some(name) = target.strip_prefix("#/$defs/") {
                        if found.insert(name.to_owned()) {
                            pending.extend(defs.get(name));
                        }
                    }
                }
                pending.extend(map.values());
            }
            Value::Array(items) => pending.extend(items),
            _ => {}
        }
    }
    found
}

/// What would break a consumer written against `old` if it read events that match `new`:
/// a field it requires that may now be missing, a field whose type changed, a value it does not
/// know (an enum that grew), or a field where `old` allowed none. Empty when every event valid
/// under `new` is valid under `old`, as far as these schemas' shapes tell.
pub fn breaking_changes(old: &Value, new: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    compare(Side::of(old), old, Side::of(new), new, "", &mut problems, 0);
    problems
}

/// A schema document, for resolving its `$ref`s.
#[derive(Clone, Copy)]
struct Side<'a> {
    defs: Option<&'a Map<String, Value>>,
}

impl<'a> Side<'a> {
    fn of(document: &'a Value) -> Self {
        Self {
            defs: document.get("$defs").and_then(Value::as_object),
        }
    }

    fn resolve(self, schema: &'a Value) -> &'a Value {
        let mut schema = schema;
        for _ in 0..16 {
            let Some(target) = schema.get("$ref").and_then(Value::as_str) else {
                break;
            };
            match target
                .strip_prefix("#/$defs/")
                .and_then(|name| self.defs?.get(name))
            {
                Some(found) => schema = found,
                None => break,
            }
        }
        schema
    }
}

fn types(schema: &Value) -> BTreeSet<String> {
    match schema.get("type") {
        Some(Value::String(t)) => BTreeSet::from([t.clone()]),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => BTreeSet::new(),
    }
}

fn alternatives(schema: &Value) -> Option<&Vec<Value>> {
    schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)
}

#[allow(clippy::too_many_arguments)]
fn compare(
    old_side: Side<'_>,
    old: &Value,
    new_side: Side<'_>,
    new: &Value,
    at: &str,
    problems: &mut Vec<String>,
    depth: usize,
) {
    if depth > 32 {
        return;
    }
    let (old, new) = (old_side.resolve(old), new_side.resolve(new));
    let place = if at.is_empty() { "the payload" } else { at };
    // Each alternative of the new schema must fit some alternative of the old one.
    if let Some(new_alternatives) = alternatives(new) {
        for alternative in new_alternatives {
            let fits = |old_alternative: &Value| {
                let mut found = Vec::new();
                compare(
                    old_side,
                    old_alternative,
                    new_side,
                    alternative,
                    at,
                    &mut found,
                    depth + 1,
                );
                found.is_empty()
            };
            let fitted = match alternatives(old) {
                Some(old_alternatives) => old_alternatives.iter().any(fits),
                None => fits(old),
            };
            if !fitted {
                problems.push(format!(
                    "{place}: a new alternative {alternative} fits no old one"
                ));
            }
        }
        return;
    }
    if let Some(old_alternatives) = alternatives(old) {
        let fits = old_alternatives.iter().any(|old_alternative| {
            let mut found = Vec::new();
            compare(
                old_side,
                old_alternative,
                new_side,
                new,
                at,
                &mut found,
                depth + 1,
            );
            found.is_empty()
        });
        if !fits {
            problems.push(format!(
                "{place}: the new schema fits none of the old alternatives"
            ));
        }
        return;
    }
    let (old_types, new_types) = (types(old), types(new));
    if !old_types.is_empty() {
        // An integer is a number too.
        let widened: BTreeSet<String> = new_types
            .iter()
            .filter(|t| !(t.as_str() == "integer" && old_types.contains("number")))
            .cloned()
            .collect();
        if new_types.is_empty() || !widened.is_subset(&old_types) {
            problems.push(format!(
                "{place}: type {new_types:?} where consumers expect {old_types:?}"
            ));
            return;
        }
    }
    let values = |schema: &Value| -> Option<Vec<Value>> {
        match (schema.get("enum"), schema.get("const")) {
            (Some(Value::Array(values)), _) => Some(values.clone()),
            (_, Some(value)) => Some(vec![value.clone()]),
            _ => None,
        }
    };
    if let Some(known) = values(old) {
        match values(new) {
            Some(now) => {
                for value in now.iter().filter(|v| !known.contains(v)) {
                    problems.push(format!("{place}: the value {value} is new to consumers"));
                }
            }
            None => problems.push(format!(
                "{place}: any value where consumers know a fixed set"
            )),
        }
    }
    let required = |schema: &Value| -> BTreeSet<String> {
        schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect()
    };
    for field in required(old).difference(&required(new)) {
        problems.push(format!(
            "{place}: `{field}` is required by consumers and may be missing"
        ));
    }
    let empty = Map::new();
    let old_properties = old["properties"].as_object().unwrap_or(&empty);
    let new_properties = new["properties"].as_object().unwrap_or(&empty);
    let closed = old.get("additionalProperties") == Some(&Value::Bool(false));
    for (field, new_field) in new_properties {
        let path = format!("{at}/{field}");
        match old_properties.get(field) {
            Some(old_field) => compare(
                old_side,
                old_field,
                new_side,
                new_field,
                &path,
                problems,
                depth + 1,
            ),
            None if closed => problems.push(format!("{path}: a field where consumers allow none")),
            None => {}
        }
    }
    if let (Some(old_items), Some(new_items)) = (old.get("items"), new.get("items")) {
        let path = format!("{at}[]");
        compare(
            old_side,
            old_items,
            new_side,
            new_items,
            &path,
            problems,
            depth + 1,
        );
    }
    if let (Some(old_values), Some(new_values)) = (
        old.get("additionalProperties").filter(|v| v.is_object()),
        new.get("additionalProperties").filter(|v| v.is_object()),
    ) {
        let path = format!("{at}{{}}");
        compare(
            old_side,
            old_values,
            new_side,
            new_values,
            &path,
            problems,
            depth + 1,
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Where the published schemas live.
    fn published_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/events")
    }

    /// Fails when the published schemas and the event types part: first when the change would
    /// break consumers of the published version, then when it is merely not yet published.
    /// `HIRESTREAM_WRITE_SCHEMAS=1 cargo test -p domain schemas` writes the files.
    #[test]
    fn the_published_schemas_are_the_event_types_schemas() {
        let write = std::env::var_os("HIRESTREAM_WRITE_SCHEMAS").is_some();
        for schema in event_schemas() {
            let file = published_dir().join(schema.path());
            let text = serde_json::to_string_pretty(&schema.schema).expect("json") + "\n";
            let published: Option<Value> = std::fs::read_to_string(&file)
                .ok()
                .map(|text| serde_json::from_str(&text).expect("a published schema is JSON"));
            if let Some(published) = &published {
                let problems = breaking_changes(published, &schema.schema);
                assert!(
                    problems.is_empty(),
                    "{} changed in a way that breaks its consumers; give the event a new \
                     event_version and an upcaster:\n{}",
                    schema.path(),
                    problems.join("\n")
                );
            }
            if published.as_ref() != Some(&schema.schema) {
                if write {
                    std::fs::create_dir_all(file.parent().expect("dir")).expect("mkdir");
                    std::fs::write(&file, text).expect("write");
                } else {
                    panic!(
                        "{} is not published as the types describe it; run \
                         HIRESTREAM_WRITE_SCHEMAS=1 cargo test -p domain schemas",
                        schema.path()
                    );
                }
            }
        }
    }

    #[test]
    fn every_event_type_has_one_schema_of_its_externally_tagged_payload() {
        let schemas = event_schemas();
        let paths: BTreeSet<String> = schemas.iter().map(EventSchema::path).collect();
        assert_eq!(paths.len(), schemas.len());
        assert!(paths.contains("pairing/Matched.v1.0.json"), "{paths:?}");
        let purchased = schemas
            .iter()
            .find(|s| s.event_type == "CreditsPurchased")
            .expect("CreditsPurchased");
        assert_eq!(purchased.schema["required"], json!(["CreditsPurchased"]));
        assert_eq!(purchased.schema["additionalProperties"], json!(false));
    }

    fn object(properties: Value, required: Value) -> Value {
        json!({"type": "object", "properties": properties, "required": required})
    }

    #[test]
    fn an_added_optional_field_breaks_nobody() {
        let old = object(json!({"id": {"type": "string"}}), json!(["id"]));
        let new = object(
            json!({"id": {"type": "string"}, "note": {"type": ["string", "null"]}}),
            json!(["id"]),
        );
        assert_eq!(breaking_changes(&old, &new), Vec::<String>::new());
    }

    #[test]
    fn a_removed_required_field_a_changed_type_and_a_new_enum_value_break_consumers() {
        let old = object(
            json!({
                "id": {"type": "string"},
                "credits": {"type": "integer"},
                "role": {"$ref": "#/$defs/Role"}
            }),
            json!(["id", "credits", "role"]),
        );
        let mut old = old;
        old["$defs"] = json!({"Role": {"type": "string", "enum": ["candidate", "employer"]}});
        let mut new = object(
            json!({"credits": {"type": "string"}, "role": {"$ref": "#/$defs/Role"}}),
            json!(["credits", "role"]),
        );
        new["$defs"] =
            json!({"Role": {"type": "string", "enum": ["candidate", "employer", "partner"]}});
        let problems = breaking_changes(&old, &new);
        assert_eq!(problems.len(), 3, "{problems:?}");
        let said = |words: &[&str]| problems.iter().any(|p| words.iter().all(|w| p.contains(w)));
        assert!(said(&["/credits", "type"]), "{problems:?}");
        assert!(said(&["partner", "new to consumers"]), "{problems:?}");
        assert!(said(&["`id` is required"]), "{problems:?}");
    }

    #[test]
    fn a_field_added_where_consumers_allow_none_breaks_them() {
        let mut old = object(json!({"id": {"type": "string"}}), json!(["id"]));
        old["additionalProperties"] = json!(false);
        let new = object(
            json!({"id": {"type": "string"}, "extra": {"type": "string"}}),
            json!(["id"]),
        );
        assert_eq!(breaking_changes(&old, &new).len(), 1);
        let nullable = json!({"anyOf": [{"type": "string"}, {"type": "null"}]});
        assert_eq!(
            breaking_changes(&nullable, &json!({"type": "string"})),
            Vec::<String>::new()
        );
        assert_eq!(
            breaking_changes(&json!({"type": "string"}), &nullable).len(),
            1
        );
    }
}
