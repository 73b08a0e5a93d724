use domain::DomainError;

/// Everything that can go wrong on the write side.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command broke a domain rule; nothing was appended.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Concurrent writers kept changing the aggregate; every retry lost the race.
    #[error("{aggregate_type} {aggregate_id} changed concurrently {attempts} times in a row")]
    Conflict {
        aggregate_type: &'static str,
        aggregate_id: String,
        attempts: u32,
    },
    #[error("event store")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("database")]
    Database(#[from] sqlx::Error),
    #[error("migration")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("personal data")]
    Privacy(#[source] crate::privacy::PrivacyError),
    #[error("kafka")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("event {aggregate_type}/{aggregate_id}/{sequence} could not be encoded")]
    Encode {
        aggregate_type: String,
        aggregate_id: String,
        sequence: i64,
        #[source]
        source: serde_json::Error,
    },
}

impl From<crate::privacy::PrivacyError> for Error {
    fn from(error: crate::privacy::PrivacyError) -> Self {
        use crate::privacy::PrivacyError;
        match error {
            PrivacyError::Database(e) => Error::Database(e),
            PrivacyError::Erased(candidate_id) => {
                Error::Domain(DomainError::CandidateErased { candidate_id })
            }
            other => Error::Privacy(other),
        }
    }
}
