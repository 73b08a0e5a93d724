//! Hirestream's write side.
//!
//! Commands run against aggregates loaded from the PostgreSQL event store (cqrs-es with
//! postgres-es); the events they produce are appended with their metadata in one
//! transaction. [`relay`] then publishes every committed event to Kafka in commit order.
//! Read models are never built here: they are the `projections` crate's, from Kafka.

pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod context;
pub mod db;
pub mod documents;
pub mod embeddings;
mod error;
pub mod health;
pub mod import;
pub mod organizations;
pub mod privacy;
pub mod providers;
pub mod relay;
pub mod service;
pub mod store;
pub mod trace;
pub mod wake;

pub use context::{CommandContext, RequestIds};

/// Lowercase hexadecimal, as hashes and signatures are written.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        write!(out, "{byte:02x}").expect("a String takes any write");
    }
    out
}
pub use error::Error;
pub use service::CommandService;
pub use store::Committed;
