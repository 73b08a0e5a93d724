//! `POST /admin/imports`: an admin imports an employer's jobs from a Greenhouse or Lever feed,
//! given inline or as a URL.

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::post;
use axum::Router;
use commands::import::{self, ImportError, ImportReport};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::{ApiError, ErrorCode};
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
            let bytes = state.imports.fetch(&url).await.map_err(feed_error)?;
            // A fetched feed's text goes into the store like a body's.
            crate::extract::storable_json(&bytes)?;
            bytes
        }
        (None, Some(feed)) => serde_json::to_vec(&feed).unwrap_or_default(),
        _ => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidBody,
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
        ImportError::Unreachable => ErrorCode::FeedUnreachable,
        ImportError::HostNotAllowed { .. } => ErrorCode::FeedHostNotAllowed,
        _ => ErrorCode::InvalidFeed,
    };
    ApiError::new(
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        code,
        domain::error_chain(&error),
    )
}

#[cfg(test)]
mod tests {
    use axum::http::Method;
    use domain::Role;
    use serde_json::json;
    use uuid::Uuid;

    use crate::testing::{send, token};

    #[tokio::test]
    async fn an_import_from_a_host_that_is_not_a_job_board_says_only_that() {
        let bearer = format!("Bearer {}", token(Uuid::from_u128(1), Role::Admin));
        let mut answers = Vec::new();
        for url in [
            "http://127.0.0.1:5432/",
            "http://127.0.0.1:1/",
            "http://localhost:8080/openapi.json",
            "http://169.254.169.254/latest/meta-data/",
            "https://boards-api.greenhouse.io.evil.example/v1/boards/acme/jobs",
        ] {
            let body =
                json!({"source": "greenhouse", "employer_id": Uuid::from_u128(2), "url": url});
            let (status, _, answer) = send(
                Method::POST,
                "/admin/imports",
                &[("authorization", &bearer)],
                Some(body.to_string()),
            )
            .await;
            assert_eq!(status, 422, "{url}: {answer}");
            assert_eq!(answer["error"]["code"], "feed_host_not_allowed", "{url}");
            answers.push(answer["error"]["message"].clone());
        }
        answers.dedup();
        assert_eq!(answers.len(), 1, "{answers:?}");
    }

    #[tokio::test]
    async fn imports_are_for_admins_only() {
        for role in [Role::Candidate, Role::Employer, Role::Auditor] {
            let employer = Uuid::from_u128(2);
            let bearer = format!("Bearer {}", token(employer, role));
            let body =
                json!({"source": "greenhouse", "employer_id": employer, "feed": {"jobs": []}});
            let (status, _, answer) = send(
                Method::POST,
                "/admin/imports",
                &[("authorization", &bearer)],
                Some(body.to_string()),
            )
            .await;
            assert_eq!(status, 403, "{role}: {answer}");
        }
    }
}
