//! The frontend in real time: notifications pushed over Server-Sent Events to both sides of a
//! match and resumed with `Last-Event-ID`, and the conversation of a match, closed by an
//! unmatch.

use std::collections::VecDeque;
use std::time::Duration;

use api::consumer::Consumer;
use api::process::Parts;
use domain::pairing::{pairing_id, Decision};
use domain::Role;
use hirestream_tests::client::text;
use hirestream_tests::{eventually, Market, RunningApp, TestEnv, User};
use serde_json::{json, Value};
use uuid::Uuid;

const DEADLINE: Duration = Duration::from_secs(30);

fn parts() -> Parts {
    Parts {
        api: true,
        relay: true,
        projectors: vec![
            Consumer::Matches,
            Consumer::Conversations,
            Consumer::Notifications,
        ],
    }
}

/// One server-sent event.
#[derive(Debug, Clone)]
struct Received {
    id: i64,
    event: String,
    data: Value,
}

/// A client of `/notifications/stream`, reading events as they come.
struct Stream {
    response: reqwest::Response,
    buffer: String,
    events: VecDeque<Received>,
}

impl Stream {
    async fn open(app: &RunningApp, user: &User, last_event_id: Option<i64>) -> Self {
        let mut request = app
            .client
            .get(app.url("/notifications/stream"))
            .bearer_auth(&user.token);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = tokio::time::timeout(DEADLINE, request.send())
            .await
            .expect("the stream's headers before the deadline")
            .expect("stream opened");
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().ok(),
            Some("text/event-stream")
        );
        Self {
            response,
            buffer: String::new(),
            events: VecDeque::new(),
        }
    }

    /// The next event (heartbeats skipped), or a panic after the deadline.
    async fn next(&mut self) -> Received {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            if let Some(event) = self.events.pop_front() {
                return event;
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .expect("an event before the deadline")
                .expect("stream readable")
                .expect("stream still open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if let Some(id) = id {
                    let data = serde_json::from_str(&data).expect("json data");
                    self.events.push_back(Received { id, event, data });
                }
            }
        }
    }
}

/// The market's candidate and employer like each other.
async fn matched(app: &RunningApp, market: &Market) -> Uuid {
    app.swipe(&market.candidate, &market.job, Decision::Like)
        .await
        .expect(200);
    app.swipe_candidate(
        &market.employer,
        &market.job,
        market.candidate.id,
        Decision::Like,
    )
    .await
    .expect(200);
    pairing_id(market.candidate.id, market.job.parse().expect("job id"))
}

