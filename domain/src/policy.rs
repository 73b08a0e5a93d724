//! The write policy: which role may make which write, on whose behalf. Every aggregate asks
//! here before it decides a command, and the API asks here before it answers anything about a
//! resource (an idempotent replay included), so the rules live in one table.
//!
//! A write acts for an owner: a candidate (its profile, swipes, wallet, documents and
//! applications), an employer (its profile, jobs, swipes and the applications to its jobs),
//! or the platform (grants, refunds, documents' outcomes). The role and the subject are
//! checked together: a token whose subject equals an employer's id acts for that employer
//! only if its role is employer.

use uuid::Uuid;

use crate::{Actor, Role};

/// Every write the system accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Write {
    RegisterCandidate,
    UpdateCandidateProfile,
    ValidateCandidate,
    EraseCandidate,
    RegisterEmployer,
    UpdateEmployerProfile,
    PostJob,
    UpdateJob,
    CloseJob,
    ImportJobs,
    SwipeJob,
    SwipeCandidate,
    GrantCredits,
    ChargeCredits,
    RefundCredits,
    RequestDocument,
    RecordDocumentOutcome,
    SubmitApplication,
    ChangeApplicationStatus,
    WithdrawApplication,
    PostMessage,
    ReadMessages,
    Unmatch,
    ManageApiKeys,
    ManageMembers,
    SuspendTenant,
    /// Makes an organization a partner, which onboards organizations as its tenants.
    EnrollPartner,
    /// A partner onboards tenants, lists them, suspends and reinstates them.
    ManageTenants,
}

/// Whose resource a write changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The candidate whose id the write names acts for itself.
    Candidate,
    /// The employer whose id the write names acts for itself.
    Employer,
    /// No party: only admins (and, where the platform does it, its own processes).
    Platform,
    /// Either party of a match, each for itself: the candidate with its own id, the job's
    /// employer with its own. Nobody else, admins included: a conversation is the two
    /// parties' own.
    EitherParty,
}

impl Write {
    pub const ALL: [Write; 28] = [
        Write::RegisterCandidate,
        Write::UpdateCandidateProfile,
        Write::ValidateCandidate,
        Write::EraseCandidate,
        Write::RegisterEmployer,
        Write::UpdateEmployerProfile,
        Write::PostJob,
        Write::UpdateJob,
        Write::CloseJob,
        Write::ImportJobs,
        Write::SwipeJob,
        Write::SwipeCandidate,
        Write::GrantCredits,
        Write::ChargeCredits,
        Write::RefundCredits,
        Write::RequestDocument,
        Write::RecordDocumentOutcome,
        Write::SubmitApplication,
        Write::ChangeApplicationStatus,
        Write::WithdrawApplication,
        Write::PostMessage,
        Write::ReadMessages,
        Write::Unmatch,
        Write::ManageApiKeys,
        Write::ManageMembers,
        Write::SuspendTenant,
        Write::EnrollPartner,
        Write::ManageTenants,
    ];

    pub fn owner(self) -> Owner {
        match self {
            Write::RegisterCandidate
            | Write::UpdateCandidateProfile
            | Write::EraseCandidate
            | Write::SwipeJob
            | Write::ChargeCredits
            | Write::RequestDocument
            | Write::SubmitApplication
            | Write::WithdrawApplication => Owner::Candidate,
            Write::RegisterEmployer
            | Write::UpdateEmployerProfile
            | Write::PostJob
            | Write::UpdateJob
            | Write::CloseJob
            | Write::SwipeCandidate
            | Write::ChangeApplicationStatus
            | Write::ManageApiKeys
            | Write::ManageMembers
            | Write::ManageTenants => Owner::Employer,
            Write::ValidateCandidate
            | Write::ImportJobs
            | Write::GrantCredits
            | Write::RefundCredits
            | Write::RecordDocumentOutcome
            | Write::SuspendTenant
            | Write::EnrollPartner => Owner::Platform,
            Write::PostMessage | Write::ReadMessages | Write::Unmatch => Owner::EitherParty,
        }
    }

    /// Whether the platform's own processes (webhooks, reactors, the command-line importer)
    /// make this write; they never hold a token.
    fn by_the_platform(self) -> bool {
        match self {
            // Imports post, update and close jobs; the document request charges a wallet;
            // refunds and a document's outcome come from reactors.
            Write::PostJob
            | Write::UpdateJob
            | Write::CloseJob
            | Write::ImportJobs
            | Write::ChargeCredits
            | Write::RefundCredits
            | Write::RecordDocumentOutcome => true,
            _ => false,
        }
    }
}

/// True when `actor` may make `write` on the resource of the party `owner` (the candidate's
/// or employer's id; ignored for platform writes).
pub fn permits(actor: Actor, write: Write, owner: Uuid) -> bool {
    let party = write.owner() == Owner::EitherParty;
    match actor.role {
        Role::Admin => !party,
        Role::System => write.by_the_platform(),
        Role::Auditor => false,
        Role::Candidate => (write.owner() == Owner::Candidate || party) && actor.subject == owner,
        Role::Employer => (write.owner() == Owner::Employer || party) && actor.subject == owner,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: Uuid = Uuid::from_u128(7);

    #[test]
    fn a_subject_equal_to_the_owner_acts_only_in_the_owners_role() {
        for write in Write::ALL {
            for role in [Role::Candidate, Role::Employer, Role::Auditor] {
                let expected = matches!(
                    (write.owner(), role),
                    (Owner::Candidate, Role::Candidate)
                        | (Owner::Employer, Role::Employer)
                        | (Owner::EitherParty, Role::Candidate | Role::Employer)
                );
                assert_eq!(
                    permits(Actor::new(OWNER, role), write, OWNER),
                    expected,
                    "{role} on {write:?}"
                );
            }
        }
    }

    #[test]
    fn admins_make_every_write_but_a_partys_own_and_auditors_none() {
        for write in Write::ALL {
            assert_eq!(
                permits(Actor::new(Uuid::from_u128(1), Role::Admin), write, OWNER),
                write.owner() != Owner::EitherParty,
                "{write:?}"
            );
            assert!(!permits(Actor::new(OWNER, Role::Auditor), write, OWNER));
        }
    }

    #[test]
    fn a_party_never_acts_for_another_of_its_kind() {
        let other = Uuid::from_u128(8);
        for write in Write::ALL {
            for role in [Role::Candidate, Role::Employer] {
                assert!(!permits(Actor::new(other, role), write, OWNER), "{write:?}");
            }
        }
    }

    #[test]
    fn the_platform_makes_only_its_own_writes() {
        let system = Actor::system(Uuid::from_u128(2));
        for write in [
            Write::UpdateCandidateProfile,
            Write::UpdateEmployerProfile,
            Write::SwipeJob,
            Write::SwipeCandidate,
            Write::GrantCredits,
            Write::SubmitApplication,
        ] {
            assert!(!permits(system, write, OWNER), "{write:?}");
        }
        assert!(permits(system, Write::RefundCredits, OWNER));
        assert!(permits(system, Write::PostJob, OWNER));
    }
}
