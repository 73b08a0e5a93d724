use std::collections::{HashMap, HashSet};
use std::time::Duration;

use api::process::Parts;
use hirestream_tests::TestEnv;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::ClientConfig;
use serde_json::json;

const WRITERS: usize = 8;
const AGGREGATES: usize = 200;
const EVENTS: usize = 4_000;
const PER_AGGREGATE: usize = EVENTS / AGGREGATES;

/// Appends the events of one writer's aggregates in small transactions that stay open for a
/// moment after inserting, so transactions commit out of position order: an event can become
/// visible after others with larger global positions were already published.
async fn write(pool: sqlx::PgPool, writer: usize) {
    let aggregates: Vec<String> = (writer..AGGREGATES)
        .step_by(WRITERS)
        .map(|a| format!("counter-{a:03}"))
        .collect();
    let mut next = vec![1usize; aggregates.len()];
    let mut round = 0usize;
    while next.iter().any(|&n| n <= PER_AGGREGATE) {
        round += 1;
        let mut tx = pool.begin().await.expect("begin");
        for (i, aggregate) in aggregates.iter().enumerate() {
            // Each transaction appends one to three events to a few of the aggregates.
            if (i + round) % 3 != 0 || next[i] > PER_AGGREGATE {
                continue;
            }
            let count = 1 + (i + round) % 3;
            for _ in 0..count.min(PER_AGGREGATE + 1 - next[i]) {
                sqlx::query(
                    "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type,
                                         event_version, payload, metadata)
                     VALUES ('counter', $1, $2, 'Incremented', '1.0', $3, '{}')",
                )
                .bind(aggregate)
                .bind(next[i] as i64)
                .bind(json!({"Incremented": {"n": next[i]}}))
                .execute(&mut *tx)
                .await
                .expect("insert event");
                next[i] += 1;
            }
        }
        // Hold the transaction open (its xid stays running) while others commit.
        sqlx::query("SELECT pg_sleep($1)")
            .bind(((writer * 7 + round * 3) % 5) as f64 / 1000.0)
            .execute(&mut *tx)
            .await
            .expect("hold");
        tx.commit().await.expect("commit");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_event_of_concurrent_writers_reaches_kafka_once_in_aggregate_order() {
    let env = TestEnv::new().await;
    let relay = env
        .start(Parts {
            relay: true,
            ..Parts::default()
        })
        .await;

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(write(env.pool.clone(), w)))
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }
    assert_eq!(env.event_count().await, EVENTS as i64);

    let topic = domain::published::topic(&env.settings.kafka.topic_prefix, "counter");
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &env.settings.kafka.brokers)
        .set("group.id", format!("{topic}.check"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    // Once the relay has published everything the topic exists, so subscribing finds it.
    hirestream_tests::eventually(
        "the relay to publish every event",
        Duration::from_secs(90),
        || async {
            let published: i64 =
                sqlx::query_scalar("SELECT COALESCE(max(published), 0) FROM relay_checkpoint")
                    .fetch_one(&env.pool)
                    .await
                    .ok()?;
            (published >= EVENTS as i64).then_some(())
        },
    )
    .await;
    consumer.subscribe(&[&topic]).expect("subscribe");

    let mut seen: HashMap<String, Vec<i64>> = HashMap::new();
    let mut distinct = HashSet::new();
    let mut headers_checked = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while distinct.len() < EVENTS {
        let message = tokio::time::timeout_at(deadline, consumer.recv())
            .await
            .unwrap_or_else(|_| panic!("only {} of {EVENTS} events reached Kafka", distinct.len()))
            .expect("message");
        let key = String::from_utf8(message.key().expect("key").to_vec()).expect("utf-8 key");
        let value: serde_json::Value =
            serde_json::from_slice(message.payload().expect("value")).expect("json value");
        let sequence = value["sequence"].as_i64().expect("sequence");
        assert_eq!(value["aggregate_id"], key.as_str());
        if !headers_checked {
            let headers = message.headers().expect("headers");
            let names: HashSet<&str> = headers.iter().map(|h| h.key).collect();
            for name in [
                "ce_id",
                "ce_type",
                "ce_source",
                "ce_subject",
                "ce_time",
                "ce_specversion",
                "hirestream_sequence",
                "hirestream_global_position",
            ] {
                assert!(names.contains(name), "header {name} missing: {names:?}");
            }
            headers_checked = true;
        }
        distinct.insert((key.clone(), sequence));
        seen.entry(key).or_default().push(sequence);
    }

    assert_eq!(seen.len(), AGGREGATES);
    for (aggregate, sequences) in &seen {
        let expected: Vec<i64> = (1..=PER_AGGREGATE as i64).collect();
        assert_eq!(
            sequences, &expected,
            "{aggregate} arrived out of order, with gaps or twice"
        );
    }
    let published: i64 = sqlx::query_scalar("SELECT published FROM relay_checkpoint")
        .fetch_one(&env.pool)
        .await
        .expect("checkpoint");
    assert_eq!(published, EVENTS as i64);

    relay.stop().await;
    env.cleanup().await;
}
