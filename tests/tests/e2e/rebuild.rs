use std::sync::Arc;
use std::time::Duration;

use api::process::{projector_config, relay_config};
use commands::relay::Relay;
use commands::CommandService;
use hirestream_tests::{eventually, TestEnv};
use projections::matches::{all_pairings, MatchesProjector};
use projections::Projector;
use tokio_util::sync::CancellationToken;

use hirestream_tests::fixtures::swipes::{
    caught_up, events_applied, market, pairing_events, projected, swipe_everything, CANDIDATES,
};

fn matches_projector(env: &TestEnv) -> Projector<MatchesProjector> {
    Projector::new(
        MatchesProjector,
        env.pool.clone(),
        projector_config(&env.settings),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rebuild_from_the_store_while_commands_arrive_equals_a_replay_from_zero() {
    let env = TestEnv::new().await;
    api::process::kafka_config(&env.settings)
        .ensure_topics(domain::AGGREGATE_TYPES)
        .await
        .expect("topics");
    let service = Arc::new(CommandService::new(
        env.pool.clone(),
        5,
        commands::privacy::MasterKeys::development(),
    ));
    let (employer, jobs, candidates) = market(&service).await;
    let (first_half, second_half) = candidates.split_at(CANDIDATES / 2);

    let shutdown = CancellationToken::new();
    let relay = tokio::spawn(
        Relay::new(env.pool.clone(), relay_config(&env.settings)).run(shutdown.clone()),
    );
    swipe_everything(&service, employer, &jobs, first_half).await;
    // The events of the first half are in Kafka before the rebuild starts.
    let first_events = pairing_events(&env.pool).await;
    eventually(
        "the relay to publish the first half",
        Duration::from_secs(60),
        || async {
            (hirestream_tests::published(&env.pool).await >= env.event_count().await).then_some(())
        },
    )
    .await;

    // The second half is written while the projection is rebuilt from the store.
    let writer = {
        let (service, jobs, second_half) = (service.clone(), jobs.clone(), second_half.to_vec());
        tokio::spawn(async move { swipe_everything(&service, employer, &jobs, &second_half).await })
    };
    let rebuilt = matches_projector(&env)
        .rebuild_from_store(|_| {})
        .await
        .expect("rebuild from the store");
    assert!(rebuilt.read >= first_events as u64);

    // Then the projector goes on from the offsets the rebuild handed over.
    let live_run = {
        let (projector, token) = (matches_projector(&env), shutdown.clone());
        tokio::spawn(async move { projector.run(token).await.expect("projector") })
    };
    writer.await.expect("writer");
    caught_up(&env).await;
    let total = pairing_events(&env.pool).await;
    assert_eq!(
        events_applied(&env.pool).await,
        total,
        "each event applied once"
    );
    let live = all_pairings(&env.pool).await.expect("live view");
    assert_eq!(live.len(), CANDIDATES * jobs.len());

    // A replay of the topics from zero builds the same read model.
    shutdown.cancel();
    live_run.await.expect("projector stopped");
    let replayed = matches_projector(&env)
        .rebuild_from_kafka(&CancellationToken::new(), |_| {})
        .await
        .expect("replay from kafka");
    assert_eq!(replayed.read, total as u64);
    assert_eq!(projected(&env.pool).await, total);
    assert_eq!(events_applied(&env.pool).await, total);
    assert_eq!(all_pairings(&env.pool).await.expect("replayed view"), live);

    relay.await.expect("relay stopped");
    env.cleanup().await;
}
