//! Notifications end to end through the real server and the test push
//! service (`helpers/push.rs`): a thousand notices through a push service
//! that answers a fifth of the time with a fault, an approval reaching the
//! partner's device and inbox, a device that is gone, preferences, and the
//! subscription API's refusals.
//!
//! `cargo xtask bench-push` runs the first two with their figures printed.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use serde_json::json;
use sync_server::notifications::outbox::{self, Notice};
use wire::NotificationKind;

use crate::helpers::*;

/// The server, sending to the test push service on loopback; a stalled
/// request is given up after a second (ten in production), so a test's
/// stalls cost seconds, not minutes.
async fn server_for_push(db: &TestDb) -> TestServer {
    TestServer::start_with_args(
        &db.url,
        &["--push-hosts", "127.0.0.1", "--push-timeout-ms", "1000"],
    )
    .await
}

async fn subscribe(server: &TestServer, token: &str, subscription: serde_json::Value) {
    let (status, body) = api(
        server,
        token,
        "POST",
        "/api/push/subscriptions",
        Some(subscription),
    )
    .await;
    assert_eq!(status, 204, "{body}");
}

async fn expect_server_key(server: &TestServer, service: &PushService) {
    let (status, key) = api(server, "", "GET", "/api/push/key", None).await;
    assert_eq!(status, 200, "{key}");
    service.expect_key(key["public_key"].as_str().unwrap());
}

/// The 50th and 99th percentiles of `xs`, in ms.
fn percentiles(mut xs: Vec<Duration>) -> (u128, u128, u128) {
    xs.sort();
    let at =
        |q: f64| xs[((xs.len() as f64 * q).ceil() as usize).clamp(1, xs.len()) - 1].as_millis();
    (at(0.5), at(0.99), xs.last().unwrap().as_millis())
}

/// The first arrival of each notice id.
fn first_arrivals(received: &[Received]) -> HashMap<i64, Instant> {
    let mut first: HashMap<i64, Instant> = HashMap::new();
    for r in received {
        let id = r.message["id"].as_i64().unwrap();
        first
            .entry(id)
            .and_modify(|at| *at = (*at).min(r.at))
            .or_insert(r.at);
    }
    first
}

