//! The read policy, beside the write policy (`domain::policy`): who may read what, and whose.
//! Every role rule of the API's reads lives here.
//!
//! Admins and auditors read everything. A candidate or an employer reads what is its own,
//! checked by role and subject together as writes are: a token whose subject equals a
//! candidate's id reads that candidate's data only if its role is candidate. Employers also
//! read the profiles of candidates tied to them ([`employer_sight`]). Jobs, job search and
//! employer profiles are open to every signed-in caller and ask nothing here.
//!
//! A handler asks twice where it must look the resource up to learn its parties (a job's
//! employer, a document's candidate): [`may_ask`] before anything is looked up, so a role that
//! never reads such a resource learns nothing about it (not even whether it exists), then
//! [`may_read`] with the parties found.

use domain::{Actor, Role};
use uuid::Uuid;

use crate::error::{ApiError, ErrorCode};

/// Every read that not every signed-in caller may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Read {
    /// `GET /candidates/{candidate_id}`.
    CandidateProfile,
    /// `GET /candidates/{candidate_id}/feed`.
    CandidateFeed,
    /// `GET /wallets/{wallet_id}` and its entries, statement and balance as of an instant.
    Wallet,
    /// A candidate's documents, one document (JSON, Markdown, HTML) and provider usage.
    Documents,
    /// `GET /jobs/{job_id}/matches`.
    JobMatches,
    /// `GET /jobs/{job_id}/feed`.
    JobFeed,
    /// `GET /jobs/{job_id}/applications`.
    JobApplications,
    /// `GET /applications/{application_id}`.
    Application,
    /// `GET /candidates/{candidate_id}/export`: everything held about the person.
    PersonalData,
    /// A match's conversation: its two parties (and admins and auditors).
    Conversation,
    /// An employer's API keys and their usage, and its members.
    ApiKeys,
    /// Everything under `/audit`: the events, their proofs, the checkpoints, any aggregate
    /// as it was. For admins and auditors only.
    History,
}

/// How much of the resource the caller sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Full,
    /// What an employer sees of a candidate depends on what ties them (see
    /// [`employer_sight`]).
    IfRelated,
}

/// The parties a resource belongs to, as its path names them or a lookup found them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Parties {
    pub candidate: Option<Uuid>,
    pub employer: Option<Uuid>,
}

impl Parties {
    pub fn candidate(id: Uuid) -> Self {
        Self {
            candidate: Some(id),
            employer: None,
        }
    }

    pub fn employer(id: Uuid) -> Self {
        Self {
            candidate: None,
            employer: Some(id),
        }
    }

    pub fn both(candidate: Uuid, employer: Uuid) -> Self {
        Self {
            candidate: Some(candidate),
            employer: Some(employer),
        }
    }
}

impl Read {
    /// Every read the policy rules on.
    pub const ALL: [Read; 12] = [
        Read::CandidateProfile,
        Read::CandidateFeed,
        Read::Wallet,
        Read::Documents,
        Read::JobMatches,
        Read::JobFeed,
        Read::JobApplications,
        Read::Application,
        Read::PersonalData,
        Read::Conversation,
        Read::ApiKeys,
        Read::History,
    ];

    /// The roles whose own resources of this kind they are (admins and auditors aside).
    pub fn parties(self) -> &'static [Role] {
        match self {
            Read::CandidateProfile => &[Role::Candidate, Role::Employer],
            Read::CandidateFeed | Read::Wallet | Read::Documents | Read::PersonalData => {
                &[Role::Candidate]
            }
            Read::JobMatches | Read::JobFeed | Read::JobApplications | Read::ApiKeys => {
                &[Role::Employer]
            }
            Read::Application | Read::Conversation => &[Role::Candidate, Role::Employer],
            Read::History => &[],
        }
    }

    fn refusal(self) -> &'static str {
        match self {
            Read::CandidateProfile => "candidates see only their own profile",
            Read::CandidateFeed => "a candidate sees only their own feed",
            Read::Wallet => "a wallet is visible to its candidate, admins and auditors",
            Read::Documents => "documents are visible to their candidate, admins and auditors",
            Read::JobMatches => "only the job's employer, admins and auditors see its matches",
            Read::JobFeed => "only the job's employer, admins and auditors see its candidates",
            Read::JobApplications => {
                "only the job's employer, admins and auditors see its applications"
            }
            Read::Application => "only the parties to an application see it",
            Read::Conversation => "only the two parties of a match read its conversation",
            Read::PersonalData => "a person's data is exported to the person, admins and auditors",
            Read::ApiKeys => {
                "an employer's keys and members are visible to it, admins and auditors"
            }
            Read::History => "the audit history is for auditors and admins",
        }
    }
}

