//! The conversation of a match: the candidate and the job's employer write to each other
//! while they are matched. It lives in the pairing's own stream, because its one rule (post
//! only while matched, nobody after an unmatch) is the pairing's state: a message and an
//! unmatch decided at the same time cannot both win (docs/adr/0015-real-time.md).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Validator;
use crate::pairing::{Pairing, PairingEvent, Side};
use crate::{Actor, DomainError, Role, Write};

/// Longest message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4_000;

/// A message from one party of the match to the other. `message_id` is the client's: posting
/// the same message again changes nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PostMessage {
    pub pairing_id: Uuid,
    pub message_id: Uuid,
    pub text: String,
    pub posted_by: Actor,
}

/// The reader has read the conversation's first `up_to` messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReadMessages {
    pub pairing_id: Uuid,
    pub up_to: i64,
    pub read_by: Actor,
}

/// Either party ends the match: it leaves both match lists and the conversation closes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Unmatch {
    pub pairing_id: Uuid,
    pub unmatched_by: Actor,
}

/// What the pairing keeps of its conversation.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Conversation {
    /// Each message id with the text it was posted with, in order.
    pub messages: Vec<(Uuid, String)>,
    pub read_by_candidate: i64,
    pub read_by_employer: i64,
}

impl Pairing {
    /// The side `actor` speaks for, if it is one of the match's two parties.
    fn side_of(&self, actor: Actor, write: Write) -> Result<Side, DomainError> {
        let parties = self.parties.ok_or(DomainError::NotMatched)?;
        let (side, own) = match actor.role {
            Role::Candidate => (Side::Candidate, parties.candidate_id),
            Role::Employer => (Side::Employer, parties.employer_id),
            _ => {
                return Err(DomainError::forbidden(
                    actor,
                    "conversation",
                    parties.pairing_id,
                ))
            }
        };
        if actor.may(write, own) {
            Ok(side)
        } else {
            Err(DomainError::forbidden(
                actor,
                "conversation",
                parties.pairing_id,
            ))
        }
    }

    fn require_matched(&self) -> Result<(), DomainError> {
        match (self.matched, self.unmatched) {
            (_, true) => Err(DomainError::Unmatched),
            (false, _) => Err(DomainError::NotMatched),
            (true, false) => Ok(()),
        }
    }

    pub(crate) fn post(&self, cmd: PostMessage) -> Result<Option<PairingEvent>, DomainError> {
        let side = self.side_of(cmd.posted_by, Write::PostMessage)?;
        if let Some((_, text)) = self
            .conversation
            .messages
            .iter()
            .find(|(id, _)| *id == cmd.message_id)
        {
            return if *text == cmd.text {
                Ok(None)
            } else {
                Err(DomainError::KeyReusedWithOtherContent {
                    key: cmd.message_id.to_string(),
                    field: "text",
                })
            };
        }
        self.require_matched()?;
        Validator::default()
            .text("text", &cmd.text, MAX_MESSAGE_CHARS)
            .finish()?;
        let parties = self.parties.ok_or(DomainError::NotMatched)?;
        Ok(Some(PairingEvent::MessagePosted {
            pairing_id: parties.pairing_id,
            candidate_id: parties.candidate_id,
            employer_id: parties.employer_id,
            message_id: cmd.message_id,
            number: self.conversation.messages.len() as i64 + 1,
            from: side,
            text: cmd.text,
        }))
    }

    pub(crate) fn read(&self, cmd: ReadMessages) -> Result<Option<PairingEvent>, DomainError> {
        let side = self.side_of(cmd.read_by, Write::ReadMessages)?;
        let posted = self.conversation.messages.len() as i64;
        Validator::default()
            .range("up_to", cmd.up_to, 1, posted.max(1))
            .finish()?;
        let already = match side {
            Side::Candidate => self.conversation.read_by_candidate,
            Side::Employer => self.conversation.read_by_employer,
        };
        if cmd.up_to <= already {
            return Ok(None);
        }
        let parties = self.parties.ok_or(DomainError::NotMatched)?;
        Ok(Some(PairingEvent::MessagesRead {
            pairing_id: parties.pairing_id,
            candidate_id: parties.candidate_id,
            employer_id: parties.employer_id,
            by: side,
            up_to: cmd.up_to,
        }))
    }

    pub(crate) fn unmatch(&self, cmd: Unmatch) -> Result<Option<PairingEvent>, DomainError> {
        let side = self.side_of(cmd.unmatched_by, Write::Unmatch)?;
        if self.unmatched {
            return Ok(None);
        }
        self.require_matched()?;
        let parties = self.parties.ok_or(DomainError::NotMatched)?;
        Ok(Some(PairingEvent::Unmatched {
            pairing_id: parties.pairing_id,
            candidate_id: parties.candidate_id,
            job_id: parties.job_id,
            employer_id: parties.employer_id,
            by: side,
        }))
    }

