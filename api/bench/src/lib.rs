//! Hirestream's benchmarks (`hirestream-bench`, also run as `hirestream bench …`): each
//! measures in a scratch world of its own (database, topics, vector index) that it drops
//! afterwards, and prints its figure beside a baseline measured in the same run. The
//! end-to-end tests share the scratch world and the local broker.

pub mod audit;
pub mod auth;
pub mod broker;
pub mod child;
pub mod credits;
pub mod embeddings;
pub mod faults;
pub mod import;
pub mod matching;
pub mod notifications;
pub mod pipeline;
pub mod privacy;
pub mod report;
pub mod scratch;

pub use report::{Latency, Throughput};
pub use scratch::Scratch;
