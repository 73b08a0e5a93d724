//! One module per resource, each exporting its own `router()`.

pub mod candidates;
pub mod employers;
pub mod health;
pub mod jobs;
pub mod matches;
pub mod openapi;
pub mod payments;
pub mod wallets;

use domain::{Actor, Role};
use uuid::Uuid;

use crate::error::ApiError;

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
            "missing_field",
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
