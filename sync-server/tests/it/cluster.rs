//! Several nodes over one Postgres (`platform/cluster.rs`): a change one
//! node stores reaches the clients of another that has the document open,
//! and a notice that never arrives is made up for by the comparison of
//! what a node holds with what is stored.

use std::time::Duration;

use model::{PipelineDoc, Stage};

use crate::helpers::*;

const DEADLINE: Duration = Duration::from_secs(20);

/// The stage of `lead` as a device holds it.
fn stage_of(handle: &samod::DocHandle, lead: &str) -> Option<Stage> {
    read(handle)
        .leads
        .iter()
        .find(|l| l.id.as_str() == lead)
        .map(|l| l.stage)
}

#[tokio::test]
async fn two_nodes_over_one_database_see_each_others_changes_live() {
    let db = TestDb::new().await;
    // Started at once, as a deployment starts its nodes: each migrates,
    // seeds and reconciles over the same database at the same time.
    let (node_a, node_b) = tokio::join!(TestServer::start(&db.url), TestServer::start(&db.url));
    let pool = db.pool().await;
    let pipeline = pipeline_doc(&pool, "p-ben").await;

    // Ben's phone talks to one node, his laptop to the other.
    let phone = client("a-ben").await;
    let _phone_link = connect(&phone, &node_a).await;
    let laptop = client("a-ben").await;
    let _laptop_link = connect(&laptop, &node_b).await;
    let on_phone = open(&phone, &pipeline).await;
    let on_laptop = open(&laptop, &pipeline).await;

    // Each way, while both have the document open.
    move_to(&on_phone, "ben-1", Stage::Proposal);
    wait_for("the phone's move on the laptop", DEADLINE, || async {
        (stage_of(&on_laptop, "ben-1") == Some(Stage::Proposal)).then_some(())
    })
    .await;
    move_to(&on_laptop, "ben-2", Stage::Lost);
    wait_for("the laptop's move on the phone", DEADLINE, || async {
        (stage_of(&on_phone, "ben-2") == Some(Stage::Lost)).then_some(())
    })
    .await;
    wait_converged(&[on_phone.clone(), on_laptop.clone()], DEADLINE).await;
    // Both moves stored once, whichever node stored them, and projected.
    wait_for("both moves in the leads table", DEADLINE, || async {
        let rows = lead_rows(&pool, "p-ben").await;
        let stage = |id: &str| {
            rows.iter()
                .find(|r| r.lead_id == id)
                .map(|r| r.stage.clone())
        };
        (stage("ben-1").as_deref() == Some("proposal") && stage("ben-2").as_deref() == Some("lost"))
            .then_some(())
    })
    .await;
    assert_eq!(
        stored_heads(&pool, &pipeline).await.unwrap(),
        heads(&on_phone),
        "what is stored is what both devices hold"
    );
    node_a.stop().await;
    node_b.stop().await;
}

#[tokio::test]
async fn a_change_whose_notice_never_came_reaches_the_node_by_the_comparison() {
    let db = TestDb::new().await;
    let node = TestServer::start_with_args(&db.url, &["--cluster-repair-secs", "1"]).await;
    let pool = db.pool().await;
    let pipeline = pipeline_doc(&pool, "p-ben").await;
    let phone = client("a-ben").await;
    let _link = connect(&phone, &node).await;
    let on_phone = open(&phone, &pipeline).await;
    wait_for("the pipeline on the phone", DEADLINE, || async {
        stage_of(&on_phone, "ben-3").map(|_| ())
    })
    .await;

    // Another node stored a change whose notice was lost: here it is
    // written straight into the table, with no notice at all.
    let mut elsewhere = stored(&pool, &pipeline).await;
    let before = elsewhere.get_heads();
    PipelineDoc::move_lead(
        &mut elsewhere,
        &model::LeadId::parse("ben-3").unwrap(),
        Stage::Contacted,
        model::Timestamp(20),
    )
    .unwrap();
    let change = elsewhere.get_changes(&before);
    assert_eq!(change.len(), 1);
    store_unnoticed(
        &pool,
        &format!("{pipeline}/incremental/{}", change[0].hash()),
        &elsewhere.save_after(&before),
    )
    .await;

    wait_for("the unnoticed change on the phone", DEADLINE, || async {
        (stage_of(&on_phone, "ben-3") == Some(Stage::Contacted)).then_some(())
    })
    .await;

    // The same for a change that only a snapshot holds (another node
    // compacted the document before this one heard of the change).
    let before = elsewhere.get_heads();
    PipelineDoc::move_lead(
        &mut elsewhere,
        &model::LeadId::parse("ben-4").unwrap(),
        Stage::Lost,
        model::Timestamp(30),
    )
    .unwrap();
    assert_ne!(elsewhere.get_heads(), before);
    let key = sync_server::platform::server_docs::snapshot_key(&pipeline, &elsewhere.get_heads());
    store_unnoticed(&pool, &key, &elsewhere.save()).await;
    wait_for(
        "the change only a snapshot holds, on the phone",
        DEADLINE,
        || async { (stage_of(&on_phone, "ben-4") == Some(Stage::Lost)).then_some(()) },
    )
    .await;
    node.stop().await;
}

