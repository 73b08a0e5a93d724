//! The command service: the entry point of every change. It loads what a command needs to
//! know about other aggregates, runs the command on its own aggregate and appends the result
//! with the caller's metadata.

use domain::application::{
    application_id, Application, ApplicationCommand, ApplicationStatus, ChangeApplicationStatus,
    SubmitApplication, WithdrawApplication,
};
use domain::candidate::{
    Candidate, CandidateCommand, EraseCandidate, RegisterCandidate, UpdateCandidateProfile,
    ValidateCandidate,
};
use domain::conversation::{PostMessage, ReadMessages, Unmatch};
use domain::document::Document;
use domain::employer::{Employer, EmployerCommand, RegisterEmployer, UpdateEmployerProfile};
use domain::job::{CloseJob, Job, JobCommand, JobRef, PostJob, UpdateJob};
use domain::pairing::{pairing_id, Decision, Pairing, PairingCommand, SwipeCandidate, SwipeJob};
use domain::wallet::{
    ChargeCredits, GrantCredits, PurchaseCredits, RefundCredits, Wallet, WalletCommand,
};
use domain::{DomainError, Write};
use sqlx::PgPool;
use tracing::instrument;
use uuid::Uuid;

use crate::privacy::{Keyring, MasterKeys};
use crate::store::{Committed, Store};
use crate::wake::AppendBell;
use crate::{CommandContext, Error};

/// How many times a command is decided again after losing an optimistic-concurrency race.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// Wallets are snapshotted every this many events.
const WALLET_SNAPSHOT_EVERY: usize = 100;

#[derive(Debug)]
pub struct CommandService {
    pub(crate) pool: PgPool,
    pub(crate) candidates: Store<Candidate>,
    pub(crate) employers: Store<Employer>,
    pub(crate) jobs: Store<Job>,
    pub(crate) documents: Store<Document>,
    pairings: Store<Pairing>,
    wallets: Store<Wallet>,
    pub(crate) applications: Store<Application>,
    keyring: Keyring,
    accounts: crate::accounts::Accounts,
}

impl CommandService {
    /// A service over `pool` that seals personal data with subject keys sealed by `master`.
    pub fn new(pool: PgPool, max_attempts: u32, master: MasterKeys) -> Self {
        let keyring = Keyring::new(pool.clone(), master);
        Self::with_keyring(pool, max_attempts, keyring)
    }

    /// A service over `pool` that seals personal data with `keyring`.
    pub fn with_keyring(pool: PgPool, max_attempts: u32, keyring: Keyring) -> Self {
        let bell = AppendBell::new(pool.clone());
        Self {
            pool: pool.clone(),
            applications: Store::new(keyring.clone(), max_attempts).with_bell(bell.clone()),
            documents: Store::new(keyring.clone(), max_attempts).with_bell(bell.clone()),
            candidates: Store::new(keyring.clone(), max_attempts).with_bell(bell.clone()),
            employers: Store::new(keyring.clone(), max_attempts).with_bell(bell.clone()),
            jobs: Store::new(keyring.clone(), max_attempts).with_bell(bell.clone()),
            pairings: Store::new(keyring.clone(), max_attempts).with_bell(bell.clone()),
            wallets: Store::with_snapshots(keyring.clone(), max_attempts, WALLET_SNAPSHOT_EVERY)
                .with_bell(bell.clone()),
            accounts: crate::accounts::Accounts::new(
                pool,
                keyring.clone(),
                max_attempts,
                bell.clone(),
            ),
            keyring,
        }
    }

    /// Sign-in: accounts, their passwords and sessions.
    pub fn accounts(&self) -> &crate::accounts::Accounts {
        &self.accounts
    }

    /// Replaces the lifetimes and limits of sign-ins.
    pub fn with_account_policy(mut self, policy: crate::accounts::AccountPolicy) -> Self {
        self.accounts.set_policy(policy);
        self
    }

    /// The subject keys this service seals with.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    #[instrument(skip_all, fields(aggregate_id = %cmd.candidate_id, correlation_id = %ctx.correlation_id))]
    pub async fn register_candidate(
        &self,
        ctx: &CommandContext,
        cmd: RegisterCandidate,
    ) -> Result<Committed, Error> {
        let id = cmd.candidate_id.to_string();
        self.candidates
            .execute(&id, CandidateCommand::RegisterCandidate(cmd), ctx)
            .await
    }

