//! Extractors that turn every malformed request into an [`ApiError`] of the one shape.
//!
//! The JSON body, path and query extractors also refuse text PostgreSQL cannot store (a NUL
//! character), in every field and parameter, so no handler has to check its strings for it.
//! Lone surrogates (`"\ud800"`) never get this far: the JSON parser refuses them as
//! malformed, and a query's bytes that are not UTF-8 decode to U+FFFD.
//!
//! A body's numbers with a zero fraction (`5.0`, `1e3`) are the integers they equal, as JSON
//! Schema counts them, so an integer field takes them too.

use axum::body::{Body, Bytes};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use commands::CommandContext;
use domain::employer::MemberRole;
use domain::Actor;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// A JSON body; a syntax error, a wrong field, a missing content type or a string holding a
/// NUL character is a 4xx.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|rejection| ApiError::from(JsonRejection::from(rejection)))?;
        let document = serde_json::from_slice::<Value>(&bytes).ok();
        let bytes = match document.as_ref().and_then(with_integers) {
            Some(rewritten) => Bytes::from(rewritten),
            None => bytes,
        };
        let request = Request::from_parts(parts, Body::from(bytes));
        let axum::Json(value) = axum::Json::<T>::from_request(request, state).await?;
        if let Some(document) = &document {
            storable(document)?;
        }
        Ok(Json(value))
    }
}

/// Refuses a JSON document with a string (or key) PostgreSQL cannot store, naming where.
/// Bytes that are not JSON pass: whoever parses them reports that.
pub fn storable_json(bytes: &[u8]) -> Result<(), ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => storable(&value),
        Err(_) => Ok(()),
    }
}

fn storable(value: &Value) -> Result<(), ApiError> {
    match unstorable(value, String::new()) {
        None => Ok(()),
        Some(path) => Err(ApiError::unstorable_text("field", &path)),
    }
}

/// The document again with each number that has a zero fraction written as an integer, or
/// `None` when it has none. Only integers a double holds exactly (up to 2^53) are rewritten.
fn with_integers(document: &Value) -> Option<Vec<u8>> {
    fn integral(number: &serde_json::Number) -> Option<i64> {
        const EXACT: f64 = 9_007_199_254_740_992.0;
        let float = number.as_f64().filter(|_| number.is_f64())?;
        (float.fract() == 0.0 && float.abs() <= EXACT).then_some(float as i64)
    }
    fn has_any(value: &Value) -> bool {
        match value {
            Value::Number(number) => integral(number).is_some(),
            Value::Array(items) => items.iter().any(has_any),
            Value::Object(fields) => fields.values().any(has_any),
            _ => false,
        }
    }
    fn rewrite(value: &mut Value) {
        match value {
            Value::Number(number) => {
                if let Some(integer) = integral(number) {
                    *value = Value::from(integer);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(rewrite),
            Value::Object(fields) => fields.values_mut().for_each(rewrite),
            _ => {}
        }
    }
    if !has_any(document) {
        return None;
    }
    let mut document = document.clone();
    rewrite(&mut document);
    serde_json::to_vec(&document).ok()
}

/// The path (`profile.skills[0].name`) of the first string in `value` holding a NUL.
fn unstorable(value: &Value, path: String) -> Option<String> {
    let field = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    match value {
        Value::String(text) if text.contains('\0') => Some(path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| unstorable(item, format!("{path}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(name, item)| {
            if name.contains('\0') {
                Some(field(&name.replace('\0', "\\u0000")))
            } else {
                unstorable(item, field(name))
            }
        }),
        _ => None,
    }
}

/// Path parameters; an id that is not a UUID, or a parameter holding a NUL character (`%00`),
/// is a 400.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let value: T = segments(parts, state).await?;
        let params: Vec<(String, String)> = segments(parts, state).await?;
        if let Some((name, _)) = params.iter().find(|(_, value)| value.contains('\0')) {
            return Err(ApiError::unstorable_text("parameter", name));
        }
        Ok(Path(value))
    }
}

/// The path's parameters read as `T`.
async fn segments<T, S>(parts: &mut Parts, state: &S) -> Result<T, ApiError>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    let axum::extract::Path(value) =
        <axum::extract::Path<T> as FromRequestParts<S>>::from_request_parts(parts, state).await?;
    Ok(value)
}

/// Query parameters; a malformed one, or one holding a NUL character (`%00`), is a 400.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        let axum::extract::Query(pairs) =
            axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)?;
        if let Some((name, _)) = pairs
            .iter()
            .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        {
            return Err(ApiError::unstorable_text(
                "parameter",
                &name.replace('\0', "%00"),
            ));
        }
        Ok(Query(value))
    }
}

