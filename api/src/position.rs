//! Read-your-writes: a command answers with the position it wrote, and a query given that
//! position waits (bounded) until the projection behind it has applied it.

use std::fmt;
use std::str::FromStr;

use axum::http::StatusCode;
use commands::Committed;
use projections::Projection;
use serde::Serialize;

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// `<aggregate type>:<aggregate id>:<version>`, e.g. `pairing:5f0c…:2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub version: i64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.aggregate_type, self.aggregate_id, self.version
        )
    }
}

impl FromStr for Position {
    type Err = ApiError;

    fn from_str(s: &str) -> Result<Self, ApiError> {
        let invalid = || {
            ApiError::bad_request(
                ErrorCode::InvalidPosition,
                "a position looks like `pairing:<uuid>:<version>`, as a command returned it",
            )
        };
        let mut parts = s.splitn(3, ':');
        let (Some(aggregate_type), Some(aggregate_id), Some(version)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let version: i64 = version.parse().map_err(|_| invalid())?;
        if aggregate_type.is_empty() || aggregate_id.is_empty() || version < 1 {
            return Err(invalid());
        }
        Ok(Position {
            aggregate_type: aggregate_type.to_owned(),
            aggregate_id: aggregate_id.to_owned(),
            version,
        })
    }
}

/// The answer to a command: what it wrote and where to wait for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Written {
    pub id: String,
    pub version: i64,
    pub position: String,
}

impl From<Committed> for Written {
    fn from(committed: Committed) -> Self {
        let position = Position {
            aggregate_type: committed.aggregate_type.to_owned(),
            aggregate_id: committed.aggregate_id.clone(),
            version: committed.version,
        };
        Written {
            id: committed.aggregate_id,
            version: committed.version,
            position: position.to_string(),
        }
    }
}

/// Waits until projection `P` reflects `after`, if given. A position of an aggregate type
/// `P` does not read is a 400; one not reached in time is a 412 the client can retry.
pub async fn reflect<P: Projection>(state: &AppState, after: Option<&str>) -> Result<(), ApiError> {
    let Some(after) = after else {
        return Ok(());
    };
    let position: Position = after.parse()?;
    if !P::AGGREGATE_TYPES.contains(&position.aggregate_type.as_str()) {
        return Err(ApiError::bad_request(
            ErrorCode::UnsupportedPosition,
            format!(
                "this view is built from {} events, not {}",
                P::AGGREGATE_TYPES.join(", "),
                position.aggregate_type
            ),
        ));
    }
    let reached = state
        .progress
        .wait_for_version::<P>(
            &state.pool,
            &position.aggregate_type,
            &position.aggregate_id,
            position.version,
            state.consistency_wait,
        )
        .await?;
    if reached {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            ErrorCode::PositionNotReached,
            format!("the view has not reached {after} yet; retry shortly"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_round_trips_through_its_text() {
        let position = Position {
            aggregate_type: "pairing".into(),
            aggregate_id: "5f0c3f5e-2a47-4bd4-9d4a-52e1f1f0a001".into(),
            version: 2,
        };
        assert_eq!(
            position.to_string().parse::<Position>().ok(),
            Some(position)
        );
    }

    #[test]
    fn malformed_positions_are_rejected() {
        for text in [
            "",
            "pairing",
            "pairing:x",
            "pairing:x:zero",
            "pairing:x:0",
            ":x:1",
        ] {
            assert!(text.parse::<Position>().is_err(), "{text}");
        }
    }
}
