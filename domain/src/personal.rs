//! Which fields of which events are personal data, and whose.
//!
//! The write side encrypts these fields with the data subject's key before an event is
//! appended; everything else stays in clear, so that analysts keep their aggregates. Erasing
//! a person destroys their key: what they wrote can no longer be read, anywhere the
//! ciphertext went. docs/adr/0014-personal-data.md gives the reasons field by field.

/// What a personal field reads as once its subject is erased: a value of the field's type
/// that says nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erased {
    /// An empty string.
    Text,
    /// An empty list.
    List,
    /// `null`, for optional fields.
    Absent,
}

impl Erased {
    pub fn value(self) -> serde_json::Value {
        match self {
            Erased::Text => serde_json::Value::String(String::new()),
            Erased::List => serde_json::Value::Array(Vec::new()),
            Erased::Absent => serde_json::Value::Null,
        }
    }
}

/// The personal fields of one event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonalFields {
    /// The field of the event that names the data subject (a candidate's id).
    pub subject: &'static str,
    /// Each personal field, as a `/`-separated path inside the event, with what it reads as
    /// after erasure.
    pub fields: &'static [(&'static str, Erased)],
}

const CANDIDATE_REGISTERED: PersonalFields = PersonalFields {
    subject: "candidate_id",
    fields: &[("name", Erased::Text), ("email", Erased::Text)],
};

const CANDIDATE_PROFILE_UPDATED: PersonalFields = PersonalFields {
    subject: "candidate_id",
    fields: &[
        ("profile/headline", Erased::Text),
        ("profile/summary", Erased::Text),
        ("profile/experience", Erased::List),
        ("profile/education", Erased::List),
    ],
};

const DOCUMENT_REQUESTED: PersonalFields = PersonalFields {
    subject: "candidate_id",
    fields: &[("instructions", Erased::Absent)],
};

const DOCUMENT_GENERATED: PersonalFields = PersonalFields {
    subject: "candidate_id",
    fields: &[("generation/content", Erased::Text)],
};

const MESSAGE_POSTED: PersonalFields = PersonalFields {
    subject: "candidate_id",
    fields: &[("text", Erased::Text)],
};

const ACCOUNT_OPENED: PersonalFields = PersonalFields {
    subject: "account_id",
    fields: &[
        ("email", Erased::Absent),
        ("sign_in/identity/subject", Erased::Absent),
    ],
};

/// The personal fields of an event of `event_type` on an aggregate of `aggregate_type`;
/// `None` when the event holds none.
pub fn personal_fields(aggregate_type: &str, event_type: &str) -> Option<PersonalFields> {
    match (aggregate_type, event_type) {
        ("candidate", "CandidateRegistered") => Some(CANDIDATE_REGISTERED),
        ("candidate", "CandidateProfileUpdated") => Some(CANDIDATE_PROFILE_UPDATED),
        ("document", "DocumentRequested") => Some(DOCUMENT_REQUESTED),
        ("document", "DocumentGenerated") => Some(DOCUMENT_GENERATED),
        // Both parties' words: the candidate's key erases the conversation with them.
        ("pairing", "MessagePosted") => Some(MESSAGE_POSTED),
        // An account's id is its candidate's (or employer's): one key erases both.
        ("account", "AccountOpened") => Some(ACCOUNT_OPENED),
        _ => None,
    }
}

/// The person an event is about, when it is about one: the candidate an event names, for
/// every aggregate whose events name one. An erased person's events are still read (their
/// facts stay), but read models leave the person out.
pub fn subject_of(payload: &serde_json::Value) -> Option<uuid::Uuid> {
    let (_, body) = payload.as_object()?.iter().next()?;
    let id = body.get("candidate_id")?.as_str()?;
    id.parse().ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::candidate::{Candidate, CandidateEvent};
    use crate::document::{Document, DocumentEvent};

    /// Every path of the table exists in the event it names, so a renamed field cannot
    /// silently leave personal data in clear.
    #[test]
    fn every_personal_field_exists_in_its_event() {
        use crate::document::tests::{generation, requested, CANDIDATE};
        let candidate = CANDIDATE;
        let events = [
            (
                <Candidate as cqrs_es::Aggregate>::TYPE,
                serde_json::to_value(CandidateEvent::CandidateRegistered {
                    candidate_id: candidate,
                    name: "Ada".into(),
                    email: "ada@example.com".into(),
                }),
            ),
            (
                <Candidate as cqrs_es::Aggregate>::TYPE,
                serde_json::to_value(CandidateEvent::CandidateProfileUpdated {
                    candidate_id: candidate,
                    profile: Box::new(crate::candidate::tests::profile()),
                }),
            ),
            (
                <Document as cqrs_es::Aggregate>::TYPE,
                serde_json::to_value(requested()),
            ),
            (
                <Document as cqrs_es::Aggregate>::TYPE,
                serde_json::to_value(DocumentEvent::DocumentGenerated {
                    document_id: candidate,
                    candidate_id: candidate,
                    generation: generation(),
                }),
            ),
        ];
        for (aggregate, payload) in events {
            let payload = payload.expect("an event serializes");
            let (event_type, body) = payload
                .as_object()
                .and_then(|o| o.iter().next())
                .expect("an externally tagged event");
            let fields = personal_fields(aggregate, event_type).expect("a personal event");
            assert_eq!(subject_of(&payload), Some(candidate), "{event_type}");
            assert!(body.get(fields.subject).is_some(), "{event_type}");
            for (path, _) in fields.fields {
                let pointer = format!("/{path}");
                assert!(
                    body.pointer(&pointer).is_some(),
                    "{event_type} has no {path}"
                );
            }
        }
    }

    #[test]
    fn events_without_personal_data_have_no_fields() {
        assert_eq!(personal_fields("wallet", "CreditsCharged"), None);
        assert_eq!(personal_fields("pairing", "Matched"), None);
        assert_eq!(
            subject_of(&json!({"Matched": {"candidate_id": uuid::Uuid::from_u128(3)}})),
            Some(uuid::Uuid::from_u128(3))
        );
        assert_eq!(subject_of(&json!({"JobClosed": {"job_id": "x"}})), None);
    }
}
