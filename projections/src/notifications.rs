//! Each user's notifications, from the events that concern them: a match made or ended, a
//! message received, a document written or failed, an application received or moved,
//! credits bought or refunded, an erasure completed. Every batch that writes some notifies
//! [`NOTIFIED_CHANNEL`] with each recipient on commit, which wakes the live streams of every
//! API process (`projections::progress`).

use std::collections::BTreeSet;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use domain::application::{Application, ApplicationEvent};
use domain::candidate::{Candidate, CandidateEvent};
use domain::document::{Document, DocumentEvent};
use domain::pairing::{Pairing, PairingEvent, Side};
use domain::published::PublishedEvent;
use domain::wallet::{Wallet, WalletEvent};
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{Error, Projection};

/// The channel a notifications batch notifies on commit; the payload is the recipient,
/// `<role>:<id>`.
pub const NOTIFIED_CHANNEL: &str = "hirestream_notified";

/// Who a notification is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Recipient {
    pub role: &'static str,
    pub id: Uuid,
}

impl Recipient {
    pub fn candidate(id: Uuid) -> Self {
        Self {
            role: "candidate",
            id,
        }
    }

    pub fn employer(id: Uuid) -> Self {
        Self {
            role: "employer",
            id,
        }
    }

    fn side(side: Side, candidate: Uuid, employer: Uuid) -> Self {
        match side {
            Side::Candidate => Self::candidate(candidate),
            Side::Employer => Self::employer(employer),
        }
    }

    /// The key the live streams listen for.
    pub fn key(&self) -> String {
        format!("{}:{}", self.role, self.id)
    }
}

/// Builds `notification` (and `notification_application`, who an application is between).
#[derive(Debug, Default)]
pub struct NotificationsProjector {
    /// The recipients the batch in progress wrote to.
    notified: Mutex<BTreeSet<Recipient>>,
}

/// The class of the advisory locks that order each recipient's notifications (the two-key
/// lock space, apart from the relay's single-key lock).
const RECIPIENT_LOCK_CLASS: i32 = 0x6e6f_7469; // "noti"

/// Held until the batch commits: a notification's id is taken under its recipient's lock, so
/// a recipient's notifications become visible in the order of their ids even when several
/// projector instances write to one recipient at once, and a stream that resumes after an id
/// misses none. (Two instances that lock two recipients in opposite orders are a deadlock that
/// PostgreSQL breaks; the aborted batch is retried.)
const LOCK_RECIPIENT: &str = "SELECT pg_advisory_xact_lock($1, hashtext($2))";

