//! Organizations: an employer's members (owners, recruiters, viewers), invited by email, and
//! the suspension of an organization as a tenant.
//!
//! Every change is an event of the employer; the tables beside them (`organization_member`,
//! `organization_suspension`) are what each request is checked against, written after the
//! event, so nothing is allowed that the history does not record.

use chrono::{DateTime, Utc};
use domain::account::{is_email, normalize_email};
use domain::employer::{
    EmployerCommand, InviteMember, JoinOrganization, MemberRole, ReinstateEmployer, RemoveMember,
    SuspendEmployer,
};
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

impl CommandService {
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
        let row: Option<(Uuid, Uuid, String)> = sqlx::query_as(
            "UPDATE organization_invitation SET used_at = now() \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() \
             RETURNING invitation_id, employer_id, role",
        )
        .bind(secrets::digest(token))
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