pub const REQUEST_ID: &str = "x-request-id";
pub const CORRELATION_ID: &str = "x-correlation-id";
/// The organization a member account acts for.
pub const ORGANIZATION: &str = "x-organization";

/// The authenticated caller and the metadata its commands carry.
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub context: CommandContext,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(&parts.headers)?;
        let path = parts
            .extensions
            .get::<axum::extract::MatchedPath>()
            .map(|path| path.as_str().to_owned());
        let route = path.as_deref().map(|path| (&parts.method, path));
        let (caller, role) =
            Caller::authenticate_member(state, token, &parts.headers, route).await?;
        if let (Some(MemberRole::Recruiter), Some(template)) = (role, path.as_deref()) {
            crate::organizations::require_assignment(
                state,
                &caller,
                &parts.method,
                template,
                parts.uri.path(),
            )
            .await?;
        }
        Ok(caller)
    }
}

impl Caller {
    /// The caller `token` names, with the request's ids from `headers`.
    /// `route` is the operation called (method and route template), for an API key's scope.
    pub(crate) async fn authenticate(
        state: &AppState,
        token: &str,
        headers: &HeaderMap,
        route: Option<(&axum::http::Method, &str)>,
    ) -> Result<Self, ApiError> {
        Ok(Self::authenticate_member(state, token, headers, route)
            .await?
            .0)
    }

    /// As [`Caller::authenticate`], with the member's role when a member acts.
    async fn authenticate_member(
        state: &AppState,
        token: &str,
        headers: &HeaderMap,
        route: Option<(&axum::http::Method, &str)>,
    ) -> Result<(Self, Option<MemberRole>), ApiError> {
        let request = RequestIds::from_headers(headers)?;
        let actor = if token.starts_with(commands::api_keys::KEY_PREFIX) {
            crate::api_keys::authenticate(state, token, route).await?.0
        } else {
            let now = chrono::Utc::now().timestamp();
            state
                .auth
                .actor(token, now, &state.commands, &request.0)
                .await?
        };
        if actor.role == domain::Role::System {
            return Err(ApiError::forbidden(
                "the system role belongs to the platform's own processes, not to callers",
            ));
        }
        let (actor, member, role) = match header_text(headers, ORGANIZATION)? {
            Some(organization) => {
                let (organization, role) =
                    crate::organizations::act_for(state, actor, organization, route).await?;
                (organization, Some(actor.subject), Some(role))
            }
            None => (actor, None, None),
        };
        crate::organizations::refuse_suspended(state, actor).await?;
        let mut context = request.0.acting(actor);
        context.member = member;
        Ok((Caller { actor, context }, role))
    }
}

/// The request's ids (`x-request-id`, `x-correlation-id`), for a request nobody is signed
/// in to yet.
#[derive(Debug, Clone)]
pub struct RequestIds(pub commands::RequestIds);

impl RequestIds {
    fn from_headers(headers: &HeaderMap) -> Result<Self, ApiError> {
        Ok(Self(commands::RequestIds {
            request_id: header_text(headers, REQUEST_ID)?
                .unwrap_or_default()
                .to_owned(),
            correlation_id: header_text(headers, CORRELATION_ID)?.map(str::to_owned),
            // The request span's context when traces are exported (a child of the caller's
            // `traceparent`), else the caller's own, so that its events still name it.
            trace_parent: commands::trace::traceparent_of(&tracing::Span::current()).or_else(
                || {
                    header_text(headers, commands::trace::TRACEPARENT)
                        .ok()
                        .flatten()
                        .and_then(commands::trace::valid)
                },
            ),
        }))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestIds {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Self::from_headers(&parts.headers)
    }
}

impl OptionalFromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, ApiError> {
        if parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION)
        {
            <Caller as FromRequestParts<AppState>>::from_request_parts(parts, state)
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    }
}

fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let unauthorized = |message: &str| {
        ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            message,
        )
    };
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("an `Authorization: Bearer <token>` header is required"))?;
    let value = value
        .to_str()
        .map_err(|_| unauthorized("the Authorization header is not text"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() => {
            Ok(token.trim())
        }
        _ => Err(unauthorized(
            "the Authorization header must be `Bearer <token>`",
        )),
    }
}

