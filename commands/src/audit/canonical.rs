//! The canonical encoding an event's hash is taken over, the same as the database's
//! `canonical_json` and `event_encoding` (migration `event_hashes`, docs/audit.md).
//!
//! JSON is read from the text PostgreSQL writes for a `jsonb` and written again with the keys
//! of every object in the order of their UTF-8 bytes, without whitespace; strings are escaped
//! as PostgreSQL and serde_json both escape them, and numbers are kept as written, since
//! PostgreSQL writes a jsonb number in one way only.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// What an event's hash covers, as the store holds it: `payload` and `metadata` as the
/// text PostgreSQL writes for them (`payload::text`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFields<'a> {
    pub aggregate_type: &'a str,
    pub aggregate_id: &'a str,
    pub sequence: i64,
    pub event_type: &'a str,
    pub event_version: &'a str,
    pub payload: &'a str,
    pub metadata: &'a str,
    pub recorded_at: DateTime<Utc>,
}

/// A JSON text that is not valid JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not JSON at byte {0}")]
pub struct NotJson(pub usize);

impl EventFields<'_> {
    /// The canonical JSON array of the fields and the predecessor's hash (lowercase hex,
    /// `null` for the first event of a stream).
    pub fn encoding(&self, previous: Option<&[u8]>) -> Result<String, NotJson> {
        let mut out = String::with_capacity(self.payload.len() + self.metadata.len() + 200);
        out.push('[');
        write_string(&mut out, self.aggregate_type);
        out.push(',');
        write_string(&mut out, self.aggregate_id);
        write!(out, ",{},", self.sequence).expect("a String takes any write");
        write_string(&mut out, self.event_type);
        out.push(',');
        write_string(&mut out, self.event_version);
        out.push(',');
        canonical_into(&mut out, self.payload)?;
        out.push(',');
        canonical_into(&mut out, self.metadata)?;
        out.push(',');
        write_string(&mut out, &instant(self.recorded_at));
        out.push(',');
        match previous {
            Some(hash) => write_string(&mut out, &hex(hash)),
            None => out.push_str("null"),
        }
        out.push(']');
        Ok(out)
    }

    /// SHA-256 of [`EventFields::encoding`].
    pub fn hash(&self, previous: Option<&[u8]>) -> Result<[u8; 32], NotJson> {
        Ok(Sha256::digest(self.encoding(previous)?.as_bytes()).into())
    }
}

