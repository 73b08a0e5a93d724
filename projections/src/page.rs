//! Keyset pagination: a cursor names the last row of a page by its time and id.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// The position after which the next page starts: `<microseconds>.<uuid>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    pub fn parse(text: &str) -> Option<Self> {
        let (micros, id) = text.split_once('.')?;
        Some(Self {
            at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: id.parse().ok()?,
        })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.at.timestamp_micros(), self.id)
    }
}

/// One page of a list, and the cursor of the next one when there is more.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page from up to `limit + 1` rows: the extra row only tells that more follow.
    pub(crate) fn from_rows(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> Cursor) -> Self {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit.max(0) as usize);
        let next_cursor = more
            .then(|| rows.last().map(|row| key(row).to_string()))
            .flatten();
        Self {
            items: rows,
            next_cursor,
        }
    }
}

/// An ILIKE pattern that matches `text` anywhere, with its wildcards escaped.
pub(crate) fn contains_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_does_not_parse() {
        let cursor = Cursor {
            at: DateTime::from_timestamp_micros(1_800_000_000_123_456).unwrap_or_default(),
            id: Uuid::from_u128(7),
        };
        assert_eq!(Cursor::parse(&cursor.to_string()), Some(cursor));
        for garbage in [
            "",
            "x",
            "12.not-a-uuid",
            "abc.00000000-0000-0000-0000-000000000007",
        ] {
            assert_eq!(Cursor::parse(garbage), None, "{garbage}");
        }
    }

    #[test]
    fn search_text_cannot_inject_wildcards() {
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
