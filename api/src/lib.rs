//! Hirestream's HTTP API (axum) and the pieces of the `hirestream` binary: settings,
//! telemetry, bearer-token auth, and the assembly of the API, the relay and the projectors
//! into processes.

pub mod access_log;
pub mod api_keys;
pub mod app;
pub mod auth;
pub mod consumer;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod organizations;
pub mod position;
pub mod process;
pub mod rate_limit;
pub mod read_policy;
pub mod routes;
pub mod settings;
pub mod state;
pub mod telemetry;
#[cfg(test)]
pub(crate) mod testing;

pub use settings::Settings;
