//! Wallets and the credit ledger: balances, entries, statements and balances as of an
//! instant for their owner, admins and auditors; grants, charges and refunds.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use domain::wallet::{ChargeCredits, GrantCredits, RefundCredits};
use domain::Write;
use projections::ledger::{self, LedgerEntry, LedgerProjector, Statement, WalletBalanceView};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{next_cursor, page, AfterQuery};
use crate::error::{ApiError, ErrorCode};
use crate::extract::{Caller, Path, Query};
use crate::position::{reflect, Written};
use crate::read_policy::{self, Parties, Read};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/wallets/{wallet_id}", get(balance))
        .route("/wallets/{wallet_id}/entries", get(entries))
        .route("/wallets/{wallet_id}/statement", get(statement))
        .route("/wallets/{wallet_id}/balance", get(balance_at))
        .route("/wallets/{wallet_id}/grants", post(grant))
        .route("/wallets/{wallet_id}/charges", post(charge))
        .route("/wallets/{wallet_id}/refunds", post(refund))
}

/// A candidate sees its own wallet; admins and auditors see every wallet.
fn may_read(caller: &Caller, wallet_id: Uuid) -> Result<(), ApiError> {
    read_policy::may_read(caller.actor, Read::Wallet, Parties::candidate(wallet_id)).map(|_| ())
}