    #[instrument(skip_all, fields(aggregate_id = %cmd.employer_id, correlation_id = %ctx.correlation_id))]
    pub async fn register_employer(
        &self,
        ctx: &CommandContext,
        cmd: RegisterEmployer,
    ) -> Result<Committed, Error> {
        let id = cmd.employer_id.to_string();
        self.employers
            .execute(&id, EmployerCommand::RegisterEmployer(cmd), ctx)
            .await
    }

    #[instrument(skip_all, fields(aggregate_id = %cmd.candidate_id, correlation_id = %ctx.correlation_id))]
    pub async fn update_candidate_profile(
        &self,
        ctx: &CommandContext,
        cmd: UpdateCandidateProfile,
    ) -> Result<Committed, Error> {
        let id = cmd.candidate_id.to_string();
        let command = CandidateCommand::UpdateCandidateProfile(cmd);
        self.candidates.execute(&id, command, ctx).await
    }

    #[instrument(skip_all, fields(aggregate_id = %cmd.candidate_id, correlation_id = %ctx.correlation_id))]
    pub async fn validate_candidate(
        &self,
        ctx: &CommandContext,
        cmd: ValidateCandidate,
    ) -> Result<Committed, Error> {
        let id = cmd.candidate_id.to_string();
        let command = CandidateCommand::ValidateCandidate(cmd);
        self.candidates.execute(&id, command, ctx).await
    }

    #[instrument(skip_all, fields(aggregate_id = %cmd.employer_id, correlation_id = %ctx.correlation_id))]
    pub async fn update_employer_profile(
        &self,
        ctx: &CommandContext,
        cmd: UpdateEmployerProfile,
    ) -> Result<Committed, Error> {
        let id = cmd.employer_id.to_string();
        let command = EmployerCommand::UpdateEmployerProfile(cmd);
        self.employers.execute(&id, command, ctx).await
    }

    #[instrument(skip_all, fields(aggregate_id = %cmd.job_id, correlation_id = %ctx.correlation_id))]
    pub async fn update_job(
        &self,
        ctx: &CommandContext,
        cmd: UpdateJob,
    ) -> Result<Committed, Error> {
        let id = cmd.job_id.to_string();
        self.jobs
            .execute(&id, JobCommand::UpdateJob(cmd), ctx)
            .await
    }

    /// A candidate applies to an open job, once.
    #[instrument(skip_all, fields(aggregate_id = %application_id(candidate_id, job_id), correlation_id = %ctx.correlation_id))]
    pub async fn submit_application(
        &self,
        ctx: &CommandContext,
        candidate_id: Uuid,
        job_id: Uuid,
        document_ids: Vec<Uuid>,
    ) -> Result<Committed, Error> {
        if !ctx.actor.may(Write::SubmitApplication, candidate_id) {
            return Err(DomainError::Forbidden {
                subject: ctx.actor.subject,
                role: ctx.actor.role,
                resource: format!("candidate {candidate_id}"),
            }
            .into());
        }
        self.require_candidate(candidate_id).await?;
        self.require_own_documents(candidate_id, &document_ids)
            .await?;
        let command = ApplicationCommand::SubmitApplication(SubmitApplication {
            candidate_id,
            job_id,
            job: self.job_ref(job_id).await?,
            document_ids,
            submitted_by: ctx.actor,
        });
        let id = application_id(candidate_id, job_id).to_string();
        self.applications.execute(&id, command, ctx).await
    }

    #[instrument(skip_all, fields(aggregate_id = %application_id, correlation_id = %ctx.correlation_id))]
    pub async fn change_application_status(
        &self,
        ctx: &CommandContext,
        application_id: Uuid,
        status: ApplicationStatus,
    ) -> Result<Committed, Error> {
        let command = ApplicationCommand::ChangeApplicationStatus(ChangeApplicationStatus {
            application_id,
            status,
            changed_by: ctx.actor,
        });
        self.applications
            .execute(&application_id.to_string(), command, ctx)
            .await
    }

    #[instrument(skip_all, fields(aggregate_id = %application_id, correlation_id = %ctx.correlation_id))]
    pub async fn withdraw_application(
        &self,
        ctx: &CommandContext,
        application_id: Uuid,
    ) -> Result<Committed, Error> {
        let command = ApplicationCommand::WithdrawApplication(WithdrawApplication {
            application_id,
            withdrawn_by: ctx.actor,
        });
        self.applications
            .execute(&application_id.to_string(), command, ctx)
            .await
    }

