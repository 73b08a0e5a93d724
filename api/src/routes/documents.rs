//! AI documents: requesting a resume or cover letter (paid in credits, written in the
//! background), reading it as JSON, Markdown or HTML, listing them, and usage per day.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use chrono::NaiveDate;
use commands::documents::DocumentRequest;
use domain::document::DocumentKind;
use domain::Write;
use projections::documents::{self, DocumentView, DocumentsProjector, UsageDay};
use projections::page::Page;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{page_cursor, page_limit, AfterQuery};
use crate::error::{ApiError, ErrorCode};
use crate::extract::{Caller, Json, Path, Query};
use crate::position::{reflect, Written};
use crate::read_policy::{self, Parties, Read};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/candidates/{candidate_id}/documents",
            post(request).get(list),
        )
        .route("/candidates/{candidate_id}/usage", get(usage))
        .route("/documents/{document_id}", get(show))
        .route("/documents/{document_id}/markdown", get(markdown))
        .route("/documents/{document_id}/html", get(html))
}

/// A candidate's documents are its own, an admin's and an auditor's to read.
fn may_read(caller: &Caller, candidate_id: Uuid) -> Result<(), ApiError> {
    read_policy::may_read(
        caller.actor,
        Read::Documents,
        Parties::candidate(candidate_id),
    )
    .map(|_| ())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestBody {
    kind: DocumentKind,
    job_id: Option<Uuid>,
    instructions: Option<String>,
    /// Chosen by the client: repeating the request with the same key returns the same
    /// document and charges nothing more.
    idempotency_key: String,
}

#[derive(Debug, Serialize)]
struct Requested {
    #[serde(flatten)]
    written: Written,
    credits: i64,
    status: &'static str,
}

/// GenerateResume / GenerateCoverLetter: charges the wallet and queues the document.
async fn request(
    State(state): State<AppState>,
    caller: Caller,
    Path(candidate_id): Path<Uuid>,
    Json(body): Json<RequestBody>,
) -> Result<(StatusCode, axum::Json<Requested>), ApiError> {
    super::authorize(caller.actor, Write::RequestDocument, candidate_id)?;
    let request = DocumentRequest {
        candidate_id,
        kind: body.kind,
        job_id: body.job_id,
        instructions: body.instructions,
        idempotency_key: body.idempotency_key,
    };
    let written = state
        .commands
        .request_document(&caller.context, request)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(Requested {
            written: written.into(),
            credits: body.kind.price(),
            status: "pending",
        }),
    ))
}

async fn view(
    state: &AppState,
    caller: &Caller,
    document_id: Uuid,
    after: Option<&str>,
) -> Result<DocumentView, ApiError> {
    read_policy::may_ask(caller.actor, Read::Documents)?;
    reflect::<DocumentsProjector>(state, after).await?;
    let view = documents::document(&state.pool, document_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("document {document_id} does not exist")))?;
    may_read(caller, view.candidate_id)?;
    Ok(view)
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(document_id): Path<Uuid>,
    Query(query): Query<AfterQuery>,
) -> Result<axum::Json<DocumentView>, ApiError> {
    Ok(axum::Json(
        view(&state, &caller, document_id, query.after.as_deref()).await?,
    ))
}

/// The text of a finished document; a pending or failed one is a 409 that says which.
fn content(view: DocumentView) -> Result<String, ApiError> {
    match (view.status.as_str(), view.content) {
        ("ready", Some(content)) => Ok(content),
        ("failed", _) => Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::DocumentFailed,
            format!(
                "the document could not be written: {}",
                view.failure_reason.unwrap_or_default()
            ),
        )),
        _ => Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::DocumentPending,
            "the document is still being written; retry shortly",
        )),
    }
}

