//! The pairing: one candidate and one job. Each side swipes once, like or pass; when both
//! like, the pairing is a match. Its id is derived from the two ids, so every writer that
//! touches the same candidate and job meets on the same aggregate and optimistic concurrency
//! decides who wrote first: a match is made exactly once.

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::conversation::{Conversation, PostMessage, ReadMessages, Unmatch};
use crate::job::JobRef;
use crate::{Actor, DomainError, Write};

/// Namespace for pairing ids (UUID v5 over the candidate and job ids).
const PAIRING_NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2a57_49d4_4a8e_9c0b_3e55_7d1a_0b42);

/// The id of the pairing of `candidate_id` and `job_id`.
pub fn pairing_id(candidate_id: Uuid, job_id: Uuid) -> Uuid {
    let mut name = [0u8; 32];
    name[..16].copy_from_slice(candidate_id.as_bytes());
    name[16..].copy_from_slice(job_id.as_bytes());
    Uuid::new_v5(&PAIRING_NAMESPACE, &name)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Like,
    Pass,
}

/// Which side of a pairing swiped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Candidate,
    Employer,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Candidate => "candidate",
            Side::Employer => "employer",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum PairingCommand {
    SwipeJob(SwipeJob),
    SwipeCandidate(SwipeCandidate),
    PostMessage(PostMessage),
    ReadMessages(ReadMessages),
    Unmatch(Unmatch),
}

crate::domain_command!(PairingCommand {
    SwipeJob,
    SwipeCandidate,
    PostMessage,
    ReadMessages,
    Unmatch
});

/// A candidate swipes on a job. `job` is the job as the write side found it, `None` when no
/// such job was ever posted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SwipeJob {
    pub candidate_id: Uuid,
    pub job_id: Uuid,
    pub job: Option<JobRef>,
    pub decision: Decision,
    pub swiped_by: Actor,
}

/// An employer swipes on a candidate for one of its jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SwipeCandidate {
    pub candidate_id: Uuid,
    pub job_id: Uuid,
    pub job: Option<JobRef>,
    pub decision: Decision,
    pub swiped_by: Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum PairingEvent {
    CandidateSwiped {
        pairing_id: Uuid,
        candidate_id: Uuid,
        job_id: Uuid,
        employer_id: Uuid,
        decision: Decision,
    },
    EmployerSwiped {
        pairing_id: Uuid,
        candidate_id: Uuid,
        job_id: Uuid,
        employer_id: Uuid,
        decision: Decision,
    },
    Matched {
        pairing_id: Uuid,
        candidate_id: Uuid,
        job_id: Uuid,
        employer_id: Uuid,
    },
    /// Message `number` (from 1) of the match's conversation.
    MessagePosted {
        pairing_id: Uuid,
        candidate_id: Uuid,
        employer_id: Uuid,
        message_id: Uuid,
        number: i64,
        from: Side,
        text: String,
    },
    /// A read receipt: `by` has read the first `up_to` messages.
    MessagesRead {
        pairing_id: Uuid,
        candidate_id: Uuid,
        employer_id: Uuid,
        by: Side,
        up_to: i64,
    },
    /// The match ended; its conversation is closed.
    Unmatched {
        pairing_id: Uuid,
        candidate_id: Uuid,
        job_id: Uuid,
        employer_id: Uuid,
        by: Side,
    },
}

crate::domain_event!(PairingEvent {
    CandidateSwiped,
    EmployerSwiped,
    Matched,
    MessagePosted,
    MessagesRead,
    Unmatched,
});

/// Who a pairing is between, as its first swipe recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Parties {
    pub pairing_id: Uuid,
    pub candidate_id: Uuid,
    pub job_id: Uuid,
    pub employer_id: Uuid,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Pairing {
    pub candidate: Option<Decision>,
    pub employer: Option<Decision>,
    pub matched: bool,
    pub parties: Option<Parties>,
    pub unmatched: bool,
    pub conversation: Conversation,
}

impl Aggregate for Pairing {
    const TYPE: &'static str = "pairing";
    type Command = PairingCommand;
    type Event = PairingEvent;
    type Error = DomainError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let decided = match command {
            PairingCommand::PostMessage(c) => self.post(c),
            PairingCommand::ReadMessages(c) => self.read(c),
            PairingCommand::Unmatch(c) => self.unmatch(c),
            PairingCommand::SwipeJob(_) | PairingCommand::SwipeCandidate(_) => {
                return self.swipe(command, sink).await;
            }
        };
        if let Some(event) = decided? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        self.apply_event(event)
    }
}

