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

const INSERT_ENTRIES: &str = "
INSERT INTO ledger_entry (entry_id, wallet_id, sequence, kind, amount, balance_after, reference,
                          description, command, actor_subject, actor_role, correlation_id,
                          recorded_at, global_position)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::bigint[],
                     $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[],
                     $11::text[], $12::text[], $13::timestamptz[], $14::bigint[])";

/// Each wallet of a batch once: its balance after the batch and how many entries it added.
const UPSERT_BALANCES: &str = "
INSERT INTO wallet_balance (wallet_id, balance, entries, last_sequence, updated_at)
SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::timestamptz[])
ON CONFLICT (wallet_id) DO UPDATE
   SET balance = EXCLUDED.balance, entries = wallet_balance.entries + EXCLUDED.entries,
       last_sequence = EXCLUDED.last_sequence, updated_at = EXCLUDED.updated_at";

impl Projection for LedgerProjector {
    const NAME: &'static str = "ledger";
    const AGGREGATE_TYPES: &'static [&'static str] = &[Wallet::TYPE];

    async fn apply(&self, tx: &mut PgConnection, event: &PublishedEvent) -> Result<(), Error> {
        self.apply_all(tx, &[event]).await
    }

    /// One statement for every entry of the batch and one for every wallet's balance.
    async fn apply_all(
        &self,
        tx: &mut PgConnection,
        events: &[&PublishedEvent],
    ) -> Result<(), Error> {
        let mut rows = EntryRows::default();
        let mut balances: BTreeMap<Uuid, (i64, i64, i64, DateTime<Utc>)> = BTreeMap::new();
        for event in events.iter().filter(|e| e.aggregate_type == Wallet::TYPE) {
            let decoded: WalletEvent = event.decode().map_err(|e| Error::payload(event, e))?;
            let (kind, wallet_id, reference, description) = describe(&decoded);
            let meta = |key: &str| event.metadata.get(key).cloned();
            rows.entry_id.push(entry_id(wallet_id, event.sequence));
            rows.wallet_id.push(wallet_id);
            rows.sequence.push(event.sequence);
            rows.kind.push(kind);
            rows.amount.push(decoded.amount());
            rows.balance_after.push(decoded.balance_after());
            rows.reference.push(reference);
            rows.description.push(description);
            rows.command.push(meta(metadata::COMMAND));
            rows.actor_subject.push(meta(metadata::ACTOR_SUBJECT));
            rows.actor_role.push(meta(metadata::ACTOR_ROLE));
            rows.correlation_id.push(meta(metadata::CORRELATION_ID));
            rows.recorded_at.push(event.recorded_at);
            rows.global_position.push(event.global_position);
            let balance = balances
                .entry(wallet_id)
                .or_insert((0, 0, 0, event.recorded_at));
            *balance = (
                decoded.balance_after(),
                balance.1 + 1,
                event.sequence,
                event.recorded_at,
            );
        }
        if rows.entry_id.is_empty() {
            return Ok(());
        }
        sqlx::query(INSERT_ENTRIES)
            .bind(&rows.entry_id)
            .bind(&rows.wallet_id)
            .bind(&rows.sequence)
            .bind(&rows.kind)
            .bind(&rows.amount)
            .bind(&rows.balance_after)
            .bind(&rows.reference)
            .bind(&rows.description)
            .bind(&rows.command)
            .bind(&rows.actor_subject)
            .bind(&rows.actor_role)
            .bind(&rows.correlation_id)
            .bind(&rows.recorded_at)
            .bind(&rows.global_position)
            .execute(&mut *tx)
            .await?;
        let mut columns = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (wallet_id, (balance, entries, last_sequence, updated_at)) in balances {
            columns.0.push(wallet_id);
            columns.1.push(balance);
            columns.2.push(entries);
            columns.3.push(last_sequence);
            columns.4.push(updated_at);
        }
        sqlx::query(UPSERT_BALANCES)
            .bind(&columns.0)
            .bind(&columns.1)
            .bind(&columns.2)
            .bind(&columns.3)
            .bind(&columns.4)
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

/// The entry's kind, wallet, reference and description.
fn describe(decoded: &WalletEvent) -> (&'static str, Uuid, String, String) {
    match decoded {
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
    }
}

/// The columns of a batch of ledger entries.
#[derive(Debug, Default)]
struct EntryRows {
    entry_id: Vec<Uuid>,
    wallet_id: Vec<Uuid>,
    sequence: Vec<i64>,
    kind: Vec<&'static str>,
    amount: Vec<i64>,
    balance_after: Vec<i64>,
    reference: Vec<String>,
    description: Vec<String>,
    command: Vec<Option<String>>,
    actor_subject: Vec<Option<String>>,
    actor_role: Vec<Option<String>>,
    correlation_id: Vec<Option<String>>,
    recorded_at: Vec<DateTime<Utc>>,
    global_position: Vec<i64>,
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
