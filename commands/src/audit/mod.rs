//! The verifiable history auditors read.
//!
//! Every event carries a hash that chains it to its stream's previous event, computed by the
//! database when the event is inserted ([`canonical`] is the same encoding in Rust). A
//! [`notary`] signs checkpoints over the commit order: a Merkle tree head ([`merkle`]) of the
//! events since the previous checkpoint, chained to it. [`verify`] recomputes both;
//! [`events`] lists and exports the history, and [`history`] rebuilds any aggregate as it
//! was. docs/audit.md describes the formats for checking them without Hirestream's code.

pub mod canonical;
pub mod events;
pub mod history;
pub mod merkle;
pub mod notary;
pub mod verify;

pub use notary::{Checkpoint, Notary, NotaryConfig, Signer};