#[tokio::test]
async fn a_thousand_notices_arrive_through_a_push_service_that_fails_a_fifth_of_the_time() {
    const NOTICES: usize = 1_000;
    let db = TestDb::new().await;
    let server = server_for_push(&db).await;
    let service = PushService::start(0.2).await;
    expect_server_key(&server, &service).await;
    let accounts = ["a-ben", "a-cleo", "a-ana"];
    for account in accounts {
        let token = session_for(&db.url, account).await;
        subscribe(&server, &token, service.device(account)).await;
    }

    let pool = db.pool().await;
    let mut tx = pool.begin().await.unwrap();
    let mut ids = Vec::with_capacity(NOTICES);
    for i in 0..NOTICES {
        let id = outbox::enqueue(
            &mut tx,
            &Notice {
                account_id: accounts[i % accounts.len()].to_owned(),
                kind: NotificationKind::CommissionAvailable,
                dedupe_key: format!("bench:{i}"),
                title: format!("Commission available: {i}.00 USD"),
                body: "A line's hold ended.".to_owned(),
                screen: "#earnings".to_owned(),
                topic: None,
            },
        )
        .await
        .unwrap()
        .expect("a new dedupe key");
        ids.push(id);
    }
    tx.commit().await.unwrap();
    let committed = Instant::now();

    let deadline = committed + Duration::from_secs(60);
    while Instant::now() < deadline && first_arrivals(&service.received()).len() < NOTICES {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let received = service.received();
    let first = first_arrivals(&received);
    let in_time = first
        .values()
        .filter(|at| at.duration_since(committed) <= Duration::from_secs(60))
        .count();
    let answers = service.answers();
    assert!(
        answers.refused.is_empty(),
        "messages a push service would refuse: {:?}",
        answers.refused
    );
    assert!(
        first.keys().all(|id| ids.contains(id)),
        "only the notices written arrive"
    );
    // Each device got each of its notices, and nobody else's.
    for r in &received {
        let id = r.message["id"].as_i64().unwrap();
        let index = ids.iter().position(|i| *i == id).unwrap();
        assert_eq!(r.device, accounts[index % accounts.len()]);
        assert_eq!(r.message["screen"], "#earnings");
        assert_eq!(r.message["web_push"], 8030);
    }
    let (p50, p99, max) = percentiles(
        first
            .values()
            .map(|at| at.duration_since(committed))
            .collect(),
    );
    let attempts: i64 =
        sqlx::query_scalar("SELECT coalesce(sum(attempts), 0)::bigint FROM push_deliveries")
            .fetch_one(&pool)
            .await
            .unwrap();
    println!(
        "push under faults: {in_time} of {NOTICES} notices arrived within 60 s ({:.1}%), each once \
         after de-duplication by id ({} messages taken, {} duplicates); from commit to arrival \
         median {p50} ms, 99th percentile {p99} ms, last {max} ms; {attempts} attempts; injected \
         {} 429s, {} 500s, {} stalls",
        in_time as f64 * 100.0 / NOTICES as f64,
        received.len(),
        received.len() - first.len(),
        answers.too_many,
        answers.failed,
        answers.stalled,
    );
    assert!(
        in_time * 100 >= NOTICES * 99,
        "at least 99% within 60 s: {in_time} of {NOTICES}"
    );
    assert!(
        answers.too_many + answers.failed + answers.stalled > 0,
        "faults were injected"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_approval_reaches_the_partner_s_device_and_inbox() {
    const DEALS: usize = 40;
    let db = TestDb::new().await;
    let server = server_for_push(&db).await;
    let service = PushService::start(0.0).await;
    expect_server_key(&server, &service).await;
    let ben = session_for(&db.url, "a-ben").await;
    let admin = session_for(&db.url, "a-admin").await;
    subscribe(&server, &ben, service.device("ben-phone")).await;
    // A second device that its push service has since forgotten.
    subscribe(&server, &ben, service.device("ben-old-phone")).await;
    service.forget("ben-old-phone");

    // Deals waiting for a decision, as the projection files them (once it
    // has projected Ben's pipeline at start, which withdraws the deals of
    // leads that are not won).
    let pool = db.pool().await;
    wait_for_rows_of(&pool, "p-ben").await;
    let doc_id = pipeline_doc(&pool, "p-ben").await;
    let mut deals = Vec::new();
    for i in 0..DEALS {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO deals (partner_id, lead_id, doc_id, amount_minor, currency, status)
             VALUES ('p-ben', $1, $2, 150000, 'USD', 'submitted') RETURNING id",
        )
        .bind(format!("bench-{i}"))
        .bind(&doc_id)
        .fetch_one(&pool)
        .await
        .unwrap();
        deals.push(id);
    }

    let mut latencies = Vec::new();
    for (i, deal) in deals.iter().enumerate() {
        let asked = Instant::now();
        let (status, body) = approve(&server, &admin, *deal).await;
        assert_eq!(status, 200, "{body}");
        let arrived = wait_for(
            "the approval's push message",
            Duration::from_secs(10),
            || {
                let received = service.received();
                async move {
                    received.into_iter().find(|r| {
                        r.device == "ben-phone" && r.message["screen"] == format!("#lead-bench-{i}")
                    })
                }
            },
        )
        .await;
        latencies.push(arrived.at.duration_since(asked));
        assert_eq!(arrived.message["kind"], "deal_approved");
        assert_eq!(
            arrived.message["notification"]["title"],
            format!("Deal approved: lead bench-{i}")
        );
        // What the base line of the approval's answer says it earns.
        let earned = body["lines"][0]["amount_minor"].as_i64().unwrap();
        assert_eq!(
            arrived.message["notification"]["body"],
            format!(
                "You earn {}.{:02} USD on this deal of 1,500.00 USD.",
                earned / 100,
                earned % 100
            )
        );
        assert_eq!(arrived.urgency.as_deref(), Some("normal"));
        assert_eq!(arrived.topic, Some(format!("deal-{deal}")));
        assert!(arrived.ttl > 0 && arrived.ttl <= 3 * 24 * 3600);
    }
    let (p50, p99, max) = percentiles(latencies);
    println!(
        "approval to the partner's device: median {p50} ms, 99th percentile {p99} ms, \
         slowest {max} ms, over {DEALS} approvals"
    );

    // The forgotten device was dropped at its first 410, by endpoint.
    let endpoints: Vec<String> =
        sqlx::query_scalar("SELECT endpoint FROM push_subscriptions WHERE account_id = 'a-ben'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(endpoints.len(), 1, "{endpoints:?}");
    assert!(endpoints[0].ends_with("/push/ben-phone"));
    assert_eq!(
        service.answers().gone,
        1,
        "one 410, then nothing more to it"
    );

    // Ben's inbox document has them, newest first, whatever push did.
    let inbox = wait_for(
        "Ben's inbox to hold every approval",
        Duration::from_secs(10),
        || {
            let pool = pool.clone();
            async move {
                let doc: Option<String> = sqlx::query_scalar(
                    "SELECT doc_id FROM documents WHERE kind = 'inbox' AND owner_id = 'p-ben'",
                )
                .fetch_optional(&pool)
                .await
                .unwrap();
                let inbox = model::InboxDoc::read(&stored(&pool, &doc?).await).ok()?;
                (inbox.notices.len() == DEALS).then_some(inbox)
            }
        },
    )
    .await;
    assert_eq!(
        inbox.notices[0].screen,
        format!("#lead-bench-{}", DEALS - 1)
    );
    assert_eq!(inbox.notices[0].kind, "deal_approved");

    // Ben turns money notices off for push: a payout reaches his inbox,
    // and no device.
    let (status, prefs) = api(
        &server,
        &ben,
        "PUT",
        "/api/me/notification-preferences",
        Some(json!({ "categories": [{ "category": "money", "push": false }] })),
    )
    .await;
    assert_eq!(status, 200, "{prefs}");
    assert_eq!(
        prefs["categories"],
        json!([
            { "category": "deals", "push": true },
            { "category": "money", "push": false },
            { "category": "reminders", "push": true },
            { "category": "training", "push": true },
            { "category": "chat", "push": true }
        ])
    );
    let mut tx = pool.begin().await.unwrap();
    let paid = outbox::enqueue(
        &mut tx,
        &Notice {
            account_id: "a-ben".to_owned(),
            kind: NotificationKind::PayoutMade,
            dedupe_key: "statement:test".to_owned(),
            title: "Payout made: 300.00 USD".to_owned(),
            body: String::new(),
            screen: "#earnings".to_owned(),
            topic: None,
        },
    )
    .await
    .unwrap()
    .unwrap();
    // The same event again notifies nobody twice.
    let again = outbox::enqueue(
        &mut tx,
        &Notice {
            account_id: "a-ben".to_owned(),
            kind: NotificationKind::PayoutMade,
            dedupe_key: "statement:test".to_owned(),
            title: "Payout made: 300.00 USD".to_owned(),
            body: String::new(),
            screen: "#earnings".to_owned(),
            topic: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(again, None);
    tx.commit().await.unwrap();
    let deliveries: i64 =
        sqlx::query_scalar("SELECT count(*) FROM push_deliveries WHERE notification_id = $1")
            .bind(paid)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(deliveries, 0, "money is not pushed to Ben any more");
    wait_for("the payout in Ben's inbox", Duration::from_secs(10), || {
        let pool = pool.clone();
        async move {
            let in_app: Option<chrono::DateTime<chrono::Utc>> =
                sqlx::query_scalar("SELECT in_app_at FROM notifications WHERE id = $1")
                    .bind(paid)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            in_app
        }
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_follow_up_due_is_pushed_once() {
    let db = TestDb::new().await;
    let server = server_for_push(&db).await;
    let service = PushService::start(0.0).await;
    expect_server_key(&server, &service).await;
    let ben = session_for(&db.url, "a-ben").await;
    subscribe(&server, &ben, service.device("ben-phone")).await;
    let pool = db.pool().await;
    // A follow-up on Ben's lead, due now (as the projection writes it).
    wait_for_rows_of(&pool, "p-ben").await;
    sqlx::query(
        "UPDATE leads SET follow_up_at = now(), follow_up_note = 'Call about the pilot'
         WHERE partner_id = 'p-ben' AND lead_id = 'ben-2'",
    )
    .execute(&pool)
    .await
    .unwrap();
    let arrived = wait_for(
        "the reminder's push message",
        Duration::from_secs(30),
        || {
            let received = service.received();
            async move {
                received
                    .into_iter()
                    .find(|r| r.message["kind"] == "follow_up_due")
            }
        },
    )
    .await;
    assert_eq!(
        arrived.message["notification"]["title"],
        "Follow up: Sam Reed (Reed & Co)"
    );
    assert_eq!(
        arrived.message["notification"]["body"],
        "Call about the pilot"
    );
    assert_eq!(arrived.message["screen"], "#lead-ben-2");
    assert_eq!(arrived.urgency.as_deref(), Some("high"));
    // One TTL, the reminder's own (six hours from when it was made).
    assert!(
        (6 * 3600 - 120..=6 * 3600).contains(&arrived.ttl),
        "TTL {}",
        arrived.ttl
    );
    // Seen again by the next sweep: still one notice.
    sync_server::pipeline::reminders::remind(&pool, chrono::Utc::now())
        .await
        .unwrap();
    let notices: i64 =
        sqlx::query_scalar("SELECT count(*) FROM notifications WHERE kind = 'follow_up_due'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(notices, 1);

    // The phone is signed in as Cleo now: Ben's next reminder is not
    // pushed to it (it reaches Ben's inbox; no device of his is left).
    let cleo = session_for(&db.url, "a-cleo").await;
    subscribe(&server, &cleo, service.device_again("ben-phone")).await;
    sqlx::query(
        "UPDATE leads SET follow_up_at = now(), follow_up_note = 'Second call'
         WHERE partner_id = 'p-ben' AND lead_id = 'ben-2'",
    )
    .execute(&pool)
    .await
    .unwrap();
    sync_server::pipeline::reminders::remind(&pool, chrono::Utc::now())
        .await
        .unwrap();
    // In Ben's inbox, and no delivery to any device: he has none left.
    let second: i64 = wait_for(
        "Ben's second reminder in his inbox",
        Duration::from_secs(30),
        || {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar(
                "SELECT id FROM notifications WHERE body = 'Second call' AND in_app_at IS NOT NULL",
            )
            .fetch_optional(&pool)
            .await
            .unwrap()
            }
        },
    )
    .await;
    let deliveries: i64 =
        sqlx::query_scalar("SELECT count(*) FROM push_deliveries WHERE notification_id = $1")
            .bind(second)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(deliveries, 0);
    assert!(
        service
            .received()
            .iter()
            .all(|r| r.message["notification"]["body"] != "Second call"),
        "nothing of Ben's reached Cleo"
    );
    server.stop().await;
}

/// Waits until the projection has written a partner's lead rows.
async fn wait_for_rows_of(pool: &sqlx::PgPool, partner: &str) {
    wait_for(
        "the partner's leads to be projected",
        Duration::from_secs(10),
        || {
            let pool = pool.clone();
            let partner = partner.to_owned();
            async move {
                let n: i64 = sqlx::query_scalar("SELECT count(*) FROM leads WHERE partner_id = $1")
                    .bind(&partner)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                (n > 0).then_some(())
            }
        },
    )
    .await;
}

#[tokio::test]
async fn a_subscription_must_be_a_push_service_s_and_a_device_s_keys() {
    let db = TestDb::new().await;
    let server = server_for_push(&db).await;
    let service = PushService::start(0.0).await;
    let ben = session_for(&db.url, "a-ben").await;
    let cleo = session_for(&db.url, "a-cleo").await;
    let good = service.device("ben-phone");
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut s = good.clone();
        f(&mut s);
        s
    };
    let hostile = [
        with(&|s| s["endpoint"] = json!("http://10.1.2.3/push/x")),
        with(&|s| s["endpoint"] = json!("https://evil.example/push/x")),
        with(&|s| s["endpoint"] = json!("http://127.0.0.1.evil.example/push")),
        with(&|s| s["endpoint"] = json!(format!("http://127.0.0.1/{}", "a".repeat(3000)))),
        with(&|s| s["endpoint"] = json!("file:///etc/passwd")),
        with(&|s| s["keys"]["p256dh"] = json!("not base64 !")),
        with(&|s| s["keys"]["p256dh"] = json!("BAAA")),
        with(&|s| s["keys"]["auth"] = json!("AAAA")),
        with(&|s| s["keys"]["extra"] = json!("x")),
        with(&|s| s["keys"] = json!(null)),
        json!({ "endpoint": 7 }),
    ];
    for body in hostile {
        let (status, answer) = api(
            &server,
            &ben,
            "POST",
            "/api/push/subscriptions",
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 400, "{body} → {answer}");
    }
    let huge = json!({ "endpoint": "x".repeat(20_000), "keys": { "p256dh": "", "auth": "" } });
    let (status, _) = api(&server, &ben, "POST", "/api/push/subscriptions", Some(huge)).await;
    assert_eq!(status, 413);
    let (status, _) = api(
        &server,
        "",
        "POST",
        "/api/push/subscriptions",
        Some(good.clone()),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = api(
        &server,
        &ben,
        "PUT",
        "/api/me/notification-preferences",
        Some(json!({ "categories": [{ "category": "gossip", "push": false }] })),
    )
    .await;
    assert_eq!(status, 400);
    let same = json!({ "category": "deals", "push": false });
    for body in [
        json!({ "categories": [{ "category": "deals", "push": "no" }] }),
        json!({ "categories": "deals" }),
        // More entries than there are categories.
        json!({ "categories": vec![same; wire::NotificationCategory::ALL.len() + 1] }),
    ] {
        let (status, answer) = api(
            &server,
            &ben,
            "PUT",
            "/api/me/notification-preferences",
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 400, "{body} → {answer}");
    }

    subscribe(&server, &ben, good.clone()).await;
    // Another account cannot remove Ben's device.
    let (status, _) = api(
        &server,
        &cleo,
        "DELETE",
        "/api/push/subscriptions",
        Some(good.clone()),
    )
    .await;
    assert_eq!(status, 204);
    let pool = db.pool().await;
    let count = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM push_subscriptions WHERE account_id = 'a-ben'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    assert_eq!(count().await, 1);
    let (status, _) = api(
        &server,
        &ben,
        "DELETE",
        "/api/push/subscriptions",
        Some(good),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(count().await, 0);
    // At most 20 devices an account: the one heard from longest ago goes.
    for i in 0..22 {
        subscribe(&server, &ben, service.device(&format!("device-{i}"))).await;
    }
    assert_eq!(count().await, 20);
    server.stop().await;
}

/// With nothing waiting, the sender is told nothing is due (and naps a
/// second, woken by the next notice); it once read "due now" from an
/// empty queue and looked again every 20 ms, three statements each time.
#[tokio::test]
async fn an_empty_queue_has_nothing_due_and_a_waiting_delivery_says_when() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    sync_server::migrate(&pool).await.unwrap();
    let next_due_in = sync_server::notifications::push::next_due_in;
    assert_eq!(next_due_in(&pool).await, None);

    sqlx::query(
        "INSERT INTO accounts (id, email, name, role, status, password_hash)
         VALUES ('a-due', 'due@example.com', 'Due', 'admin', 'approved', 'x')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO notifications (account_id, kind, dedupe_key, title, body, screen)
         VALUES ('a-due', 'deal_approved', 'k', 't', 'b', '#') RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO push_deliveries (notification_id, endpoint, next_attempt_at, expires_at)
         VALUES ($1, 'https://push.example/1', now() + interval '30 seconds',
                 now() + interval '1 day')",
    )
    .bind(id)
    .execute(&pool)
    .await
    .unwrap();
    let due = next_due_in(&pool).await.expect("a delivery waits");
    assert!(
        (Duration::from_secs(20)..=Duration::from_secs(30)).contains(&due),
        "{due:?}"
    );
    sqlx::query("UPDATE push_deliveries SET next_attempt_at = now() - interval '5 seconds'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(next_due_in(&pool).await, Some(Duration::ZERO));
}

/// A document only the server writes (here Ben's inbox, rewritten at each
/// notice) is compacted by the writer, since no repo does: it stays a
/// handful of chunks however often it is written, and reads the same.
#[tokio::test]
async fn a_server_written_document_stays_a_few_chunks_however_often_it_is_written() {
    const NOTICES: usize = 2 * sync_server::platform::server_docs::COMPACT_AFTER + 3;
    let db = TestDb::new().await;
    let _server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    for i in 0..NOTICES {
        let mut tx = pool.begin().await.unwrap();
        outbox::enqueue(
            &mut tx,
            &Notice {
                account_id: "a-ben".into(),
                kind: NotificationKind::DealApproved,
                dedupe_key: format!("compaction-{i}"),
                title: format!("Notice {i}"),
                body: String::new(),
                screen: "#".into(),
                topic: None,
            },
        )
        .await
        .unwrap()
        .unwrap();
        tx.commit().await.unwrap();
        // Each notice its own write: wait until the inbox holds it.
        wait_for("the notice in Ben's inbox", Duration::from_secs(20), || {
            let pool = pool.clone();
            async move {
                let inbox = inbox_of(&pool, "p-ben").await?;
                (inbox.notices.first()?.title == format!("Notice {i}")).then_some(())
            }
        })
        .await;
    }
    let doc: String = sqlx::query_scalar(
        "SELECT doc_id FROM documents WHERE kind = 'inbox' AND owner_id = 'p-ben'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let keys: Vec<String> = sqlx::query_scalar("SELECT key FROM doc_chunks WHERE key LIKE $1")
        .bind(format!("{doc}/%"))
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(
        keys.len() <= sync_server::platform::server_docs::COMPACT_AFTER,
        "{} chunks after {NOTICES} writes: {keys:?}",
        keys.len()
    );
    assert!(
        keys.iter().any(|k| k.contains("/snapshot/")),
        "no snapshot: {keys:?}"
    );
    let inbox = model::InboxDoc::read(&stored(&pool, &doc).await).unwrap();
    assert_eq!(
        inbox.notices.first().map(|n| n.title.as_str()),
        Some(format!("Notice {}", NOTICES - 1).as_str())
    );
    assert_eq!(inbox.notices.len(), NOTICES.min(model::INBOX_SIZE));
}
