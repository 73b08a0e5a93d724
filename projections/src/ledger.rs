//! The credit ledger: an immutable entry per wallet event with the balance after it, the
//! current balance of every wallet, statements, balances as of any instant, and the
//! reconciliation of all of it against the event store.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use domain::published::{metadata, PublishedEvent};
use domain::wallet::{Wallet, WalletEvent};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{Error, Projection};

/// Builds `ledger_entry` and `wallet_balance` from the wallet topic.
#[derive(Debug, Default, Clone, Copy)]
pub struct LedgerProjector;

/// Namespace of entry ids: UUID v5 of `<wallet>/<sequence>`, so a rebuilt ledger has the
/// same ids.
const ENTRY_NAMESPACE: Uuid = Uuid::from_u128(0x3b0e_51d2_7a4f_4c1e_8d2a_91c4_55e0_7f13);

pub fn entry_id(wallet_id: Uuid, sequence: i64) -> Uuid {
    Uuid::new_v5(
        &ENTRY_NAMESPACE,
        format!("{wallet_id}/{sequence}").as_bytes(),
    )
}

const INSERT_ENTRY: &str = "
INSERT INTO ledger_entry (entry_id, wallet_id, sequence, kind, amount, balance_after, reference,
                          description, command, actor_subject, actor_role, correlation_id,
                          recorded_at, global_position)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

const UPSERT_BALANCE: &str = "
INSERT INTO wallet_balance (wallet_id, balance, entries, last_sequence, updated_at)
VALUES ($1, $2, 1, $3, $4)
ON CONFLICT (wallet_id) DO UPDATE
   SET balance = EXCLUDED.balance, entries = wallet_balance.entries + 1,
       last_sequence = EXCLUDED.last_sequence, updated_at = EXCLUDED.updated_at";

impl Projection for LedgerProjector {
    const NAME: &'static str = "ledger";
    const AGGREGATE_TYPES: &'static [&'static str] = &[Wallet::TYPE];

    async fn apply(&self, tx: &mut PgConnection, event: &PublishedEvent) -> Result<(), Error> {
        if event.aggregate_type != Wallet::TYPE {
            return Ok(());
        }
        let decoded: WalletEvent = event.decode().map_err(|e| Error::payload(event, e))?;
        let (kind, wallet_id, reference, description) = match &decoded {
            WalletEvent::CreditsPurchased {
                wallet_id,
                payment_reference,
                ..
            } => (
                "purchase",
                *wallet_id,
                payment_reference.clone(),
                "credits purchased".to_owned(),
            ),
            WalletEvent::CreditsGranted {
                wallet_id,
                grant_id,
                reason,
                ..
            } => ("grant", *wallet_id, grant_id.to_string(), reason.clone()),
            WalletEvent::CreditsCharged {
                wallet_id,
                charge_id,
                purpose,
                ..
            } => ("charge", *wallet_id, charge_id.to_string(), purpose.clone()),
            WalletEvent::CreditsRefunded {
                wallet_id,
                charge_id,
                reason,
                ..
            } => ("refund", *wallet_id, charge_id.to_string(), reason.clone()),
        };
        let meta = |key: &str| event.metadata.get(key).cloned();
        sqlx::query(INSERT_ENTRY)
            .bind(entry_id(wallet_id, event.sequence))
            .bind(wallet_id)
            .bind(event.sequence)
            .bind(kind)
            .bind(decoded.amount())
            .bind(decoded.balance_after())
            .bind(reference)
            .bind(description)
            .bind(meta(metadata::COMMAND))
            .bind(meta(metadata::ACTOR_SUBJECT))
            .bind(meta(metadata::ACTOR_ROLE))
            .bind(meta(metadata::CORRELATION_ID))
            .bind(event.recorded_at)
            .bind(event.global_position)
            .execute(&mut *tx)
            .await?;
        sqlx::query(UPSERT_BALANCE)
            .bind(wallet_id)
            .bind(decoded.balance_after())
            .bind(event.sequence)
            .bind(event.recorded_at)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    async fn reset(&self, tx: &mut PgConnection) -> Result<(), Error> {
        sqlx::query("TRUNCATE ledger_entry, wallet_balance")
            .execute(tx)
            .await?;
        Ok(())
    }
}