#[tokio::test]
async fn a_session_ended_anywhere_closes_its_sockets_on_every_node_at_once() {
    let db = TestDb::new().await;
    // Sweeps an hour apart: only the notice can close the sockets in time.
    let node = TestServer::start_with_args(&db.url, &["--session-sweep-secs", "3600"]).await;
    let pool = db.pool().await;

    // Revoked by another node (its sign-out) or an admin's tool.
    let (mut raw, refused) = crate::access::Raw::join(&node, "a-ben", &peer_id_of("a-ben")).await;
    assert_eq!(refused, None);
    sqlx::query("UPDATE sessions SET revoked_at = now() WHERE account_id = 'a-ben'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(closed(&mut raw).await, Some(4401));

    // An account no longer approved: every session it has.
    let (mut first, _) = crate::access::Raw::join(&node, "a-ana", &peer_id_of("a-ana")).await;
    let (mut second, _) = crate::access::Raw::join(&node, "a-ana", &peer_id_of("a-ana")).await;
    sqlx::query(
        "UPDATE accounts SET status = 'rejected', reject_reason = 'Left the programme'
         WHERE id = 'a-ana'",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(closed(&mut first).await, Some(4401));
    assert_eq!(closed(&mut second).await, Some(4401));
    node.stop().await;
}

/// The close code of a socket that must close before the deadline.
async fn closed(raw: &mut crate::access::Raw) -> Option<u16> {
    tokio::time::timeout(DEADLINE, raw.close_code())
        .await
        .expect("the socket closes at once, not at the next sweep")
}

/// Stores a chunk as another node would, but with no notice: straight into
/// the table.
async fn store_unnoticed(pool: &sqlx::PgPool, key: &str, data: &[u8]) {
    sqlx::query("INSERT INTO doc_chunks (key, data) VALUES ($1, $2)")
        .bind(key)
        .bind(data)
        .execute(pool)
        .await
        .unwrap();
}

/// HAProxy from Debian's package in front of the nodes, configured from
/// the shipped `deploy/haproxy.cfg`, on a free loopback port.
struct Haproxy {
    child: tokio::process::Child,
    addr: std::net::SocketAddr,
    database_url: String,
}

impl Haproxy {
    async fn start(nodes: &[std::net::SocketAddr], database_url: &str) -> Haproxy {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap();
        let servers: Vec<String> = nodes
            .iter()
            .enumerate()
            .map(|(i, node)| format!("    server node{} {node}", i + 1))
            .collect();
        let config = include_str!("../../../deploy/haproxy.cfg")
            .replace("{{listen}}", &addr.to_string())
            .replace("{{servers}}", &servers.join("\n"));
        let path = std::env::temp_dir().join(format!("portal-haproxy-{}.cfg", addr.port()));
        std::fs::write(&path, config).unwrap();
        let program = ["/usr/sbin/haproxy", "haproxy"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or("haproxy");
        let child = tokio::process::Command::new(program)
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("haproxy (cargo xtask test installs Debian's package)");
        let proxy = Haproxy {
            child,
            addr,
            database_url: database_url.to_owned(),
        };
        wait_for("HAProxy to pass requests on", DEADLINE, || async {
            let up = tokio::net::TcpStream::connect(addr).await.is_ok();
            (up && http_get(addr, "/healthz", &[]).await.0 == 200).then_some(())
        })
        .await;
        proxy
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl ServerUnderTest for Haproxy {
    fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    fn database_url(&self) -> &str {
        &self.database_url
    }
}

/// Open `/sync` connections on each node.
async fn connections(nodes: &[ServerProcess]) -> Vec<u64> {
    let mut counts = Vec::new();
    for node in nodes {
        counts.push(gauge(node, "portal_sync_connections").await);
    }
    counts
}

/// A device of `account` that reaches the nodes through `proxy` as a
/// browser would, with the affinity `/api/me` gave, and the node it landed
/// on (by the nodes' connection gauges).
async fn through_proxy(
    proxy: &Haproxy,
    nodes: &[ServerProcess],
    account: &str,
) -> (samod::Repo, samod::DialerHandle<client::Refused>, usize) {
    let token = session_for(&proxy.database_url, account).await;
    let (status, me) = api(proxy, &token, "GET", "/api/me", None).await;
    assert_eq!(status, 200, "{me}");
    let affinity = me["session"]["affinity"].as_str().unwrap().to_owned();
    let before = connections(nodes).await;
    let device = client(account).await;
    let dialer = device
        .dial(
            samod::BackoffConfig {
                initial_delay: Duration::from_millis(50),
                max_delay: Duration::from_millis(500),
                max_retries: None,
            },
            std::sync::Arc::new(
                client::BearerDialer::new(proxy.ws_url(), token).with_affinity(affinity),
            ),
        )
        .unwrap();
    tokio::time::timeout(DEADLINE, dialer.established())
        .await
        .expect("no connection through the proxy")
        .expect("dial failed");
    let landed = wait_for("the device's node to count it", DEADLINE, || async {
        let after = connections(nodes).await;
        after.iter().zip(&before).position(|(a, b)| a > b)
    })
    .await;
    (device, dialer, landed)
}

/// Whether some session of the database holds the lead of `work`
/// (`platform/leader.rs`).
async fn led(pool: &sqlx::PgPool, work: &str) -> bool {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_locks
         WHERE locktype = 'advisory' AND granted
           AND classid::int = hashtext('leader') AND objid::int = hashtext($1))",
    )
    .bind(work)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Moves `lead` of a partner's pipeline as another node would store it and
/// then die: the change is in `doc_chunks`, nobody was told.
async fn stored_by_a_dead_node(pool: &sqlx::PgPool, doc: &str, lead: &str, stage: Stage) {
    let mut elsewhere = stored(pool, doc).await;
    let before = elsewhere.get_heads();
    PipelineDoc::move_lead(
        &mut elsewhere,
        &model::LeadId::parse(lead).unwrap(),
        stage,
        model::Timestamp(40),
    )
    .unwrap();
    let change = elsewhere.get_changes(&before);
    store_unnoticed(
        pool,
        &format!("{doc}/incremental/{}", change[0].hash()),
        &elsewhere.save_after(&before),
    )
    .await;
}

/// The stage the `leads` table gives a lead.
async fn projected_stage(pool: &sqlx::PgPool, partner: &str, lead: &str) -> Option<String> {
    lead_rows(pool, partner)
        .await
        .into_iter()
        .find(|r| r.lead_id == lead)
        .map(|r| r.stage)
}

#[tokio::test]
async fn what_a_dead_node_stored_and_never_projected_is_projected_by_the_next_leader() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let args = ["--cluster-rescan-secs", "1"];
    let first = TestServer::start_with_args(&db.url, &args).await;
    wait_for("the first node to lead the rescan", DEADLINE, || async {
        led(&pool, "rescan").await.then_some(())
    })
    .await;
    let second = TestServer::start_with_args(&db.url, &args).await;
    // The leader dies (its runtime ends at once, its connections close)...
    drop(first);
    // ... having stored a change it never projected. The second node
    // caught up when it started, before this, and holds nothing of Cleo's.
    let pipeline = pipeline_doc(&pool, "p-cleo").await;
    stored_by_a_dead_node(&pool, &pipeline, "cleo-2", Stage::Lost).await;
    wait_for("the orphaned change projected", DEADLINE, || async {
        (projected_stage(&pool, "p-cleo", "cleo-2").await.as_deref() == Some("lost")).then_some(())
    })
    .await;
    assert!(led(&pool, "rescan").await, "the second node leads now");
    second.stop().await;
}

/// Partners' accounts and their pipelines' owners.
const PARTNERS: [(&str, &str); 3] = [("a-ana", "p-ana"), ("a-ben", "p-ben"), ("a-cleo", "p-cleo")];

#[tokio::test]
async fn three_nodes_behind_haproxy_converge_and_survive_one_killed_mid_burst() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let args = [
        "--cluster-repair-secs",
        "1",
        "--cluster-rescan-secs",
        "1",
        "--trusted-proxies",
        "127.0.0.1",
    ];
    let (a, b, c) = tokio::join!(
        ServerProcess::start_with_args(&db.url, &args),
        ServerProcess::start_with_args(&db.url, &args),
        ServerProcess::start_with_args(&db.url, &args),
    );
    let mut nodes = vec![a, b, c];
    let addrs: Vec<_> = nodes.iter().map(|n| n.addr).collect();
    let proxy = Haproxy::start(&addrs, &db.url).await;

    // Each partner's phone through the proxy: a team (Ana leads Ben) on
    // one node.
    let mut phones = Vec::new();
    for (account, _) in PARTNERS {
        phones.push(through_proxy(&proxy, &nodes, account).await);
    }
    assert_eq!(phones[0].2, phones[1].2, "Ana's team meets on one node");
    let victim = phones[1].2;
    // Each one's laptop straight to another node, never the one to die,
    // so every partner's pipeline is open on two nodes.
    let mut laptops = Vec::new();
    for (i, (account, _)) in PARTNERS.iter().enumerate() {
        let node = (0..3).find(|&n| n != victim && n != phones[i].2).unwrap();
        let laptop = client(account).await;
        let link = connect(&laptop, &nodes[node]).await;
        laptops.push((laptop, link));
    }
    let mut docs = Vec::new();
    for (i, (_, partner)) in PARTNERS.iter().enumerate() {
        let pipeline = pipeline_doc(&pool, partner).await;
        let on_phone = open(&phones[i].0, &pipeline).await;
        let on_laptop = open(&laptops[i].0, &pipeline).await;
        docs.push((pipeline, on_phone, on_laptop));
    }
    // Ana also follows Ben's pipeline, as a team leader does: a document
    // of one partner open on another's device.
    let bens_on_anas_phone = open(&phones[0].0, &docs[1].0).await;

    // A burst on every device: the private pipelines, each edited on two
    // nodes at once.
    let stages = [Stage::Contacted, Stage::Proposal, Stage::Qualified];
    for round in 0..8 {
        for (i, (_, partner)) in PARTNERS.iter().enumerate() {
            let lead = format!("{}-{}", &partner[2..], round % 3 + 1);
            move_to(&docs[i].1, &lead, stages[round % 3]);
            move_to(&docs[i].2, &lead, stages[(round + 1) % 3]);
        }
        tokio::task::yield_now().await;
    }
    for (i, (_, partner)) in PARTNERS.iter().enumerate() {
        wait_converged(&[docs[i].1.clone(), docs[i].2.clone()], DEADLINE).await;
        wait_for_rows(&pool, partner, &rows_of(&read(&docs[i].1))).await;
    }
    wait_converged(&[docs[1].1.clone(), bens_on_anas_phone.clone()], DEADLINE).await;

    // Ben's tablet, also through the proxy (to the team's node), moves a
    // lead nobody else touches; once Postgres has it, it is acknowledged,
    // and the tablet is gone for good.
    let (tablet, tablet_link, on) = through_proxy(&proxy, &nodes, "a-ben").await;
    assert_eq!(on, victim);
    let on_tablet = open(&tablet, &docs[1].0).await;
    move_to(&on_tablet, "ben-6", Stage::Lost);
    let acknowledged = heads(&on_tablet);
    wait_for("the tablet's move stored", DEADLINE, || async {
        (stored_heads(&pool, &docs[1].0).await.as_ref() == Some(&acknowledged)).then_some(())
    })
    .await;
    tablet_link.close();
    drop(tablet);

    // The team's node is killed in the middle of a burst from Ben's phone;
    // the phone goes on editing while it finds another node through the
    // proxy.
    let mut pace = tokio::time::interval(Duration::from_millis(10));
    for round in 0..40 {
        if round == 20 {
            nodes.remove(victim).kill().await;
        }
        pace.tick().await;
        move_to(
            &docs[1].1,
            &format!("ben-{}", round % 5 + 1),
            stages[round % 3],
        );
    }
    // And the dead node's unprojected work: a change it stored and never
    // projected, nor told anyone of.
    stored_by_a_dead_node(&pool, &docs[2].0, "cleo-3", Stage::Lost).await;

    for (i, (_, partner)) in PARTNERS.iter().enumerate() {
        let replicas = [docs[i].1.clone(), docs[i].2.clone()];
        wait_converged(&replicas, DEADLINE).await;
        wait_for("every device's changes stored", DEADLINE, || async {
            (stored_heads(&pool, &docs[i].0).await == Some(heads(&replicas[0]))).then_some(())
        })
        .await;
        wait_for_rows(&pool, partner, &rows_of(&read(&docs[i].1))).await;
    }
    wait_converged(&[docs[1].1.clone(), bens_on_anas_phone.clone()], DEADLINE).await;
    assert_eq!(stage_of(&docs[2].1, "cleo-3"), Some(Stage::Lost));
    // Nothing acknowledged was lost: a new device of Ben's, through the
    // proxy, gets the gone tablet's move.
    let (fresh, _fresh_link, landed) = through_proxy(&proxy, &nodes, "a-ben").await;
    assert!(landed < nodes.len());
    let on_fresh = open(&fresh, &docs[1].0).await;
    wait_for(
        "the acknowledged move on a new device",
        DEADLINE,
        || async { (stage_of(&on_fresh, "ben-6") == Some(Stage::Lost)).then_some(()) },
    )
    .await;
    drop(proxy);
    for node in nodes {
        node.stop().await;
    }
}

/// The status of `lead`'s deal in `partner`'s account view as stored.
async fn view_status(pool: &sqlx::PgPool, partner: &str, lead: &str) -> Option<model::DealStatus> {
    let doc = account_view_doc(pool, partner).await;
    let view = model::AccountViewDoc::read(&stored(pool, &doc).await).ok()?;
    view.deal(&model::LeadId::parse(lead).unwrap())
        .map(|d| d.status)
}

#[tokio::test]
async fn a_decision_on_one_node_reaches_the_views_that_another_leads() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let first = TestServer::start(&db.url).await;
    wait_for("the first node to lead the views", DEADLINE, || async {
        led(&pool, "views").await.then_some(())
    })
    .await;
    let second = TestServer::start(&db.url).await;
    let admin = session_for(&db.url, "a-admin").await;

    // Ben's device is on the second node, and so is the admin: the first
    // node, which writes the views, hears of the decision only through
    // Postgres, and the device sees its view through the nodes' bus.
    let ben = client("a-ben").await;
    let _link = connect(&ben, &second).await;
    let on_device = open(&ben, &account_view_doc(&pool, "p-ben").await).await;
    let deal = deal_of(&pool, "p-ben", "ben-5", "submitted").await;
    let (status, body) = approve(&second, &admin, deal).await;
    assert_eq!(status, 200, "{body}");
    wait_for(
        "the approval in Ben's view on his device",
        DEADLINE,
        || async {
            let view = on_device
                .with_document(|doc| model::AccountViewDoc::read(doc))
                .ok()?;
            let deal = view.deal(&model::LeadId::parse("ben-5").unwrap())?;
            (deal.status == model::DealStatus::Approved).then_some(())
        },
    )
    .await;

    // The leader dies; the other node takes the views over.
    drop(first);
    let deal = deal_of(&pool, "p-ana", "ana-5", "submitted").await;
    let (status, body) = reject(&second, &admin, deal, "Duplicate of an older deal").await;
    assert_eq!(status, 200, "{body}");
    wait_for("the rejection in Ana's view", DEADLINE, || async {
        (view_status(&pool, "p-ana", "ana-5").await == Some(model::DealStatus::Rejected))
            .then_some(())
    })
    .await;
    second.stop().await;
}

/// A bearer sign-in of Ben's from `from` (a loopback address standing for
/// a client), with `forwarded` as what a proxy says of it: the status.
async fn ben_signs_in(
    node: &TestServer,
    from: std::net::Ipv4Addr,
    forwarded: Option<&str>,
    password: &str,
) -> u16 {
    let body = serde_json::json!({
        "email": "ben@okafor.example", "password": password, "kind": "bearer"
    })
    .to_string();
    let mut headers = vec![("content-type", "application/json")];
    if let Some(forwarded) = forwarded {
        headers.push(("x-forwarded-for", forwarded));
    }
    let (status, _, _) = http_request_from(
        from,
        node.addr,
        "POST",
        "/api/sessions",
        &headers,
        Some(body.as_bytes()),
    )
    .await;
    status
}

#[tokio::test]
async fn failed_sign_ins_are_counted_once_across_nodes_by_the_client_a_proxy_names() {
    let db = TestDb::new().await;
    let args = ["--trusted-proxies", "127.0.0.1"];
    let (first, second) = tokio::join!(
        TestServer::start_with_args(&db.url, &args),
        TestServer::start_with_args(&db.url, &args),
    );
    let proxy = std::net::Ipv4Addr::LOCALHOST;
    // Seven guesses at once (no delay can pass in between) from one
    // client behind the proxy, spread over both nodes: the pair (Ben's
    // email, its address) has five free failures in all, not five on
    // each node.
    let guesser = Some("6.6.6.6, 203.0.113.7");
    let nodes = [&first, &second];
    let at_once = |from, forwarded, count: usize| {
        futures::future::join_all(
            (0..count).map(move |i| ben_signs_in(nodes[i % 2], from, forwarded, "wrong")),
        )
    };
    let mut statuses = at_once(proxy, guesser, 7).await;
    statuses.sort();
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429]);
    // Ben himself, through the same proxy from his own address, is not
    // held up by the guesser's failures.
    let ben = Some("198.51.100.2");
    assert_eq!(
        ben_signs_in(&second, proxy, ben, "demo-ben-password").await,
        200
    );
    // A peer that is not the proxy names nobody but itself: its header is
    // ignored. Claiming the guesser's address, its failures would be
    // refused at once; they count as its own, five free.
    let elsewhere = std::net::Ipv4Addr::new(127, 0, 0, 9);
    let mut statuses = at_once(elsewhere, guesser, 6).await;
    statuses.sort();
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
    first.stop().await;
    second.stop().await;
}

#[tokio::test]
async fn a_notice_a_dead_node_committed_is_delivered_by_another() {
    let db = TestDb::new().await;
    let node = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    // Committed by a node that died before its workers (or anyone's) heard
    // of it: in the outbox, with no notice on the channel that wakes them.
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO notifications (account_id, kind, dedupe_key, title, body, screen)
         VALUES ('a-ben', 'deal_approved', 'test:dead-node', 'Deal approved',
                 'Left behind by a node that died', '#earnings')
         RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let inbox = wait_for("the notice in Ben's inbox", DEADLINE, || async {
        let inbox = inbox_of(&pool, "p-ben").await?;
        inbox
            .notices
            .iter()
            .any(|n| n.body == "Left behind by a node that died")
            .then_some(inbox)
    })
    .await;
    assert_eq!(inbox.notices.len(), 1);
    let in_app: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT in_app_at FROM notifications WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(in_app.is_some(), "marked as in the inbox");
    node.stop().await;
}
