//! Hirestream's domain: the aggregates (account, candidate, employer, job, pairing, wallet, application, document), their commands
//! and events, and the rules that decide which events a command produces.
//!
//! This crate is pure logic. It may depend on serde, thiserror, uuid, chrono and the cqrs-es
//! traits, and on nothing that performs I/O: no database, broker, HTTP or clock. Whatever a
//! rule needs to know about the outside world (another aggregate's state, the current actor)
//! arrives inside the command, filled in by the write side.

/// Implements `DomainEvent` for an event enum whose event types are its variant names, all
/// at the first version. Bump a version only together with an upcaster.
#[macro_export]
#[doc(hidden)]
macro_rules! domain_event {
    ($event:ident { $($variant:ident),+ $(,)? }) => {
        impl cqrs_es::DomainEvent for $event {
            fn event_type(&self) -> String {
                match self {
                    $(Self::$variant { .. } => stringify!($variant).into(),)+
                }
            }

            fn event_version(&self) -> String {
                $crate::FIRST_EVENT_VERSION.into()
            }
        }
    };
}

/// Implements [`Command`] for a command enum whose variants each wrap the struct of the same
/// name: a command is recorded under its variant's name, so no name is written by hand.
#[macro_export]
#[doc(hidden)]
macro_rules! domain_command {
    ($command:ident { $($variant:ident),+ $(,)? }) => {
        impl $crate::Command for $command {
            fn name(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => stringify!($variant),)+
                }
            }
        }
    };
}

/// A command as the event store records it: the name that goes into its events' metadata.
pub trait Command {
    fn name(&self) -> &'static str;
}

pub mod account;
pub mod actor;
pub mod application;
pub mod candidate;
pub mod conversation;
pub mod document;
pub mod employer;
mod error;
pub mod job;
pub mod matching;
pub mod pairing;
pub mod personal;
pub mod policy;
pub mod profile;
pub mod published;
pub mod schemas;
pub mod wallet;

pub use actor::{Actor, Role};
pub use error::{DomainError, FieldError};
pub use policy::Write;

/// Every aggregate type, in the order their topics are listed.
pub const AGGREGATE_TYPES: &[&str] = &[
    <candidate::Candidate as cqrs_es::Aggregate>::TYPE,
    <employer::Employer as cqrs_es::Aggregate>::TYPE,
    <job::Job as cqrs_es::Aggregate>::TYPE,
    <pairing::Pairing as cqrs_es::Aggregate>::TYPE,
    <wallet::Wallet as cqrs_es::Aggregate>::TYPE,
    <application::Application as cqrs_es::Aggregate>::TYPE,
    <document::Document as cqrs_es::Aggregate>::TYPE,
    <account::Account as cqrs_es::Aggregate>::TYPE,
];

/// The version every event type starts at; bump it only together with an upcaster.
pub const FIRST_EVENT_VERSION: &str = "1.0";

/// An error and its causes on one line, for logs: `outer: cause: root cause`.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use cqrs_es::DomainEvent;
    use uuid::Uuid;

    #[test]
    fn an_event_type_is_its_variant_name_at_the_first_version() {
        let event = crate::pairing::PairingEvent::Matched {
            pairing_id: Uuid::nil(),
            candidate_id: Uuid::nil(),
            job_id: Uuid::nil(),
            employer_id: Uuid::nil(),
        };
        assert_eq!(event.event_type(), "Matched");
        assert_eq!(event.event_version(), crate::FIRST_EVENT_VERSION);
    }
}