async fn post(
    app: &RunningApp,
    user: &User,
    pairing: Uuid,
    id: Uuid,
    text: &str,
) -> hirestream_tests::Response {
    app.post(
        user,
        &format!("/matches/{pairing}/messages"),
        json!({"message_id": id, "text": text}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn both_sides_of_a_match_are_notified_live_and_a_reconnecting_client_misses_nothing() {
    let env = TestEnv::new().await;
    let app = env.start(parts()).await;
    let market = Market::open(&env, &app).await;
    let mut candidate = Stream::open(&app, &market.candidate, None).await;
    let mut employer = Stream::open(&app, &market.employer, None).await;

    let pairing = matched(&app, &market).await;
    for stream in [&mut candidate, &mut employer] {
        let event = stream.next().await;
        assert_eq!(event.event, "match.created");
        assert_eq!(event.data["data"]["pairing_id"], pairing.to_string());
    }

    // The candidate goes away; two messages arrive meanwhile.
    let last_seen = {
        post(&app, &market.employer, pairing, Uuid::new_v4(), "Hello Ada")
            .await
            .expect(201);
        let event = candidate.next().await;
        assert_eq!(event.event, "message.received");
        assert_eq!(event.data["data"]["number"], 1);
        event.id
    };
    drop(candidate);
    for n in 2..=3 {
        post(
            &app,
            &market.employer,
            pairing,
            Uuid::new_v4(),
            &format!("Message {n}"),
        )
        .await
        .expect(201);
    }
    eventually("the two notifications", DEADLINE, || async {
        let page = app
            .get(&market.candidate, "/notifications")
            .await
            .expect_ok();
        (page["notifications"].as_array().map(Vec::len) == Some(4)).then_some(())
    })
    .await;

    // Reconnecting with the last id seen: exactly what was missed, in order, then live.
    let mut candidate = Stream::open(&app, &market.candidate, Some(last_seen)).await;
    let missed = [candidate.next().await, candidate.next().await];
    let numbers: Vec<&Value> = missed.iter().map(|e| &e.data["data"]["number"]).collect();
    assert_eq!(numbers, [&json!(2), &json!(3)]);
    assert!(missed[0].id > last_seen && missed[1].id > missed[0].id);
    post(&app, &market.employer, pairing, Uuid::new_v4(), "Message 4")
        .await
        .expect(201);
    let live = candidate.next().await;
    assert_eq!(live.data["data"]["number"], 4, "nothing twice: {live:?}");

    // The list and the read marks.
    let page = app
        .get(&market.candidate, "/notifications?unread=true")
        .await
        .expect_ok();
    assert_eq!(page["unread"], 5);
    let newest = live.id;
    let marked = app
        .post(
            &market.candidate,
            "/notifications/read",
            json!({"up_to": newest}),
        )
        .await
        .expect_ok();
    assert_eq!(
        (marked["marked"].clone(), marked["unread"].clone()),
        (json!(5), json!(0))
    );
    // The employer's notifications are its own.
    let theirs = app
        .get(&market.employer, "/notifications")
        .await
        .expect_ok();
    let kinds: Vec<&str> = theirs["notifications"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|n| n["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["match.created"]);
    app.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_the_two_parties_talk_and_nobody_after_an_unmatch() {
    let env = TestEnv::new().await;
    let app = env.start(parts()).await;
    let market = Market::open(&env, &app).await;
    let job: Uuid = market.job.parse().expect("job id");
    let pairing = pairing_id(market.candidate.id, job);

    // No conversation before the match.
    post(&app, &market.candidate, pairing, Uuid::new_v4(), "Hi")
        .await
        .expect_error(409, "not_matched");
    matched(&app, &market).await;

    let first = Uuid::new_v4();
    let posted = post(
        &app,
        &market.candidate,
        pairing,
        first,
        "Hi, I'm interested",
    )
    .await
    .expect(201);
    let events = env.event_count().await;
    // A retry changes nothing; the same id with other words is refused.
    post(
        &app,
        &market.candidate,
        pairing,
        first,
        "Hi, I'm interested",
    )
    .await
    .expect(201);
    post(&app, &market.candidate, pairing, first, "Something else")
        .await
        .expect_error(409, "idempotency_key_reused");
    assert_eq!(env.event_count().await, events);

    // Nobody else: another candidate, another employer, an admin, an auditor.
    let stranger = env.user(Role::Employer);
    app.register_employer(&stranger, "Other Corp")
        .await
        .expect(201);
    let events = env.event_count().await;
    for outsider in [
        env.user(Role::Candidate),
        stranger,
        env.user(Role::Admin),
        env.user(Role::Auditor),
    ] {
        post(&app, &outsider, pairing, Uuid::new_v4(), "Let me in")
            .await
            .expect_error(403, "forbidden");
        if matches!(outsider.role, Role::Candidate | Role::Employer) {
            app.get(&outsider, &format!("/matches/{pairing}/messages"))
                .await
                .expect_error(403, "forbidden");
        }
    }
    let too_long = "x".repeat(4_001);
    post(&app, &market.employer, pairing, Uuid::new_v4(), &too_long)
        .await
        .expect_error(422, "invalid_fields");
    assert_eq!(env.event_count().await, events);

    post(
        &app,
        &market.employer,
        pairing,
        Uuid::new_v4(),
        "Great, let's talk",
    )
    .await
    .expect(201);
    let read = app
        .post(
            &market.candidate,
            &format!("/matches/{pairing}/read"),
            json!({"up_to": 2}),
        )
        .await
        .expect_ok();
    let page = app
        .get_after(
            &market.employer,
            &format!("/matches/{pairing}/messages"),
            &text(&read, "position"),
        )
        .await
        .expect_ok();
    let texts: Vec<&str> = page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(texts, ["Hi, I'm interested", "Great, let's talk"]);
    assert_eq!(page["conversation"]["read_by_candidate"], 2);
    assert!(!text(&posted, "position").is_empty());

    // The employer ends it: nobody posts any more, and the match leaves both lists.
    let ended = app
        .post(
            &market.employer,
            &format!("/matches/{pairing}/unmatch"),
            json!({}),
        )
        .await
        .expect_ok();
    let events = env.event_count().await;
    for party in [&market.candidate, &market.employer] {
        post(&app, party, pairing, Uuid::new_v4(), "Still there?")
            .await
            .expect_error(409, "unmatched");
    }
    assert_eq!(env.event_count().await, events);
    let position = text(&ended, "position");
    let mine = app
        .get_after(&market.candidate, "/matches", &position)
        .await
        .expect_ok();
    assert_eq!(mine["matches"], json!([]), "{mine}");
    let theirs = app
        .get_after(&market.employer, &format!("/jobs/{job}/matches"), &position)
        .await
        .expect_ok();
    assert_eq!(theirs["matches"], json!([]), "{theirs}");
    let page = app
        .get_after(
            &market.candidate,
            &format!("/matches/{pairing}/messages"),
            &position,
        )
        .await
        .expect_ok();
    assert!(page["conversation"]["closed_at"].is_string(), "{page}");
    // The stream-side: the candidate was told.
    eventually("the candidate told of the end", DEADLINE, || async {
        let page = app
            .get(&market.candidate, "/notifications")
            .await
            .expect_ok();
        page["notifications"]
            .as_array()
            .is_some_and(|n| n.iter().any(|n| n["kind"] == "match.ended"))
            .then_some(())
    })
    .await;
    app.stop().await;
    env.cleanup().await;
}
