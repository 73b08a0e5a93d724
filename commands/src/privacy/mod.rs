//! Personal data at rest: each data subject's fields sealed with a key of its own.
//!
//! The fields [`domain::personal`] names are encrypted with XChaCha20-Poly1305 before an
//! event is appended (a random 24-byte nonce per value; the field's place in the event as
//! associated data, so a sealed value cannot be moved to another field or event type). A
//! sealed value is a string, `sealed:v1:<subject id>:<base64url of nonce || ciphertext>`: the
//! subject id names the key. Subject keys live in `subject_key`, each sealed with the master
//! key of the configuration. Erasing a subject destroys its key; its sealed values then read
//! as the field's erased value, wherever they were copied.

pub mod export;
mod keys;
pub mod repository;

use std::collections::HashSet;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use domain::personal::{personal_fields, PersonalFields};
use serde_json::Value;
use uuid::Uuid;

pub use keys::{BadMasterKey, Keyring, MasterKey, MasterKeys, DEVELOPMENT_MASTER_KEY};

const SEALED: &str = "sealed:v1:";
const NONCE_LEN: usize = 24;

/// A subject's data key, unwrapped.
#[derive(Clone)]
struct SubjectKey(XChaCha20Poly1305);

impl std::fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SubjectKey(..)")
    }
}

/// Why a payload could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("subject {0} was erased: nothing personal can be written about it")]
    Erased(Uuid),
    #[error("the key of subject {subject} is sealed with master key {master_key_id}, which is not configured")]
    UnknownMasterKey {
        subject: Uuid,
        master_key_id: String,
    },
    #[error(
        "a sealed value of subject {0} does not decrypt (tampered, or sealed for another field)"
    )]
    Undecryptable(Uuid),
    #[error("no random numbers: {0}")]
    Random(getrandom::Error),
}

/// Where a field sits: bound into its ciphertext.
fn associated_data(aggregate_type: &str, event_type: &str, path: &str) -> Vec<u8> {
    format!("{aggregate_type}/{event_type}/{path}").into_bytes()
}

/// The personal fields of an event and the subject they belong to; `None` for events with
/// none (or a payload that names no subject, which the aggregate would have refused).
fn fields_of(
    aggregate_type: &str,
    event_type: &str,
    payload: &Value,
) -> Option<(PersonalFields, Uuid)> {
    let fields = personal_fields(aggregate_type, event_type)?;
    let subject = body(payload)?.get(fields.subject)?.as_str()?.parse().ok()?;
    Some((fields, subject))
}

/// The event inside its externally tagged payload: `{"EventType": {...}}`.
fn body(payload: &Value) -> Option<&Value> {
    payload.as_object()?.values().next()
}

fn body_mut(payload: &mut Value) -> Option<&mut Value> {
    payload.as_object_mut()?.values_mut().next()
}

fn field_mut<'a>(body: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    body.pointer_mut(&format!("/{path}"))
}

/// The subject a sealed value names, if `value` is one.
fn sealed_subject(value: &Value) -> Option<(Uuid, &str)> {
    let rest = value.as_str()?.strip_prefix(SEALED)?;
    let (subject, sealed) = rest.split_once(':')?;
    Some((subject.parse().ok()?, sealed))
}

fn seal_value(
    key: &SubjectKey,
    subject: Uuid,
    aad: &[u8],
    value: &Value,
) -> Result<Value, PrivacyError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::getrandom(&mut nonce).map_err(PrivacyError::Random)?;
    let plain = serde_json::to_vec(value).expect("a JSON value serializes");
    let sealed = key
        .0
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: &plain, aad })
        .map_err(|_| PrivacyError::Undecryptable(subject))?;
    let mut bytes = nonce.to_vec();
    bytes.extend_from_slice(&sealed);
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    Ok(Value::String(format!("{SEALED}{subject}:{encoded}")))
}

fn open_value(
    key: &SubjectKey,
    subject: Uuid,
    aad: &[u8],
    sealed: &str,
) -> Result<Value, PrivacyError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sealed)
        .map_err(|_| PrivacyError::Undecryptable(subject))?;
    if bytes.len() < NONCE_LEN {
        return Err(PrivacyError::Undecryptable(subject));
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
    let plain = key
        .0
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| PrivacyError::Undecryptable(subject))?;
    serde_json::from_slice(&plain).map_err(|_| PrivacyError::Undecryptable(subject))
}

/// The subjects whose keys opening these payloads needs.
fn sealed_subjects<'a>(payloads: impl Iterator<Item = (&'a str, &'a str, &'a Value)>) -> Vec<Uuid> {
    let mut subjects = HashSet::new();
    for (aggregate_type, event_type, payload) in payloads {
        if let Some((fields, subject)) = fields_of(aggregate_type, event_type, payload) {
            let body = body(payload);
            let sealed = fields.fields.iter().any(|(path, _)| {
                body.and_then(|b| b.pointer(&format!("/{path}")))
                    .and_then(sealed_subject)
                    .is_some()
            });
            if sealed {
                subjects.insert(subject);
            }
        }
    }
    subjects.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use chacha20poly1305::KeyInit;

    use super::*;

    fn key() -> SubjectKey {
        SubjectKey(XChaCha20Poly1305::new(&[7u8; 32].into()))
    }

    #[test]
    fn a_sealed_value_opens_only_in_its_own_place() {
        let subject = Uuid::from_u128(1);
        let value = json!({"title": "Engineer", "company": "Acme"});
        let aad = associated_data("candidate", "CandidateProfileUpdated", "profile/experience");
        let sealed = seal_value(&key(), subject, &aad, &value).expect("sealed");
        let text = sealed.as_str().expect("a string");
        assert!(!text.contains("Acme"));
        let (named, rest) = sealed_subject(&sealed).expect("a sealed value");
        assert_eq!(named, subject);
        assert_eq!(
            open_value(&key(), subject, &aad, rest).expect("opens"),
            value
        );
        let elsewhere = associated_data("candidate", "CandidateRegistered", "name");
        assert!(open_value(&key(), subject, &elsewhere, rest).is_err());
        let other = SubjectKey(XChaCha20Poly1305::new(&[8u8; 32].into()));
        assert!(open_value(&other, subject, &aad, rest).is_err());
    }

    #[test]
    fn two_seals_of_one_value_differ() {
        let aad = associated_data("candidate", "CandidateRegistered", "name");
        let a = seal_value(&key(), Uuid::nil(), &aad, &json!("Ada")).expect("sealed");
        let b = seal_value(&key(), Uuid::nil(), &aad, &json!("Ada")).expect("sealed");
        assert_ne!(a, b);
    }

    #[test]
    fn only_payloads_with_sealed_fields_need_keys() {
        let subject = Uuid::from_u128(9);
        let clear = json!({"CandidateRegistered": {"candidate_id": subject, "name": "Ada", "email": "a@b.c"}});
        let aad = associated_data("candidate", "CandidateRegistered", "name");
        let name = seal_value(&key(), subject, &aad, &json!("Ada")).expect("sealed");
        let sealed = json!({"CandidateRegistered": {"candidate_id": subject, "name": name, "email": "a@b.c"}});
        let wallet = json!({"CreditsCharged": {"wallet_id": subject}});
        let payloads = [
            ("candidate", "CandidateRegistered", &clear),
            ("wallet", "CreditsCharged", &wallet),
        ];
        assert!(sealed_subjects(payloads.into_iter()).is_empty());
        let payloads = [("candidate", "CandidateRegistered", &sealed)];
        assert_eq!(sealed_subjects(payloads.into_iter()), vec![subject]);
    }
}