/// Refuses, before anything is looked up, a caller whose role never makes `read`.
pub fn may_ask(actor: Actor, read: Read) -> Result<(), ApiError> {
    if actor.reads_everything() || read.parties().contains(&actor.role) {
        Ok(())
    } else {
        Err(ApiError::forbidden(read.refusal()))
    }
}

/// What `actor` sees of a resource of `parties`, or a 403.
pub fn may_read(actor: Actor, read: Read, parties: Parties) -> Result<Access, ApiError> {
    may_ask(actor, read)?;
    let party = match actor.role {
        Role::Admin | Role::Auditor => return Ok(Access::Full),
        Role::Candidate => parties.candidate,
        Role::Employer => parties.employer,
        Role::System => None,
    };
    if party == Some(actor.subject) {
        Ok(Access::Full)
    } else if read == Read::CandidateProfile && actor.role == Role::Employer {
        Ok(Access::IfRelated)
    } else {
        Err(ApiError::forbidden(read.refusal()))
    }
}

/// What ties an employer to a candidate, as the read models know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// Nothing: the employer has no reason to see the candidate.
    None,
    /// The candidate is in the feed of one of the employer's jobs, or one side swiped.
    Considered,
    /// The candidate applied to one of the employer's jobs, or they matched.
    Connected,
}

/// What an employer sees of a candidate: the full profile once the candidate applied or they
/// matched; a pseudonymous one (no name, no contact) while the candidate is only considered;
/// nothing otherwise (`None`: the candidate is not found, as for one that does not exist).
pub fn employer_sight(relation: Relation) -> Option<Sight> {
    match relation {
        Relation::Connected => Some(Sight::Full),
        Relation::Considered => Some(Sight::Pseudonymous),
        Relation::None => None,
    }
}

/// How much of a candidate's profile an employer sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sight {
    Full,
    /// Without the name and the email address.
    Pseudonymous,
}

/// Whose matches `GET /matches` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchesOf {
    Candidate(Uuid),
    Employer(Uuid),
}

/// A candidate's or an employer's own matches; admins and auditors name exactly one of the
/// two.
pub fn whose_matches(
    actor: Actor,
    candidate_id: Option<Uuid>,
    employer_id: Option<Uuid>,
) -> Result<MatchesOf, ApiError> {
    match (actor.role, candidate_id, employer_id) {
        (Role::Candidate, None, None) => Ok(MatchesOf::Candidate(actor.subject)),
        (Role::Employer, None, None) => Ok(MatchesOf::Employer(actor.subject)),
        (_, Some(id), None) if actor.reads_everything() => Ok(MatchesOf::Candidate(id)),
        (_, None, Some(id)) if actor.reads_everything() => Ok(MatchesOf::Employer(id)),
        (Role::Admin | Role::Auditor, _, _) => Err(ApiError::bad_request(
            ErrorCode::InvalidQuery,
            "an admin or auditor names exactly one of candidate_id or employer_id",
        )),
        _ => Err(ApiError::forbidden(
            "candidate_id and employer_id are for admins; others see their own matches",
        )),
    }
}

