//! The metadata every event carries: who did it, on behalf of which request, and why.

use std::collections::HashMap;

use domain::published::metadata;
use domain::Actor;

/// Who issued a command and what caused it. Turned into the metadata of every event the
/// command appends.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandContext {
    pub actor: Actor,
    /// The id of the HTTP request (or process run) that carried the command.
    pub request_id: String,
    /// Shared by every command and event of one piece of work, across services.
    pub correlation_id: String,
    /// What directly caused the command: the request, or the event a reactor handled.
    pub causation_id: String,
    /// The member account acting for `actor`'s organization, when a member acts.
    pub member: Option<uuid::Uuid>,
    /// The W3C trace context the command runs in, when it is traced.
    pub trace_parent: Option<String>,
}

/// The request a command arrives with, before anyone is known to be acting: a sign-in step
/// learns its actor (the account) on the way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestIds {
    pub request_id: String,
    pub correlation_id: Option<String>,
    /// The request's W3C trace context, when it is traced.
    pub trace_parent: Option<String>,
}

impl RequestIds {
    /// The context of a command `actor` issues within this request.
    pub fn acting(&self, actor: Actor) -> CommandContext {
        let mut context = CommandContext::for_request(
            actor,
            self.request_id.clone(),
            self.correlation_id.clone(),
        );
        context.trace_parent = self.trace_parent.clone();
        context
    }
}

impl CommandContext {
    /// The context of a command a caller sent directly: the request is the cause, and it
    /// starts a new correlation unless the caller continues one.
    pub fn for_request(actor: Actor, request_id: String, correlation_id: Option<String>) -> Self {
        Self {
            actor,
            correlation_id: correlation_id.unwrap_or_else(|| request_id.clone()),
            causation_id: request_id.clone(),
            request_id,
            member: None,
            trace_parent: None,
        }
    }

    /// The metadata every event `command` produces carries.
    pub(crate) fn metadata(&self, command: &impl domain::Command) -> HashMap<String, String> {
        let mut fields = HashMap::from([
            (
                metadata::ACTOR_SUBJECT.into(),
                self.actor.subject.to_string(),
            ),
            (metadata::ACTOR_ROLE.into(), self.actor.role.as_str().into()),
            (metadata::CORRELATION_ID.into(), self.correlation_id.clone()),
            (metadata::CAUSATION_ID.into(), self.causation_id.clone()),
            (metadata::REQUEST_ID.into(), self.request_id.clone()),
            (metadata::COMMAND.into(), command.name().into()),
        ]);
        if let Some(member) = self.member {
            fields.insert(metadata::ACTOR_MEMBER.into(), member.to_string());
        }
        if let Some(trace_parent) = &self.trace_parent {
            fields.insert(metadata::TRACEPARENT.into(), trace_parent.clone());
        }
        fields
    }
}