/// A short, printable header value, or `None` when absent.
fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(text) if !text.is_empty() && text.len() <= 128 => Ok(Some(text)),
        _ => Err(ApiError::bad_request(
            ErrorCode::InvalidHeader,
            format!("{name} must be 1 to 128 printable characters"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::Method;
    use domain::Role;
    use serde_json::{json, Value};
    use uuid::Uuid;

    use crate::testing::{send, token};

    const ID: &str = "0192f1a0-0000-7000-8000-000000000001";

    fn admin() -> String {
        token(Uuid::from_u128(1), Role::Admin)
    }

    /// Each write with a body whose shape is right and one string holds a NUL, and the
    /// field the answer must name.
    fn bodies_with_a_nul() -> Vec<(Method, String, Value, &'static str)> {
        let nul = "Ada\u{0}Lovelace";
        let path = |p: &str| p.replace("{id}", ID);
        vec![
            (
                Method::POST,
                path("/candidates"),
                json!({"candidate_id": ID, "name": nul, "email": "a@example.com"}),
                "name",
            ),
            (
                Method::POST,
                path("/employers"),
                json!({"employer_id": ID, "name": nul}),
                "name",
            ),
            (
                Method::POST,
                path("/jobs"),
                json!({"employer_id": ID, "title": "Rust", "description": nul}),
                "description",
            ),
            (
                Method::PUT,
                path("/jobs/{id}"),
                json!({"title": "Rust", "description": "d", "locations": ["Berlin", nul]}),
                "locations[1]",
            ),
            (
                Method::PUT,
                path("/candidates/{id}/profile"),
                json!({"headline": "h", "skills": [{"name": nul, "proficiency": "expert"}], "years_experience": 1, "remote": "remote"}),
                "skills[0].name",
            ),
            (
                Method::PUT,
                path("/employers/{id}/profile"),
                json!({"name": "Acme", "size": null, "pace": null, "industry": nul}),
                "industry",
            ),
            (
                Method::POST,
                path("/wallets/{id}/grants"),
                json!({"grant_id": ID, "credits": 1, "reason": nul}),
                "reason",
            ),
            (
                Method::POST,
                path("/wallets/{id}/charges"),
                json!({"charge_id": ID, "credits": 1, "purpose": nul}),
                "purpose",
            ),
            (
                Method::POST,
                path("/wallets/{id}/refunds"),
                json!({"charge_id": ID, "credits": 1, "reason": nul}),
                "reason",
            ),
            (
                Method::POST,
                path("/candidates/{id}/documents"),
                json!({"kind": "resume", "idempotency_key": nul}),
                "idempotency_key",
            ),
            (
                Method::POST,
                path("/candidates/{id}/documents"),
                json!({"kind": "resume", "idempotency_key": "k", "instructions": nul}),
                "instructions",
            ),
            (
                Method::POST,
                path("/admin/imports"),
                json!({"source": "greenhouse", "employer_id": ID, "feed": {"jobs": [{"id": 1, "title": nul}]}}),
                "feed.jobs[0].title",
            ),
            (
                Method::POST,
                path("/admin/imports"),
                json!({"source": "greenhouse", "employer_id": ID, "feed": {"jobs": [{"id\u{0}": 1}]}}),
                "feed.jobs[0].id\\u0000",
            ),
            (
                Method::POST,
                path("/admin/imports"),
                json!({"source": nul, "employer_id": ID, "feed": {}}),
                "source",
            ),
        ]
    }

    #[tokio::test]
    async fn a_nul_in_any_body_field_is_a_400_that_names_the_field() {
        for (method, uri, body, field) in bodies_with_a_nul() {
            let bearer = format!("Bearer {}", admin());
            let (status, _, answer) = send(
                method.clone(),
                &uri,
                &[("authorization", &bearer)],
                Some(body.to_string()),
            )
            .await;
            assert_eq!(status, 400, "{method} {uri}: {answer}");
            assert_eq!(
                answer["error"]["code"], "invalid_text",
                "{method} {uri}: {answer}"
            );
            assert_eq!(answer["error"]["details"]["field"], field, "{method} {uri}");
            assert!(answer["error"]["message"].is_string());
        }
    }

    #[tokio::test]
    async fn a_nul_in_any_query_or_path_parameter_is_a_400_that_names_it() {
        let cases = [
            ("/jobs?skill=%00", "skill"),
            ("/jobs?q=rust%00&location=Berlin", "q"),
            ("/jobs?location=%00", "location"),
            ("/jobs?after=%00", "after"),
            ("/jobs?cursor=a%00", "cursor"),
            ("/jobs/{id}?after=%00", "after"),
            ("/jobs/search?q=%00", "q"),
            ("/jobs/search?q=rust&skill=%00", "skill"),
            ("/matches?after=%00&candidate_id={id}", "after"),
            ("/jobs/{id}/matches?after=%00", "after"),
            ("/wallets/{id}?after=%00", "after"),
            ("/wallets/{id}/entries?after=%00", "after"),
            ("/candidates/{id}?after=%00", "after"),
            ("/employers/{id}?after=%00", "after"),
            ("/applications?status=%00&candidate_id={id}", "status"),
            ("/applications/{id}?after=%00", "after"),
            ("/jobs/{id}/applications?after=%00", "after"),
            ("/candidates/{id}/documents?cursor=%00", "cursor"),
            ("/documents/{id}?after=%00", "after"),
            ("/documents/{id}/html?after=%00", "after"),
            ("/documents/{id}/markdown?after=%00", "after"),
            ("/audit/aggregates/candidate/a%00b", "aggregate_id"),
            ("/candidates/{id}/feed?after=%00", "after"),
            ("/jobs/{id}/feed?after=%00", "after"),
        ];
        let bearer = format!("Bearer {}", admin());
        for (uri, parameter) in cases {
            let uri = uri.replace("{id}", ID);
            let (status, _, answer) =
                send(Method::GET, &uri, &[("authorization", &bearer)], None).await;
            assert_eq!(status, 400, "{uri}: {answer}");
            assert_eq!(answer["error"]["code"], "invalid_text", "{uri}: {answer}");
            assert_eq!(answer["error"]["details"]["parameter"], parameter, "{uri}");
        }
    }

    #[test]
    fn numbers_with_a_zero_fraction_are_rewritten_as_integers() {
        let document = json!({"a": [1.0, 2.5, {"b": 3e2, "c": -0.0}], "d": 1e300, "e": "7.0"});
        let rewritten = super::with_integers(&document).expect("rewritten");
        let rewritten: Value = serde_json::from_slice(&rewritten).expect("json");
        assert_eq!(
            rewritten,
            json!({"a": [1, 2.5, {"b": 300, "c": 0}], "d": 1e300, "e": "7.0"})
        );
        assert_eq!(super::with_integers(&json!({"a": [1, 2.5, "3.0"]})), None);
        // Read exactly: a large integral number is not taken for a neighbour with a fraction.
        let large: Value = serde_json::from_str(r#"{"up_to": 4496650350665346.0}"#).expect("json");
        let rewritten = super::with_integers(&large).expect("rewritten");
        assert_eq!(rewritten, br#"{"up_to":4496650350665346}"#);
    }

    #[tokio::test]
    async fn an_integer_field_takes_a_number_with_a_zero_fraction() {
        let bearer = format!("Bearer {}", admin());
        let grant = |credits: &str| {
            format!(r#"{{"grant_id": "{ID}", "credits": {credits}, "reason": "welcome"}}"#)
        };
        let uri = format!("/wallets/{ID}/grants");
        // Taken: the grant gets as far as the store, which these tests never reach.
        for credits in ["5", "5.0", "0.5e1"] {
            let (status, _, answer) = send(
                Method::POST,
                &uri,
                &[("authorization", &bearer)],
                Some(grant(credits)),
            )
            .await;
            assert_eq!(status, 503, "{credits}: {answer}");
        }
        for credits in ["5.5", "1e300"] {
            let (status, _, answer) = send(
                Method::POST,
                &uri,
                &[("authorization", &bearer)],
                Some(grant(credits)),
            )
            .await;
            assert_eq!(status, 422, "{credits}: {answer}");
            assert_eq!(answer["error"]["code"], "invalid_body", "{credits}");
        }
    }

    #[tokio::test]
    async fn lone_surrogates_are_refused_as_malformed_json() {
        let bearer = format!("Bearer {}", admin());
        for text in [
            r"\ud800",
            r"\udfff",
            r"a\ud800b",
            r"\ud800\u0041",
            r"\udc00\ud800",
        ] {
            let body = format!(r#"{{"employer_id": "{ID}", "name": "{text}"}}"#);
            let (status, _, answer) = send(
                Method::POST,
                "/employers",
                &[("authorization", &bearer)],
                Some(body),
            )
            .await;
            assert_eq!(status, 400, "{text}: {answer}");
            assert_eq!(
                answer["error"]["code"], "malformed_json",
                "{text}: {answer}"
            );
        }
    }

    #[tokio::test]
    async fn a_nul_in_a_signed_webhook_is_refused_before_anything_is_bought() {
        use crate::routes::payments::WebhookVerifier;
        let body = json!({
            "id": "evt_1", "type": "checkout.session.completed",
            "data": {"object": {"id": "cs_\u{0}1", "payment_status": "paid",
                                "metadata": {"candidate_id": ID, "credits": "5"}}}
        })
        .to_string();
        let signature = WebhookVerifier::new(crate::testing::SECRET, std::time::Duration::ZERO)
            .sign(body.as_bytes(), chrono::Utc::now().timestamp());
        let (status, _, answer) = send(
            Method::POST,
            "/webhooks/stripe",
            &[("stripe-signature", &signature)],
            Some(body),
        )
        .await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["code"], "invalid_text", "{answer}");
    }
}