/// An instant as the encoding writes it: UTC, microseconds, `2026-12-02T10:00:00.000000Z`.
pub fn instant(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub use crate::hex;

/// `json` in canonical form.
pub fn canonical_json(json: &str) -> Result<String, NotJson> {
    let mut out = String::with_capacity(json.len());
    canonical_into(&mut out, json)?;
    Ok(out)
}

fn canonical_into(out: &mut String, json: &str) -> Result<(), NotJson> {
    let mut parser = Parser {
        text: json.as_bytes(),
        at: 0,
    };
    let value = parser.value()?;
    parser.skip_whitespace();
    if parser.at != parser.text.len() {
        return Err(NotJson(parser.at));
    }
    value.write(out);
    Ok(())
}

/// A parsed value that keeps its numbers as written.
enum Value<'a> {
    /// `null`, `true`, `false` or a number, as written.
    Literal(&'a str),
    String(String),
    Array(Vec<Value<'a>>),
    Object(Vec<(String, Value<'a>)>),
}

impl Value<'_> {
    fn write(&self, out: &mut String) {
        match self {
            Value::Literal(text) => out.push_str(text),
            Value::String(text) => write_string(out, text),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Value::Object(members) => {
                let mut members: Vec<_> = members.iter().collect();
                // `str`'s order is the order of the UTF-8 bytes.
                members.sort_by(|a, b| a.0.cmp(&b.0));
                out.push('{');
                for (i, (key, value)) in members.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(out, key);
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// A JSON string, escaped as PostgreSQL's `escape_json` escapes it.
fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' => write!(out, "\\u{:04x}", c as u32).expect("a String takes any write"),
            c => out.push(c),
        }
    }
    out.push('"');
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
}

impl<'a> Parser<'a> {
    fn skip_whitespace(&mut self) {
        while matches!(self.text.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn value(&mut self) -> Result<Value<'a>, NotJson> {
        self.skip_whitespace();
        match self.text.get(self.at) {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(_) => self.literal(),
            None => Err(NotJson(self.at)),
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), NotJson> {
        self.skip_whitespace();
        if self.text.get(self.at) == Some(&byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(NotJson(self.at))
        }
    }

    /// Whether the next byte (after whitespace) is `byte`, consuming it if so.
    fn next_is(&mut self, byte: u8) -> bool {
        self.skip_whitespace();
        let is = self.text.get(self.at) == Some(&byte);
        if is {
            self.at += 1;
        }
        is
    }

    fn object(&mut self) -> Result<Value<'a>, NotJson> {
        self.expect(b'{')?;
        let mut members = Vec::new();
        if self.next_is(b'}') {
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_whitespace();
            let key = self.string()?;
            self.expect(b':')?;
            members.push((key, self.value()?));
            if self.next_is(b'}') {
                return Ok(Value::Object(members));
            }
            self.expect(b',')?;
        }
    }

    fn array(&mut self) -> Result<Value<'a>, NotJson> {
        self.expect(b'[')?;
        let mut items = Vec::new();
        if self.next_is(b']') {
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            if self.next_is(b']') {
                return Ok(Value::Array(items));
            }
            self.expect(b',')?;
        }
    }

    /// A string token, decoded (serde_json decodes the escapes, surrogate pairs included).
    fn string(&mut self) -> Result<String, NotJson> {
        let start = self.at;
        if self.text.get(self.at) != Some(&b'"') {
            return Err(NotJson(start));
        }
        self.at += 1;
        loop {
            match self.text.get(self.at) {
                Some(b'"') => break,
                Some(b'\\') => self.at += 2,
                Some(_) => self.at += 1,
                None => return Err(NotJson(start)),
            }
        }
        self.at += 1;
        let token = std::str::from_utf8(&self.text[start..self.at]).map_err(|_| NotJson(start))?;
        serde_json::from_str(token).map_err(|_| NotJson(start))
    }

    /// `null`, `true`, `false` or a number, kept as written.
    fn literal(&mut self) -> Result<Value<'a>, NotJson> {
        let start = self.at;
        while matches!(
            self.text.get(self.at),
            Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E' | b'a'..=b'z')
        ) {
            self.at += 1;
        }
        let token = std::str::from_utf8(&self.text[start..self.at]).map_err(|_| NotJson(start))?;
        let valid = matches!(token, "null" | "true" | "false")
            || serde_json::from_str::<serde_json::Number>(token).is_ok();
        if valid {
            Ok(Value::Literal(token))
        } else {
            Err(NotJson(start))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_ordered_by_their_bytes_and_whitespace_goes() {
        assert_eq!(
            canonical_json(r#"{"b": 1, "a": [true, null, {"é": "x", "z": -1.50}], "aa": {}}"#)
                .unwrap(),
            r#"{"a":[true,null,{"z":-1.50,"é":"x"}],"aa":{},"b":1}"#
        );
    }

    #[test]
    fn strings_are_escaped_as_postgresql_escapes_them() {
        assert_eq!(
            canonical_json(r#""tab\there \"q\" \/ \u0001 \u00e9 \ud83d\ude00""#).unwrap(),
            "\"tab\\there \\\"q\\\" / \\u0001 é 😀\""
        );
    }

    #[test]
    fn numbers_stay_as_written() {
        assert_eq!(
            canonical_json("[0.0000001, 100, 1.0]").unwrap(),
            "[0.0000001,100,1.0]"
        );
    }

    #[test]
    fn what_is_not_json_is_refused() {
        for text in ["{", "[1,]", "nul", "{\"a\" 1}", "1 2", "\"open"] {
            assert!(canonical_json(text).is_err(), "{text}");
        }
    }

    #[test]
    fn the_encoding_is_one_canonical_array() {
        let at = DateTime::parse_from_rfc3339("2026-12-02T10:00:00.5Z")
            .unwrap()
            .to_utc();
        let fields = EventFields {
            aggregate_type: "wallet",
            aggregate_id: "w-1",
            sequence: 2,
            event_type: "CreditsGranted",
            event_version: "1.0",
            payload: r#"{"credits": 5}"#,
            metadata: "{}",
            recorded_at: at,
        };
        assert_eq!(
            fields.encoding(Some(&[0xab, 0x01])).unwrap(),
            r#"["wallet","w-1",2,"CreditsGranted","1.0",{"credits":5},{},"2026-12-02T10:00:00.500000Z","ab01"]"#
        );
        assert!(fields.encoding(None).unwrap().ends_with(",null]"));
    }
}
