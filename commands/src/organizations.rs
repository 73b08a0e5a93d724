//! Organizations: an employer's members (owners, recruiters, viewers), invited by email; the
//! suspension of an organization as a tenant; and partners, organizations that onboard other
//! organizations as their tenants and administer them.
//!
//! Every change is an event of the employer; the tables beside them (`organization_member`,
//! `organization_suspension`) are what each request is checked against, written after the
//! event, so nothing is allowed that the history does not record.

use chrono::{DateTime, Utc};
use domain::account::{is_email, normalize_email};
use domain::employer::{
    EmployerCommand, EnrollPartner, InviteMember, JoinOrganization, MemberRole, OnboardTenant,
    RegisterTenant, ReinstateEmployer, RemoveMember, SuspendEmployer,
};
use domain::job::{AssignRecruiter, JobCommand};
use domain::{Actor, DomainError, FieldError};
use serde::Serialize;
use uuid::Uuid;

use crate::accounts::{mail, secrets};
use crate::{CommandContext, CommandService, Committed, Error};

/// How long an invitation stays good.
const INVITATION_TTL: chrono::Duration = chrono::Duration::days(7);

/// A member as the organization lists it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Member {
    pub account_id: Uuid,
    pub role: String,
    pub joined_at: DateTime<Utc>,
}

/// A partner's tenant as the partner lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Tenant {
    pub tenant_id: Uuid,
    pub name: String,
    pub suspended: bool,
}

/// What onboarding a tenant made: the organization, and the invitation of its first owner.
#[derive(Debug, Clone)]
pub struct Onboarded {
    pub tenant_id: Uuid,
    pub invitation_id: Uuid,
    pub committed: Committed,
}

impl CommandService {
    /// An admin makes an organization a partner.
    pub async fn enroll_partner(
        &self,
        ctx: &CommandContext,
        cmd: EnrollPartner,
    ) -> Result<Committed, Error> {
        let employer_id = cmd.employer_id.to_string();
        self.employers
            .execute(&employer_id, EmployerCommand::EnrollPartner(cmd), ctx)
            .await
    }

    /// A partner onboards a new organization named `name` as its tenant, and invites
    /// `owner_email` to own it. The partner records the tenant first, so an organization
    /// that is not a partner registers nothing.
    pub async fn onboard_tenant(
        &self,
        ctx: &CommandContext,
        partner: Actor,
        partner_id: Uuid,
        name: &str,
        owner_email: &str,
    ) -> Result<Onboarded, Error> {
        if !is_email(&normalize_email(owner_email)) {
            return Err(DomainError::Invalid(vec![FieldError::new(
                "owner_email",
                "must be an email address",
            )])
            .into());
        }
        let tenant_id = Uuid::now_v7();
        let onboard = OnboardTenant {
            partner_id,
            tenant_id,
            name: name.to_owned(),
            onboarded_by: partner,
        };
        self.employers
            .execute(
                &partner_id.to_string(),
                EmployerCommand::OnboardTenant(onboard),
                ctx,
            )
            .await?;
        let register = RegisterTenant {
            employer_id: tenant_id,
            name: name.to_owned(),
            partner_id,
        };
        self.employers
            .execute(
                &tenant_id.to_string(),
                EmployerCommand::RegisterTenant(register),
                ctx,
            )
            .await?;
        let invitation_id = Uuid::now_v7();
        let invite = InviteMember {
            employer_id: tenant_id,
            invitation_id,
            role: MemberRole::Owner,
            invited_by: partner,
        };
        let committed = self.invite_member(ctx, invite, owner_email).await?;
        Ok(Onboarded {
            tenant_id,
            invitation_id,
            committed,
        })
    }