/// One ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct LedgerEntry {
    pub entry_id: Uuid,
    pub wallet_id: Uuid,
    pub sequence: i64,
    pub kind: String,
    pub amount: i64,
    pub balance_after: i64,
    pub reference: String,
    pub description: String,
    pub command: Option<String>,
    pub actor_subject: Option<String>,
    pub actor_role: Option<String>,
    pub correlation_id: Option<String>,
    pub recorded_at: DateTime<Utc>,
    pub global_position: i64,
}

/// A wallet's current balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct WalletBalanceView {
    pub wallet_id: Uuid,
    pub balance: i64,
    pub entries: i64,
    pub last_sequence: i64,
    pub updated_at: DateTime<Utc>,
}

/// A period of a wallet's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    pub wallet_id: Uuid,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub opening_balance: i64,
    pub entries: Vec<LedgerEntry>,
    pub closing_balance: i64,
}

const ENTRY_COLUMNS: &str =
    "entry_id, wallet_id, sequence, kind, amount, balance_after, reference, \
     description, command, actor_subject, actor_role, correlation_id, recorded_at, global_position";

pub async fn balance(pool: &PgPool, wallet_id: Uuid) -> Result<Option<WalletBalanceView>, Error> {
    let row = sqlx::query_as("SELECT * FROM wallet_balance WHERE wallet_id = $1")
        .bind(wallet_id)
        .fetch_optional(pool)
        .await?;
    Ok(row)
}

/// Entries after sequence `after` (0 for the first page), oldest first.
pub async fn entries(
    pool: &PgPool,
    wallet_id: Uuid,
    after: i64,
    limit: i64,
) -> Result<Vec<LedgerEntry>, Error> {
    let query = format!(
        "SELECT {ENTRY_COLUMNS} FROM ledger_entry WHERE wallet_id = $1 AND sequence > $2 \
         ORDER BY sequence LIMIT $3"
    );
    let rows = sqlx::query_as(&query)
        .bind(wallet_id)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    Ok(rows)
}

/// The balance after the last entry recorded at or before `at` (0 before the first).
pub async fn balance_at(pool: &PgPool, wallet_id: Uuid, at: DateTime<Utc>) -> Result<i64, Error> {
    let balance: Option<i64> = sqlx::query_scalar(
        "SELECT balance_after FROM ledger_entry WHERE wallet_id = $1 AND recorded_at <= $2
          ORDER BY sequence DESC LIMIT 1",
    )
    .bind(wallet_id)
    .bind(at)
    .fetch_optional(pool)
    .await?;
    Ok(balance.unwrap_or(0))
}

/// Entries recorded in `[from, to)`, with the balances before and after the period.
pub async fn statement(
    pool: &PgPool,
    wallet_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Statement, Error> {
    let opening: Option<i64> = sqlx::query_scalar(
        "SELECT balance_after FROM ledger_entry WHERE wallet_id = $1 AND recorded_at < $2
          ORDER BY sequence DESC LIMIT 1",
    )
    .bind(wallet_id)
    .bind(from)
    .fetch_optional(pool)
    .await?;
    let opening_balance = opening.unwrap_or(0);
    let query = format!(
        "SELECT {ENTRY_COLUMNS} FROM ledger_entry
          WHERE wallet_id = $1 AND recorded_at >= $2 AND recorded_at < $3 ORDER BY sequence"
    );
    let entries: Vec<LedgerEntry> = sqlx::query_as(&query)
        .bind(wallet_id)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?;
    let closing_balance = entries.last().map_or(opening_balance, |e| e.balance_after);
    Ok(Statement {
        wallet_id,
        from,
        to,
        opening_balance,
        entries,
        closing_balance,
    })
}

/// Every entry of every wallet, in order: for comparing a rebuilt ledger with the live one.
pub async fn all_entries(pool: &PgPool) -> Result<Vec<LedgerEntry>, Error> {
    let query = format!("SELECT {ENTRY_COLUMNS} FROM ledger_entry ORDER BY wallet_id, sequence");
    Ok(sqlx::query_as(&query).fetch_all(pool).await?)
}

/// A wallet whose ledger disagrees with its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    pub wallet_id: String,
    pub problem: String,
}