async fn markdown(
    State(state): State<AppState>,
    caller: Caller,
    Path(document_id): Path<Uuid>,
    Query(query): Query<AfterQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let text = content(view(&state, &caller, document_id, query.after.as_deref()).await?)?;
    Ok((
        [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
        text,
    ))
}

async fn html(
    State(state): State<AppState>,
    caller: Caller,
    Path(document_id): Path<Uuid>,
    Query(query): Query<AfterQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let text = content(view(&state, &caller, document_id, query.after.as_deref()).await?)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, DOCUMENT_CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        render_html(&text),
    ))
}

/// The rendered document runs nothing, loads nothing and submits nothing, even if some
/// markup got past the sanitiser: a sandboxed page of its own origin.
pub const DOCUMENT_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'; sandbox";

/// Markdown to HTML. Raw HTML in the Markdown (a model may write some) is shown as text,
/// never passed through, and the result is sanitised: links keep only absolute http, https
/// and mailto destinations, so `javascript:`, `data:` and the like (in any case, however
/// encoded) do not survive.
pub fn render_html(markdown: &str) -> String {
    use pulldown_cmark::{Event, Parser};
    let events = Parser::new(markdown).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto"].into())
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&html)
        .to_string()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    after: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
    job_id: Option<Uuid>,
    kind: Option<DocumentKind>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(candidate_id): Path<Uuid>,
    Query(query): Query<ListQuery>,
) -> Result<axum::Json<Page<DocumentView>>, ApiError> {
    may_read(&caller, candidate_id)?;
    let limit = page_limit(query.limit, 20, 100)?;
    let after = page_cursor(query.cursor.as_deref())?;
    reflect::<DocumentsProjector>(&state, query.after.as_deref()).await?;
    let kind = query.kind.map(DocumentKind::as_str);
    Ok(axum::Json(
        documents::list(&state.pool, candidate_id, query.job_id, kind, after, limit).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsageQuery {
    from: NaiveDate,
    to: NaiveDate,
}

#[derive(Debug, Serialize)]
struct Usage {
    candidate_id: Uuid,
    days: Vec<UsageDay>,
}

/// Provider calls, tokens and cost per day, in `[from, to]`.
async fn usage(
    State(state): State<AppState>,
    caller: Caller,
    Path(candidate_id): Path<Uuid>,
    Query(query): Query<UsageQuery>,
) -> Result<axum::Json<Usage>, ApiError> {
    may_read(&caller, candidate_id)?;
    if query.from > query.to || (query.to - query.from).num_days() > 366 {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidQuery,
            "`from` must not be after `to`, and the period at most a year",
        ));
    }
    let days = documents::usage(&state.pool, candidate_id, query.from, query.to).await?;
    Ok(axum::Json(Usage { candidate_id, days }))
}

#[cfg(test)]
mod tests {
    use axum::http::Method;
    use serde_json::json;

    use super::render_html;
    use crate::testing::*;

    #[tokio::test]
    async fn each_role_is_refused_or_let_through_before_any_document_is_looked_up() {
        const READERS: &[Who] = &[CANDIDATE, ADMIN, AUDITOR];
        // A document names its candidate only once found; employers never read one.
        const ANY_CANDIDATE: &[Who] = &[CANDIDATE, OTHER_CANDIDATE, ADMIN, AUDITOR];
        assert_role_matrix(vec![
            Route::with(
                Method::POST,
                "/candidates/{id}/documents",
                json!({"kind": "resume", "idempotency_key": "k1"}),
                &[CANDIDATE, ADMIN],
            ),
            Route::get("/candidates/{id}/documents", READERS),
            Route::get(
                "/candidates/{id}/usage?from=2026-01-01&to=2026-01-31",
                READERS,
            ),
            Route::get("/documents/{id}", ANY_CANDIDATE),
            Route::get("/documents/{id}/markdown", ANY_CANDIDATE),
            Route::get("/documents/{id}/html", ANY_CANDIDATE),
        ])
        .await;
    }

    #[tokio::test]
    async fn malformed_requests_are_4xx_of_the_one_shape() {
        let mut cases = vec![
            bad_get("/candidates/{id}/documents?limit=0", 400, "invalid_query"),
            bad_get("/candidates/{id}/documents?limit=101", 400, "invalid_query"),
            bad_get("/candidates/{id}/documents?cursor=x", 400, "invalid_query"),
            bad_get("/candidates/{id}/documents?kind=poem", 400, "invalid_query"),
            bad_get(
                "/candidates/{id}/documents?after=x",
                400,
                "invalid_position",
            ),
            bad_get(
                "/candidates/{id}/documents?after=wallet:x:1",
                400,
                "unsupported_position",
            ),
            bad_get("/candidates/{id}/usage", 400, "invalid_query"),
            bad_get(
                "/candidates/{id}/usage?from=2026-02-01&to=2026-01-01",
                400,
                "invalid_query",
            ),
            bad_get(
                "/candidates/{id}/usage?from=2024-01-01&to=2026-01-01",
                400,
                "invalid_query",
            ),
            bad_get("/documents/{id}?after=x", 400, "invalid_position"),
            bad_get(
                "/documents/{id}/html?after=job:x:1",
                400,
                "unsupported_position",
            ),
        ];
        cases.push(Refusal {
            method: Method::POST,
            uri: "/candidates/{id}/documents",
            body: Some(json!({"kind": "poem", "idempotency_key": "k"})),
            status: 422,
            code: "invalid_body",
        });
        assert_refusals(CANDIDATE, cases).await;
    }

    #[test]
    fn markdown_renders_and_raw_html_is_escaped() {
        let html = render_html("# Ada\n\n- Rust\n\n<script>alert(1)</script>");
        assert!(html.contains("<h1>Ada</h1>"));
        assert!(html.contains("<li>Rust</li>"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
    }

    #[test]
    fn dangerous_link_and_image_destinations_do_not_survive() {
        let payloads = [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x](  javascript:alert(1))",
            "[x](<javascript:alert(1)>)",
            "[x](&#106;avascript:alert(1))",
            "[x](&#x6A;&#x61;&#x76;&#x61;script:alert(1))",
            "[x](java&#x09;script:alert(1))",
            "[x](javascript&#58;alert(1))",
            "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
            "[x](DATA:text/html,<script>alert(1)</script>)",
            "[x](vbscript:msgbox(1))",
            "[x](VBScript:msgbox(1))",
            "![x](javascript:alert(1))",
            "![x](data:image/svg+xml,<svg onload=alert(1)>)",
            "<javascript:alert(1)>",
            "[x][r]\n\n[r]: javascript:alert(1)",
            "[x](\"javascript:alert(1)\")",
        ];
        for payload in payloads {
            let html = render_html(payload);
            let destinations = destinations(&html);
            assert!(
                destinations.iter().all(|d| d.starts_with("https://")
                    || d.starts_with("http://")
                    || d.starts_with("mailto:")),
                "{payload:?} rendered as {html}"
            );
            assert!(!html.to_ascii_lowercase().contains("<script"), "{html}");
        }
    }

    /// Every `href` and `src` value in `html`, entity-decoded enough for these cases.
    fn destinations(html: &str) -> Vec<String> {
        let mut found = Vec::new();
        for attribute in ["href=\"", "src=\""] {
            for (start, _) in html.match_indices(attribute) {
                let rest = &html[start + attribute.len()..];
                let value = &rest[..rest.find('"').unwrap_or(rest.len())];
                found.push(value.replace("&amp;", "&").to_ascii_lowercase());
            }
        }
        found
    }

    #[test]
    fn ordinary_links_survive_with_a_safe_rel() {
        let html = render_html("[me](https://example.com/ada) and [mail](mailto:ada@example.com)");
        assert!(html.contains("href=\"https://example.com/ada\""), "{html}");
        assert!(html.contains("href=\"mailto:ada@example.com\""), "{html}");
        assert!(
            html.contains("rel=\"noopener noreferrer nofollow\""),
            "{html}"
        );
    }
}