    pub(crate) fn apply_conversation(&mut self, event: &PairingEvent) {
        match event {
            PairingEvent::MessagePosted {
                message_id, text, ..
            } => self.conversation.messages.push((*message_id, text.clone())),
            PairingEvent::MessagesRead { by, up_to, .. } => match by {
                Side::Candidate => self.conversation.read_by_candidate = *up_to,
                Side::Employer => self.conversation.read_by_employer = *up_to,
            },
            PairingEvent::Unmatched { .. } => self.unmatched = true,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use cqrs_es::test::TestFramework;

    use super::*;
    use crate::pairing::{pairing_id, Decision, PairingCommand};

    type PairingTest = TestFramework<Pairing>;

    const CANDIDATE: Uuid = Uuid::from_u128(0xc);
    const JOB: Uuid = Uuid::from_u128(0x10b);
    const EMPLOYER: Uuid = Uuid::from_u128(0xe);
    const MESSAGE: Uuid = Uuid::from_u128(0x3);

    fn id() -> Uuid {
        pairing_id(CANDIDATE, JOB)
    }

    fn swipes(matched: bool) -> Vec<PairingEvent> {
        let mut events = vec![
            PairingEvent::CandidateSwiped {
                pairing_id: id(),
                candidate_id: CANDIDATE,
                job_id: JOB,
                employer_id: EMPLOYER,
                decision: Decision::Like,
            },
            PairingEvent::EmployerSwiped {
                pairing_id: id(),
                candidate_id: CANDIDATE,
                job_id: JOB,
                employer_id: EMPLOYER,
                decision: if matched {
                    Decision::Like
                } else {
                    Decision::Pass
                },
            },
        ];
        if matched {
            events.push(PairingEvent::Matched {
                pairing_id: id(),
                candidate_id: CANDIDATE,
                job_id: JOB,
                employer_id: EMPLOYER,
            });
        }
        events
    }

    fn post(by: Actor, text: &str) -> PairingCommand {
        PairingCommand::PostMessage(PostMessage {
            pairing_id: id(),
            message_id: MESSAGE,
            text: text.into(),
            posted_by: by,
        })
    }

    fn posted(text: &str) -> PairingEvent {
        PairingEvent::MessagePosted {
            pairing_id: id(),
            candidate_id: CANDIDATE,
            employer_id: EMPLOYER,
            message_id: MESSAGE,
            number: 1,
            from: Side::Candidate,
            text: text.into(),
        }
    }

    fn candidate() -> Actor {
        Actor::new(CANDIDATE, Role::Candidate)
    }

    #[test]
    fn a_party_posts_once_per_message_id() {
        PairingTest::with(())
            .given(swipes(true))
            .when(post(candidate(), "Hello"))
            .then_expect_events(vec![posted("Hello")]);
        let mut history = swipes(true);
        history.push(posted("Hello"));
        PairingTest::with(())
            .given(history.clone())
            .when(post(candidate(), "Hello"))
            .then_expect_events(vec![]);
        PairingTest::with(())
            .given(history)
            .when(post(candidate(), "Hi"))
            .then_expect_error(DomainError::KeyReusedWithOtherContent {
                key: MESSAGE.to_string(),
                field: "text",
            });
    }

    #[test]
    fn nobody_else_posts_and_nobody_before_a_match_or_after_an_unmatch() {
        for outsider in [
            Actor::new(Uuid::from_u128(0x99), Role::Candidate),
            Actor::new(Uuid::from_u128(0x98), Role::Employer),
            Actor::new(EMPLOYER, Role::Candidate),
            Actor::new(Uuid::from_u128(0x97), Role::Admin),
        ] {
            PairingTest::with(())
                .given(swipes(true))
                .when(post(outsider, "Hello"))
                .then_expect_error(DomainError::forbidden(outsider, "conversation", id()));
        }
        PairingTest::with(())
            .given(swipes(false))
            .when(post(candidate(), "Hello"))
            .then_expect_error(DomainError::NotMatched);
        let mut ended = swipes(true);
        ended.push(PairingEvent::Unmatched {
            pairing_id: id(),
            candidate_id: CANDIDATE,
            job_id: JOB,
            employer_id: EMPLOYER,
            by: Side::Employer,
        });
        PairingTest::with(())
            .given(ended)
            .when(post(Actor::new(EMPLOYER, Role::Employer), "Still there?"))
            .then_expect_error(DomainError::Unmatched);
    }

    #[test]
    fn a_read_receipt_moves_forward_only() {
        let mut history = swipes(true);
        history.push(posted("Hello"));
        let read = |up_to| {
            PairingCommand::ReadMessages(ReadMessages {
                pairing_id: id(),
                up_to,
                read_by: Actor::new(EMPLOYER, Role::Employer),
            })
        };
        PairingTest::with(())
            .given(history.clone())
            .when(read(1))
            .then_expect_events(vec![PairingEvent::MessagesRead {
                pairing_id: id(),
                candidate_id: CANDIDATE,
                employer_id: EMPLOYER,
                by: Side::Employer,
                up_to: 1,
            }]);
        history.push(PairingEvent::MessagesRead {
            pairing_id: id(),
            candidate_id: CANDIDATE,
            employer_id: EMPLOYER,
            by: Side::Employer,
            up_to: 1,
        });
        PairingTest::with(())
            .given(history)
            .when(read(1))
            .then_expect_events(vec![]);
    }
}
