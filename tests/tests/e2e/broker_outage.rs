use std::time::Duration;

use api::process::Parts;
use hirestream_tests::{
    append_counter_events, eventually, published, read_topic, LocalBroker, TestEnv,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_relay_waits_out_a_broker_outage_and_resumes_where_it_left_off() {
    let mut broker = LocalBroker::start().await.expect("broker");
    let mut env = TestEnv::new().await;
    env.settings.kafka.brokers = broker.brokers.clone();
    env.settings.kafka.message_timeout_ms = 2_000;
    let relay = env
        .start(Parts {
            relay: true,
            ..Parts::default()
        })
        .await;

    let mut conn = env.pool.acquire().await.expect("connection");
    append_counter_events(&mut conn, "counter-a", 1, 25).await;
    eventually(
        "the first events to be published",
        Duration::from_secs(60),
        || async { (published(&env.pool).await == 25).then_some(()) },
    )
    .await;

    broker.kill();
    append_counter_events(&mut conn, "counter-a", 26, 25).await;
    append_counter_events(&mut conn, "counter-b", 1, 10).await;
    // The relay notices the outage and records it, without moving its checkpoint.
    eventually(
        "the relay to record the outage",
        Duration::from_secs(60),
        || async {
            let failed: Option<String> =
                sqlx::query_scalar("SELECT last_error FROM relay_checkpoint")
                    .fetch_one(&env.pool)
                    .await
                    .ok()?;
            failed.map(|_| ())
        },
    )
    .await;
    assert_eq!(published(&env.pool).await, 25);

    broker.restart().await.expect("broker restart");
    eventually(
        "the relay to publish the rest",
        Duration::from_secs(90),
        || async { (published(&env.pool).await >= 60).then_some(()) },
    )
    .await;

    let topic = domain::published::topic(&env.settings.kafka.topic_prefix, "counter");
    let distinct = |messages: &[hirestream_tests::Received]| {
        let keys: std::collections::HashSet<_> = messages
            .iter()
            .map(|m| (m.key.clone(), m.value["sequence"].as_i64()))
            .collect();
        keys.len()
    };
    let messages = read_topic(&broker.brokers, &topic, Duration::from_secs(60), |m| {
        distinct(m) == 60
    })
    .await;
    for (aggregate, last) in [("counter-a", 50), ("counter-b", 10)] {
        let sequences: Vec<i64> = messages
            .iter()
            .filter(|m| m.key == aggregate)
            .map(|m| m.value["sequence"].as_i64().expect("sequence"))
            .collect();
        // Redelivered duplicates are allowed; gaps and reordering are not.
        let mut first_seen: Vec<i64> = Vec::new();
        for sequence in sequences {
            if !first_seen.contains(&sequence) {
                first_seen.push(sequence);
            }
        }
        assert_eq!(first_seen, (1..=last).collect::<Vec<_>>(), "{aggregate}");
    }

    drop(conn);
    relay.stop().await;
    env.cleanup().await;
}