    /// The tenants `partner_id` onboarded, in the order of their ids (of their onboarding).
    pub async fn tenants(&self, partner_id: Uuid) -> Result<Vec<Tenant>, Error> {
        let (partner, _) = self.employers.load(&partner_id.to_string()).await?;
        if !partner.partner {
            return Err(DomainError::NotAPartner {
                employer_id: partner_id,
            }
            .into());
        }
        let ids: Vec<Uuid> = partner.tenants.keys().copied().collect();
        let suspended: Vec<Uuid> = sqlx::query_scalar(
            "SELECT employer_id FROM organization_suspension WHERE employer_id = ANY($1)",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?;
        Ok(partner
            .tenants
            .into_iter()
            .map(|(tenant_id, name)| Tenant {
                tenant_id,
                name,
                suspended: suspended.contains(&tenant_id),
            })
            .collect())
    }

    /// Refuses `partner_id` a tenant it did not onboard.
    pub async fn require_tenant(&self, partner_id: Uuid, tenant_id: Uuid) -> Result<(), Error> {
        let (partner, _) = self.employers.load(&partner_id.to_string()).await?;
        if partner.tenants.contains_key(&tenant_id) {
            Ok(())
        } else {
            Err(DomainError::NotATenant {
                tenant_id,
                partner_id,
            }
            .into())
        }
    }

    /// Invites `email` to join as `role`: the invitation is an event, its token goes by email.
    pub async fn invite_member(
        &self,
        ctx: &CommandContext,
        cmd: InviteMember,
        email: &str,
    ) -> Result<Committed, Error> {
        let email = normalize_email(email);
        if !is_email(&email) {
            return Err(DomainError::Invalid(vec![FieldError::new(
                "email",
                "must be an email address",
            )])
            .into());
        }
        let (employer_id, invitation_id, role) = (cmd.employer_id, cmd.invitation_id, cmd.role);
        let committed = self
            .employers
            .execute(
                &employer_id.to_string(),
                EmployerCommand::InviteMember(cmd),
                ctx,
            )
            .await?;
        let (token, digest) = secrets::generate().map_err(|e| Error::Store(Box::new(e)))?;
        let body = format!(
            "You are invited to join an organization on Hirestream as {role}.\n\n\
             {base}/invitations?token={token}\n\n\
             Sign in (or register as an employer) and accept within 7 days. If you did not \
             expect this, ignore this message.\n\ntoken: {token}\n",
            role = role.as_str(),
            base = self.accounts().link_base(),
        );
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO organization_invitation \
             (token_hash, invitation_id, employer_id, email, role, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(digest)
        .bind(invitation_id)
        .bind(employer_id)
        .bind(&email)
        .bind(role.as_str())
        .bind(Utc::now() + INVITATION_TTL)
        .execute(&mut *tx)
        .await?;
        mail::enqueue(
            &mut tx,
            employer_id,
            &email,
            "You are invited to Hirestream",
            &body,
        )
        .await?;
        tx.commit().await?;
        Ok(committed)
    }

    /// `account` accepts the invitation whose token it was sent; `None` when the token is
    /// unknown, used or expired.
    pub async fn accept_invitation(
        &self,
        ctx: &CommandContext,
        token: &str,
        account: Actor,
    ) -> Result<Option<(Uuid, MemberRole, Committed)>, Error> {
        // An invitation is the invited address's: an account signed in with a password
        // accepts only an invitation sent to its own address. (An account with no address
        // here, signed in through an identity provider, accepts by the token alone.)
        let row: Option<(Uuid, Uuid, String)> = sqlx::query_as(
            "UPDATE organization_invitation i SET used_at = now() \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() \
               AND NOT EXISTS (SELECT 1 FROM account_credential c \
                                WHERE c.account_id = $2 AND c.email <> i.email) \
             RETURNING invitation_id, employer_id, role",
        )
        .bind(secrets::digest(token))
        .bind(account.subject)
        .fetch_optional(&self.pool)
        .await?;
        let Some((invitation_id, employer_id, _)) = row else {
            return Ok(None);
        };
        let command = EmployerCommand::JoinOrganization(JoinOrganization {
            employer_id,
            invitation_id,
            account_id: account.subject,
        });
        let committed = self
            .employers
            .execute(&employer_id.to_string(), command, ctx)
            .await?;
        let (employer, _) = self.employers.load(&employer_id.to_string()).await?;
        let role = employer
            .members
            .get(&account.subject)
            .copied()
            .unwrap_or(MemberRole::Viewer);
        sqlx::query(
            "INSERT INTO organization_member (employer_id, account_id, role) VALUES ($1, $2, $3) \
             ON CONFLICT (employer_id, account_id) DO UPDATE SET role = EXCLUDED.role",
        )
        .bind(employer_id)
        .bind(account.subject)
        .bind(role.as_str())
        .execute(&self.pool)
        .await?;
        Ok(Some((employer_id, role, committed)))
    }

    pub async fn remove_member(
        &self,
        ctx: &CommandContext,
        cmd: RemoveMember,
    ) -> Result<Committed, Error> {
        let (employer_id, account_id) = (cmd.employer_id, cmd.account_id);
        let committed = self
            .employers
            .execute(
                &employer_id.to_string(),
                EmployerCommand::RemoveMember(cmd),
                ctx,
            )
            .await?;
        sqlx::query("DELETE FROM organization_member WHERE employer_id = $1 AND account_id = $2")
            .bind(employer_id)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(committed)
    }

    /// The role of `account_id` in the organization of `employer_id`: owner for the account
    /// that is the employer itself.
    pub async fn membership(
        &self,
        employer_id: Uuid,
        account_id: Uuid,
    ) -> Result<Option<MemberRole>, Error> {
        if employer_id == account_id {
            return Ok(Some(MemberRole::Owner));
        }
        let role: Option<String> = sqlx::query_scalar(
            "SELECT role FROM organization_member WHERE employer_id = $1 AND account_id = $2",
        )
        .bind(employer_id)
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(role.and_then(|role| role.parse().ok()))
    }

    pub async fn members(&self, employer_id: Uuid) -> Result<Vec<Member>, Error> {
        Ok(sqlx::query_as(
            "SELECT account_id, role, joined_at FROM organization_member \
             WHERE employer_id = $1 ORDER BY joined_at, account_id",
        )
        .bind(employer_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn suspend_employer(
        &self,
        ctx: &CommandContext,
        cmd: SuspendEmployer,
    ) -> Result<Committed, Error> {
        let (employer_id, reason) = (cmd.employer_id, cmd.reason.trim().to_owned());
        let committed = self
            .employers
            .execute(
                &employer_id.to_string(),
                EmployerCommand::SuspendEmployer(cmd),
                ctx,
            )
            .await?;
        sqlx::query(
            "INSERT INTO organization_suspension (employer_id, reason) VALUES ($1, $2) \
             ON CONFLICT (employer_id) DO NOTHING",
        )
        .bind(employer_id)
        .bind(reason)
        .execute(&self.pool)
        .await?;
        Ok(committed)
    }

    pub async fn reinstate_employer(
        &self,
        ctx: &CommandContext,
        cmd: ReinstateEmployer,
    ) -> Result<Committed, Error> {
        let employer_id = cmd.employer_id;
        let committed = self
            .employers
            .execute(
                &employer_id.to_string(),
                EmployerCommand::ReinstateEmployer(cmd),
                ctx,
            )
            .await?;
        sqlx::query("DELETE FROM organization_suspension WHERE employer_id = $1")
            .bind(employer_id)
            .execute(&self.pool)
            .await?;
        Ok(committed)
    }

    /// Assigns a member to a job as its recruiter, or takes the assignment back. Only a
    /// member of the job's organization can be assigned.
    pub async fn assign_recruiter(
        &self,
        ctx: &CommandContext,
        cmd: AssignRecruiter,
    ) -> Result<Committed, Error> {
        let (job_id, account_id, assigned) = (cmd.job_id, cmd.account_id, cmd.assigned);
        if assigned {
            let employer = self.job_ref(job_id).await?.map(|job| job.employer_id);
            let member = match employer {
                Some(employer_id) => self.membership(employer_id, account_id).await?,
                None => return Err(DomainError::JobNotFound { job_id }.into()),
            };
            if member.is_none() {
                return Err(DomainError::Invalid(vec![FieldError::new(
                    "account_id",
                    "must be a member of the job's organization",
                )])
                .into());
            }
        }
        let committed = self
            .jobs
            .execute(&job_id.to_string(), JobCommand::AssignRecruiter(cmd), ctx)
            .await?;
        let statement = if assigned {
            "INSERT INTO job_recruiter (job_id, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM job_recruiter WHERE job_id = $1 AND account_id = $2"
        };
        sqlx::query(statement)
            .bind(job_id)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(committed)
    }

    /// The recruiters assigned to a job.
    pub async fn recruiters(&self, job_id: Uuid) -> Result<Vec<Uuid>, Error> {
        Ok(sqlx::query_scalar(
            "SELECT account_id FROM job_recruiter WHERE job_id = $1 ORDER BY assigned_at, account_id",
        )
        .bind(job_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The job an application was made to, if it exists.
    pub async fn application_job(&self, application_id: Uuid) -> Result<Option<Uuid>, Error> {
        let (application, _) = self.applications.load(&application_id.to_string()).await?;
        Ok(application.job_id)
    }

    /// Whether a recruiter may act on a job: the job has no assigned recruiters, or has it.
    pub async fn recruits_for(&self, job_id: Uuid, account_id: Uuid) -> Result<bool, Error> {
        Ok(sqlx::query_scalar(
            "SELECT NOT EXISTS (SELECT 1 FROM job_recruiter WHERE job_id = $1) \
                 OR EXISTS (SELECT 1 FROM job_recruiter WHERE job_id = $1 AND account_id = $2)",
        )
        .bind(job_id)
        .bind(account_id)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Whether the organization of `employer_id` is suspended.
    pub async fn suspended(&self, employer_id: Uuid) -> Result<bool, Error> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM organization_suspension WHERE employer_id = $1)",
        )
        .bind(employer_id)
        .fetch_one(&self.pool)
        .await?)
    }
}
