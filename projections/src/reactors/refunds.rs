//! Refunds: every failed document is refunded, once. The wallet refuses a second refund of
//! the same charge, so a redelivered failure changes nothing.

use std::sync::Arc;

use commands::CommandService;
use cqrs_es::Aggregate;
use domain::document::{Document, DocumentEvent};
use domain::published::PublishedEvent;
use domain::wallet::RefundCredits;
use domain::DomainError;
use uuid::Uuid;

use super::{context_for, Reaction};
use crate::Error;

/// The subject refunds are made as.
pub const REFUNDS: Uuid = Uuid::from_u128(0x4ef0_0000_0000_4000_8000_0000_0000_0001);

#[derive(Debug, Clone)]
pub struct DocumentRefunds {
    commands: Arc<CommandService>,
}

impl DocumentRefunds {
    pub fn new(commands: Arc<CommandService>) -> Self {
        Self { commands }
    }
}

impl Reaction for DocumentRefunds {
    const NAME: &'static str = "refunds";
    const AGGREGATE_TYPES: &'static [&'static str] = &[Document::TYPE];

    async fn react(&self, event: &PublishedEvent) -> Result<(), Error> {
        if event.event_type != "DocumentGenerationFailed" {
            return Ok(());
        }
        let DocumentEvent::DocumentGenerationFailed {
            document_id,
            candidate_id,
            credits,
            reason,
            ..
        } = event.decode().map_err(|e| Error::payload(event, e))?
        else {
            return Ok(());
        };
        let refund = RefundCredits {
            wallet_id: candidate_id,
            charge_id: document_id,
            credits,
            reason: format!("document {document_id} failed: {reason}"),
            refunded_by: domain::Actor::system(REFUNDS),
        };
        match self
            .commands
            .refund_credits(&context_for(event, REFUNDS), refund)
            .await
        {
            Ok(_) => Ok(()),
            Err(commands::Error::Domain(DomainError::AlreadyRefunded { .. })) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}
