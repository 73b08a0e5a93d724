//! `POST /admin/imports`: an admin imports an employer's jobs from a Greenhouse or Lever feed,
//! given inline or as a URL.

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::post;
use axum::Router;
use commands::import::{self, ImportError, ImportReport};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{Caller, Json};
use crate::state::AppState;

/// Feeds of thousands of postings run to megabytes.
const FEED_LIMIT_BYTES: usize = 64 << 20;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/admin/imports",
        post(import_feed).layer(DefaultBodyLimit::max(FEED_LIMIT_BYTES)),
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportBody {
    /// `greenhouse` or `lever`.
    source: String,
    employer_id: Uuid,
    /// Where to fetch the feed, or
    url: Option<String>,
    /// the feed itself, as the board serves it.
    feed: Option<serde_json::Value>,
}

async fn import_feed(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<ImportBody>,
) -> Result<axum::Json<ImportReport>, ApiError> {
    super::authorize(caller.actor, domain::Write::ImportJobs, body.employer_id)?;
    let kind = import::source_kind(&body.source).map_err(feed_error)?;
    let bytes = match (body.url, body.feed) {
        (Some(url), None) if url.starts_with("https://") || url.starts_with("http://") => {
            import::fetch(&url).await.map_err(feed_error)?
        }
        (None, Some(feed)) => serde_json::to_vec(&feed).unwrap_or_default(),
        _ => {
            return Err(ApiError::bad_request(
                "invalid_body",
                "give exactly one of `url` (http or https) and `feed`",
            ))
        }
    };
    let postings = import::parse(kind, &bytes).map_err(feed_error)?;
    let report = state
        .commands
        .import_jobs(&caller.context, body.employer_id, kind, postings)
        .await?;
    Ok(axum::Json(report))
}

fn feed_error(error: ImportError) -> ApiError {
    let code = match error {
        ImportError::Fetch(..) | ImportError::Status(..) => "feed_unreachable",
        _ => "invalid_feed",
    };
    ApiError::new(
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        code,
        domain::error_chain(&error),
    )
}
