//! The conversations of matches: their messages in order and how far each side has read,
//! from the pairing topic. An erased candidate's conversations go (the candidate topic).

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use domain::candidate::{Candidate, CandidateEvent};
use domain::pairing::{Pairing, PairingEvent, Side};
use domain::published::PublishedEvent;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{Error, Projection};

/// Builds `conversation_message` and `conversation_state`.
#[derive(Debug, Default, Clone, Copy)]
pub struct ConversationsProjector;

/// A message of an erased candidate's conversation is not kept: a rebuild that meets it
/// after the erasure leaves it out, as the erasure took it out of the live view.
const INSERT_MESSAGE: &str = "
WITH kept AS (
    INSERT INTO conversation_message (pairing_id, number, message_id, candidate_id, employer_id,
                                      from_side, text, posted_at)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8
     WHERE NOT EXISTS (SELECT 1 FROM subject_key WHERE subject_id = $4 AND erased_at IS NOT NULL)
    ON CONFLICT DO NOTHING
    RETURNING pairing_id
)
INSERT INTO conversation_state (pairing_id, candidate_id, employer_id, messages)
SELECT pairing_id, $4, $5, $2 FROM kept
ON CONFLICT (pairing_id) DO UPDATE SET messages = EXCLUDED.messages";

const READ_BY_CANDIDATE: &str =
    "UPDATE conversation_state SET read_by_candidate = $2 WHERE pairing_id = $1";
const READ_BY_EMPLOYER: &str =
    "UPDATE conversation_state SET read_by_employer = $2 WHERE pairing_id = $1";
const CLOSE: &str = "UPDATE conversation_state SET closed_at = $2 WHERE pairing_id = $1";

impl Projection for ConversationsProjector {
    const NAME: &'static str = "conversations";
    const AGGREGATE_TYPES: &'static [&'static str] = &[Pairing::TYPE, Candidate::TYPE];

    async fn apply(&self, tx: &mut PgConnection, event: &PublishedEvent) -> Result<(), Error> {
        if event.aggregate_type == Candidate::TYPE {
            if let Ok(CandidateEvent::CandidateErased { candidate_id }) = event.decode() {
                for table in ["conversation_message", "conversation_state"] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE candidate_id = $1"))
                        .bind(candidate_id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            return Ok(());
        }
        if !matches!(
            event.event_type.as_str(),
            "MessagePosted" | "MessagesRead" | "Unmatched"
        ) {
            return Ok(());
        }
        match event.decode().map_err(|e| Error::payload(event, e))? {
            PairingEvent::MessagePosted {
                pairing_id,
                candidate_id,
                employer_id,
                message_id,
                number,
                from,
                text,
            } => {
                sqlx::query(INSERT_MESSAGE)
                    .bind(pairing_id)
                    .bind(number)
                    .bind(message_id)
                    .bind(candidate_id)
                    .bind(employer_id)
                    .bind(from.to_string())
                    .bind(text)
                    .bind(event.recorded_at)
                    .execute(tx)
                    .await?;
            }
            PairingEvent::MessagesRead {
                pairing_id,
                by,
                up_to,
                ..
            } => {
                let query = match by {
                    Side::Candidate => READ_BY_CANDIDATE,
                    Side::Employer => READ_BY_EMPLOYER,
                };
                sqlx::query(query)
                    .bind(pairing_id)
                    .bind(up_to)
                    .execute(tx)
                    .await?;
            }
            PairingEvent::Unmatched { pairing_id, .. } => {
                sqlx::query(CLOSE)
                    .bind(pairing_id)
                    .bind(event.recorded_at)
                    .execute(tx)
                    .await?;
            }
            _ => {}
        }
        Ok(())
    }

    async fn reset(&self, tx: &mut PgConnection) -> Result<(), Error> {
        sqlx::query("DELETE FROM conversation_message")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM conversation_state")
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

/// One message as the parties read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct MessageView {
    pub number: i64,
    pub message_id: Uuid,
    pub from_side: String,
    pub text: String,
    pub posted_at: DateTime<Utc>,
}

/// How far each side has read; `closed_at` once the match ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ConversationView {
    pub messages: i64,
    pub read_by_candidate: i64,
    pub read_by_employer: i64,
    pub closed_at: Option<DateTime<Utc>>,
}

/// The messages after number `after`, oldest first, at most `limit`.
pub async fn messages(
    pool: &PgPool,
    pairing_id: Uuid,
    after: i64,
    limit: i64,
) -> Result<Vec<MessageView>, Error> {
    Ok(sqlx::query_as(
        "SELECT number, message_id, from_side, text, posted_at FROM conversation_message
          WHERE pairing_id = $1 AND number > $2 ORDER BY number LIMIT $3",
    )
    .bind(pairing_id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

pub async fn conversation(
    pool: &PgPool,
    pairing_id: Uuid,
) -> Result<Option<ConversationView>, Error> {
    Ok(sqlx::query_as(
        "SELECT messages, read_by_candidate, read_by_employer, closed_at FROM conversation_state
          WHERE pairing_id = $1",
    )
    .bind(pairing_id)
    .fetch_optional(pool)
    .await?)
}
