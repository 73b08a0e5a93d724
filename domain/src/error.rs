use serde::Serialize;
use uuid::Uuid;

/// Why a field of a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub problem: String,
}

impl FieldError {
    pub fn new(field: &'static str, problem: impl Into<String>) -> Self {
        Self {
            field,
            problem: problem.into(),
        }
    }
}

/// Every rule a command can break. Each variant carries the facts a caller needs, never a
/// message to be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("the command has invalid fields")]
    Invalid(Vec<FieldError>),
    #[error("candidate {candidate_id} is already registered")]
    CandidateAlreadyRegistered { candidate_id: Uuid },
    #[error("candidate {candidate_id} is not registered")]
    CandidateNotFound { candidate_id: Uuid },
    #[error("candidate {candidate_id} was erased")]
    CandidateErased { candidate_id: Uuid },
    #[error("employer {employer_id} is already registered")]
    EmployerAlreadyRegistered { employer_id: Uuid },
    #[error("employer {employer_id} is not registered")]
    EmployerNotFound { employer_id: Uuid },
    #[error("job {job_id} has already been posted")]
    JobAlreadyPosted { job_id: Uuid },
    #[error("job {job_id} does not exist")]
    JobNotFound { job_id: Uuid },
    #[error("job {job_id} is closed")]
    JobClosed { job_id: Uuid },
    #[error("{role} {subject} may not act on {resource}")]
    Forbidden {
        subject: Uuid,
        role: crate::Role,
        resource: String,
    },
    #[error("not enough credits: {requested} requested, {available} available")]
    InsufficientCredits { requested: i64, available: i64 },
    #[error("`{key}` was first used for {first_credits} credits, not {credits}")]
    IdempotencyKeyReused {
        key: String,
        first_credits: i64,
        credits: i64,
    },
    #[error("`{key}` was first used with another {field}")]
    KeyReusedWithOtherContent { key: String, field: &'static str },
    #[error("charge {charge_id} does not exist")]
    ChargeNotFound { charge_id: Uuid },
    #[error("charge {charge_id} was already refunded ({refunded} credits)")]
    AlreadyRefunded { charge_id: Uuid, refunded: i64 },
    #[error("charge {charge_id} took {charged} credits; {requested} cannot be refunded")]
    RefundExceedsCharge {
        charge_id: Uuid,
        charged: i64,
        requested: i64,
    },
    #[error("application {application_id} was already submitted")]
    AlreadyApplied { application_id: Uuid },
    #[error("application {application_id} does not exist")]
    ApplicationNotFound { application_id: Uuid },
    #[error("an application cannot go from {from} to {to}")]
    InvalidTransition {
        from: &'static str,
        to: &'static str,
    },
    #[error(
        "document {document_id} was requested earlier under the same key with another kind, job \
         or instructions"
    )]
    DocumentKeyReused { document_id: Uuid },
    #[error("document {document_id} does not exist")]
    DocumentNotFound { document_id: Uuid },
    #[error("document {document_id} is already finished")]
    DocumentFinished { document_id: Uuid },
    #[error("the two sides have not matched: there is no conversation")]
    NotMatched,
    #[error("the match was ended: its conversation is closed")]
    Unmatched,
    #[error("the {what} {id} already exists")]
    AlreadyExists { what: &'static str, id: Uuid },
    #[error("invitation {invitation_id} does not exist or was already accepted")]
    InvitationNotFound { invitation_id: Uuid },
    #[error("account {account_id} is already a member")]
    AlreadyMember { account_id: Uuid },
    #[error("employer {employer_id} is not a partner: only a partner onboards tenants")]
    NotAPartner { employer_id: Uuid },
    #[error("organization {tenant_id} is not a tenant of partner {partner_id}")]
    NotATenant { tenant_id: Uuid, partner_id: Uuid },
    #[error("API key {key_id} does not exist")]
    ApiKeyNotFound { key_id: Uuid },
    #[error("account {account_id} is already open")]
    AccountAlreadyOpened { account_id: Uuid },
    #[error("account {account_id} does not exist")]
    AccountNotFound { account_id: Uuid },
    #[error("the {side} has already swiped on pairing {pairing_id}")]
    AlreadySwiped {
        pairing_id: Uuid,
        side: crate::pairing::Side,
    },
}

impl DomainError {
    /// `actor` may not act on the `kind` (candidate, job, wallet, …) with id `id`.
    pub fn forbidden(actor: crate::Actor, kind: &str, id: Uuid) -> Self {
        DomainError::Forbidden {
            subject: actor.subject,
            role: actor.role,
            resource: format!("{kind} {id}"),
        }
    }
}

/// Collects field problems and turns them into one `Invalid` error, so a caller learns about
/// every bad field at once.
#[derive(Debug, Default)]
pub(crate) struct Validator(Vec<FieldError>);

impl Validator {
    pub(crate) fn text(&mut self, field: &'static str, value: &str, max_chars: usize) -> &mut Self {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            self.0.push(FieldError::new(field, "must not be empty"));
        } else if trimmed.chars().count() > max_chars {
            self.0.push(FieldError::new(
                field,
                format!("must be at most {max_chars} characters"),
            ));
        }
        self
    }

    pub(crate) fn problem(&mut self, field: &'static str, problem: impl Into<String>) -> &mut Self {
        self.0.push(FieldError::new(field, problem));
        self
    }

    /// Like `text`, but an empty value is allowed.
    pub(crate) fn optional_text(
        &mut self,
        field: &'static str,
        value: &str,
        max_chars: usize,
    ) -> &mut Self {
        if value.trim().chars().count() > max_chars {
            self.problem(field, format!("must be at most {max_chars} characters"));
        }
        self
    }

    pub(crate) fn range(
        &mut self,
        field: &'static str,
        value: i64,
        min: i64,
        max: i64,
    ) -> &mut Self {
        if !(min..=max).contains(&value) {
            self.0.push(FieldError::new(
                field,
                format!("must be between {min} and {max}"),
            ));
        }
        self
    }

    pub(crate) fn email(&mut self, field: &'static str, value: &str) -> &mut Self {
        let value = value.trim();
        let well_formed = value.len() <= 254
            && value.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            })
            && !value.chars().any(char::is_whitespace);
        if !well_formed {
            self.0.push(FieldError::new(
                field,
                "must be an email address such as ada@example.com",
            ));
        }
        self
    }

    pub(crate) fn finish(&mut self) -> Result<(), DomainError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Invalid(std::mem::take(&mut self.0)))
        }
    }
}
