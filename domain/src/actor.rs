//! Who issues a command: the subject of the caller's token and the role it holds.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A role a caller can hold. Candidates and employers act on their own behalf; an admin may
/// act on anyone's; an auditor reads everything and changes nothing; `system` is the
/// platform itself (payment webhooks, reactors), never a token holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Candidate,
    Employer,
    Admin,
    Auditor,
    System,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Candidate => "candidate",
            Role::Employer => "employer",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
            Role::System => "system",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "candidate" => Ok(Role::Candidate),
            "employer" => Ok(Role::Employer),
            "admin" => Ok(Role::Admin),
            "auditor" => Ok(Role::Auditor),
            "system" => Ok(Role::System),
            other => Err(UnknownRole(other.to_owned())),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}` (expected candidate, employer, admin, auditor or system)")]
pub struct UnknownRole(pub String);

/// The authenticated caller behind a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Actor {
    pub subject: Uuid,
    pub role: Role,
}

impl Actor {
    pub fn new(subject: Uuid, role: Role) -> Self {
        Self { subject, role }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// True for the roles that may read every party's data: admins and auditors.
    pub fn reads_everything(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Auditor)
    }

    /// The platform acting on its own (`subject` names the integration).
    pub fn system(subject: Uuid) -> Self {
        Self::new(subject, Role::System)
    }

    /// True when the actor may make `write` for the party `owner`; see [`crate::policy`].
    pub fn may(&self, write: crate::policy::Write, owner: Uuid) -> bool {
        crate::policy::permits(*self, write, owner)
    }
}