/// Whose applications `GET /applications` lists: a candidate's own; admins and auditors name
/// the candidate; employers list a job's instead.
pub fn whose_applications(actor: Actor, candidate_id: Option<Uuid>) -> Result<Uuid, ApiError> {
    match (actor.role, candidate_id) {
        (Role::Candidate, None) => Ok(actor.subject),
        (_, Some(id)) if actor.reads_everything() => Ok(id),
        (Role::Admin | Role::Auditor, None) => Err(ApiError::bad_request(
            ErrorCode::InvalidQuery,
            "name candidate_id",
        )),
        _ => Err(ApiError::forbidden(
            "candidates list their own applications; employers list a job's",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: Uuid = Uuid::from_u128(7);
    const OTHER: Uuid = Uuid::from_u128(8);
    const ROLES: [Role; 5] = [
        Role::Candidate,
        Role::Employer,
        Role::Admin,
        Role::Auditor,
        Role::System,
    ];

    fn parties_owned_by(role: Role, id: Uuid) -> Parties {
        match role {
            Role::Employer => Parties::employer(id),
            _ => Parties::candidate(id),
        }
    }

    #[test]
    fn admins_and_auditors_read_everything_in_full() {
        for read in Read::ALL {
            for role in [Role::Admin, Role::Auditor] {
                let actor = Actor::new(OTHER, role);
                assert_eq!(may_ask(actor, read).ok(), Some(()), "{role} {read:?}");
                assert_eq!(
                    may_read(actor, read, Parties::both(OWNER, OWNER)).ok(),
                    Some(Access::Full),
                    "{role} {read:?}"
                );
            }
        }
    }

    #[test]
    fn a_party_reads_its_own_in_its_own_role_only() {
        for read in Read::ALL {
            for &role in read.parties() {
                let own = may_read(Actor::new(OWNER, role), read, parties_owned_by(role, OWNER));
                assert_eq!(own.ok(), Some(Access::Full), "{role} {read:?}");
            }
            for role in [Role::Candidate, Role::Employer] {
                // The subject is the owner's id, but the owner is of the other kind.
                let other_kind = match role {
                    Role::Candidate => Parties::employer(OWNER),
                    _ => Parties::candidate(OWNER),
                };
                let access = may_read(Actor::new(OWNER, role), read, other_kind).ok();
                let expected = (read == Read::CandidateProfile && role == Role::Employer)
                    .then_some(Access::IfRelated);
                assert_eq!(access, expected, "{role} {read:?}");
            }
        }
    }

    #[test]
    fn a_party_never_reads_another_partys_resource() {
        for read in Read::ALL {
            for role in [Role::Candidate, Role::Employer] {
                let access = may_read(Actor::new(OTHER, role), read, Parties::both(OWNER, OWNER));
                let expected = (read == Read::CandidateProfile && role == Role::Employer)
                    .then_some(Access::IfRelated);
                assert_eq!(access.ok(), expected, "{role} {read:?}");
            }
        }
    }

    #[test]
    fn a_role_that_never_reads_a_resource_is_refused_before_the_lookup() {
        for read in Read::ALL {
            for role in ROLES {
                let asked = may_ask(Actor::new(OWNER, role), read);
                let expected =
                    matches!(role, Role::Admin | Role::Auditor) || read.parties().contains(&role);
                assert_eq!(asked.is_ok(), expected, "{role} {read:?}");
                if let Err(error) = asked {
                    assert_eq!(error.code(), ErrorCode::Forbidden);
                }
            }
        }
    }

    #[test]
    fn the_platforms_own_role_reads_nothing() {
        let system = Actor::system(OWNER);
        for read in Read::ALL {
            assert!(may_read(system, read, Parties::both(OWNER, OWNER)).is_err());
        }
    }

    #[test]
    fn matches_are_ones_own_or_for_admins_and_auditors_one_named_party() {
        let id = Some(OWNER);
        let cases = [
            (Role::Candidate, None, None, Ok(MatchesOf::Candidate(OTHER))),
            (Role::Employer, None, None, Ok(MatchesOf::Employer(OTHER))),
            (Role::Admin, id, None, Ok(MatchesOf::Candidate(OWNER))),
            (Role::Auditor, None, id, Ok(MatchesOf::Employer(OWNER))),
            (Role::Admin, None, None, Err(ErrorCode::InvalidQuery)),
            (Role::Auditor, id, id, Err(ErrorCode::InvalidQuery)),
            (Role::Candidate, id, None, Err(ErrorCode::Forbidden)),
            (Role::Employer, None, id, Err(ErrorCode::Forbidden)),
            (Role::System, None, None, Err(ErrorCode::Forbidden)),
        ];
        for (role, candidate, employer, expected) in cases {
            let got =
                whose_matches(Actor::new(OTHER, role), candidate, employer).map_err(|e| e.code());
            assert_eq!(got, expected, "{role} {candidate:?} {employer:?}");
        }
    }

    #[test]
    fn applications_are_a_candidates_own_or_for_admins_and_auditors_a_named_one() {
        let cases = [
            (Role::Candidate, None, Ok(OTHER)),
            (Role::Admin, Some(OWNER), Ok(OWNER)),
            (Role::Auditor, Some(OWNER), Ok(OWNER)),
            (Role::Admin, None, Err(ErrorCode::InvalidQuery)),
            (Role::Candidate, Some(OWNER), Err(ErrorCode::Forbidden)),
            (Role::Employer, None, Err(ErrorCode::Forbidden)),
            (Role::Employer, Some(OWNER), Err(ErrorCode::Forbidden)),
        ];
        for (role, candidate, expected) in cases {
            let got = whose_applications(Actor::new(OTHER, role), candidate).map_err(|e| e.code());
            assert_eq!(got, expected, "{role} {candidate:?}");
        }
    }
}
