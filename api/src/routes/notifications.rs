//! A user's notifications: the list with unread counts, marking them read, and a live stream
//! (Server-Sent Events) that resumes from `Last-Event-ID`. The stream is woken by the
//! notifications projector's commit in any process (`projections::progress`), so it works
//! whichever API process a client is connected to.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::Router;
use domain::{Actor, Role};
use futures::{Stream, StreamExt};
use projections::notifications::{self, NotificationView, Recipient};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};
use crate::extract::{Caller, Json, Query};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(list))
        .route("/notifications/read", post(mark_read))
        .route("/notifications/stream", get(stream))
}

/// Heartbeats keep idle connections open through proxies.
const HEARTBEAT: Duration = Duration::from_secs(15);
/// Longest a stream waits for a signal before it looks again. The listener wakes every stream
/// when it reconnects, so this only bounds what a lost notification could delay; it is long
/// because every held stream polls at this rate.
const FALLBACK_POLL: Duration = Duration::from_secs(15);
/// Notifications read per query of a stream.
const STREAM_BATCH: i64 = 100;

/// Candidates and employers have notifications; admins and auditors none of their own.
fn recipient(actor: Actor) -> Result<Recipient, ApiError> {
    match actor.role {
        Role::Candidate => Ok(Recipient::candidate(actor.subject)),
        Role::Employer => Ok(Recipient::employer(actor.subject)),
        _ => Err(ApiError::forbidden(
            "notifications are for candidates and employers",
        )),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Notifications after this id (the `next_cursor` of the previous page).
    cursor: Option<i64>,
    limit: Option<i64>,
    /// Only those not read yet.
    unread: Option<bool>,
}

#[derive(Debug, Serialize)]
struct NotificationPage {
    notifications: Vec<NotificationView>,
    unread: i64,
    next_cursor: Option<i64>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<axum::Json<NotificationPage>, ApiError> {
    let to = recipient(caller.actor)?;
    let (cursor, limit) = super::page(query.cursor, query.limit, 50, 500)?;
    let found = notifications::after(
        &state.pool,
        to,
        cursor,
        limit,
        query.unread.unwrap_or(false),
    )
    .await?;
    Ok(axum::Json(NotificationPage {
        unread: notifications::unread(&state.pool, to).await?,
        next_cursor: super::next_cursor(&found, limit, |n| n.id),
        notifications: found,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadBody {
    /// Every notification up to this id is read.
    up_to: i64,
}

async fn mark_read(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<ReadBody>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let to = recipient(caller.actor)?;
    if body.up_to < 0 {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidBody,
            "up_to must not be negative",
        ));
    }
    let marked = notifications::mark_read(&state.pool, to, body.up_to).await?;
    let unread = notifications::unread(&state.pool, to).await?;
    Ok(axum::Json(
        serde_json::json!({ "marked": marked, "unread": unread }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamQuery {
    /// The token, for clients that cannot send headers (a browser's `EventSource`).
    access_token: Option<String>,
    /// Where to resume when no `Last-Event-ID` header is sent.
    last_event_id: Option<i64>,
}

/// Live notifications: each an SSE event with the notification's id, its kind as the event
/// name and the notification as data. With `Last-Event-ID` (header or parameter) the stream
/// first sends every notification after it; without, only new ones.
async fn stream(
    State(state): State<AppState>,
    caller: Option<Caller>,
    headers: HeaderMap,
    Query(query): Query<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let actor = match (caller, &query.access_token) {
        (Some(caller), _) => caller.actor,
        (None, Some(token)) => {
            let route = (&axum::http::Method::GET, "/notifications/stream");
            Caller::authenticate(&state, token, &headers, Some(route))
                .await?
                .actor
        }
        (None, None) => {
            return Err(ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                "an `Authorization: Bearer <token>` header or an `access_token` is required",
            ))
        }
    };
    let to = recipient(actor)?;
    let resume = match headers.get("last-event-id") {
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|id| *id >= 0)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        ErrorCode::InvalidHeader,
                        "Last-Event-ID is the id of a notification this stream sent",
                    )
                })?,
        ),
        None => query.last_event_id,
    };
    let last = match resume {
        Some(id) => id,
        None => notifications::newest(&state.pool, to).await?,
    };
    let signal = state.progress.notifications_for(&to.key());
    let shutdown = state.shutdown.clone();
    let live = Live {
        state,
        to,
        last,
        pending: VecDeque::new(),
        signal,
        _open: OpenStream::new(),
    };
    let events = futures::stream::unfold(live, |mut live| async move {
        let notification = live.next().await;
        Some((Ok(event(&notification)), live))
    })
    .take_until(shutdown.cancelled_owned());
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(HEARTBEAT)))
}