    #[instrument(skip_all, fields(aggregate_id = %cmd.job_id, correlation_id = %ctx.correlation_id))]
    pub async fn post_job(&self, ctx: &CommandContext, cmd: PostJob) -> Result<Committed, Error> {
        let (employer, _) = self.employers.load(&cmd.employer_id.to_string()).await?;
        if !employer.registered {
            return Err(DomainError::EmployerNotFound {
                employer_id: cmd.employer_id,
            }
            .into());
        }
        let id = cmd.job_id.to_string();
        self.jobs.execute(&id, JobCommand::PostJob(cmd), ctx).await
    }

    #[instrument(skip_all, fields(aggregate_id = %job_id, correlation_id = %ctx.correlation_id))]
    pub async fn close_job(&self, ctx: &CommandContext, job_id: Uuid) -> Result<Committed, Error> {
        let cmd = JobCommand::CloseJob(CloseJob {
            job_id,
            closed_by: ctx.actor,
        });
        self.jobs.execute(&job_id.to_string(), cmd, ctx).await
    }

    /// A candidate likes or passes on a job.
    #[instrument(skip_all, fields(aggregate_id = %pairing_id(candidate_id, job_id), correlation_id = %ctx.correlation_id))]
    pub async fn swipe_job(
        &self,
        ctx: &CommandContext,
        candidate_id: Uuid,
        job_id: Uuid,
        decision: Decision,
    ) -> Result<Committed, Error> {
        self.require_candidate(candidate_id).await?;
        let cmd = PairingCommand::SwipeJob(SwipeJob {
            candidate_id,
            job_id,
            job: self.job_ref(job_id).await?,
            decision,
            swiped_by: ctx.actor,
        });
        let id = pairing_id(candidate_id, job_id).to_string();
        self.pairings.execute(&id, cmd, ctx).await
    }

    /// An employer likes or passes on a candidate for one of its jobs.
    #[instrument(skip_all, fields(aggregate_id = %pairing_id(candidate_id, job_id), correlation_id = %ctx.correlation_id))]
    pub async fn swipe_candidate(
        &self,
        ctx: &CommandContext,
        job_id: Uuid,
        candidate_id: Uuid,
        decision: Decision,
    ) -> Result<Committed, Error> {
        let job = self.job_ref(job_id).await?;
        self.require_candidate(candidate_id).await?;
        let cmd = PairingCommand::SwipeCandidate(SwipeCandidate {
            candidate_id,
            job_id,
            job,
            decision,
            swiped_by: ctx.actor,
        });
        let id = pairing_id(candidate_id, job_id).to_string();
        self.pairings.execute(&id, cmd, ctx).await
    }

    /// Credits bought through the payment provider, for the candidate's wallet.
    #[instrument(skip_all, fields(aggregate_id = %cmd.wallet_id, correlation_id = %ctx.correlation_id))]
    pub async fn purchase_credits(
        &self,
        ctx: &CommandContext,
        cmd: PurchaseCredits,
    ) -> Result<Committed, Error> {
        self.wallet_command(ctx, cmd.wallet_id, WalletCommand::PurchaseCredits(cmd))
            .await
    }

    #[instrument(skip_all, fields(aggregate_id = %cmd.wallet_id, correlation_id = %ctx.correlation_id))]
    pub async fn grant_credits(
        &self,
        ctx: &CommandContext,
        cmd: GrantCredits,
    ) -> Result<Committed, Error> {
        self.wallet_command(ctx, cmd.wallet_id, WalletCommand::GrantCredits(cmd))
            .await
    }

    #[instrument(skip_all, fields(aggregate_id = %cmd.wallet_id, correlation_id = %ctx.correlation_id))]
    pub async fn charge_credits(
        &self,
        ctx: &CommandContext,
        cmd: ChargeCredits,
    ) -> Result<Committed, Error> {
        self.wallet_command(ctx, cmd.wallet_id, WalletCommand::ChargeCredits(cmd))
            .await
    }

    #[instrument(skip_all, fields(aggregate_id = %cmd.wallet_id, correlation_id = %ctx.correlation_id))]
    pub async fn refund_credits(
        &self,
        ctx: &CommandContext,
        cmd: RefundCredits,
    ) -> Result<Committed, Error> {
        self.wallet_command(ctx, cmd.wallet_id, WalletCommand::RefundCredits(cmd))
            .await
    }

    /// A wallet belongs to a registered candidate and has the candidate's id.
    async fn wallet_command(
        &self,
        ctx: &CommandContext,
        wallet_id: Uuid,
        command: WalletCommand,
    ) -> Result<Committed, Error> {
        self.require_candidate(wallet_id).await?;
        self.wallets
            .execute(&wallet_id.to_string(), command, ctx)
            .await
    }

