//! A broker that takes only authenticated clients, as a managed Kafka does: with the SASL
//! properties from the configuration, the relay publishes and a projector consumes through
//! it; without them, nothing gets through.

use std::collections::BTreeMap;
use std::time::Duration;

use api::consumer::Consumer;
use api::process::Parts;
use hirestream_bench::broker::{LocalBroker, SASL_USER};
use hirestream_tests::{eventually, published, Market, TestEnv};

fn sasl_properties(password: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("security.protocol".to_owned(), "SASL_PLAINTEXT".to_owned()),
        ("sasl.mechanism".to_owned(), "PLAIN".to_owned()),
        ("sasl.username".to_owned(), SASL_USER.0.to_owned()),
        ("sasl.password".to_owned(), password.to_owned()),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spine_runs_through_a_broker_that_requires_sasl() {
    let broker = LocalBroker::start_with_sasl().await.expect("a SASL broker");
    let mut env = TestEnv::new().await;
    env.settings.kafka.brokers = broker.brokers.clone();

    // A wrong password gets nothing published.
    env.settings.kafka.properties = sasl_properties("not the password");
    let refused = api::process::kafka_config(&env.settings)
        .ensure_topics(domain::AGGREGATE_TYPES)
        .await;
    assert!(refused.is_err(), "topics created with a wrong password");

    env.settings.kafka.properties = sasl_properties(SASL_USER.1);
    let app = env
        .start(Parts {
            api: true,
            relay: true,
            projectors: vec![Consumer::Jobs],
        })
        .await;
    let market = Market::open(&env, &app).await;
    eventually(
        "the relay to publish through the SASL listener",
        Duration::from_secs(60),
        || async { (published(&env.pool).await >= 3).then_some(()) },
    )
    .await;
    // And the jobs projector read it back through the same listener.
    let path = format!("/jobs/{}", market.job);
    let job = eventually("the job view", Duration::from_secs(60), || {
        let (app, employer, path) = (&app, &market.employer, &path);
        async move {
            let response = app.get(employer, path).await;
            (response.status == 200).then_some(response.body)
        }
    })
    .await;
    assert_eq!(job["title"], "Rust engineer", "{job}");

    app.stop().await;
    env.cleanup().await;
    drop(broker);
}
