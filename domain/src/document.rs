//! The document: a resume or cover letter written for a candidate, optionally for one job.
//! Requesting one is paid for first (the wallet charge's id is the document's id); a worker
//! then writes it and records the result, or records the failure, which is refunded.

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Validator;
use crate::job::JobRef;
use crate::{Actor, DomainError, Write};

const DOCUMENT_NAMESPACE: Uuid = Uuid::from_u128(0x5c8e_2d41_9b7a_4e06_8f13_a2c9_d7e4_0b6f);

/// The id of the document a candidate asked for with `idempotency_key`: the same key always
/// names the same document.
pub fn document_id(candidate_id: Uuid, idempotency_key: &str) -> Uuid {
    Uuid::new_v5(
        &DOCUMENT_NAMESPACE,
        format!("{candidate_id}/{idempotency_key}").as_bytes(),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Resume,
    CoverLetter,
}

impl DocumentKind {
    /// What a document of this kind costs, in credits.
    pub fn price(self) -> i64 {
        match self {
            DocumentKind::Resume => 5,
            DocumentKind::CoverLetter => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Resume => "resume",
            DocumentKind::CoverLetter => "cover_letter",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentStatus {
    Pending,
    Ready,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum DocumentCommand {
    RequestDocument(RequestDocument),
    CompleteDocument(CompleteDocument),
    FailDocument(FailDocument),
}

/// A request is recorded as the generation the candidate asked for (`GenerateResume`,
/// `GenerateCoverLetter`), the names the product speaks of.
impl crate::Command for DocumentCommand {
    fn name(&self) -> &'static str {
        match self {
            Self::RequestDocument(request) => match request.kind {
                DocumentKind::Resume => "GenerateResume",
                DocumentKind::CoverLetter => "GenerateCoverLetter",
            },
            Self::CompleteDocument(_) => "CompleteDocument",
            Self::FailDocument(_) => "FailDocument",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RequestDocument {
    pub document_id: Uuid,
    pub candidate_id: Uuid,
    pub kind: DocumentKind,
    pub job_id: Option<Uuid>,
    /// The target job as the write side found it, when `job_id` is given.
    pub job: Option<JobRef>,
    pub instructions: Option<String>,
    pub requested_by: Actor,
}

/// What a provider call cost and produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Generation {
    /// The document, in Markdown.
    pub content: String,
    pub provider: String,
    pub model: String,
    pub prompt_version: String,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// In millionths of a US dollar.
    pub cost_micros: i64,
    pub latency_ms: i64,
    /// Provider calls it took, retries included.
    pub attempts: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CompleteDocument {
    pub document_id: Uuid,
    pub generation: Generation,
    pub completed_by: Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FailDocument {
    pub document_id: Uuid,
    pub reason: String,
    pub provider: String,
    pub attempts: i32,
    pub failed_by: Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum DocumentEvent {
    DocumentRequested {
        document_id: Uuid,
        candidate_id: Uuid,
        kind: DocumentKind,
        job_id: Option<Uuid>,
        instructions: Option<String>,
        /// Charged to the wallet under the document's id.
        credits: i64,
    },
    DocumentGenerated {
        document_id: Uuid,
        candidate_id: Uuid,
        generation: Generation,
    },
    DocumentGenerationFailed {
        document_id: Uuid,
        candidate_id: Uuid,
        reason: String,
        provider: String,
        attempts: i32,
        /// To be refunded.
        credits: i64,
    },
}

crate::domain_event!(DocumentEvent {
    DocumentRequested,
    DocumentGenerated,
    DocumentGenerationFailed,
});

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Document {
    pub status: Option<DocumentStatus>,
    pub candidate_id: Option<Uuid>,
    pub kind: Option<DocumentKind>,
    pub job_id: Option<Uuid>,
    pub instructions: Option<String>,
    pub credits: i64,
}

impl Aggregate for Document {
    const TYPE: &'static str = "document";
    type Command = DocumentCommand;
    type Event = DocumentEvent;
    type Error = DomainError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let event = match command {
            DocumentCommand::RequestDocument(cmd) => {
                // Authorize first: a caller who may not request this candidate's documents
                // learns nothing about one requested under the same key.
                if !cmd
                    .requested_by
                    .may(Write::RequestDocument, cmd.candidate_id)
                {
                    return Err(DomainError::forbidden(
                        cmd.requested_by,
                        "candidate",
                        cmd.candidate_id,
                    ));
                }
                if self.status.is_some() {
                    // The same request again is the same document; another one under the
                    // same key is a client error.
                    let instructions = cmd.instructions.as_deref().map(str::trim);
                    let same = self.kind == Some(cmd.kind)
                        && self.job_id == cmd.job_id
                        && self.instructions.as_deref() == instructions;
                    return if same {
                        Ok(())
                    } else {
                        Err(DomainError::DocumentKeyReused {
                            document_id: cmd.document_id,
                        })
                    };
                }
                if let Some(job_id) = cmd.job_id {
                    if cmd.job.is_none() {
                        return Err(DomainError::JobNotFound { job_id });
                    }
                }
                if let Some(instructions) = &cmd.instructions {
                    Validator::default()
                        .optional_text("instructions", instructions, 2_000)
                        .finish()?;
                }
                DocumentEvent::DocumentRequested {
                    document_id: cmd.document_id,
                    candidate_id: cmd.candidate_id,
                    kind: cmd.kind,
                    job_id: cmd.job_id,
                    instructions: cmd.instructions.map(|i| i.trim().to_owned()),
                    credits: cmd.kind.price(),
                }
            }
            DocumentCommand::CompleteDocument(cmd) => {
                let candidate_id = self.pending(cmd.document_id, cmd.completed_by)?;
                match self.status {
                    Some(DocumentStatus::Ready) => return Ok(()),
                    Some(DocumentStatus::Failed) => {
                        return Err(DomainError::DocumentFinished {
                            document_id: cmd.document_id,
                        })
                    }
                    _ => {}
                }
                DocumentEvent::DocumentGenerated {
                    document_id: cmd.document_id,
                    candidate_id,
                    generation: cmd.generation,
                }
            }
            DocumentCommand::FailDocument(cmd) => {
                let candidate_id = self.pending(cmd.document_id, cmd.failed_by)?;
                match self.status {
                    Some(DocumentStatus::Failed) => return Ok(()),
                    Some(DocumentStatus::Ready) => {
                        return Err(DomainError::DocumentFinished {
                            document_id: cmd.document_id,
                        })
                    }
                    _ => {}
                }
                DocumentEvent::DocumentGenerationFailed {
                    document_id: cmd.document_id,
                    candidate_id,
                    reason: cmd.reason,
                    provider: cmd.provider,
                    attempts: cmd.attempts,
                    credits: self.credits,
                }
            }
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            DocumentEvent::DocumentRequested {
                candidate_id,
                kind,
                job_id,
                instructions,
                credits,
                ..
            } => {
                self.status = Some(DocumentStatus::Pending);
                self.candidate_id = Some(candidate_id);
                self.kind = Some(kind);
                self.job_id = job_id;
                self.instructions = instructions;
                self.credits = credits;
            }
            DocumentEvent::DocumentGenerated { .. } => self.status = Some(DocumentStatus::Ready),
            DocumentEvent::DocumentGenerationFailed { .. } => {
                self.status = Some(DocumentStatus::Failed)
            }
        }
    }
}

impl Document {
    /// The candidate of a requested document, if `actor` may record its outcome (the
    /// platform's worker, or an admin).
    fn pending(&self, document_id: Uuid, actor: Actor) -> Result<Uuid, DomainError> {
        let candidate_id = self
            .candidate_id
            .ok_or(DomainError::DocumentNotFound { document_id })?;
        if !actor.may(Write::RecordDocumentOutcome, candidate_id) {
            return Err(DomainError::forbidden(actor, "document", document_id));
        }
        Ok(candidate_id)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::Role;
    use cqrs_es::test::TestFramework;

    use super::*;

    type DocumentTest = TestFramework<Document>;

    pub(crate) const CANDIDATE: Uuid = Uuid::from_u128(0xc);

    fn id() -> Uuid {
        document_id(CANDIDATE, "key-1")
    }

    fn worker() -> Actor {
        Actor::system(Uuid::from_u128(0x3))
    }

    fn request(kind: DocumentKind) -> DocumentCommand {
        DocumentCommand::RequestDocument(RequestDocument {
            document_id: id(),
            candidate_id: CANDIDATE,
            kind,
            job_id: None,
            job: None,
            instructions: Some(" Keep it to one page ".into()),
            requested_by: Actor::new(CANDIDATE, Role::Candidate),
        })
    }

    #[test]
    fn a_request_is_recorded_as_the_generation_asked_for() {
        use crate::Command;
        assert_eq!(request(DocumentKind::Resume).name(), "GenerateResume");
        assert_eq!(
            request(DocumentKind::CoverLetter).name(),
            "GenerateCoverLetter"
        );
    }

    pub(crate) fn requested() -> DocumentEvent {
        DocumentEvent::DocumentRequested {
            document_id: id(),
            candidate_id: CANDIDATE,
            kind: DocumentKind::Resume,
            job_id: None,
            instructions: Some("Keep it to one page".into()),
            credits: 5,
        }
    }

    pub(crate) fn generation() -> Generation {
        Generation {
            content: "# Ada".into(),
            provider: "local".into(),
            model: "rule-based-v1".into(),
            prompt_version: "resume-v1".into(),
            input_tokens: 100,
            output_tokens: 50,
            cost_micros: 0,
            latency_ms: 3,
            attempts: 1,
        }
    }

    fn complete() -> DocumentCommand {
        DocumentCommand::CompleteDocument(CompleteDocument {
            document_id: id(),
            generation: generation(),
            completed_by: worker(),
        })
    }

    fn fail() -> DocumentCommand {
        DocumentCommand::FailDocument(FailDocument {
            document_id: id(),
            reason: "provider answered 500 three times".into(),
            provider: "openai".into(),
            attempts: 3,
            failed_by: worker(),
        })
    }

    fn failed() -> DocumentEvent {
        DocumentEvent::DocumentGenerationFailed {
            document_id: id(),
            candidate_id: CANDIDATE,
            reason: "provider answered 500 three times".into(),
            provider: "openai".into(),
            attempts: 3,
            credits: 5,
        }
    }

    #[test]
    fn a_request_records_the_price_and_the_same_request_again_is_the_same_document() {
        DocumentTest::with(())
            .given_no_previous_events()
            .when(request(DocumentKind::Resume))
            .then_expect_events(vec![requested()]);
        DocumentTest::with(())
            .given(vec![requested()])
            .when(request(DocumentKind::Resume))
            .then_expect_events(vec![]);
        DocumentTest::with(())
            .given(vec![requested()])
            .when(request(DocumentKind::CoverLetter))
            .then_expect_error(DomainError::DocumentKeyReused { document_id: id() });
        DocumentTest::with(())
            .given(vec![requested()])
            .when(DocumentCommand::RequestDocument(RequestDocument {
                instructions: Some("Two pages, please".into()),
                ..request_of(DocumentKind::Resume)
            }))
            .then_expect_error(DomainError::DocumentKeyReused { document_id: id() });
    }

    fn request_of(kind: DocumentKind) -> RequestDocument {
        match request(kind) {
            DocumentCommand::RequestDocument(r) => r,
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_caller_who_may_not_request_learns_nothing_about_an_existing_document() {
        for actor in [
            Actor::new(Uuid::from_u128(0xbad), Role::Candidate),
            Actor::new(CANDIDATE, Role::Employer),
            Actor::new(CANDIDATE, Role::Auditor),
        ] {
            DocumentTest::with(())
                .given(vec![requested()])
                .when(DocumentCommand::RequestDocument(RequestDocument {
                    requested_by: actor,
                    ..request_of(DocumentKind::Resume)
                }))
                .then_expect_error(DomainError::Forbidden {
                    subject: actor.subject,
                    role: actor.role,
                    resource: format!("candidate {CANDIDATE}"),
                });
        }
    }

    #[test]
    fn a_candidate_requests_only_its_own_documents() {
        let other = Actor::new(Uuid::from_u128(0xbad), Role::Candidate);
        DocumentTest::with(())
            .given_no_previous_events()
            .when(DocumentCommand::RequestDocument(RequestDocument {
                requested_by: other,
                ..match request(DocumentKind::Resume) {
                    DocumentCommand::RequestDocument(r) => r,
                    _ => unreachable!(),
                }
            }))
            .then_expect_error(DomainError::Forbidden {
                subject: other.subject,
                role: Role::Candidate,
                resource: format!("candidate {CANDIDATE}"),
            });
    }

    #[test]
    fn a_target_job_must_exist() {
        let job_id = Uuid::from_u128(0x10b);
        DocumentTest::with(())
            .given_no_previous_events()
            .when(DocumentCommand::RequestDocument(RequestDocument {
                job_id: Some(job_id),
                job: None,
                ..match request(DocumentKind::CoverLetter) {
                    DocumentCommand::RequestDocument(r) => r,
                    _ => unreachable!(),
                }
            }))
            .then_expect_error(DomainError::JobNotFound { job_id });
    }

    #[test]
    fn the_worker_completes_a_pending_document_once() {
        DocumentTest::with(())
            .given(vec![requested()])
            .when(complete())
            .then_expect_events(vec![DocumentEvent::DocumentGenerated {
                document_id: id(),
                candidate_id: CANDIDATE,
                generation: generation(),
            }]);
        DocumentTest::with(())
            .given(vec![
                requested(),
                DocumentEvent::DocumentGenerated {
                    document_id: id(),
                    candidate_id: CANDIDATE,
                    generation: generation(),
                },
            ])
            .when(complete())
            .then_expect_events(vec![]);
    }

    #[test]
    fn a_failure_carries_the_credits_to_refund_and_is_final() {
        DocumentTest::with(())
            .given(vec![requested()])
            .when(fail())
            .then_expect_events(vec![failed()]);
        DocumentTest::with(())
            .given(vec![requested(), failed()])
            .when(fail())
            .then_expect_events(vec![]);
        DocumentTest::with(())
            .given(vec![requested(), failed()])
            .when(complete())
            .then_expect_error(DomainError::DocumentFinished { document_id: id() });
    }

    #[test]
    fn only_the_platform_records_an_outcome() {
        let candidate = Actor::new(CANDIDATE, Role::Candidate);
        DocumentTest::with(())
            .given(vec![requested()])
            .when(DocumentCommand::CompleteDocument(CompleteDocument {
                document_id: id(),
                generation: generation(),
                completed_by: candidate,
            }))
            .then_expect_error(DomainError::Forbidden {
                subject: CANDIDATE,
                role: Role::Candidate,
                resource: format!("document {}", id()),
            });
    }

    #[test]
    fn an_unknown_document_has_no_outcome() {
        DocumentTest::with(())
            .given_no_previous_events()
            .when(complete())
            .then_expect_error(DomainError::DocumentNotFound { document_id: id() });
    }
}
