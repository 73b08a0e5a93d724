//! ChargeCredits throughput through the command service alone (no HTTP, no Kafka), on one
//! wallet and then across many.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use commands::{CommandContext, CommandService};
use domain::candidate::RegisterCandidate;
use domain::wallet::{ChargeCredits, GrantCredits};
use domain::{Actor, Role};
use uuid::Uuid;

use crate::report::Throughput;
use crate::scratch::Scratch;
use api::settings::Settings;

#[derive(Debug, Clone, Copy)]
pub struct CreditsBench {
    pub charges: usize,
    pub wallets: usize,
    pub concurrency: usize,
}

#[derive(Debug)]
pub struct CreditsReport {
    pub one_wallet: Throughput,
    pub many_wallets: Throughput,
}

pub async fn credits(
    settings: &Settings,
    bench: CreditsBench,
) -> Result<CreditsReport, commands::Error> {
    let scratch = Scratch::create(settings, "credits").await?;
    let result = async {
        let url = scratch.settings.database.url.expose();
        let pool = commands::db::connect(url, (bench.concurrency as u32 + 4).max(8)).await?;
        let service = Arc::new(CommandService::new(
            pool.clone(),
            commands::service::DEFAULT_MAX_ATTEMPTS,
            commands::privacy::MasterKeys::development(),
        ));
        // One wallet for the first run, the others for the second.
        let wallets = market(&service, bench.wallets.max(1) + 1, bench.charges as i64).await?;
        let one_wallet = charge(&service, &wallets[..1], bench).await?;
        let many_wallets = charge(&service, &wallets[1..], bench).await?;
        pool.close().await;
        Ok(CreditsReport {
            one_wallet,
            many_wallets,
        })
    }
    .await;
    scratch.drop_database().await?;
    result
}

/// A command context for `actor`, as one request would give it.
pub(crate) fn context(actor: Actor) -> CommandContext {
    CommandContext::for_request(actor, Uuid::new_v4().to_string(), None)
}

/// Registers the candidates and grants each enough credits for every charge.
pub(crate) async fn market(
    service: &CommandService,
    wallets: usize,
    credits: i64,
) -> Result<Vec<Uuid>, commands::Error> {
    let admin = context(Actor::new(Uuid::new_v4(), Role::Admin));
    let mut ids = Vec::with_capacity(wallets);
    for n in 0..wallets {
        let id = Uuid::new_v4();
        let register = RegisterCandidate {
            candidate_id: id,
            name: format!("Bench candidate {n}"),
            email: format!("bench{n}@example.com"),
        };
        service.register_candidate(&admin, register).await?;
        let grant = GrantCredits {
            wallet_id: id,
            grant_id: Uuid::new_v4(),
            credits: credits.max(1),
            reason: "benchmark".into(),
            granted_by: admin.actor,
        };
        service.grant_credits(&admin, grant).await?;
        ids.push(id);
    }
    Ok(ids)
}

/// `bench.charges` charges of one credit, spread round-robin over `wallets`, by
/// `bench.concurrency` concurrent callers.
pub(crate) async fn charge(
    service: &Arc<CommandService>,
    wallets: &[Uuid],
    bench: CreditsBench,
) -> Result<Throughput, commands::Error> {
    let next = Arc::new(AtomicUsize::new(0));
    let wallets: Arc<[Uuid]> = wallets.into();
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..bench.concurrency.max(1) {
        let (service, next, wallets) = (service.clone(), next.clone(), wallets.clone());
        workers.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= bench.charges {
                    return Ok::<_, commands::Error>(());
                }
                let wallet_id = wallets[n % wallets.len()];
                let ctx = context(Actor::new(wallet_id, Role::Candidate));
                let command = ChargeCredits {
                    wallet_id,
                    charge_id: Uuid::new_v4(),
                    credits: 1,
                    purpose: "benchmark".into(),
                    charged_by: ctx.actor,
                };
                service.charge_credits(&ctx, command).await?;
            }
        });
    }
    while let Some(worker) = workers.join_next().await {
        worker.map_err(|e| commands::Error::Store(Box::new(e)))??;
    }
    Ok(Throughput {
        count: bench.charges,
        unit: "charges",
        elapsed: started.elapsed(),
    })
}
