use std::collections::{HashMap, HashSet};
use std::time::Duration;

use api::process::Parts;
use hirestream_tests::{append_counter_events, eventually, published, read_topic, TestEnv};

const WRITERS: usize = 8;
const AGGREGATES: usize = 200;
const EVENTS: usize = 4_000;
const PER_AGGREGATE: i64 = (EVENTS / AGGREGATES) as i64;

/// Appends the events of one writer's aggregates in small transactions that stay open for a
/// moment after inserting, so transactions commit out of position order: an event becomes
/// visible after others with larger global positions may already have been published.
async fn write(pool: sqlx::PgPool, writer: usize) {
    let aggregates: Vec<String> = (writer..AGGREGATES)
        .step_by(WRITERS)
        .map(|a| format!("counter-{a:03}"))
        .collect();
    let mut next = vec![1i64; aggregates.len()];
    let mut round = 0usize;
    while next.iter().any(|&n| n <= PER_AGGREGATE) {
        round += 1;
        let mut tx = pool.begin().await.expect("begin");
        for (i, aggregate) in aggregates.iter().enumerate() {
            // Each transaction appends one to three events to a third of the aggregates.
            if !(i + round).is_multiple_of(3) || next[i] > PER_AGGREGATE {
                continue;
            }
            let count = (1 + (i + round) as i64 % 3).min(PER_AGGREGATE + 1 - next[i]);
            append_counter_events(&mut tx, aggregate, next[i], count).await;
            next[i] += count;
        }
        // Keep the transaction (and its id) running while other writers commit.
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
    eventually(
        "the relay to publish every event",
        Duration::from_secs(90),
        || async { (published(&env.pool).await >= EVENTS as i64).then_some(()) },
    )
    .await;
    assert_eq!(published(&env.pool).await, EVENTS as i64);

    let topic = domain::published::topic(&env.settings.kafka.topic_prefix, "counter");
    let messages = read_topic(
        &env.settings.kafka.brokers,
        &topic,
        Duration::from_secs(90),
        |m| m.len() >= EVENTS,
    )
    .await;

    let mut per_aggregate: HashMap<&str, Vec<i64>> = HashMap::new();
    for message in &messages {
        assert_eq!(message.value["aggregate_id"], message.key.as_str());
        let sequence = message.value["sequence"].as_i64().expect("sequence");
        per_aggregate
            .entry(&message.key)
            .or_default()
            .push(sequence);
    }
    assert_eq!(per_aggregate.len(), AGGREGATES);
    let expected: Vec<i64> = (1..=PER_AGGREGATE).collect();
    for (aggregate, sequences) in &per_aggregate {
        assert_eq!(
            sequences, &expected,
            "{aggregate}: out of order, missing or repeated"
        );
    }

    let names: HashSet<&str> = messages[0]
        .headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
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

    relay.stop().await;
    env.cleanup().await;
}

/// A transaction that has an id, held open.
async fn running(
    pool: &sqlx::PgPool,
    projecting: bool,
) -> (sqlx::Transaction<'static, sqlx::Postgres>, i64) {
    let mut tx = pool.begin().await.expect("begin");
    if projecting {
        sqlx::query(commands::relay::MARK_PROJECTING)
            .execute(&mut *tx)
            .await
            .expect("mark");
    }
    let id: i64 = sqlx::query_scalar("SELECT txid_current()")
        .fetch_one(&mut *tx)
        .await
        .expect("an id");
    (tx, id)
}

async fn horizon(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("SELECT event_horizon()::text::bigint")
        .fetch_one(pool)
        .await
        .expect("horizon")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projectors_long_transaction_does_not_hold_publication_back_and_an_appenders_does() {
    let env = TestEnv::new().await;
    let relay = env
        .start(Parts {
            relay: true,
            ..Parts::default()
        })
        .await;

    // A projector's batch, open with an id: an event committed after it is still published.
    let (projecting, projector_id) = running(&env.pool, true).await;
    let mut tx = env.pool.begin().await.expect("begin");
    append_counter_events(&mut tx, "counter-horizon", 1, 1).await;
    tx.commit().await.expect("commit");
    assert!(horizon(&env.pool).await > projector_id);
    eventually(
        "the event appended beside a running projector batch to be published",
        Duration::from_secs(30),
        || async { (published(&env.pool).await >= 1).then_some(()) },
    )
    .await;
    // And it may not append events itself.
    let mut marked = projecting;
    let refused = sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, \
         payload, metadata) VALUES ('counter', 'counter-horizon', 99, 'Counted', '1.0', '{}', '{}')",
    )
    .execute(&mut *marked)
    .await
    .expect_err("a projector's transaction appends nothing");
    assert!(refused.to_string().contains("may not append"), "{refused}");
    marked.rollback().await.expect("rollback");

    // Any other transaction with an id may still append below what came after it: the horizon
    // stays at it until it ends.
    let (other, other_id) = running(&env.pool, false).await;
    let mut tx = env.pool.begin().await.expect("begin");
    append_counter_events(&mut tx, "counter-horizon", 2, 1).await;
    tx.commit().await.expect("commit");
    assert!(horizon(&env.pool).await <= other_id);
    other.commit().await.expect("commit");
    eventually(
        "the event appended beside an ordinary transaction to be published once it ended",
        Duration::from_secs(30),
        || async { (published(&env.pool).await >= 2).then_some(()) },
    )
    .await;

    relay.stop().await;
    env.cleanup().await;
}
