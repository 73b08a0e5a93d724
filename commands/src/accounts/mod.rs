//! Sign-in: accounts with a password, refresh tokens that rotate, one-time links by email,
//! and accounts opened on first sight of an identity provider's token.
//!
//! The facts are events of the [`Account`] aggregate; the secrets are rows beside them
//! (see the `accounts` migration). Access tokens are the API's business: this service says
//! who signed in, and hands out the refresh token that lets them stay signed in.

pub mod mail;
mod passwords;
pub(crate) mod secrets;

use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::account::{
    is_email, normalize_email, Account, AccountCommand, Identity, LockAccount, OpenAccount,
    PasswordChange, RecordPasswordChange, SignIn, VerifyEmail,
};
use domain::{Actor, DomainError, FieldError, Role};
use sqlx::PgPool;
use uuid::Uuid;

use crate::privacy::Keyring;
use crate::store::Store;
use crate::wake::AppendBell;
use crate::{Error, RequestIds};

use passwords::Passwords;

/// The shortest and longest password accepted (NIST SP 800-63B: at least 8, and room for
/// passphrases).
pub const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 8..=256;

/// Accounts opened from an identity provider get ids derived from issuer and subject, in
/// this namespace, so every process maps a token to the same account without a lookup.
const PROVIDER_NAMESPACE: Uuid = Uuid::from_u128(0x6a1c_52e4_07d3_4f0e_9a55_3f1b_8e2d_c0a7);

/// How long sign-ins last and when they are refused.
#[derive(Debug, Clone)]
pub struct AccountPolicy {
    /// A refresh token's life; each use gives a new one with a new life.
    pub refresh_ttl: Duration,
    pub verify_link_ttl: Duration,
    pub reset_link_ttl: Duration,
    /// Failed password sign-ins in a row that lock the account...
    pub lockout_after: u32,
    /// ...for this long.
    pub lockout_for: Duration,
    /// Where the links in emails point: the frontend's pages `/verify-email` and
    /// `/reset-password` under it receive the token as `?token=`.
    pub link_base: String,
}

impl Default for AccountPolicy {
    fn default() -> Self {
        Self {
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            verify_link_ttl: Duration::from_secs(48 * 3600),
            reset_link_ttl: Duration::from_secs(3600),
            lockout_after: 5,
            lockout_for: Duration::from_secs(15 * 60),
            link_base: "http://127.0.0.1:8080".into(),
        }
    }
}

/// Why a sign-in or one of its steps was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the email or the password is wrong")]
    InvalidCredentials,
    #[error("too many failed sign-ins: signing in with a password is locked until {until}")]
    Locked { until: DateTime<Utc> },
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("the refresh token is not valid or has expired")]
    InvalidRefreshToken,
    #[error("the refresh token was already used: every token of its sign-in is now revoked")]
    RefreshTokenReused,
    #[error("the link is not valid, was already used or has expired")]
    InvalidLink,
    #[error(transparent)]
    Command(#[from] Error),
}

impl From<sqlx::Error> for AuthError {
    fn from(error: sqlx::Error) -> Self {
        AuthError::Command(Error::Database(error))
    }
}

impl From<DomainError> for AuthError {
    fn from(error: DomainError) -> Self {
        AuthError::Command(Error::Domain(error))
    }
}

/// A successful sign-in: who, and the refresh token that keeps them signed in.
#[derive(Debug, Clone)]
pub struct Session {
    pub actor: Actor,
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
}

/// What the holder of an account sees of it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AccountView {
    pub account_id: Uuid,
    pub role: Role,
    pub email: Option<String>,
    pub email_verified: bool,
    pub password: bool,
    pub identities: Vec<Identity>,
    pub locked_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    VerifyEmail,
    ResetPassword,
}

impl Link {
    fn purpose(self) -> &'static str {
        match self {
            Link::VerifyEmail => "verify_email",
            Link::ResetPassword => "reset_password",
        }
    }
}

#[derive(Debug)]
pub struct Accounts {
    pool: PgPool,
    store: Store<Account>,
    passwords: Passwords,
    policy: AccountPolicy,
    /// Provider accounts known to be open, so a token's first sight is looked up once.
    known: std::sync::Mutex<std::collections::HashSet<Uuid>>,
}

