use std::time::Duration;

use api::process::{projector_config, relay_config};
use commands::relay::Relay;
use commands::CommandService;
use hirestream_tests::fixtures::swipes::{
    caught_up, events_applied, market, pairing_events, projected, swipe_everything, CANDIDATES,
    JOBS,
};
use hirestream_tests::{eventually, TestEnv};
use projections::matches::{all_pairings, MatchesProjector};
use projections::Projector;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

async fn events_skipped(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT events_skipped FROM projection_checkpoint WHERE projection = 'matches'",
    )
    .fetch_one(pool)
    .await
    .expect("events skipped")
}

struct Running {
    relay: JoinHandle<()>,
    projector: JoinHandle<()>,
    shutdown: CancellationToken,
}

fn start(env: &TestEnv) -> Running {
    let shutdown = CancellationToken::new();
    let relay = Relay::new(env.pool.clone(), relay_config(&env.settings));
    let relay = tokio::spawn(relay.run(shutdown.clone()));
    let projector = Projector::new(
        MatchesProjector,
        env.pool.clone(),
        projector_config(&env.settings),
    );
    let token = shutdown.clone();
    let projector = tokio::spawn(async move { projector.run(token).await.expect("projector") });
    Running {
        relay,
        projector,
        shutdown,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_mid_stream_loses_nothing_and_applies_nothing_twice() {
    let env = TestEnv::new().await;
    api::process::kafka_config(&env.settings)
        .ensure_topics(domain::AGGREGATE_TYPES)
        .await
        .expect("topics");
    let service = std::sync::Arc::new(CommandService::new(
        env.pool.clone(),
        5,
        commands::privacy::MasterKeys::development(),
    ));
    let (employer, jobs, candidates) = market(&service).await;

    // Crash the relay and the projector while the first half of the stream is being
    // written; the second half is written while they are down.
    let (first_half, second_half) = candidates.split_at(CANDIDATES / 2);
    let running = start(&env);
    let writer = {
        let (service, jobs, first_half) = (service.clone(), jobs.clone(), first_half.to_vec());
        tokio::spawn(async move { swipe_everything(&service, employer, &jobs, &first_half).await })
    };
    eventually(
        "some pairing events to be projected",
        Duration::from_secs(60),
        || async { (projected(&env.pool).await >= 20).then_some(()) },
    )
    .await;
    running.relay.abort();
    running.projector.abort();
    let _ = running.relay.await;
    let _ = running.projector.await;
    writer.await.expect("writer");
    let at_crash = projected(&env.pool).await;
    swipe_everything(&service, employer, &jobs, second_half).await;
    assert!(at_crash < pairing_events(&env.pool).await);

    // Start again: everything arrives, and each event took effect once.
    let running = start(&env);
    caught_up(&env).await;
    let total = pairing_events(&env.pool).await;
    assert_eq!(events_applied(&env.pool).await, total);
    let live = all_pairings(&env.pool).await.expect("live view");
    assert_eq!(live.len(), CANDIDATES * JOBS);
    assert!(live
        .iter()
        .all(|p| p.candidate_decision.is_some() && p.employer_decision.is_some()));
    let matches = live.iter().filter(|p| p.matched_at.is_some()).count();
    let liked = live
        .iter()
        .filter(|p| p.candidate_decision.as_deref() == Some("like"))
        .count();
    assert_eq!(matches, liked);

    // The relay publishes everything again from the start: redeliveries have no effect.
    running.shutdown.cancel();
    let _ = running.relay.await;
    let _ = running.projector.await;
    let relay_published: i64 = sqlx::query_scalar("SELECT published FROM relay_checkpoint")
        .fetch_one(&env.pool)
        .await
        .expect("published");
    sqlx::query("UPDATE relay_checkpoint SET tx_id = '0', global_position = 0")
        .execute(&env.pool)
        .await
        .expect("rewind relay");
    let skipped_before = events_skipped(&env.pool).await;
    let running = start(&env);
    eventually(
        "the relay to publish everything twice",
        Duration::from_secs(90),
        || async {
            let published: i64 = sqlx::query_scalar("SELECT published FROM relay_checkpoint")
                .fetch_one(&env.pool)
                .await
                .ok()?;
            (published >= relay_published + env.event_count().await).then_some(())
        },
    )
    .await;
    // Every pairing event arrives a second time and is recognised as already applied.
    eventually(
        "the projector to skip every redelivered event",
        Duration::from_secs(90),
        || async { (events_skipped(&env.pool).await >= skipped_before + total).then_some(()) },
    )
    .await;
    assert_eq!(events_applied(&env.pool).await, total);
    assert_eq!(all_pairings(&env.pool).await.expect("view"), live);

    // A replay from zero builds the same read model.
    running.shutdown.cancel();
    let _ = running.relay.await;
    let _ = running.projector.await;
    Projector::new(
        MatchesProjector,
        env.pool.clone(),
        projector_config(&env.settings),
    )
    .reset()
    .await
    .expect("reset");
    assert!(all_pairings(&env.pool).await.expect("view").is_empty());
    let running = start(&env);
    caught_up(&env).await;
    assert_eq!(all_pairings(&env.pool).await.expect("replayed view"), live);
    assert_eq!(events_applied(&env.pool).await, total);

    running.shutdown.cancel();
    let _ = running.relay.await;
    let _ = running.projector.await;
    env.cleanup().await;
}
