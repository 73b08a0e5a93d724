//! The conversation of a match, between its candidate and the job's employer: messages with a
//! client-chosen id, read receipts, and the unmatch that closes it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use domain::conversation::{PostMessage, ReadMessages, Unmatch};
use projections::conversations::{self, ConversationView, ConversationsProjector, MessageView};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{Caller, Json, Path, Query};
use crate::position::{reflect, Written};
use crate::read_policy::{self, Parties, Read};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/matches/{pairing_id}/messages",
            get(list).post(post_message),
        )
        .route("/matches/{pairing_id}/read", post(read))
        .route("/matches/{pairing_id}/unmatch", post(unmatch))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessagesQuery {
    /// Messages after this number (the `next_cursor` of the previous page).
    cursor: Option<i64>,
    limit: Option<i64>,
    after: Option<String>,
}

#[derive(Debug, Serialize)]
struct MessagePage {
    messages: Vec<MessageView>,
    conversation: Option<ConversationView>,
    next_cursor: Option<i64>,
}

/// The pairing's two parties, from the event store; 404 when no such pairing was ever swiped.
async fn parties(state: &AppState, pairing_id: Uuid) -> Result<Parties, ApiError> {
    let pairing = state.commands.pairing(pairing_id).await?;
    let parties = pairing
        .parties
        .ok_or_else(|| ApiError::not_found(format!("no match {pairing_id}")))?;
    Ok(Parties::both(parties.candidate_id, parties.employer_id))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(pairing_id): Path<Uuid>,
    Query(query): Query<MessagesQuery>,
) -> Result<axum::Json<MessagePage>, ApiError> {
    read_policy::may_ask(caller.actor, Read::Conversation)?;
    let (cursor, limit) = super::page(query.cursor, query.limit, 50, 200)?;
    let parties = parties(&state, pairing_id).await?;
    read_policy::may_read(caller.actor, Read::Conversation, parties)?;
    reflect::<ConversationsProjector>(&state, query.after.as_deref()).await?;
    let messages = conversations::messages(&state.pool, pairing_id, cursor, limit).await?;
    let conversation = conversations::conversation(&state.pool, pairing_id).await?;
    let next_cursor = super::next_cursor(&messages, limit, |m| m.number);
    Ok(axum::Json(MessagePage {
        messages,
        conversation,
        next_cursor,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageBody {
    message_id: Uuid,
    text: String,
}

async fn post_message(
    State(state): State<AppState>,
    caller: Caller,
    Path(pairing_id): Path<Uuid>,
    Json(body): Json<MessageBody>,
) -> Result<(StatusCode, axum::Json<Written>), ApiError> {
    read_policy::may_ask(caller.actor, Read::Conversation)?;
    let command = PostMessage {
        pairing_id,
        message_id: body.message_id,
        text: body.text,
        posted_by: caller.actor,
    };
    let written = state
        .commands
        .post_message(&caller.context, command)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(written.into())))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadBody {
    /// Every message up to this number has been read.
    up_to: i64,
}

async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(pairing_id): Path<Uuid>,
    Json(body): Json<ReadBody>,
) -> Result<axum::Json<Written>, ApiError> {
    read_policy::may_ask(caller.actor, Read::Conversation)?;
    let command = ReadMessages {
        pairing_id,
        up_to: body.up_to,
        read_by: caller.actor,
    };
    let written = state
        .commands
        .read_messages(&caller.context, command)
        .await?;
    Ok(axum::Json(written.into()))
}

async fn unmatch(
    State(state): State<AppState>,
    caller: Caller,
    Path(pairing_id): Path<Uuid>,
) -> Result<axum::Json<Written>, ApiError> {
    read_policy::may_ask(caller.actor, Read::Conversation)?;
    let command = Unmatch {
        pairing_id,
        unmatched_by: caller.actor,
    };
    let written = state.commands.unmatch(&caller.context, command).await?;
    Ok(axum::Json(written.into()))
}
