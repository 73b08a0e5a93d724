//! The consumers of the event topics a process can run, by name: the projections, which keep
//! a read model and can rebuild it, and the reactors, which act on events and keep none.
//! Each name is its projector's own `NAME`, so the CLI, the consumer groups, the progress
//! table and the health report all say the same.

use projections::applications::ApplicationsProjector;
use projections::conversations::ConversationsProjector;
use projections::documents::DocumentsProjector;
use projections::jobs::JobsProjector;
use projections::ledger::LedgerProjector;
use projections::matches::MatchesProjector;
use projections::matching::MatchingProjector;
use projections::notifications::NotificationsProjector;
use projections::profiles::ProfilesProjector;
use projections::reactors::{DocumentRefunds, DocumentWorker, Reaction};
use projections::Projection;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Consumer {
    Matches,
    Matching,
    Ledger,
    Profiles,
    Jobs,
    Applications,
    Documents,
    Conversations,
    Notifications,
    DocumentWorker,
    DocumentRefunds,
}

impl Consumer {
    /// Every consumer, in the order `hirestream up` starts them.
    pub const ALL: [Consumer; 11] = [
        Consumer::Matches,
        Consumer::Matching,
        Consumer::Ledger,
        Consumer::Profiles,
        Consumer::Jobs,
        Consumer::Applications,
        Consumer::Documents,
        Consumer::Conversations,
        Consumer::Notifications,
        Consumer::DocumentWorker,
        Consumer::DocumentRefunds,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Consumer::Matches => MatchesProjector::NAME,
            Consumer::Matching => MatchingProjector::NAME,
            Consumer::Ledger => LedgerProjector::NAME,
            Consumer::Profiles => ProfilesProjector::NAME,
            Consumer::Jobs => JobsProjector::NAME,
            Consumer::Applications => ApplicationsProjector::NAME,
            Consumer::Documents => DocumentsProjector::NAME,
            Consumer::Conversations => ConversationsProjector::NAME,
            Consumer::Notifications => NotificationsProjector::NAME,
            Consumer::DocumentWorker => DocumentWorker::NAME,
            Consumer::DocumentRefunds => DocumentRefunds::NAME,
        }
    }

    /// A reactor acts on events and keeps no read model, so it has nothing to rebuild.
    pub fn is_reactor(self) -> bool {
        self.read_model().is_none()
    }

    /// The aggregate types a projection reads; `None` for a reactor.
    pub fn read_model(self) -> Option<&'static [&'static str]> {
        match self {
            Consumer::Matches => Some(MatchesProjector::AGGREGATE_TYPES),
            Consumer::Matching => Some(MatchingProjector::AGGREGATE_TYPES),
            Consumer::Ledger => Some(LedgerProjector::AGGREGATE_TYPES),
            Consumer::Profiles => Some(ProfilesProjector::AGGREGATE_TYPES),
            Consumer::Jobs => Some(JobsProjector::AGGREGATE_TYPES),
            Consumer::Applications => Some(ApplicationsProjector::AGGREGATE_TYPES),
            Consumer::Documents => Some(DocumentsProjector::AGGREGATE_TYPES),
            Consumer::Conversations => Some(ConversationsProjector::AGGREGATE_TYPES),
            Consumer::Notifications => Some(NotificationsProjector::AGGREGATE_TYPES),
            Consumer::DocumentWorker | Consumer::DocumentRefunds => None,
        }
    }

    /// Each read model's projection name and the aggregate types it reads.
    pub fn read_models() -> impl Iterator<Item = (&'static str, &'static [&'static str])> {
        Self::ALL
            .into_iter()
            .filter_map(|c| Some((c.name(), c.read_model()?)))
    }
}

impl std::fmt::Display for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl clap::ValueEnum for Consumer {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let help = if self.is_reactor() {
            "a reactor (no read model, no replay)"
        } else {
            "a projection"
        };
        Some(clap::builder::PossibleValue::new(self.name()).help(help))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn names_are_distinct_and_parse_back() {
        let mut names: Vec<_> = Consumer::ALL.iter().map(|c| c.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Consumer::ALL.len());
        for consumer in Consumer::ALL {
            assert_eq!(Consumer::from_str(consumer.name(), false), Ok(consumer));
        }
    }

    #[test]
    fn the_compose_stack_runs_every_consumer() {
        let compose = include_str!("../../docker-compose.yml");
        for consumer in Consumer::ALL {
            let command = format!("command: [\"project\", \"{}\"]", consumer.name());
            assert!(
                compose.contains(&command),
                "docker-compose.yml lacks {command}"
            );
        }
    }

    #[test]
    fn only_the_document_reactors_have_no_read_model() {
        let reactors: Vec<_> = Consumer::ALL
            .into_iter()
            .filter(|c| c.is_reactor())
            .collect();
        assert_eq!(
            reactors,
            [Consumer::DocumentWorker, Consumer::DocumentRefunds]
        );
        assert_eq!(Consumer::DocumentWorker.name(), DocumentWorker::NAME);
        assert_eq!(Consumer::DocumentRefunds.name(), DocumentRefunds::NAME);
        assert_eq!(Consumer::read_models().count(), 9);
    }
}