#[derive(Debug, sqlx::FromRow)]
struct Credential {
    account_id: Uuid,
    role: String,
    password_hash: String,
    locked_until: Option<DateTime<Utc>>,
}

impl Accounts {
    pub(crate) fn new(pool: PgPool, keyring: Keyring, max_attempts: u32, bell: AppendBell) -> Self {
        Self {
            store: Store::new(keyring, max_attempts).with_bell(bell),
            pool,
            passwords: Passwords::new(),
            policy: AccountPolicy::default(),
            known: Default::default(),
        }
    }

    /// Where the links in emails point.
    pub(crate) fn link_base(&self) -> &str {
        self.policy.link_base.trim_end_matches('/')
    }

    pub(crate) fn set_policy(&mut self, policy: AccountPolicy) {
        self.policy = policy;
    }

    /// Opens an account signed in with `email` and `password`, and sends the link that
    /// verifies the address. `account_id` is the caller's choice only in tests; the API
    /// passes a new id.
    pub async fn register(
        &self,
        request: &RequestIds,
        account_id: Uuid,
        email: &str,
        password: &str,
        role: Role,
    ) -> Result<Session, AuthError> {
        let email = normalize_email(email);
        let mut problems = Vec::new();
        if !is_email(&email) {
            problems.push(FieldError::new("email", "must be an email address"));
        }
        check_password(password, &mut problems);
        if !matches!(role, Role::Candidate | Role::Employer) {
            problems.push(FieldError::new("role", "must be candidate or employer"));
        }
        if !problems.is_empty() {
            return Err(DomainError::Invalid(problems).into());
        }
        let hash = self.passwords.hash(password).await?;
        let account_id = self.claim_email(account_id, &email, role, &hash).await?;
        let command = AccountCommand::OpenAccount(OpenAccount {
            account_id,
            email: Some(email.clone()),
            role,
            sign_in: SignIn::Password,
        });
        let ctx = request.acting(Actor::new(account_id, role));
        if let Err(error) = self
            .store
            .execute(&account_id.to_string(), command, &ctx)
            .await
        {
            sqlx::query("DELETE FROM account_credential WHERE account_id = $1")
                .bind(account_id)
                .execute(&self.pool)
                .await?;
            return Err(error.into());
        }
        self.send_link(account_id, &email, Link::VerifyEmail)
            .await?;
        self.start_session(Actor::new(account_id, role)).await
    }