impl Pairing {
    async fn swipe(
        &mut self,
        command: PairingCommand,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        let (side, candidate_id, job_id, job, decision, actor) = match command {
            PairingCommand::SwipeJob(c) => (
                Side::Candidate,
                c.candidate_id,
                c.job_id,
                c.job,
                c.decision,
                c.swiped_by,
            ),
            PairingCommand::SwipeCandidate(c) => (
                Side::Employer,
                c.candidate_id,
                c.job_id,
                c.job,
                c.decision,
                c.swiped_by,
            ),
            PairingCommand::PostMessage(_)
            | PairingCommand::ReadMessages(_)
            | PairingCommand::Unmatch(_) => unreachable!("decided above"),
        };
        let pairing_id = pairing_id(candidate_id, job_id);
        let job = job.ok_or(DomainError::JobNotFound { job_id })?;
        let (write, acting_for, kind, resource) = match side {
            Side::Candidate => (Write::SwipeJob, candidate_id, "candidate", candidate_id),
            Side::Employer => (Write::SwipeCandidate, job.employer_id, "job", job_id),
        };
        if !actor.may(write, acting_for) {
            return Err(DomainError::forbidden(actor, kind, resource));
        }
        if !job.open {
            return Err(DomainError::JobClosed { job_id });
        }
        let (mine, theirs) = match side {
            Side::Candidate => (self.candidate, self.employer),
            Side::Employer => (self.employer, self.candidate),
        };
        if mine.is_some() {
            return Err(DomainError::AlreadySwiped { pairing_id, side });
        }
        let employer_id = job.employer_id;
        let swiped = match side {
            Side::Candidate => PairingEvent::CandidateSwiped {
                pairing_id,
                candidate_id,
                job_id,
                employer_id,
                decision,
            },
            Side::Employer => PairingEvent::EmployerSwiped {
                pairing_id,
                candidate_id,
                job_id,
                employer_id,
                decision,
            },
        };
        sink.write(swiped, self).await;
        if decision == Decision::Like && theirs == Some(Decision::Like) && !self.matched {
            let matched = PairingEvent::Matched {
                pairing_id,
                candidate_id,
                job_id,
                employer_id,
            };
            sink.write(matched, self).await;
        }
        Ok(())
    }

    fn apply_event(&mut self, event: PairingEvent) {
        match event {
            PairingEvent::CandidateSwiped {
                pairing_id,
                candidate_id,
                job_id,
                employer_id,
                decision,
            }
            | PairingEvent::EmployerSwiped {
                pairing_id,
                candidate_id,
                job_id,
                employer_id,
                decision,
            } => {
                let side = if matches!(event, PairingEvent::CandidateSwiped { .. }) {
                    &mut self.candidate
                } else {
                    &mut self.employer
                };
                *side = Some(decision);
                self.parties.get_or_insert(Parties {
                    pairing_id,
                    candidate_id,
                    job_id,
                    employer_id,
                });
            }
            PairingEvent::Matched { .. } => self.matched = true,
            other => self.apply_conversation(&other),
        }
    }
}

#[cfg(test)]
mod tests {
    use cqrs_es::test::TestFramework;

    use super::*;
    use crate::Role;

    type PairingTest = TestFramework<Pairing>;

    const CANDIDATE: Uuid = Uuid::from_u128(0xc);
    const JOB: Uuid = Uuid::from_u128(0x10b);
    const EMPLOYER: Uuid = Uuid::from_u128(0xe);

    fn open_job() -> Option<JobRef> {
        Some(JobRef {
            job_id: JOB,
            employer_id: EMPLOYER,
            open: true,
        })
    }

    fn candidate() -> Actor {
        Actor::new(CANDIDATE, Role::Candidate)
    }

    fn employer() -> Actor {
        Actor::new(EMPLOYER, Role::Employer)
    }

    fn swipe_job(decision: Decision) -> PairingCommand {
        PairingCommand::SwipeJob(SwipeJob {
            candidate_id: CANDIDATE,
            job_id: JOB,
            job: open_job(),
            decision,
            swiped_by: candidate(),
        })
    }

    fn swipe_candidate(decision: Decision) -> PairingCommand {
        PairingCommand::SwipeCandidate(SwipeCandidate {
            candidate_id: CANDIDATE,
            job_id: JOB,
            job: open_job(),
            decision,
            swiped_by: employer(),
        })
    }

    fn candidate_swiped(decision: Decision) -> PairingEvent {
        PairingEvent::CandidateSwiped {
            pairing_id: pairing_id(CANDIDATE, JOB),
            candidate_id: CANDIDATE,
            job_id: JOB,
            employer_id: EMPLOYER,
            decision,
        }
    }

    fn employer_swiped(decision: Decision) -> PairingEvent {
        PairingEvent::EmployerSwiped {
            pairing_id: pairing_id(CANDIDATE, JOB),
            candidate_id: CANDIDATE,
            job_id: JOB,
            employer_id: EMPLOYER,
            decision,
        }
    }

    fn matched() -> PairingEvent {
        PairingEvent::Matched {
            pairing_id: pairing_id(CANDIDATE, JOB),
            candidate_id: CANDIDATE,
            job_id: JOB,
            employer_id: EMPLOYER,
        }
    }

