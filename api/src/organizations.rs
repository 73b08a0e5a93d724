//! Acting in an organization: a member account names the organization (the employer) in
//! `X-Organization` and acts for it within its role; a suspended organization is refused
//! everything, whoever asks.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use domain::employer::MemberRole;
use domain::{Actor, Role};
use uuid::Uuid;

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// The operations only an owner makes: who belongs to the organization, its keys and its
/// public profile.
pub const OWNER_ONLY: [(Method, &str); 10] = [
    (Method::PUT, "/jobs/{job_id}/recruiters/{account_id}"),
    (Method::DELETE, "/jobs/{job_id}/recruiters/{account_id}"),
    (Method::POST, "/employers/{employer_id}/tenants"),
    (
        Method::POST,
        "/employers/{employer_id}/tenants/{tenant_id}/suspension",
    ),
    (
        Method::DELETE,
        "/employers/{employer_id}/tenants/{tenant_id}/suspension",
    ),
    (Method::POST, "/employers/{employer_id}/invitations"),
    (
        Method::DELETE,
        "/employers/{employer_id}/members/{account_id}",
    ),
    (Method::POST, "/employers/{employer_id}/api-keys"),
    (Method::DELETE, "/employers/{employer_id}/api-keys/{key_id}"),
    (Method::PUT, "/employers/{employer_id}/profile"),
];

/// Whether `role` may call the operation `method path` (its route template).
pub fn allows(role: MemberRole, method: &Method, path: &str) -> bool {
    match role {
        MemberRole::Owner => true,
        MemberRole::Recruiter => !OWNER_ONLY.iter().any(|(m, p)| m == method && *p == path),
        MemberRole::Viewer => *method == Method::GET,
    }
}

/// The organization `account` acts for when it names `organization`, with its role there.
pub async fn act_for(
    state: &AppState,
    account: Actor,
    organization: &str,
    route: Option<(&Method, &str)>,
) -> Result<(Actor, MemberRole), ApiError> {
    let employer_id: Uuid = organization.parse().map_err(|_| {
        ApiError::bad_request(
            ErrorCode::InvalidHeader,
            "x-organization must be the id of an employer",
        )
    })?;
    if account.role != Role::Employer {
        return Err(ApiError::forbidden(
            "only employer accounts act in an organization",
        ));
    }
    let role = state
        .commands
        .membership(employer_id, account.subject)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::NotAMember,
                format!("the account is not a member of {employer_id}"),
            )
        })?;
    if let Some((method, path)) = route {
        if !allows(role, method, path) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::MemberRole,
                format!("a {} may not make this request", role.as_str()),
            )
            .with_details(serde_json::json!({ "role": role.as_str() })));
        }
    }
    Ok((Actor::new(employer_id, Role::Employer), role))
}

/// A recruiter changes a job only if it recruits for it: the job has no assigned recruiters,
/// or has it among them. The job is the request's `{job_id}`, or the job of its
/// `{application_id}`; reads are everyone's in the organization.
pub async fn require_assignment(
    state: &AppState,
    caller: &crate::extract::Caller,
    method: &Method,
    template: &str,
    path: &str,
) -> Result<(), ApiError> {
    if *method == Method::GET {
        return Ok(());
    }
    let Some(account) = caller.context.member else {
        return Ok(());
    };
    let parameter = |name: &str| {
        template
            .split('/')
            .zip(path.split('/'))
            .find(|(segment, _)| *segment == name)
            .and_then(|(_, value)| value.parse::<Uuid>().ok())
    };
    let job_id = match (parameter("{job_id}"), parameter("{application_id}")) {
        (Some(job_id), _) => Some(job_id),
        (None, Some(application_id)) => state.commands.application_job(application_id).await?,
        (None, None) => None,
    };
    let Some(job_id) = job_id else {
        return Ok(());
    };
    if state.commands.recruits_for(job_id, account).await? {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::NotAssigned,
            format!("the job {job_id} has recruiters assigned, and this account is not one"),
        ))
    }
}

/// How stale this process's view of suspensions may be, for one suspended in another.
const SUSPENSIONS_FRESH_FOR: Duration = Duration::from_secs(1);

/// The suspended organizations as last read, and when.
type Snapshot = Option<(HashSet<Uuid>, Instant)>;

/// The suspended organizations, read again from the database at most every second, so a
/// request pays a set lookup rather than a query. A suspension made in this process applies
/// at once; one made in another, within a second.
#[derive(Debug, Clone, Default)]
pub struct Suspensions {
    cache: Arc<RwLock<Snapshot>>,
    /// Never read: for a router without a database.
    disabled: bool,
}

impl Suspensions {
    pub fn disabled() -> Self {
        Self {
            disabled: true,
            ..Self::default()
        }
    }

    async fn contains(&self, pool: &sqlx::PgPool, employer_id: Uuid) -> Result<bool, ApiError> {
        if self.disabled {
            return Ok(false);
        }
        {
            let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
            if let Some((ids, at)) = cache.as_ref() {
                if at.elapsed() < SUSPENSIONS_FRESH_FOR {
                    return Ok(ids.contains(&employer_id));
                }
            }
        }
        let ids: Vec<Uuid> = sqlx::query_scalar("SELECT employer_id FROM organization_suspension")
            .fetch_all(pool)
            .await
            .map_err(commands::Error::from)?;
        let ids: HashSet<Uuid> = ids.into_iter().collect();
        let suspended = ids.contains(&employer_id);
        *self.cache.write().unwrap_or_else(|e| e.into_inner()) = Some((ids, Instant::now()));
        Ok(suspended)
    }

    /// Forgets what is known, after a suspension or reinstatement in this process.
    pub fn changed(&self) {
        *self.cache.write().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Refuses every request of a suspended organization.
pub async fn refuse_suspended(state: &AppState, actor: Actor) -> Result<(), ApiError> {
    if actor.role == Role::Employer
        && state
            .suspensions
            .contains(&state.pool, actor.subject)
            .await?
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::TenantSuspended,
            "the organization is suspended; ask the platform's support",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_do_everything_recruiters_all_but_the_owners_part_viewers_only_read() {
        let jobs = (Method::POST, "/jobs");
        let invite = (Method::POST, "/employers/{employer_id}/invitations");
        let read = (Method::GET, "/jobs/{job_id}/applications");
        for (role, expected) in [
            (MemberRole::Owner, [true, true, true]),
            (MemberRole::Recruiter, [true, false, true]),
            (MemberRole::Viewer, [false, false, true]),
        ] {
            let got = [&jobs, &invite, &read].map(|(m, p)| allows(role, m, p));
            assert_eq!(got, expected, "{role:?}");
        }
    }

    #[test]
    fn every_owner_only_operation_is_documented() {
        let document: serde_json::Value =
            serde_json::from_str(crate::routes::openapi::DOCUMENT).expect("json");
        for (method, path) in OWNER_ONLY {
            let operation = &document["paths"][path][method.as_str().to_lowercase()];
            assert!(operation.is_object(), "{method} {path}");
        }
    }
}
