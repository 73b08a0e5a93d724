//! An employer's organization: invitations by email, the members who accepted them, the
//! suspension of the organization as a tenant (by an admin or its partner), and a partner's
//! tenants.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::Router;
use commands::organizations::{Member, Tenant};
use domain::employer::{
    EnrollPartner, InviteMember, MemberRole, ReinstateEmployer, RemoveMember, SuspendEmployer,
};
use domain::job::AssignRecruiter;
use domain::{Role, Write};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ApiError, ErrorCode};
use crate::extract::{Caller, Json, Path};
use crate::position::Written;
use crate::read_policy::{self, Parties, Read};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/employers/{employer_id}/invitations", post(invite))
        .route("/employers/{employer_id}/members", get(members))
        .route(
            "/employers/{employer_id}/members/{account_id}",
            delete(remove),
        )
        .route("/invitations/accept", post(accept))
        .route(
            "/admin/employers/{employer_id}/suspension",
            post(suspend).delete(reinstate),
        )
        .route("/admin/employers/{employer_id}/partner", post(enroll))
        .route(
            "/employers/{employer_id}/tenants",
            post(onboard).get(tenants),
        )
        .route(
            "/employers/{employer_id}/tenants/{tenant_id}/suspension",
            post(suspend_tenant).delete(reinstate_tenant),
        )
        .route("/jobs/{job_id}/recruiters", get(recruiters))
        .route(
            "/jobs/{job_id}/recruiters/{account_id}",
            put(assign).delete(unassign),
        )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteBody {
    email: String,
    role: MemberRole,
}

async fn invite(
    State(state): State<AppState>,
    caller: Caller,
    Path(employer_id): Path<Uuid>,
    Json(body): Json<InviteBody>,
) -> Result<(StatusCode, axum::Json<Written>), ApiError> {
    super::authorize(caller.actor, Write::ManageMembers, employer_id)?;
    let command = InviteMember {
        employer_id,
        invitation_id: Uuid::now_v7(),
        role: body.role,
        invited_by: caller.actor,
    };
    let committed = state
        .commands
        .invite_member(&caller.context, command, &body.email)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(committed.into())))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceptBody {
    token: String,
}

#[derive(Debug, Serialize)]
struct Joined {
    employer_id: Uuid,
    role: MemberRole,
    position: String,
}

/// An employer account accepts an invitation it was sent; it then acts for the organization
/// with `X-Organization`.
async fn accept(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<AcceptBody>,
) -> Result<axum::Json<Joined>, ApiError> {
    if caller.actor.role != Role::Employer || caller.context.member.is_some() {
        return Err(ApiError::forbidden(
            "an invitation is accepted by an employer account, in its own name",
        ));
    }
    let (employer_id, role, committed) = state
        .commands
        .accept_invitation(&caller.context, &body.token, caller.actor)
        .await?
        .ok_or_else(|| {
            ApiError::bad_request(
                ErrorCode::InvalidLink,
                "the invitation is not valid, was already accepted or has expired",
            )
        })?;
    let written: Written = committed.into();
    Ok(axum::Json(Joined {
        employer_id,
        role,
        position: written.position,
    }))
}

#[derive(Debug, Serialize)]
struct Members {
    members: Vec<Member>,
}