    /// Reserves `email` for `account_id`. An address whose account was never opened (the
    /// process stopped between the two steps) is taken over.
    async fn claim_email(
        &self,
        account_id: Uuid,
        email: &str,
        role: Role,
        hash: &str,
    ) -> Result<Uuid, AuthError> {
        let inserted = sqlx::query(
            "INSERT INTO account_credential (account_id, email, role, password_hash) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (email) DO NOTHING",
        )
        .bind(account_id)
        .bind(email)
        .bind(role.as_str())
        .bind(hash)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(account_id);
        }
        let existing: Uuid =
            sqlx::query_scalar("SELECT account_id FROM account_credential WHERE email = $1")
                .bind(email)
                .fetch_one(&self.pool)
                .await?;
        if self.store.exists(&existing.to_string()).await? {
            return Err(AuthError::EmailTaken);
        }
        sqlx::query(
            "UPDATE account_credential SET role = $2, password_hash = $3, failed_attempts = 0, \
             locked_until = NULL WHERE account_id = $1",
        )
        .bind(existing)
        .bind(role.as_str())
        .bind(hash)
        .execute(&self.pool)
        .await?;
        Ok(existing)
    }

    /// Signs in with a password. After `lockout_after` failures in a row the account is
    /// locked for `lockout_for`; an unknown address costs the same time as a wrong password.
    pub async fn sign_in(
        &self,
        request: &RequestIds,
        email: &str,
        password: &str,
    ) -> Result<Session, AuthError> {
        let email = normalize_email(email);
        let credential: Option<Credential> = sqlx::query_as(
            "SELECT account_id, role, password_hash, locked_until FROM account_credential \
             WHERE email = $1",
        )
        .bind(&email)
        .fetch_optional(&self.pool)
        .await?;
        let now = Utc::now();
        if let Some(until) = credential
            .as_ref()
            .and_then(|c| c.locked_until)
            .filter(|until| *until > now)
        {
            return Err(AuthError::Locked { until });
        }
        let matches = self
            .passwords
            .verify(
                password,
                credential.as_ref().map(|c| c.password_hash.as_str()),
            )
            .await?;
        let Some(credential) = credential else {
            return Err(AuthError::InvalidCredentials);
        };
        if !matches {
            let role = credential
                .role
                .parse()
                .map_err(|_| AuthError::InvalidCredentials)?;
            let ctx = request.acting(Actor::new(credential.account_id, role));
            self.count_failure(&ctx, credential.account_id).await?;
            return Err(AuthError::InvalidCredentials);
        }
        sqlx::query(
            "UPDATE account_credential SET failed_attempts = 0, locked_until = NULL \
             WHERE account_id = $1",
        )
        .bind(credential.account_id)
        .execute(&self.pool)
        .await?;
        let role = credential
            .role
            .parse()
            .map_err(|_| AuthError::InvalidCredentials)?;
        self.start_session(Actor::new(credential.account_id, role))
            .await
    }

    async fn count_failure(
        &self,
        ctx: &crate::CommandContext,
        account_id: Uuid,
    ) -> Result<(), AuthError> {
        let until = Utc::now() + self.policy.lockout_for;
        // One statement counts the failure and, at the threshold, locks and starts over, so
        // concurrent failures are each counted once.
        let locked: bool = sqlx::query_scalar(
            "UPDATE account_credential SET \
               failed_attempts = CASE WHEN failed_attempts + 1 >= $2 THEN 0 \
                                      ELSE failed_attempts + 1 END, \
               locked_until = CASE WHEN failed_attempts + 1 >= $2 THEN $3 \
                                   ELSE locked_until END \
             WHERE account_id = $1 \
             RETURNING locked_until IS NOT DISTINCT FROM $3",
        )
        .bind(account_id)
        .bind(i32::try_from(self.policy.lockout_after).unwrap_or(i32::MAX))
        .bind(until)
        .fetch_optional(&self.pool)
        .await?
        .unwrap_or(false);
        if !locked {
            return Ok(());
        }
        let command = AccountCommand::LockAccount(LockAccount {
            account_id,
            failed_attempts: self.policy.lockout_after,
            until,
        });
        self.store
            .execute(&account_id.to_string(), command, ctx)
            .await?;
        Ok(())
    }

    async fn start_session(&self, actor: Actor) -> Result<Session, AuthError> {
        let family = Uuid::now_v7();
        self.issue_refresh(&self.pool, actor, family).await
    }

    async fn issue_refresh<'e>(
        &self,
        executor: impl sqlx::PgExecutor<'e>,
        actor: Actor,
        family: Uuid,
    ) -> Result<Session, AuthError> {
        let (token, digest) = secrets::generate().map_err(random_error)?;
        let expires_at = Utc::now() + self.policy.refresh_ttl;
        sqlx::query(
            "INSERT INTO refresh_token (token_hash, family_id, account_id, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(digest)
        .bind(family)
        .bind(actor.subject)
        .bind(expires_at)
        .execute(executor)
        .await?;
        Ok(Session {
            actor,
            refresh_token: token,
            refresh_expires_at: expires_at,
        })
    }

    /// Exchanges a refresh token for a new one. A token is good once: presenting it again
    /// (it was stolen, or the client replayed it) revokes its whole family.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Session, AuthError> {
        let digest = secrets::digest(refresh_token);
        let mut tx = self.pool.begin().await?;
        let row: Option<(Uuid, Uuid, DateTime<Utc>, bool, bool, String)> = sqlx::query_as(
            "SELECT t.family_id, t.account_id, t.expires_at, t.used_at IS NOT NULL, \
                    t.revoked_at IS NOT NULL, c.role \
             FROM refresh_token t JOIN account_credential c USING (account_id) \
             WHERE t.token_hash = $1 FOR UPDATE OF t",
        )
        .bind(&digest)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((family, account_id, expires_at, used, revoked, role)) = row else {
            return Err(AuthError::InvalidRefreshToken);
        };
        if used && !revoked {
            revoke_family(&mut *tx, family).await?;
            tx.commit().await?;
            tracing::warn!(%account_id, %family, "a used refresh token came back: its family is revoked");
            return Err(AuthError::RefreshTokenReused);
        }
        if revoked || expires_at <= Utc::now() {
            return Err(AuthError::InvalidRefreshToken);
        }
        sqlx::query("UPDATE refresh_token SET used_at = now() WHERE token_hash = $1")
            .bind(&digest)
            .execute(&mut *tx)
            .await?;
        let role = role.parse().map_err(|_| AuthError::InvalidRefreshToken)?;
        let session = self
            .issue_refresh(&mut *tx, Actor::new(account_id, role), family)
            .await?;
        tx.commit().await?;
        Ok(session)
    }

    /// Ends the sign-in a refresh token belongs to. An unknown token ends nothing, quietly.
    pub async fn sign_out(&self, refresh_token: &str) -> Result<(), AuthError> {
        let family: Option<Uuid> =
            sqlx::query_scalar("SELECT family_id FROM refresh_token WHERE token_hash = $1")
                .bind(secrets::digest(refresh_token))
                .fetch_optional(&self.pool)
                .await?;
        if let Some(family) = family {
            revoke_family(&self.pool, family).await?;
        }
        Ok(())
    }

    /// Marks the address of the link's account verified.
    pub async fn verify_email(&self, request: &RequestIds, token: &str) -> Result<Uuid, AuthError> {
        let actor = self.use_link(token, Link::VerifyEmail).await?;
        let account_id = actor.subject;
        let command = AccountCommand::VerifyEmail(VerifyEmail { account_id });
        self.store
            .execute(&account_id.to_string(), command, &request.acting(actor))
            .await?;
        Ok(account_id)
    }

    /// Sends a reset link when an account has this address; says nothing either way.
    pub async fn request_reset(&self, email: &str) -> Result<(), AuthError> {
        let email = normalize_email(email);
        let account: Option<Uuid> =
            sqlx::query_scalar("SELECT account_id FROM account_credential WHERE email = $1")
                .bind(&email)
                .fetch_optional(&self.pool)
                .await?;
        if let Some(account_id) = account {
            self.send_link(account_id, &email, Link::ResetPassword)
                .await?;
        }
        Ok(())
    }

    /// Sets a new password through a reset link: the lock is lifted and every sign-in of the
    /// account ends.
    pub async fn reset_password(
        &self,
        request: &RequestIds,
        token: &str,
        password: &str,
    ) -> Result<Uuid, AuthError> {
        let mut problems = Vec::new();
        check_password(password, &mut problems);
        if !problems.is_empty() {
            return Err(DomainError::Invalid(problems).into());
        }
        let hash = self.passwords.hash(password).await?;
        let actor = self.use_link(token, Link::ResetPassword).await?;
        let account_id = actor.subject;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE account_credential SET password_hash = $2, failed_attempts = 0, \
             locked_until = NULL WHERE account_id = $1",
        )
        .bind(account_id)
        .bind(hash)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE refresh_token SET revoked_at = now() WHERE account_id = $1 AND revoked_at IS NULL",
        )
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let command = AccountCommand::RecordPasswordChange(RecordPasswordChange {
            account_id,
            reason: PasswordChange::Reset,
        });
        self.store
            .execute(&account_id.to_string(), command, &request.acting(actor))
            .await?;
        Ok(account_id)
    }

    /// The account a provider's identity maps to, opened on its first sight.
    pub async fn provider_account(
        &self,
        request: &RequestIds,
        identity: Identity,
        role: Role,
        email: Option<String>,
    ) -> Result<Uuid, AuthError> {
        let key = format!("{}\n{}", identity.issuer, identity.subject);
        let account_id = Uuid::new_v5(&PROVIDER_NAMESPACE, key.as_bytes());
        if lock(&self.known).contains(&account_id) {
            return Ok(account_id);
        }
        if !self.store.exists(&account_id.to_string()).await? {
            let command = AccountCommand::OpenAccount(OpenAccount {
                account_id,
                email: email.filter(|e| is_email(&normalize_email(e))),
                role,
                sign_in: SignIn::Provider { identity },
            });
            let ctx = request.acting(Actor::new(account_id, role));
            match self
                .store
                .execute(&account_id.to_string(), command, &ctx)
                .await
            {
                // Another request saw the same token first.
                Ok(_) | Err(Error::Domain(DomainError::AccountAlreadyOpened { .. })) => {}
                Err(error) => return Err(error.into()),
            }
        }
        let mut known = lock(&self.known);
        if known.len() >= 100_000 {
            known.clear();
        }
        known.insert(account_id);
        Ok(account_id)
    }

    /// Deletes what the write side keeps in clear about an erased person's account: the
    /// sign-in address and password hash, sessions, links and unsent mail. The account's
    /// events stay, their address sealed with the erased key.
    pub(crate) async fn forget(&self, account_id: Uuid) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        for table in [
            "account_credential",
            "refresh_token",
            "account_link",
            "email_outbox",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE account_id = $1"))
                .bind(account_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        lock(&self.known).remove(&account_id);
        Ok(())
    }

    /// The account as its holder sees it; `None` when the subject has no account (a token
    /// minted by `hirestream token`).
    pub async fn view(&self, account_id: Uuid) -> Result<Option<AccountView>, AuthError> {
        let (account, _) = self.store.load(&account_id.to_string()).await?;
        let Some(role) = account.role.filter(|_| account.opened) else {
            return Ok(None);
        };
        let password: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM account_credential WHERE account_id = $1)",
        )
        .bind(account_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(Some(AccountView {
            account_id,
            role,
            email: account.email,
            email_verified: account.email_verified,
            password,
            identities: account.identities,
            locked_until: account.locked_until.filter(|until| *until > Utc::now()),
        }))
    }

    async fn send_link(&self, account_id: Uuid, email: &str, link: Link) -> Result<(), AuthError> {
        let (token, digest) = secrets::generate().map_err(random_error)?;
        let (ttl, subject, page, what) = match link {
            Link::VerifyEmail => (
                self.policy.verify_link_ttl,
                "Verify your email address",
                "verify-email",
                "verify this address",
            ),
            Link::ResetPassword => (
                self.policy.reset_link_ttl,
                "Reset your password",
                "reset-password",
                "choose a new password",
            ),
        };
        let body = format!(
            "Open this link to {what}:\n\n{base}/{page}?token={token}\n\n\
             The link works once, for {hours} hours. If you did not ask for it, ignore this \
             message.\n\ntoken: {token}\n",
            base = self.policy.link_base.trim_end_matches('/'),
            hours = ttl.as_secs().div_ceil(3600),
        );
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO account_link (token_hash, account_id, purpose, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(digest)
        .bind(account_id)
        .bind(link.purpose())
        .bind(Utc::now() + ttl)
        .execute(&mut *tx)
        .await?;
        mail::enqueue(&mut tx, account_id, email, subject, &body).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The account of an unused, unexpired link, which is used up.
    async fn use_link(&self, token: &str, link: Link) -> Result<Actor, AuthError> {
        let (account_id, role): (Uuid, String) = sqlx::query_as(
            "UPDATE account_link l SET used_at = now() FROM account_credential c \
             WHERE l.token_hash = $1 AND l.purpose = $2 AND l.used_at IS NULL \
               AND l.expires_at > now() AND c.account_id = l.account_id \
             RETURNING l.account_id, c.role",
        )
        .bind(secrets::digest(token))
        .bind(link.purpose())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(AuthError::InvalidLink)?;
        let role = role.parse().map_err(|_| AuthError::InvalidLink)?;
        Ok(Actor::new(account_id, role))
    }
}

fn check_password(password: &str, problems: &mut Vec<FieldError>) {
    let chars = password.chars().count();
    if !PASSWORD_CHARS.contains(&chars) {
        problems.push(FieldError::new(
            "password",
            format!(
                "must be {} to {} characters",
                PASSWORD_CHARS.start(),
                PASSWORD_CHARS.end()
            ),
        ));
    } else if password.contains('\0') {
        problems.push(FieldError::new("password", "must not contain NUL"));
    }
}

async fn revoke_family<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    family: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE refresh_token SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL",
    )
    .bind(family)
    .execute(executor)
    .await?;
    Ok(())
}

fn random_error(error: getrandom::Error) -> AuthError {
    AuthError::Command(Error::Store(Box::new(error)))
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
