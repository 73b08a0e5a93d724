//! Who issues a command: the subject of the caller's token and the role it holds.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A role a caller can hold. Candidates and employers act on their own behalf; an admin may
/// act on anyone's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Candidate,
    Employer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Candidate => "candidate",
            Role::Employer => "employer",
            Role::Admin => "admin",
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
#[error("unknown role `{0}` (expected candidate, employer or admin)")]
pub struct UnknownRole(pub String);

/// The authenticated caller behind a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

    /// True when the actor may act for the candidate or employer `id`: it is that party
    /// itself, or an admin.
    pub fn acts_for(&self, id: Uuid) -> bool {
        self.is_admin() || self.subject == id
    }
}
