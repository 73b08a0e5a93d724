//! One module per resource, each exporting its own `router()`.

pub mod api_keys;
pub mod applications;
pub mod audit;
pub mod auth;
pub mod candidates;
pub mod console;
pub mod conversations;
pub mod docs;
pub mod documents;
pub mod employers;
pub mod feeds;
pub mod health;
pub mod imports;
pub mod jobs;
pub mod matches;
pub mod notifications;
pub mod openapi;
pub mod operations;
pub mod organizations;
pub mod payments;
pub mod schemas;
pub mod wallets;

use domain::{Actor, Role, Write};
use projections::page::Cursor;
use serde::Deserialize;
use uuid::Uuid;

use crate::error::{ApiError, ErrorCode};

/// A read that can wait for a write: `?after=<position>`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AfterQuery {
    pub(crate) after: Option<String>,
}

/// A file compiled into the binary, answered with its type and the page's
/// Content-Security-Policy.
pub(crate) fn asset(
    policy: &'static str,
    content_type: &'static str,
    body: &'static str,
) -> impl axum::response::IntoResponse {
    use axum::http::header;
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, policy),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

/// A page size within 1..=max, `default` when absent.
pub(crate) fn page_limit(limit: Option<i64>, default: i64, max: i64) -> Result<i64, ApiError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::bad_request(
            ErrorCode::InvalidQuery,
            format!("limit must be between 1 and {max}"),
        )),
    }
}

/// A page after a numeric `cursor` (exclusive, 0 by default) of at most `limit` rows, within
/// 1..=max and `default` when absent.
pub(crate) fn page(
    cursor: Option<i64>,
    limit: Option<i64>,
    default: i64,
    max: i64,
) -> Result<(i64, i64), ApiError> {
    let limit = page_limit(limit, default, max)?;
    match cursor.unwrap_or(0) {
        cursor if cursor < 0 => Err(ApiError::bad_request(
            ErrorCode::InvalidQuery,
            "cursor must not be negative",
        )),
        cursor => Ok((cursor, limit)),
    }
}

/// The cursor of the page after `found` (its last row's `key`); none after a short page,
/// which is the last.
pub(crate) fn next_cursor<T>(found: &[T], limit: i64, key: impl Fn(&T) -> i64) -> Option<i64> {
    (found.len() as i64 == limit)
        .then(|| found.last().map(key))
        .flatten()
}

/// The cursor a previous page returned.
pub(crate) fn page_cursor(cursor: Option<&str>) -> Result<Option<Cursor>, ApiError> {
    cursor
        .map(|text| {
            Cursor::parse(text).ok_or_else(|| {
                ApiError::bad_request(
                    ErrorCode::InvalidQuery,
                    "cursor is not one a previous page returned",
                )
            })
        })
        .transpose()
}

/// Refuses, before anything about the resource is looked up, a caller whom the write policy
/// does not let make `write` for `owner`.
pub(crate) fn authorize(caller: Actor, write: Write, owner: Uuid) -> Result<(), ApiError> {
    if caller.may(write, owner) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "a {} may not make this change for {owner}",
            caller.role
        )))
    }
}

/// The party a command acts for: the caller itself, or for an admin the id it names.
pub(crate) fn acting_for(
    actor: Actor,
    role: Role,
    named: Option<Uuid>,
    field: &'static str,
) -> Result<Uuid, ApiError> {
    match (actor.role, named) {
        (Role::Admin, Some(id)) => Ok(id),
        (Role::Admin, None) => Err(ApiError::bad_request(
            ErrorCode::MissingField,
            format!("an admin must name `{field}`"),
        )),
        (r, None) if r == role => Ok(actor.subject),
        (r, Some(id)) if r == role && id == actor.subject => Ok(id),
        (r, Some(_)) if r == role => {
            Err(ApiError::forbidden(format!("a {role} acts only as itself")))
        }
        _ => Err(ApiError::forbidden(format!(
            "this action is for a {role} or an admin"
        ))),
    }
}