/// What the event store says about one wallet.
#[derive(Debug, Default)]
struct Folded {
    balance: i64,
    events: i64,
    sum: i64,
    problems: Vec<String>,
}

/// Recomputes every wallet from the event store and compares it with the ledger: balance,
/// number of entries and their sum, and each event's own `balance_after`.
pub async fn reconcile(pool: &PgPool) -> Result<Vec<Mismatch>, Error> {
    let rows: Vec<(String, i64, serde_json::Value)> = sqlx::query_as(
        "SELECT aggregate_id, sequence, payload FROM events WHERE aggregate_type = $1
          ORDER BY aggregate_id, sequence",
    )
    .bind(Wallet::TYPE)
    .fetch_all(pool)
    .await?;
    let mut store: BTreeMap<String, Folded> = BTreeMap::new();
    for (wallet, sequence, payload) in rows {
        let folded = store.entry(wallet).or_default();
        match serde_json::from_value::<WalletEvent>(payload) {
            Ok(event) => {
                folded.events += 1;
                folded.sum += event.amount();
                if folded.balance + event.amount() != event.balance_after() {
                    folded.problems.push(format!(
                        "event {sequence} says balance {} but the events before it add up to {}",
                        event.balance_after(),
                        folded.balance + event.amount()
                    ));
                }
                folded.balance = event.balance_after();
            }
            Err(error) => folded
                .problems
                .push(format!("event {sequence} cannot be read: {error}")),
        }
    }

    let ledger: Vec<(Uuid, i64, i64, i64)> = sqlx::query_as(
        "SELECT b.wallet_id, b.balance, count(e.entry_id), COALESCE(sum(e.amount), 0)::bigint
           FROM wallet_balance b LEFT JOIN ledger_entry e USING (wallet_id)
          GROUP BY b.wallet_id, b.balance",
    )
    .fetch_all(pool)
    .await?;
    let mut ledger: BTreeMap<String, (i64, i64, i64)> = ledger
        .into_iter()
        .map(|(wallet, balance, entries, sum)| (wallet.to_string(), (balance, entries, sum)))
        .collect();

    let mut mismatches = Vec::new();
    for (wallet_id, folded) in store {
        let mut problems = folded.problems;
        match ledger.remove(&wallet_id) {
            None => problems.push(format!(
                "{} events in the store, no ledger entries",
                folded.events
            )),
            Some((balance, entries, sum)) => {
                if balance != folded.balance {
                    problems.push(format!(
                        "ledger balance {balance}, event store balance {}",
                        folded.balance
                    ));
                }
                if entries != folded.events {
                    problems.push(format!(
                        "{entries} ledger entries for {} events",
                        folded.events
                    ));
                }
                if sum != folded.sum || sum != balance {
                    problems.push(format!(
                        "ledger entries sum to {sum}, events to {}, balance is {balance}",
                        folded.sum
                    ));
                }
            }
        }
        mismatches.extend(problems.into_iter().map(|problem| Mismatch {
            wallet_id: wallet_id.clone(),
            problem,
        }));
    }
    for wallet_id in ledger.into_keys() {
        mismatches.push(Mismatch {
            wallet_id,
            problem: "in the ledger but has no events".into(),
        });
    }
    Ok(mismatches)
}

/// Wallet events in the store that the ledger has not applied yet.
pub async fn pending_events(pool: &PgPool) -> Result<i64, Error> {
    let pending = sqlx::query_scalar(
        "SELECT count(*) FROM events e
          WHERE e.aggregate_type = $1
            AND e.sequence > COALESCE((SELECT a.sequence FROM projection_applied a
                                        WHERE a.projection = $2 AND a.aggregate_type = $1
                                          AND a.aggregate_id = e.aggregate_id), 0)",
    )
    .bind(Wallet::TYPE)
    .bind(LedgerProjector::NAME)
    .fetch_one(pool)
    .await?;
    Ok(pending)
}