    #[test]
    fn the_pairing_id_depends_on_both_ids_and_their_order() {
        assert_eq!(pairing_id(CANDIDATE, JOB), pairing_id(CANDIDATE, JOB));
        assert_ne!(pairing_id(CANDIDATE, JOB), pairing_id(JOB, CANDIDATE));
        assert_ne!(pairing_id(CANDIDATE, JOB), pairing_id(CANDIDATE, EMPLOYER));
    }

    #[test]
    fn a_first_like_is_recorded_without_a_match() {
        PairingTest::with(())
            .given_no_previous_events()
            .when(swipe_job(Decision::Like))
            .then_expect_events(vec![candidate_swiped(Decision::Like)]);
    }

    #[test]
    fn the_second_like_makes_a_match() {
        PairingTest::with(())
            .given(vec![employer_swiped(Decision::Like)])
            .when(swipe_job(Decision::Like))
            .then_expect_events(vec![candidate_swiped(Decision::Like), matched()]);
        PairingTest::with(())
            .given(vec![candidate_swiped(Decision::Like)])
            .when(swipe_candidate(Decision::Like))
            .then_expect_events(vec![employer_swiped(Decision::Like), matched()]);
    }

    #[test]
    fn a_pass_on_either_side_makes_no_match() {
        PairingTest::with(())
            .given(vec![employer_swiped(Decision::Pass)])
            .when(swipe_job(Decision::Like))
            .then_expect_events(vec![candidate_swiped(Decision::Like)]);
        PairingTest::with(())
            .given(vec![candidate_swiped(Decision::Like)])
            .when(swipe_candidate(Decision::Pass))
            .then_expect_events(vec![employer_swiped(Decision::Pass)]);
    }

    #[test]
    fn each_side_swipes_only_once() {
        PairingTest::with(())
            .given(vec![candidate_swiped(Decision::Pass)])
            .when(swipe_job(Decision::Like))
            .then_expect_error(DomainError::AlreadySwiped {
                pairing_id: pairing_id(CANDIDATE, JOB),
                side: Side::Candidate,
            });
        PairingTest::with(())
            .given(vec![
                candidate_swiped(Decision::Like),
                employer_swiped(Decision::Like),
                matched(),
            ])
            .when(swipe_candidate(Decision::Like))
            .then_expect_error(DomainError::AlreadySwiped {
                pairing_id: pairing_id(CANDIDATE, JOB),
                side: Side::Employer,
            });
    }

    #[test]
    fn swiping_on_an_unknown_job_is_rejected() {
        let command = PairingCommand::SwipeJob(SwipeJob {
            job: None,
            ..swipe_job_fields()
        });
        PairingTest::with(())
            .given_no_previous_events()
            .when(command)
            .then_expect_error(DomainError::JobNotFound { job_id: JOB });
    }

    #[test]
    fn swiping_on_a_closed_job_is_rejected_on_both_sides() {
        let closed = Some(JobRef {
            job_id: JOB,
            employer_id: EMPLOYER,
            open: false,
        });
        PairingTest::with(())
            .given_no_previous_events()
            .when(PairingCommand::SwipeJob(SwipeJob {
                job: closed,
                ..swipe_job_fields()
            }))
            .then_expect_error(DomainError::JobClosed { job_id: JOB });
        PairingTest::with(())
            .given(vec![candidate_swiped(Decision::Like)])
            .when(PairingCommand::SwipeCandidate(SwipeCandidate {
                candidate_id: CANDIDATE,
                job_id: JOB,
                job: closed,
                decision: Decision::Like,
                swiped_by: employer(),
            }))
            .then_expect_error(DomainError::JobClosed { job_id: JOB });
    }

    #[test]
    fn a_candidate_swipes_only_as_itself() {
        let other = Actor::new(Uuid::from_u128(0xbad), Role::Candidate);
        PairingTest::with(())
            .given_no_previous_events()
            .when(PairingCommand::SwipeJob(SwipeJob {
                swiped_by: other,
                ..swipe_job_fields()
            }))
            .then_expect_error(DomainError::Forbidden {
                subject: other.subject,
                role: Role::Candidate,
                resource: format!("candidate {CANDIDATE}"),
            });
    }

    #[test]
    fn an_employer_swipes_only_for_its_own_jobs() {
        let other = Actor::new(Uuid::from_u128(0xbad), Role::Employer);
        PairingTest::with(())
            .given_no_previous_events()
            .when(PairingCommand::SwipeCandidate(SwipeCandidate {
                candidate_id: CANDIDATE,
                job_id: JOB,
                job: open_job(),
                decision: Decision::Like,
                swiped_by: other,
            }))
            .then_expect_error(DomainError::Forbidden {
                subject: other.subject,
                role: Role::Employer,
                resource: format!("job {JOB}"),
            });
    }

    fn swipe_job_fields() -> SwipeJob {
        SwipeJob {
            candidate_id: CANDIDATE,
            job_id: JOB,
            job: open_job(),
            decision: Decision::Like,
            swiped_by: candidate(),
        }
    }
}