fn event(notification: &NotificationView) -> Event {
    Event::default()
        .id(notification.id.to_string())
        .event(&notification.kind)
        .json_data(notification)
        .unwrap_or_else(|_| Event::default().comment("unencodable notification"))
}

/// One stream's place: the last id sent and what was read but not sent yet.
struct Live {
    state: AppState,
    to: Recipient,
    last: i64,
    pending: VecDeque<NotificationView>,
    signal: tokio::sync::watch::Receiver<()>,
    _open: OpenStream,
}

/// Counts the open streams in `hirestream_sse_connections` while it lives.
#[derive(Debug)]
struct OpenStream;

impl OpenStream {
    fn new() -> Self {
        metrics::gauge!("hirestream_sse_connections").increment(1.0);
        Self
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        metrics::gauge!("hirestream_sse_connections").decrement(1.0);
    }
}

impl Live {
    /// The next notification, waiting for one as long as it takes.
    async fn next(&mut self) -> NotificationView {
        loop {
            if let Some(notification) = self.pending.pop_front() {
                self.last = notification.id;
                return notification;
            }
            // Marked seen before the query: a commit after it wakes the wait below.
            self.signal.borrow_and_update();
            match notifications::after(&self.state.pool, self.to, self.last, STREAM_BATCH, false)
                .await
            {
                Ok(found) if !found.is_empty() => {
                    self.pending.extend(found);
                    continue;
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(error = %domain::error_chain(&error), "notification stream query failed")
                }
            }
            let _ = tokio::time::timeout(FALLBACK_POLL, self.signal.changed()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{header, Method, Request, StatusCode};
    use tower::ServiceExt;

    use crate::testing::*;

    async fn preflight(origin: &str) -> axum::http::Response<Body> {
        let request = Request::builder()
            .method(Method::OPTIONS)
            .uri("/notifications")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization")
            .body(Body::empty())
            .expect("request");
        app().oneshot(request).await.expect("response")
    }

    #[tokio::test]
    async fn a_preflight_from_the_allowed_origin_passes_and_from_another_does_not() {
        let allowed = preflight(ALLOWED_ORIGIN).await;
        assert_eq!(allowed.status(), StatusCode::OK);
        assert_eq!(
            allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            ALLOWED_ORIGIN
        );
        let other = preflight("https://evil.example").await;
        assert!(other
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none());
    }

    #[tokio::test]
    async fn an_unauthenticated_call_is_told_how_to_authenticate() {
        let (status, headers, answer) = send(Method::GET, "/notifications", &[], None).await;
        assert_eq!(status, 401, "{answer}");
        assert_eq!(
            headers[header::WWW_AUTHENTICATE],
            r#"Bearer realm="hirestream""#
        );
        let (status, _, _) = send(Method::GET, "/notifications/stream", &[], None).await;
        assert_eq!(status, 401);
    }

    #[tokio::test]
    async fn notifications_are_for_candidates_and_employers_only() {
        assert_refusals(
            ADMIN,
            vec![
                bad_get("/notifications", 403, "forbidden"),
                bad_get("/notifications/stream", 403, "forbidden"),
            ],
        )
        .await;
        assert_refusals(
            CANDIDATE,
            vec![
                bad_get("/notifications?cursor=-1", 400, "invalid_query"),
                bad_get("/notifications?limit=0", 400, "invalid_query"),
                bad_get(
                    "/notifications/stream?last_event_id=x",
                    400,
                    "invalid_query",
                ),
            ],
        )
        .await;
    }
}
