//! End-to-end tests against the real PostgreSQL and Kafka broker that `scripts/services`
//! starts. Each test has its own database and topic prefix, so they run in parallel.

mod accounts;
mod api_keys;
mod audit;
mod authorization;
mod bad_input;
mod broker_outage;
mod crash_safety;
mod credits;
mod documents;
mod embeddings;
mod faults;
mod gap_free;
mod managed_kafka;
mod matching;
mod organizations;
mod privacy;
mod profiles_and_applications;
mod real_time;
mod rebuild;
mod swipe_to_match;
mod tenants;
mod traces;
