//! Hirestream's read side: everything built from the Kafka topics.
//!
//! [`runtime`] runs a projection as a Kafka consumer group. Each batch of events is applied
//! in one PostgreSQL transaction together with the record of what was applied, so delivery is
//! at-least-once but every event has exactly one effect. Each read model is a module that
//! implements [`Projection`] and offers the queries the API serves from it.

pub mod applications;
pub mod conversations;
pub mod documents;
mod error;
pub mod jobs;
pub mod ledger;
pub mod matches;
pub mod matching;
pub mod notifications;
pub mod page;
pub mod profiles;
pub mod progress;
pub mod reactors;
pub mod rebuild;
pub mod runtime;
pub mod vectors;

pub use error::Error;
pub use runtime::{Projection, Projector, ProjectorConfig};
