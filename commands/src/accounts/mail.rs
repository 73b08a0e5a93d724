//! Outgoing email: an outbox in PostgreSQL, written in the transaction of what it announces,
//! and a sender that empties it through a [`Mailer`].
//!
//! The SMTP mailer hands each message to a mail server (lettre, over TLS where the URL asks
//! for it). The local mailer, the default, writes each message as an `.eml` file (RFC 5322,
//! plain text) into a directory, where a developer opens it and a test reads it. A message
//! is marked sent only after the mailer took it, so a crash in between sends it again rather
//! than never.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::Error;

/// How often the sender looks for new mail.
const POLL: Duration = Duration::from_secs(1);
/// Messages sent per round.
const BATCH: i64 = 20;
/// A message the mailer keeps refusing is given up after this many attempts.
const MAX_ATTEMPTS: i32 = 10;

/// One message of the outbox.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Email {
    pub id: Uuid,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// Where mail goes.
#[derive(Debug, Clone)]
pub enum Mailer {
    /// Each message as a file in this directory.
    Directory(PathBuf),
    /// A mail server.
    Smtp(Box<SmtpMailer>),
}

/// Sends through a mail server, named by a URL as lettre reads it: `smtps://user:password@host`
/// (TLS from the start, port 465), `smtp://user:password@host:587?tls=required` (STARTTLS), or
/// `smtp://host:25` (plain, for a relay on the same network).
#[derive(Clone)]
pub struct SmtpMailer {
    transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    from: lettre::message::Mailbox,
    server: String,
}

impl std::fmt::Debug for SmtpMailer {
    // The URL may hold a password: only the server is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// A mail server URL or sender address that does not parse.
#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    #[error("the SMTP URL is not valid: {0}")]
    Url(#[source] lettre::transport::smtp::Error),
    #[error("the sender address `{0}` is not valid")]
    From(String),
}

impl SmtpMailer {
    pub fn new(url: &str, from: &str) -> Result<Self, MailerError> {
        let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)
            .map_err(MailerError::Url)?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        let from = from
            .parse()
            .map_err(|_| MailerError::From(from.to_owned()))?;
        let server = url
            .rsplit_once('@')
            .map_or(url, |(_, host)| host)
            .to_owned();
        Ok(Self {
            transport,
            from,
            server,
        })
    }

    async fn send(&self, email: &Email) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        use lettre::AsyncTransport as _;
        let message = lettre::Message::builder()
            .from(self.from.clone())
            .to(email.recipient.parse()?)
            .subject(email.subject.clone())
            .message_id(Some(format!("<{}@hirestream.local>", email.id)))
            .date(email.created_at.into())
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(email.body.clone())?;
        self.transport.send(message).await?;
        Ok(())
    }
}

impl Mailer {
    async fn send(&self, email: &Email) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        match self {
            Mailer::Smtp(smtp) => smtp.send(email).await,
            Mailer::Directory(dir) => {
                tokio::fs::create_dir_all(dir).await?;
                let name = format!(
                    "{}-{}.eml",
                    email.created_at.format("%Y%m%dT%H%M%S"),
                    email.id
                );
                let partial = dir.join(format!(".{name}.partial"));
                tokio::fs::write(&partial, rfc5322(email)).await?;
                // A reader never sees half a message.
                tokio::fs::rename(&partial, dir.join(name)).await?;
                Ok(())
            }
        }
    }
}

/// The message as a mail file: headers, a blank line, the body with CRLF line ends.
fn rfc5322(email: &Email) -> String {
    let body = email.body.replace("\r\n", "\n").replace('\n', "\r\n");
    format!(
        "From: Hirestream <no-reply@hirestream.local>\r\nTo: {}\r\nSubject: {}\r\nDate: {}\r\n\
         Message-ID: <{}@hirestream.local>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
        email.recipient,
        email.subject,
        email.created_at.to_rfc2822(),
        email.id,
    )
}

/// Queues a message in `tx`: it is sent only if `tx` commits.
pub async fn enqueue(
    tx: &mut Transaction<'_, Postgres>,
    account_id: Uuid,
    recipient: &str,
    subject: &str,
    body: &str,
) -> Result<Uuid, Error> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO email_outbox (id, account_id, recipient, subject, body) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(account_id)
    .bind(recipient)
    .bind(subject)
    .bind(body)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Sends what is waiting, oldest first; returns how many were sent. Several senders may run:
/// each message is claimed by one.
pub async fn send_pending(pool: &PgPool, mailer: &Mailer) -> Result<usize, Error> {
    let mut tx = pool.begin().await?;
    let pending: Vec<Email> = sqlx::query_as(
        "SELECT id, recipient, subject, body, created_at FROM email_outbox \
         WHERE sent_at IS NULL AND attempts < $1 ORDER BY created_at LIMIT $2 \
         FOR UPDATE SKIP LOCKED",
    )
    .bind(MAX_ATTEMPTS)
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    let mut sent = 0;
    for email in &pending {
        match mailer.send(email).await {
            Ok(()) => {
                sqlx::query(
                    "UPDATE email_outbox SET sent_at = now(), attempts = attempts + 1, \
                     last_error = NULL WHERE id = $1",
                )
                .bind(email.id)
                .execute(&mut *tx)
                .await?;
                sent += 1;
            }
            Err(error) => {
                tracing::warn!(email = %email.id, %error, "sending an email failed");
                sqlx::query(
                    "UPDATE email_outbox SET attempts = attempts + 1, last_error = $2 \
                     WHERE id = $1",
                )
                .bind(email.id)
                .bind(error.to_string())
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(sent)
}

/// Sends mail until `shutdown`.
pub async fn run(pool: PgPool, mailer: Mailer, shutdown: CancellationToken) {
    tracing::info!(?mailer, "mail sender started");
    loop {
        match send_pending(&pool, &mailer).await {
            Ok(sent) if sent as i64 == BATCH => continue,
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "the mail sender could not read the outbox"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_a_mail_file_with_crlf_line_ends() {
        let email = Email {
            id: Uuid::from_u128(1),
            recipient: "ada@example.com".into(),
            subject: "Verify your address".into(),
            body: "line one\nline two".into(),
            created_at: DateTime::<Utc>::from_timestamp(1_800_000_000, 0).expect("instant"),
        };
        let file = rfc5322(&email);
        assert!(file.starts_with("From: Hirestream <no-reply@hirestream.local>\r\n"));
        assert!(file.contains("\r\nTo: ada@example.com\r\n"));
        assert!(file.contains("\r\nSubject: Verify your address\r\n"));
        assert!(file.ends_with("\r\n\r\nline one\r\nline two\r\n"));
    }

    /// A mail server that speaks just enough SMTP (RFC 5321) to take one message, and
    /// answers the commands and the message it received.
    async fn one_message_server() -> (String, tokio::task::JoinHandle<(Vec<String>, String)>) {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("smtp://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.expect("accept");
            let (read, mut write) = socket.into_split();
            let mut lines = BufReader::new(read).lines();
            write.write_all(b"220 stub ESMTP\r\n").await.expect("greet");
            let (mut commands, mut data) = (Vec::new(), String::new());
            while let Some(line) = lines.next_line().await.expect("read") {
                let verb = line.split(' ').next().unwrap_or_default().to_uppercase();
                commands.push(verb.clone());
                let answer: &[u8] = match verb.as_str() {
                    "EHLO" => b"250-stub\r\n250 8BITMIME\r\n",
                    "DATA" => {
                        write.write_all(b"354 go on\r\n").await.expect("write");
                        while let Some(line) = lines.next_line().await.expect("read") {
                            if line == "." {
                                break;
                            }
                            data.push_str(&line);
                            data.push('\n');
                        }
                        b"250 queued\r\n"
                    }
                    "QUIT" => {
                        write.write_all(b"221 bye\r\n").await.expect("write");
                        break;
                    }
                    _ => b"250 ok\r\n",
                };
                write.write_all(answer).await.expect("write");
            }
            (commands, data)
        });
        (url, server)
    }

    #[tokio::test]
    async fn the_smtp_mailer_hands_a_message_to_a_mail_server() {
        let (url, server) = one_message_server().await;
        let mailer =
            SmtpMailer::new(&url, "Hirestream <no-reply@hirestream.example>").expect("mailer");
        let email = Email {
            id: Uuid::from_u128(2),
            recipient: "ada@example.com".into(),
            subject: "Verify your email address".into(),
            body: "token: abc".into(),
            created_at: Utc::now(),
        };
        Mailer::Smtp(Box::new(mailer.clone()))
            .send(&email)
            .await
            .expect("sent");
        drop(mailer);
        let (commands, data) = tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .expect("the server finished")
            .expect("server");
        assert_eq!(
            &commands[..4],
            ["EHLO", "MAIL", "RCPT", "DATA"],
            "{commands:?}"
        );
        assert!(data.contains("To: ada@example.com"), "{data}");
        assert!(
            data.contains("Subject: Verify your email address"),
            "{data}"
        );
        assert!(data.contains("token: abc"), "{data}");
    }

    #[test]
    fn a_mailer_with_a_bad_url_or_sender_is_refused() {
        assert!(SmtpMailer::new("ftp://host", "a@b.example").is_err());
        assert!(SmtpMailer::new("smtp://host", "not an address").is_err());
        let shown = format!(
            "{:?}",
            SmtpMailer::new("smtps://user:secret@mail.example", "a@b.example").expect("mailer")
        );
        assert!(!shown.contains("secret"), "{shown}");
    }
}