    /// A message in a match's conversation, by one of its two parties.
    #[instrument(skip_all, fields(aggregate_id = %cmd.pairing_id, correlation_id = %ctx.correlation_id))]
    pub async fn post_message(
        &self,
        ctx: &CommandContext,
        cmd: PostMessage,
    ) -> Result<Committed, Error> {
        let id = cmd.pairing_id.to_string();
        self.pairings
            .execute(&id, PairingCommand::PostMessage(cmd), ctx)
            .await
    }

    /// A read receipt in a match's conversation.
    #[instrument(skip_all, fields(aggregate_id = %cmd.pairing_id, correlation_id = %ctx.correlation_id))]
    pub async fn read_messages(
        &self,
        ctx: &CommandContext,
        cmd: ReadMessages,
    ) -> Result<Committed, Error> {
        let id = cmd.pairing_id.to_string();
        self.pairings
            .execute(&id, PairingCommand::ReadMessages(cmd), ctx)
            .await
    }

    /// Either party ends a match.
    #[instrument(skip_all, fields(aggregate_id = %cmd.pairing_id, correlation_id = %ctx.correlation_id))]
    pub async fn unmatch(&self, ctx: &CommandContext, cmd: Unmatch) -> Result<Committed, Error> {
        let id = cmd.pairing_id.to_string();
        self.pairings
            .execute(&id, PairingCommand::Unmatch(cmd), ctx)
            .await
    }

    /// The pairing as the event store has it now.
    pub async fn pairing(&self, pairing_id: Uuid) -> Result<Pairing, Error> {
        Ok(self.pairings.load(&pairing_id.to_string()).await?.0)
    }

    /// The job as the pairing rules need it, `None` if it was never posted.
    pub async fn job_ref(&self, job_id: Uuid) -> Result<Option<JobRef>, Error> {
        let (job, _) = self.jobs.load(&job_id.to_string()).await?;
        Ok(job.as_ref(job_id))
    }

    /// Every document attached to an application is one of the applicant's own.
    async fn require_own_documents(
        &self,
        candidate_id: Uuid,
        document_ids: &[Uuid],
    ) -> Result<(), Error> {
        let mut problems = Vec::new();
        // Bounded by the application's own limit, checked again by the aggregate.
        for &document_id in document_ids.iter().take(10) {
            let (document, _) = self.documents.load(&document_id.to_string()).await?;
            if document.candidate_id != Some(candidate_id) {
                problems.push(domain::FieldError::new(
                    "document_ids",
                    format!("{document_id} is not one of the candidate's documents"),
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Invalid(problems).into())
        }
    }

    /// A candidate's first event registers it, so a candidate with any event is registered.
    pub(crate) async fn require_candidate(&self, candidate_id: Uuid) -> Result<(), Error> {
        if !self.candidates.exists(&candidate_id.to_string()).await? {
            Err(DomainError::CandidateNotFound { candidate_id }.into())
        } else if self.keyring.is_erased(candidate_id).await? {
            Err(DomainError::CandidateErased { candidate_id }.into())
        } else {
            Ok(())
        }
    }

    /// Erases a candidate: destroys its key first (from then on, nothing it wrote can be
    /// read, and nothing personal can be written about it), then records `CandidateErased`,
    /// on which every read model forgets the person. Running it again finishes an erasure
    /// that stopped in between, and changes nothing after a complete one.
    #[instrument(skip_all, fields(aggregate_id = %cmd.candidate_id, correlation_id = %ctx.correlation_id))]
    pub async fn erase_candidate(
        &self,
        ctx: &CommandContext,
        cmd: EraseCandidate,
    ) -> Result<Committed, Error> {
        let id = cmd.candidate_id.to_string();
        // Refusals (unknown candidate, another caller) come before anything is destroyed.
        let (candidate, _) = self.candidates.load(&id).await?;
        if !candidate.registered {
            return Err(DomainError::CandidateNotFound {
                candidate_id: cmd.candidate_id,
            }
            .into());
        }
        if !cmd.erased_by.may(Write::EraseCandidate, cmd.candidate_id) {
            return Err(
                DomainError::forbidden(cmd.erased_by, "candidate", cmd.candidate_id).into(),
            );
        }
        self.keyring.erase(cmd.candidate_id).await?;
        // The account's address is kept in clear to sign in with: it goes with the key.
        self.accounts.forget(cmd.candidate_id).await?;
        self.candidates
            .execute(&id, CandidateCommand::EraseCandidate(cmd), ctx)
            .await
    }
}