async fn balance(
    State(state): State<AppState>,
    caller: Caller,
    Path(wallet_id): Path<Uuid>,
    Query(query): Query<AfterQuery>,
) -> Result<Json<WalletBalanceView>, ApiError> {
    may_read(&caller, wallet_id)?;
    reflect::<LedgerProjector>(&state, query.after.as_deref()).await?;
    ledger::balance(&state.pool, wallet_id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("wallet {wallet_id} has no entries")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntriesQuery {
    after: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<i64>,
    limit: Option<i64>,
}

#[derive(Debug, Serialize)]
struct EntryPage {
    entries: Vec<LedgerEntry>,
    /// Pass as `cursor` for the next page; absent on the last page.
    next_cursor: Option<i64>,
}

async fn entries(
    State(state): State<AppState>,
    caller: Caller,
    Path(wallet_id): Path<Uuid>,
    Query(query): Query<EntriesQuery>,
) -> Result<Json<EntryPage>, ApiError> {
    may_read(&caller, wallet_id)?;
    let (cursor, limit) = page(query.cursor, query.limit, 100, 500)?;
    reflect::<LedgerProjector>(&state, query.after.as_deref()).await?;
    let entries = ledger::entries(&state.pool, wallet_id, cursor, limit).await?;
    Ok(Json(EntryPage {
        next_cursor: next_cursor(&entries, limit, |e| e.sequence),
        entries,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeriodQuery {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

async fn statement(
    State(state): State<AppState>,
    caller: Caller,
    Path(wallet_id): Path<Uuid>,
    Query(period): Query<PeriodQuery>,
) -> Result<Json<Statement>, ApiError> {
    may_read(&caller, wallet_id)?;
    if period.from >= period.to {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidQuery,
            "`from` must be before `to`",
        ));
    }
    Ok(Json(
        ledger::statement(&state.pool, wallet_id, period.from, period.to).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AtQuery {
    at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
struct BalanceAt {
    wallet_id: Uuid,
    at: DateTime<Utc>,
    balance: i64,
}

async fn balance_at(
    State(state): State<AppState>,
    caller: Caller,
    Path(wallet_id): Path<Uuid>,
    Query(query): Query<AtQuery>,
) -> Result<Json<BalanceAt>, ApiError> {
    may_read(&caller, wallet_id)?;
    let balance = ledger::balance_at(&state.pool, wallet_id, query.at).await?;
    Ok(Json(BalanceAt {
        wallet_id,
        at: query.at,
        balance,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantBody {
    /// Chosen by the caller: a retry with the same id grants once.
    grant_id: Uuid,
    credits: i64,
    reason: String,
}

async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    Path(wallet_id): Path<Uuid>,
    crate::extract::Json(body): crate::extract::Json<GrantBody>,
) -> Result<(StatusCode, Json<Written>), ApiError> {
    super::authorize(caller.actor, Write::GrantCredits, wallet_id)?;
    let command = GrantCredits {
        wallet_id,
        grant_id: body.grant_id,
        credits: body.credits,
        reason: body.reason,
        granted_by: caller.actor,
    };
    let written = state
        .commands
        .grant_credits(&caller.context, command)
        .await?;
    Ok((StatusCode::CREATED, Json(written.into())))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChargeBody {
    /// Chosen by the caller: a retry with the same id charges once.
    charge_id: Uuid,
    credits: i64,
    purpose: String,
}

async fn charge(
    State(state): State<AppState>,
    caller: Caller,
    Path(wallet_id): Path<Uuid>,
    crate::extract::Json(body): crate::extract::Json<ChargeBody>,
) -> Result<(StatusCode, Json<Written>), ApiError> {
    super::authorize(caller.actor, Write::ChargeCredits, wallet_id)?;
    let command = ChargeCredits {
        wallet_id,
        charge_id: body.charge_id,
        credits: body.credits,
        purpose: body.purpose,
        charged_by: caller.actor,
    };
    let written = state
        .commands
        .charge_credits(&caller.context, command)
        .await?;
    Ok((StatusCode::CREATED, Json(written.into())))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundBody {
    charge_id: Uuid,
    credits: i64,
    reason: String,
}

async fn refund(
    State(state): State<AppState>,
    caller: Caller,
    Path(wallet_id): Path<Uuid>,
    crate::extract::Json(body): crate::extract::Json<RefundBody>,
) -> Result<(StatusCode, Json<Written>), ApiError> {
    super::authorize(caller.actor, Write::RefundCredits, wallet_id)?;
    let command = RefundCredits {
        wallet_id,
        charge_id: body.charge_id,
        credits: body.credits,
        reason: body.reason,
        refunded_by: caller.actor,
    };
    let written = state
        .commands
        .refund_credits(&caller.context, command)
        .await?;
    Ok((StatusCode::CREATED, Json(written.into())))
}

#[cfg(test)]
mod tests {
    use axum::http::Method;
    use serde_json::json;

    use crate::testing::*;

    const READERS: &[Who] = &[CANDIDATE, ADMIN, AUDITOR];

    #[tokio::test]
    async fn each_role_is_refused_or_let_through_before_the_wallet_is_looked_up() {
        let charge = json!({"charge_id": OWNER, "credits": 2, "purpose": "resume"});
        assert_role_matrix(vec![
            Route::get("/wallets/{id}", READERS),
            Route::get("/wallets/{id}/entries", READERS),
            Route::get(
                "/wallets/{id}/statement?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z",
                READERS,
            ),
            Route::get("/wallets/{id}/balance?at=2026-01-01T00:00:00Z", READERS),
            Route::with(
                Method::POST,
                "/wallets/{id}/grants",
                json!({"grant_id": OWNER, "credits": 5, "reason": "welcome"}),
                &[ADMIN],
            ),
            Route::with(
                Method::POST,
                "/wallets/{id}/charges",
                charge,
                &[CANDIDATE, ADMIN],
            ),
            Route::with(
                Method::POST,
                "/wallets/{id}/refunds",
                json!({"charge_id": OWNER, "credits": 2, "reason": "failed"}),
                &[ADMIN],
            ),
        ])
        .await;
    }

    #[tokio::test]
    async fn malformed_queries_are_400s_of_the_one_shape() {
        assert_refusals(
            CANDIDATE,
            vec![
                bad_get("/wallets/{id}/entries?limit=0", 400, "invalid_query"),
                bad_get("/wallets/{id}/entries?limit=501", 400, "invalid_query"),
                bad_get("/wallets/{id}/entries?cursor=-1", 400, "invalid_query"),
                bad_get("/wallets/{id}/entries?cursor=abc", 400, "invalid_query"),
                bad_get("/wallets/{id}/entries?after=x", 400, "invalid_position"),
                bad_get("/wallets/{id}?after=job:x:1", 400, "unsupported_position"),
                bad_get("/wallets/{id}/statement", 400, "invalid_query"),
                bad_get(
                    "/wallets/{id}/statement?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
                    400,
                    "invalid_query",
                ),
                bad_get(
                    "/wallets/{id}/statement?from=yesterday&to=2026-01-01T00:00:00Z",
                    400,
                    "invalid_query",
                ),
                bad_get("/wallets/{id}/balance", 400, "invalid_query"),
                bad_get("/wallets/{id}/balance?at=%00", 400, "invalid_query"),
            ],
        )
        .await;
    }
}
