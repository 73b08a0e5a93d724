//! The write side of AI documents: requesting one (charge first, then the request), and
//! recording what the worker produced.

use domain::candidate::Candidate;
use domain::document::{
    document_id, CompleteDocument, Document, DocumentCommand, DocumentKind, FailDocument,
    Generation, RequestDocument,
};
use domain::wallet::ChargeCredits;
use domain::{DomainError, Write};
use tracing::instrument;
use uuid::Uuid;

use crate::providers::DocumentPrompt;
use crate::{CommandContext, CommandService, Committed, Error};

/// A candidate's request for a document.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentRequest {
    pub candidate_id: Uuid,
    pub kind: DocumentKind,
    pub job_id: Option<Uuid>,
    pub instructions: Option<String>,
    /// Chosen by the client: the same key names the same document.
    pub idempotency_key: String,
}

impl CommandService {
    /// Charges the wallet (the charge's id is the document's), then records the request. A
    /// repeated request with the same key returns the same document and charges nothing more;
    /// without enough credits nothing is requested.
    #[instrument(skip_all, fields(candidate_id = %request.candidate_id, correlation_id = %ctx.correlation_id))]
    pub async fn request_document(
        &self,
        ctx: &CommandContext,
        request: DocumentRequest,
    ) -> Result<Committed, Error> {
        // Authorize before anything about a document under this key is looked up or replayed.
        if !ctx.actor.may(Write::RequestDocument, request.candidate_id) {
            return Err(DomainError::Forbidden {
                subject: ctx.actor.subject,
                role: ctx.actor.role,
                resource: format!("candidate {}", request.candidate_id),
            }
            .into());
        }
        let key = request.idempotency_key.trim();
        if key.is_empty() || key.chars().count() > 200 {
            return Err(DomainError::Invalid(vec![domain::FieldError::new(
                "idempotency_key",
                "must be 1 to 200 characters",
            )])
            .into());
        }
        let id = document_id(request.candidate_id, key);
        let job = match request.job_id {
            Some(job_id) => self.job_ref(job_id).await?,
            None => None,
        };
        let command = RequestDocument {
            document_id: id,
            candidate_id: request.candidate_id,
            kind: request.kind,
            job_id: request.job_id,
            job,
            instructions: request.instructions,
            requested_by: ctx.actor,
        };
        let (existing, _) = self.documents.load(&id.to_string()).await?;
        if existing.status.is_none() {
            // Decide the request before paying for it, so a refused one charges nothing.
            let mut probe = Document::default();
            let sink = cqrs_es::event_sink::EventSink::default();
            cqrs_es::Aggregate::handle(
                &mut probe,
                DocumentCommand::RequestDocument(command.clone()),
                &(),
                &sink,
            )
            .await?;
            self.require_candidate(request.candidate_id).await?;
            let charge = ChargeCredits {
                wallet_id: request.candidate_id,
                charge_id: id,
                credits: request.kind.price(),
                purpose: format!("{} {id}", request.kind.as_str().replace('_', " ")),
                charged_by: ctx.actor,
            };
            self.charge_credits(ctx, charge).await?;
        }
        self.documents
            .execute(
                &id.to_string(),
                DocumentCommand::RequestDocument(command),
                ctx,
            )
            .await
    }

    /// The document's current state.
    pub async fn document(&self, document_id: Uuid) -> Result<Document, Error> {
        Ok(self.documents.load(&document_id.to_string()).await?.0)
    }

    /// The candidate as the event store has it now, its personal fields opened.
    pub async fn candidate(&self, candidate_id: Uuid) -> Result<Candidate, Error> {
        Ok(self.candidates.load(&candidate_id.to_string()).await?.0)
    }

    /// What a provider needs to write the document: the candidate's profile and the target
    /// job, as the event store has them now.
    pub async fn document_prompt(&self, document: &Document) -> Result<DocumentPrompt, Error> {
        let candidate_id = document.candidate_id.unwrap_or_default();
        let (candidate, _) = self.candidates.load(&candidate_id.to_string()).await?;
        let (job, employer_name) = match document.job_id {
            Some(job_id) => {
                let (job, _) = self.jobs.load(&job_id.to_string()).await?;
                let employer_name = match job.employer_id {
                    Some(employer_id) => {
                        let (employer, _) = self.employers.load(&employer_id.to_string()).await?;
                        Some(employer.name).filter(|n| !n.is_empty())
                    }
                    None => None,
                };
                (job.details, employer_name)
            }
            None => (None, None),
        };
        Ok(DocumentPrompt {
            kind: document.kind.unwrap_or(DocumentKind::Resume),
            candidate_name: candidate.name,
            profile: candidate.profile,
            job,
            employer_name,
            instructions: document.instructions.clone(),
        })
    }

    #[instrument(skip_all, fields(aggregate_id = %document_id, correlation_id = %ctx.correlation_id))]
    pub async fn complete_document(
        &self,
        ctx: &CommandContext,
        document_id: Uuid,
        generation: Generation,
    ) -> Result<Committed, Error> {
        let command = DocumentCommand::CompleteDocument(CompleteDocument {
            document_id,
            generation,
            completed_by: ctx.actor,
        });
        self.documents
            .execute(&document_id.to_string(), command, ctx)
            .await
    }

    #[instrument(skip_all, fields(aggregate_id = %document_id, correlation_id = %ctx.correlation_id))]
    pub async fn fail_document(
        &self,
        ctx: &CommandContext,
        document_id: Uuid,
        reason: String,
        provider: &str,
        attempts: i32,
    ) -> Result<Committed, Error> {
        let command = DocumentCommand::FailDocument(FailDocument {
            document_id,
            reason,
            provider: provider.to_owned(),
            attempts,
            failed_by: ctx.actor,
        });
        self.documents
            .execute(&document_id.to_string(), command, ctx)
            .await
    }
}