async fn members(
    State(state): State<AppState>,
    caller: Caller,
    Path(employer_id): Path<Uuid>,
) -> Result<axum::Json<Members>, ApiError> {
    read_policy::may_read(caller.actor, Read::ApiKeys, Parties::employer(employer_id))?;
    let members = state.commands.members(employer_id).await?;
    Ok(axum::Json(Members { members }))
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path((employer_id, account_id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    super::authorize(caller.actor, Write::ManageMembers, employer_id)?;
    let command = RemoveMember {
        employer_id,
        account_id,
        removed_by: caller.actor,
    };
    state
        .commands
        .remove_member(&caller.context, command)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuspendBody {
    reason: String,
}

async fn suspend(
    State(state): State<AppState>,
    caller: Caller,
    Path(employer_id): Path<Uuid>,
    Json(body): Json<SuspendBody>,
) -> Result<axum::Json<Written>, ApiError> {
    super::authorize(caller.actor, Write::SuspendTenant, employer_id)?;
    suspension(&state, &caller, employer_id, Some(body.reason)).await
}

async fn reinstate(
    State(state): State<AppState>,
    caller: Caller,
    Path(employer_id): Path<Uuid>,
) -> Result<axum::Json<Written>, ApiError> {
    super::authorize(caller.actor, Write::SuspendTenant, employer_id)?;
    suspension(&state, &caller, employer_id, None).await
}

/// Suspends the organization for `reason`, or reinstates it (`None`), as `caller`, whose right
/// to was checked; every process refuses or serves it again within a second, this one at once.
async fn suspension(
    state: &AppState,
    caller: &Caller,
    employer_id: Uuid,
    reason: Option<String>,
) -> Result<axum::Json<Written>, ApiError> {
    let committed = match reason {
        Some(reason) => {
            let command = SuspendEmployer {
                employer_id,
                reason,
                suspended_by: caller.actor,
            };
            state
                .commands
                .suspend_employer(&caller.context, command)
                .await?
        }
        None => {
            let command = ReinstateEmployer {
                employer_id,
                reinstated_by: caller.actor,
            };
            state
                .commands
                .reinstate_employer(&caller.context, command)
                .await?
        }
    };
    state.suspensions.changed();
    Ok(axum::Json(committed.into()))
}

async fn enroll(
    State(state): State<AppState>,
    caller: Caller,
    Path(employer_id): Path<Uuid>,
) -> Result<axum::Json<Written>, ApiError> {
    super::authorize(caller.actor, Write::EnrollPartner, employer_id)?;
    let command = EnrollPartner {
        employer_id,
        enrolled_by: caller.actor,
    };
    let committed = state
        .commands
        .enroll_partner(&caller.context, command)
        .await?;
    Ok(axum::Json(committed.into()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OnboardBody {
    name: String,
    owner_email: String,
}

#[derive(Debug, Serialize)]
struct OnboardedTenant {
    tenant_id: Uuid,
    invitation_id: Uuid,
    position: String,
}

/// A partner onboards an organization: registered as its tenant, with its first owner invited
/// by email.
async fn onboard(
    State(state): State<AppState>,
    caller: Caller,
    Path(partner_id): Path<Uuid>,
    Json(body): Json<OnboardBody>,
) -> Result<(StatusCode, axum::Json<OnboardedTenant>), ApiError> {
    super::authorize(caller.actor, Write::ManageTenants, partner_id)?;
    let onboarded = state
        .commands
        .onboard_tenant(
            &caller.context,
            caller.actor,
            partner_id,
            &body.name,
            &body.owner_email,
        )
        .await?;
    let written: Written = onboarded.committed.into();
    Ok((
        StatusCode::CREATED,
        axum::Json(OnboardedTenant {
            tenant_id: onboarded.tenant_id,
            invitation_id: onboarded.invitation_id,
            position: written.position,
        }),
    ))
}

#[derive(Debug, Serialize)]
struct Tenants {
    tenants: Vec<Tenant>,
}

/// A partner's tenants: its own only.
async fn tenants(
    State(state): State<AppState>,
    caller: Caller,
    Path(partner_id): Path<Uuid>,
) -> Result<axum::Json<Tenants>, ApiError> {
    read_policy::may_read(caller.actor, Read::ApiKeys, Parties::employer(partner_id))?;
    let tenants = state.commands.tenants(partner_id).await?;
    Ok(axum::Json(Tenants { tenants }))
}

async fn suspend_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path((partner_id, tenant_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<SuspendBody>,
) -> Result<axum::Json<Written>, ApiError> {
    super::authorize(caller.actor, Write::ManageTenants, partner_id)?;
    state.commands.require_tenant(partner_id, tenant_id).await?;
    suspension(&state, &caller, tenant_id, Some(body.reason)).await
}

async fn reinstate_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path((partner_id, tenant_id)): Path<(Uuid, Uuid)>,
) -> Result<axum::Json<Written>, ApiError> {
    super::authorize(caller.actor, Write::ManageTenants, partner_id)?;
    state.commands.require_tenant(partner_id, tenant_id).await?;
    suspension(&state, &caller, tenant_id, None).await
}

/// The employer of a posted job, or a 404.
async fn job_employer(state: &AppState, job_id: Uuid) -> Result<Uuid, ApiError> {
    state
        .commands
        .job_ref(job_id)
        .await?
        .map(|job| job.employer_id)
        .ok_or_else(|| ApiError::not_found(format!("job {job_id} does not exist")))
}

#[derive(Debug, Serialize)]
struct Recruiters {
    recruiters: Vec<Uuid>,
}

/// The members assigned to a job as its recruiters; none means every recruiter of the
/// organization.
async fn recruiters(
    State(state): State<AppState>,
    caller: Caller,
    Path(job_id): Path<Uuid>,
) -> Result<axum::Json<Recruiters>, ApiError> {
    let employer_id = job_employer(&state, job_id).await?;
    read_policy::may_read(caller.actor, Read::ApiKeys, Parties::employer(employer_id))?;
    let recruiters = state.commands.recruiters(job_id).await?;
    Ok(axum::Json(Recruiters { recruiters }))
}

async fn assign(
    state: State<AppState>,
    caller: Caller,
    path: Path<(Uuid, Uuid)>,
) -> Result<axum::Json<Written>, ApiError> {
    assignment(state, caller, path, true).await
}

async fn unassign(
    state: State<AppState>,
    caller: Caller,
    path: Path<(Uuid, Uuid)>,
) -> Result<axum::Json<Written>, ApiError> {
    assignment(state, caller, path, false).await
}

async fn assignment(
    State(state): State<AppState>,
    caller: Caller,
    Path((job_id, account_id)): Path<(Uuid, Uuid)>,
    assigned: bool,
) -> Result<axum::Json<Written>, ApiError> {
    let employer_id = job_employer(&state, job_id).await?;
    super::authorize(caller.actor, Write::UpdateJob, employer_id)?;
    let command = AssignRecruiter {
        job_id,
        account_id,
        assigned,
        by: caller.actor,
    };
    let committed = state
        .commands
        .assign_recruiter(&caller.context, command)
        .await?;
    Ok(axum::Json(committed.into()))
}