const INSERT: &str = "
INSERT INTO notification (recipient_role, recipient, kind, data, source_position, created_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT DO NOTHING";

impl NotificationsProjector {
    async fn notify(
        &self,
        tx: &mut PgConnection,
        event: &PublishedEvent,
        to: Recipient,
        kind: &str,
        data: Value,
    ) -> Result<(), Error> {
        sqlx::query(LOCK_RECIPIENT)
            .bind(RECIPIENT_LOCK_CLASS)
            .bind(to.key())
            .execute(&mut *tx)
            .await?;
        sqlx::query(INSERT)
            .bind(to.role)
            .bind(to.id)
            .bind(kind)
            .bind(data)
            .bind(event.global_position)
            .bind(event.recorded_at)
            .execute(tx)
            .await?;
        self.notified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(to);
        Ok(())
    }

    async fn pairing(&self, tx: &mut PgConnection, event: &PublishedEvent) -> Result<(), Error> {
        match event.decode().map_err(|e| Error::payload(event, e))? {
            PairingEvent::Matched {
                pairing_id,
                candidate_id,
                job_id,
                employer_id,
            } => {
                let data = json!({"pairing_id": pairing_id, "job_id": job_id,
                                  "candidate_id": candidate_id, "employer_id": employer_id});
                for to in [
                    Recipient::candidate(candidate_id),
                    Recipient::employer(employer_id),
                ] {
                    self.notify(tx, event, to, "match.created", data.clone())
                        .await?;
                }
            }
            PairingEvent::MessagePosted {
                pairing_id,
                candidate_id,
                employer_id,
                message_id,
                number,
                from,
                ..
            } => {
                let other = match from {
                    Side::Candidate => Side::Employer,
                    Side::Employer => Side::Candidate,
                };
                let data = json!({"pairing_id": pairing_id, "message_id": message_id,
                                  "number": number, "from": from});
                let to = Recipient::side(other, candidate_id, employer_id);
                self.notify(tx, event, to, "message.received", data).await?;
            }
            PairingEvent::Unmatched {
                pairing_id,
                candidate_id,
                job_id,
                employer_id,
                by,
            } => {
                let other = match by {
                    Side::Candidate => Side::Employer,
                    Side::Employer => Side::Candidate,
                };
                let data = json!({"pairing_id": pairing_id, "job_id": job_id, "by": by});
                let to = Recipient::side(other, candidate_id, employer_id);
                self.notify(tx, event, to, "match.ended", data).await?;
            }
            _ => {}
        }
        Ok(())
    }

    async fn application(
        &self,
        tx: &mut PgConnection,
        event: &PublishedEvent,
    ) -> Result<(), Error> {
        match event.decode().map_err(|e| Error::payload(event, e))? {
            ApplicationEvent::ApplicationSubmitted {
                application_id,
                candidate_id,
                job_id,
                employer_id,
                ..
            } => {
                sqlx::query(
                    "INSERT INTO notification_application
                            (application_id, candidate_id, employer_id, job_id)
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(application_id)
                .bind(candidate_id)
                .bind(employer_id)
                .bind(job_id)
                .execute(&mut *tx)
                .await?;
                let data = json!({"application_id": application_id, "job_id": job_id,
                                  "candidate_id": candidate_id});
                let to = Recipient::employer(employer_id);
                self.notify(tx, event, to, "application.received", data)
                    .await?;
            }
            ApplicationEvent::ApplicationStatusChanged {
                application_id,
                from,
                to,
            } => {
                if let Some((candidate, job)) = parties(tx, application_id).await? {
                    let data = json!({"application_id": application_id, "job_id": job,
                                      "from": from.as_str(), "to": to.as_str()});
                    let to = Recipient::candidate(candidate);
                    self.notify(tx, event, to, "application.status_changed", data)
                        .await?;
                }
            }
            ApplicationEvent::ApplicationWithdrawn { application_id, .. } => {
                let employer: Option<(Uuid, Uuid)> = sqlx::query_as(
                    "SELECT employer_id, job_id FROM notification_application
                      WHERE application_id = $1",
                )
                .bind(application_id)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((employer, job)) = employer {
                    let data = json!({"application_id": application_id, "job_id": job});
                    let to = Recipient::employer(employer);
                    self.notify(tx, event, to, "application.withdrawn", data)
                        .await?;
                }
            }
        }
        Ok(())
    }
}

/// The candidate and job of an application the projection has seen submitted.
async fn parties(
    tx: &mut PgConnection,
    application_id: Uuid,
) -> Result<Option<(Uuid, Uuid)>, Error> {
    Ok(sqlx::query_as(
        "SELECT candidate_id, job_id FROM notification_application WHERE application_id = $1",
    )
    .bind(application_id)
    .fetch_optional(&mut *tx)
    .await?)
}

impl Projection for NotificationsProjector {
    const NAME: &'static str = "notifications";
    const AGGREGATE_TYPES: &'static [&'static str] = &[
        Pairing::TYPE,
        Document::TYPE,
        Application::TYPE,
        Wallet::TYPE,
        Candidate::TYPE,
    ];

    async fn apply(&self, tx: &mut PgConnection, event: &PublishedEvent) -> Result<(), Error> {
        match event.aggregate_type.as_str() {
            t if t == Pairing::TYPE => self.pairing(tx, event).await,
            t if t == Application::TYPE => self.application(tx, event).await,
            t if t == Document::TYPE => {
                match event.decode().map_err(|e| Error::payload(event, e))? {
                    DocumentEvent::DocumentGenerated {
                        document_id,
                        candidate_id,
                        ..
                    } => {
                        let data = json!({"document_id": document_id});
                        let to = Recipient::candidate(candidate_id);
                        self.notify(tx, event, to, "document.ready", data).await
                    }
                    DocumentEvent::DocumentGenerationFailed {
                        document_id,
                        candidate_id,
                        credits,
                        ..
                    } => {
                        let data = json!({"document_id": document_id, "credits_refunded": credits});
                        let to = Recipient::candidate(candidate_id);
                        self.notify(tx, event, to, "document.failed", data).await
                    }
                    DocumentEvent::DocumentRequested { .. } => Ok(()),
                }
            }
            t if t == Wallet::TYPE => match event.decode().map_err(|e| Error::payload(event, e))? {
                WalletEvent::CreditsPurchased {
                    wallet_id,
                    credits,
                    balance_after,
                    ..
                } => {
                    let data = json!({"credits": credits, "balance_after": balance_after});
                    let to = Recipient::candidate(wallet_id);
                    self.notify(tx, event, to, "credits.purchased", data).await
                }
                WalletEvent::CreditsRefunded {
                    wallet_id,
                    charge_id,
                    credits,
                    balance_after,
                    ..
                } => {
                    let data = json!({"charge_id": charge_id, "credits": credits,
                                      "balance_after": balance_after});
                    let to = Recipient::candidate(wallet_id);
                    self.notify(tx, event, to, "credits.refunded", data).await
                }
                _ => Ok(()),
            },
            t if t == Candidate::TYPE => {
                if let Ok(CandidateEvent::CandidateErased { candidate_id }) = event.decode() {
                    // What was the person's goes; the last word says it went.
                    sqlx::query(
                        "DELETE FROM notification
                          WHERE recipient_role = 'candidate' AND recipient = $1",
                    )
                    .bind(candidate_id)
                    .execute(&mut *tx)
                    .await?;
                    let to = Recipient::candidate(candidate_id);
                    let data = json!({"candidate_id": candidate_id});
                    self.notify(tx, event, to, "erasure.completed", data)
                        .await?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    async fn finish_batch(&self, tx: &mut PgConnection) -> Result<(), Error> {
        let notified =
            std::mem::take(&mut *self.notified.lock().unwrap_or_else(|e| e.into_inner()));
        for recipient in notified {
            // Delivered on commit, once per recipient and batch.
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(NOTIFIED_CHANNEL)
                .bind(recipient.key())
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }

    async fn reset(&self, tx: &mut PgConnection) -> Result<(), Error> {
        sqlx::query("DELETE FROM notification")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM notification_application")
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

/// One notification as its recipient reads it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct NotificationView {
    pub id: i64,
    pub kind: String,
    pub data: Value,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// The recipient's notifications after id `after`, oldest first.
pub async fn after(
    pool: &PgPool,
    to: Recipient,
    after: i64,
    limit: i64,
    unread_only: bool,
) -> Result<Vec<NotificationView>, Error> {
    Ok(sqlx::query_as(
        "SELECT id, kind, data, created_at, read_at FROM notification
          WHERE recipient_role = $1 AND recipient = $2 AND id > $3
            AND (NOT $4 OR read_at IS NULL)
          ORDER BY id LIMIT $5",
    )
    .bind(to.role)
    .bind(to.id)
    .bind(after)
    .bind(unread_only)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// How many of the recipient's notifications are unread.
pub async fn unread(pool: &PgPool, to: Recipient) -> Result<i64, Error> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM notification
          WHERE recipient_role = $1 AND recipient = $2 AND read_at IS NULL",
    )
    .bind(to.role)
    .bind(to.id)
    .fetch_one(pool)
    .await?)
}

/// Marks the recipient's notifications up to id `up_to` read; returns how many changed.
pub async fn mark_read(pool: &PgPool, to: Recipient, up_to: i64) -> Result<u64, Error> {
    Ok(sqlx::query(
        "UPDATE notification SET read_at = now()
          WHERE recipient_role = $1 AND recipient = $2 AND id <= $3 AND read_at IS NULL",
    )
    .bind(to.role)
    .bind(to.id)
    .bind(up_to)
    .execute(pool)
    .await?
    .rows_affected())
}

/// The newest notification id of the recipient (0 before the first).
pub async fn newest(pool: &PgPool, to: Recipient) -> Result<i64, Error> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(max(id), 0) FROM notification WHERE recipient_role = $1 AND recipient = $2",
    )
    .bind(to.role)
    .bind(to.id)
    .fetch_one(pool)
    .await?)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use commands::db::ScratchDatabase;

    use super::*;

    fn event(position: i64) -> PublishedEvent {
        PublishedEvent {
            aggregate_type: "pairing".into(),
            aggregate_id: Uuid::from_u128(position as u128).to_string(),
            sequence: 1,
            event_type: "Matched".into(),
            event_version: domain::FIRST_EVENT_VERSION.into(),
            payload: json!({}),
            metadata: HashMap::new(),
            global_position: position,
            recorded_at: Utc::now(),
        }
    }

    #[tokio::test]
    async fn a_recipients_second_writer_waits_for_the_first_so_ids_show_in_order() {
        let server = std::env::var("HIRESTREAM_DATABASE__URL").unwrap_or_else(|_| {
            "postgres://hirestream:hirestream@127.0.0.1:5432/hirestream".to_owned()
        });
        let database = ScratchDatabase::create(&server, "unit")
            .await
            .expect("a scratch database (is PostgreSQL running?)");
        let pool = commands::db::connect(database.url(), 4)
            .await
            .expect("connect");
        let to = Recipient::candidate(Uuid::from_u128(1));
        let first_writer = NotificationsProjector::default();
        let mut first = pool.begin().await.expect("begin");
        first_writer
            .notify(&mut first, &event(1), to, "match.created", json!({}))
            .await
            .expect("first");

        let second = tokio::spawn({
            let pool = pool.clone();
            async move {
                let mut tx = pool.begin().await?;
                NotificationsProjector::default()
                    .notify(&mut tx, &event(2), to, "match.created", json!({}))
                    .await
                    .map_err(|e| sqlx::Error::Protocol(format!("{e:?}")))?;
                tx.commit().await
            }
        });
        // The second waits on the recipient's lock while the first is open.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
                   AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            )
            .fetch_one(&pool)
            .await
            .expect("locks");
            if waiting == 1 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the second writer never waited"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(!second.is_finished());
        first.commit().await.expect("commit");
        second.await.expect("joined").expect("second");

        let ids: Vec<(i64, i64)> =
            sqlx::query_as("SELECT id, source_position FROM notification ORDER BY id")
                .fetch_all(&pool)
                .await
                .expect("notifications");
        assert_eq!(ids.iter().map(|(_, p)| *p).collect::<Vec<_>>(), [1, 2]);
        pool.close().await;
        database.drop_database().await.expect("drop");
    }
}
