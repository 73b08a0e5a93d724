/// Everything that can go wrong while building or reading a projection.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database")]
    Database(#[from] sqlx::Error),
    #[error("kafka")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// The message is not a published event. It is logged and skipped: retrying cannot make
    /// it readable.
    #[error("message {topic}/{partition}@{offset} is not a published event")]
    Envelope {
        topic: String,
        partition: i32,
        offset: i64,
        #[source]
        source: serde_json::Error,
    },
    /// The event's payload is not one this projection knows; logged and skipped likewise.
    #[error("event {aggregate_type}/{aggregate_id}/{sequence} has an unknown payload")]
    Payload {
        aggregate_type: String,
        aggregate_id: String,
        sequence: i64,
        #[source]
        source: serde_json::Error,
    },
    #[error("unknown projection `{0}`")]
    UnknownProjection(String),
    #[error("vector index")]
    Index(#[from] crate::vectors::IndexError),
    #[error("embeddings")]
    Embedding(#[from] commands::embeddings::EmbeddingError),
    /// Personal fields could not be opened: the database is away, a master key is not
    /// configured (both worth retrying), or a value was tampered with.
    #[error("personal data")]
    Privacy(#[from] commands::privacy::PrivacyError),
    /// A reaction's command failed.
    #[error("command")]
    Command(#[from] commands::Error),
}

impl Error {
    /// True when retrying the same work can succeed (the database or broker came back).
    pub fn is_transient(&self) -> bool {
        !matches!(
            self,
            Error::Envelope { .. }
                | Error::Payload { .. }
                | Error::UnknownProjection(_)
                | Error::Privacy(commands::privacy::PrivacyError::Undecryptable(_))
                | Error::Command(commands::Error::Domain(_) | commands::Error::Encode { .. })
        )
    }

    pub(crate) fn payload(
        event: &domain::published::PublishedEvent,
        source: serde_json::Error,
    ) -> Self {
        Error::Payload {
            aggregate_type: event.aggregate_type.clone(),
            aggregate_id: event.aggregate_id.clone(),
            sequence: event.sequence,
            source,
        }
    }
}
