//! The field client (`crates/field`) against the real server: signed in
//! with a bearer session, its documents fetched once, edited with no
//! connection, synced, and its SQLite tables, projected by the same code
//! as the server's, equal to the server's `leads` rows.

use std::time::{Duration, Instant};

use model::{LeadDraft, LeadId, LogKind, Money, PipelineEdit, Stage, Timestamp};
use portal_field::{
    engine::Field,
    local::{self, LeadLine},
    session::Home,
};

use crate::helpers::*;

/// A field client of Ben's in a directory of its own, signed in and
/// synced once (its pipeline fetched).
pub(crate) async fn field_client(server: &TestServer, device: &str) -> (tempfile::TempDir, Field) {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(Some(dir.path().to_owned())).unwrap();
    let session = portal_field::sign_in::sign_in(
        &format!("http://{}", server.addr),
        "ben@okafor.example",
        "demo-ben-password".to_owned(),
        device.to_owned(),
    )
    .await
    .unwrap();
    home.save(&session).unwrap();
    let field = Field::open(&home).unwrap();
    field.sync(false, |_| {}).await.unwrap();
    (dir, field)
}

pub(crate) async fn local_leads(field: &Field) -> Vec<LeadLine> {
    let mut leads = field
        .store
        .call(|c| local::list_leads(c, "p-ben", None, true))
        .await
        .unwrap()
        .unwrap();
    leads.sort_by(|a, b| a.lead_id.cmp(&b.lead_id));
    leads
}

/// The server's `leads` rows of Ben, as the field client lists them.
pub(crate) async fn server_leads(pool: &sqlx::PgPool) -> Vec<LeadLine> {
    type Row = (
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        i64,
        String,
        chrono::DateTime<chrono::Utc>,
        chrono::DateTime<chrono::Utc>,
        Option<chrono::DateTime<chrono::Utc>>,
        Option<chrono::DateTime<chrono::Utc>>,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT lead_id, stage, contact_name, company, email, phone, notes, value_minor,
                currency::text, created_at, updated_at, archived_at, follow_up_at, follow_up_note
         FROM leads WHERE partner_id = 'p-ben' ORDER BY lead_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|r| LeadLine {
            lead_id: r.0,
            stage: r.1,
            contact_name: r.2,
            company: r.3,
            email: r.4,
            phone: r.5,
            notes: r.6,
            value_minor: r.7,
            currency: r.8,
            created_at: local::stamp(r.9),
            updated_at: local::stamp(r.10),
            archived_at: r.11.map(local::stamp),
            follow_up_at: r.12.map(local::stamp),
            follow_up_note: r.13,
        })
        .collect()
}

fn stage_of<'a>(leads: &'a [LeadLine], id: &str) -> &'a str {
    &leads.iter().find(|l| l.lead_id == id).unwrap().stage
}

#[tokio::test]
async fn two_field_clients_edit_one_lead_apart_and_converge_with_the_servers_rows() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let (_a_dir, a) = field_client(&server, "field-a").await;
    let (_b_dir, b) = field_client(&server, "field-b").await;
    assert_eq!(stage_of(&local_leads(&a).await, "ben-1"), "new");

    // Apart: neither syncs. The laptop moves the lead and logs a call; the
    // other moves it elsewhere and adds a lead.
    let now = Timestamp(chrono::Utc::now().timestamp_millis());
    let ben_1 = LeadId::parse("ben-1").unwrap();
    a.edit(PipelineEdit::Move {
        id: ben_1.clone(),
        to: Stage::Contacted,
    })
    .await
    .unwrap();
    a.edit(PipelineEdit::Log {
        id: ben_1.clone(),
        kind: LogKind::Note,
        text: "wants a demo".into(),
        at: now,
    })
    .await
    .unwrap();
    b.edit(PipelineEdit::Move {
        id: ben_1.clone(),
        to: Stage::Qualified,
    })
    .await
    .unwrap();
    let value = Money::new(250_050, model::Currency::parse("USD").unwrap());
    let draft = LeadDraft::parse("Nia Long", "Long Farms", "", "", value, "").unwrap();
    let nia = LeadId::parse("nia-field").unwrap();
    b.edit(PipelineEdit::AddLead {
        id: nia.clone(),
        draft,
    })
    .await
    .unwrap();
    // Each answers from its own tables, offline.
    assert_eq!(stage_of(&local_leads(&a).await, "ben-1"), "contacted");
    assert_eq!(stage_of(&local_leads(&b).await, "ben-1"), "qualified");
    assert!(
        !local_leads(&a)
            .await
            .iter()
            .any(|l| l.lead_id == "nia-field")
    );
    let waiting = a.status().await.unwrap().documents[0].changes_waiting;
    assert_eq!(waiting, 2, "the move and the note wait to go out");

    // Together again.
    let sent = a.sync(false, |_| {}).await.unwrap().sent;
    assert_eq!(sent, 2);
    b.sync(false, |_| {}).await.unwrap();
    a.sync(false, |_| {}).await.unwrap();
    assert_eq!(a.status().await.unwrap().documents[0].changes_waiting, 0);

    let (on_a, on_b) = (local_leads(&a).await, local_leads(&b).await);
    assert_eq!(on_a, on_b, "both laptops show the same leads");
    assert!(on_a.iter().any(|l| l.lead_id == "nia-field"));
    assert!(["contacted", "qualified"].contains(&stage_of(&on_a, "ben-1")));
    // The server projects what it stored on its own time.
    server_rows_reach(&pool, &on_a).await;
    server.stop().await;
}

/// A loopback TCP proxy to `upstream` that counts the bytes crossing it,
/// both ways: what a sync costs on the wire, WebSocket framing included.
struct Counted {
    addr: std::net::SocketAddr,
    up: std::sync::Arc<std::sync::atomic::AtomicU64>,
    down: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Counted {
    async fn start(upstream: std::net::SocketAddr) -> Counted {
        use std::sync::{Arc, atomic::AtomicU64};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (up, down) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (to_server, to_client) = (up.clone(), down.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(pump(client_read, server_write, to_server.clone()));
                tokio::spawn(pump(server_read, client_write, to_client.clone()));
            }
        });
        Counted { addr, up, down }
    }

    /// Bytes sent to the server and received from it so far.
    fn taken(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering;
        (
            self.up.swap(0, Ordering::Relaxed),
            self.down.swap(0, Ordering::Relaxed),
        )
    }
}

/// Copies `from` to `to`, counting each piece as it crosses: a sync that
/// has returned has had every byte it needed counted.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    counted: std::sync::Arc<std::sync::atomic::AtomicU64>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
        counted.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The server's rows, once they equal `local` (the server projects on its
/// own time).
pub(crate) async fn server_rows_reach(pool: &sqlx::PgPool, local: &[LeadLine]) {
    wait_for(
        "the server's rows to equal the field client's",
        Duration::from_secs(60),
        || async { (server_leads(pool).await == local).then_some(()) },
    )
    .await;
}

/// Days offline: 1,000 edits made with no network, each as one command
/// makes it (the store opened, the edit kept, the rows projected), then
/// one sync sends them all; a second laptop's sync fetches them. Prints
/// the time and the bytes on the wire; `cargo xtask bench-field` runs it
/// in release.
#[tokio::test]
async fn a_thousand_edits_made_offline_sync_in_one_session() {
    const EDITS: usize = 1_000;
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let counted = Counted::start(server.addr).await;
    let (_a_dir, mut a) = field_client(&server, "field-a").await;
    let (_b_dir, mut b) = field_client(&server, "field-b").await;
    for field in [&mut a, &mut b] {
        field.session.server = format!("http://{}", counted.addr);
    }
    counted.taken();

    // A tenth of the edits add a lead; the rest move leads on and log
    // notes on them, as a week of calls would.
    let started = Instant::now();
    // Each move goes one stage on from where the lead is (a move to
    // where it is would change nothing).
    let stages = [
        Stage::New,
        Stage::Contacted,
        Stage::Qualified,
        Stage::Proposal,
    ];
    let mut added: Vec<(LeadId, usize)> = Vec::new();
    for i in 0..EDITS {
        let at = Timestamp(chrono::Utc::now().timestamp_millis());
        let edit = match (i % 10, added.last()) {
            (0, _) | (_, None) => {
                let id = LeadId::parse(&format!("offline-{i:04}")).unwrap();
                added.push((id.clone(), 0));
                let value = Money::new(10_000 + i as i64, model::Currency::parse("EUR").unwrap());
                let name = format!("Contact {i}");
                let draft = LeadDraft::parse(&name, "Met on the road", "", "", value, "").unwrap();
                PipelineEdit::AddLead { id, draft }
            }
            (1..=5, Some(_)) => {
                let n = added.len();
                let (id, stage) = &mut added[i % n];
                *stage = (*stage + 1) % stages.len();
                PipelineEdit::Move {
                    id: id.clone(),
                    to: stages[*stage],
                }
            }
            (_, Some(_)) => PipelineEdit::Log {
                id: added[i % added.len()].0.clone(),
                kind: LogKind::Call,
                text: format!("call {i}: left a message"),
                at,
            },
        };
        a.edit(edit).await.unwrap();
    }
    let editing = started.elapsed();
    let waiting = a.status().await.unwrap().documents[0].changes_waiting;
    assert_eq!(waiting, EDITS, "every edit waits to go out");

    let started = Instant::now();
    let synced = a.sync(false, |_| {}).await.unwrap();
    let up_took = started.elapsed();
    let (up_sent, up_received) = counted.taken();
    assert_eq!(synced.sent, EDITS);
    assert_eq!(a.status().await.unwrap().documents[0].changes_waiting, 0);
    let on_a = local_leads(&a).await;
    assert_eq!(
        on_a.len(),
        6 + EDITS / 10,
        "Ben's six leads and the ones added"
    );
    server_rows_reach(&pool, &on_a).await;

    let started = Instant::now();
    b.sync(false, |_| {}).await.unwrap();
    let down_took = started.elapsed();
    let (down_sent, down_received) = counted.taken();
    assert_eq!(local_leads(&b).await, on_a, "the second laptop has it all");

    let kib = |bytes: u64| bytes as f64 / 1024.0;
    println!(
        "field offline: {EDITS} edits made offline in {editing:.2?} ({:.1} ms each)",
        editing.as_secs_f64() * 1000.0 / EDITS as f64
    );
    println!(
        "field offline: their sync took {up_took:.2?}: {:.1} KiB sent, {:.1} KiB received",
        kib(up_sent),
        kib(up_received)
    );
    println!(
        "field offline: another laptop's sync of them took {down_took:.2?}: {:.1} KiB sent, {:.1} KiB received",
        kib(down_sent),
        kib(down_received)
    );
    server.stop().await;
}

/// A session file naming another partner's pipeline (edited by hand, or
/// planted) with Ben's own token: the server's share policy decides, not
/// the file. The sync fails with words, and nothing of Ana's is kept.
#[tokio::test]
async fn a_session_naming_another_partners_pipeline_fetches_nothing_of_it() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let (dir, ben) = field_client(&server, "field-a").await;
    let anas: String = sqlx::query_scalar(
        "SELECT doc_id FROM documents WHERE owner_id = 'p-ana' AND kind = 'pipeline'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let mut session = ben.session.clone();
    for (id, kind) in &mut session.documents {
        if kind == "pipeline" {
            id.clone_from(&anas);
        }
    }
    let planted = Home::new(Some(dir.path().join("planted"))).unwrap();
    planted.save(&session).unwrap();
    let field = Field::open(&planted).unwrap();
    let error = field.sync(false, |_| {}).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "the server has no pipeline document for this account"
    );
    let kept: i64 = field
        .store
        .call(|c| c.query_row("SELECT count(*) FROM chunks", [], |r| r.get(0)))
        .await
        .unwrap()
        .unwrap();
    let (ana_kept, _) = field
        .store
        .call(move |c| local::stored_document(c, &anas))
        .await
        .unwrap()
        .unwrap();
    assert!(
        ana_kept.get_heads().is_empty(),
        "none of Ana's pipeline is stored ({kept} chunks in all)"
    );
    let leads = field
        .store
        .call(|c| local::list_leads(c, "p-ana", None, true))
        .await
        .unwrap()
        .unwrap();
    assert!(leads.is_empty());
    server.stop().await;
}

/// The keys of the chunks of `doc_id` in `field`'s store.
async fn chunk_keys(field: &Field, doc_id: &str) -> Vec<String> {
    let (lo, hi) = local::chunk_range(doc_id).unwrap();
    field
        .store
        .call(move |c| {
            let mut keys = c.prepare("SELECT key FROM chunks WHERE key >= ?1 AND key < ?2")?;
            keys.query_map([lo, hi], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()
        })
        .await
        .unwrap()
        .unwrap()
}

/// Overwrites the chunk `key` with bytes that are no Automerge.
async fn damage(field: &Field, key: &str) {
    let key = key.to_owned();
    let changed = field
        .store
        .call(move |c| {
            c.execute(
                "UPDATE chunks SET data = x'856f4a83deadbeef0102030405' WHERE key = ?1",
                [key],
            )
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed, 1);
}

/// A damaged chunk in the local store (a disk's fault, a hand in the
/// file): the field client neither crashes nor loses the rest. The chunk
/// is set aside, not compacted away with the rest, and the edits after it
/// are kept; a damaged snapshot is healed by a sync, which fetches again
/// what the server has.
#[tokio::test]
async fn a_damaged_chunk_is_set_aside_and_the_rest_kept_and_healed_by_a_sync() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let (_dir, ben) = field_client(&server, "field-a").await;
    let doc_id = ben.session.document("pipeline").unwrap().to_owned();
    let move_to = |lead: &str, to| PipelineEdit::Move {
        id: LeadId::parse(lead).unwrap(),
        to,
    };

    // An edit not yet synced, in a chunk of its own, damaged.
    let before = chunk_keys(&ben, &doc_id).await;
    ben.edit(move_to("ben-2", Stage::Qualified)).await.unwrap();
    let added: Vec<String> = chunk_keys(&ben, &doc_id)
        .await
        .into_iter()
        .filter(|k| !before.contains(k))
        .collect();
    assert_eq!(added.len(), 1, "the edit is one incremental chunk");
    assert!(added[0].contains("/incremental/"), "{added:?}");
    // And a whole, valid change under a name that is not its hash (what
    // a change altered in its values would look like: it still parses).
    let misnamed = format!("{doc_id}/incremental/{}", "0".repeat(64));
    let (from, to) = (added[0].clone(), misnamed.clone());
    ben.store
        .call(move |c| {
            c.execute(
                "INSERT INTO chunks (key, data) SELECT ?2, data FROM chunks WHERE key = ?1",
                [from, to],
            )
        })
        .await
        .unwrap()
        .unwrap();
    damage(&ben, &added[0]).await;

    // Eleven more edits: they land (the store compacts past ten chunks),
    // the damaged chunk is set aside and survives the compaction.
    for stage in [Stage::Contacted, Stage::Qualified]
        .into_iter()
        .cycle()
        .take(11)
    {
        ben.edit(move_to("ben-3", stage)).await.unwrap();
    }
    let set_aside: Vec<String> = ben
        .store
        .call(|c| {
            let mut keys = c.prepare("SELECT key FROM damaged_chunks ORDER BY key")?;
            keys.query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()
        })
        .await
        .unwrap()
        .unwrap();
    let mut expected = vec![added[0].clone(), misnamed];
    expected.sort();
    assert_eq!(set_aside, expected, "the damaged chunks are kept aside");
    let keys = chunk_keys(&ben, &doc_id).await;
    assert!(!keys.contains(&added[0]));
    assert!(keys.len() < 10, "compacted: {keys:?}");
    let rows = local_leads(&ben).await;
    assert_eq!(
        stage_of(&rows, "ben-2"),
        "contacted",
        "the damaged edit is lost here"
    );
    assert_eq!(
        stage_of(&rows, "ben-3"),
        "contacted",
        "the eleven after it are kept"
    );

    // The eleven go out; then the largest chunk (the snapshot) is
    // damaged too, and what the server has comes back with a sync.
    ben.sync(false, |_| {}).await.unwrap();
    let largest = {
        let (lo, hi) = local::chunk_range(&doc_id).unwrap();
        ben.store
            .call(move |c| {
                c.query_row(
                    "SELECT key FROM chunks WHERE key >= ?1 AND key < ?2
                     ORDER BY length(data) DESC LIMIT 1",
                    [lo, hi],
                    |r| r.get::<_, String>(0),
                )
            })
            .await
            .unwrap()
            .unwrap()
    };
    damage(&ben, &largest).await;
    let edit = ben.edit(move_to("ben-4", Stage::Qualified)).await;
    if let Err(error) = &edit {
        assert!(error.to_string().contains("portal-field sync"), "{error}");
    }
    ben.sync(false, |_| {}).await.unwrap();
    let healed = local_leads(&ben).await;
    assert_eq!(healed.len(), 6, "every lead is listed again");
    assert_eq!(stage_of(&healed, "ben-3"), "contacted");
    if edit.is_ok() {
        assert_eq!(stage_of(&healed, "ben-4"), "qualified", "the edit kept");
    }
    server_rows_reach(&pool, &healed).await;
    server.stop().await;
}

/// The server's stage of `lead`, once it is `stage`.
async fn server_stage_reaches(pool: &sqlx::PgPool, lead: &str, stage: &str) {
    wait_for(
        &format!("{lead} to be {stage} on the server"),
        Duration::from_secs(30),
        || async {
            let now: Option<String> =
                sqlx::query_scalar("SELECT stage FROM leads WHERE lead_id = $1")
                    .bind(lead)
                    .fetch_optional(pool)
                    .await
                    .unwrap();
            (now.as_deref() == Some(stage)).then_some(())
        },
    )
    .await;
}

/// `sync --watch` stays connected: an edit another process makes in the
/// same store (a `lead add` in another terminal) goes out, and a change
/// made on another device comes in and is listed.
#[tokio::test]
async fn a_watch_sends_what_another_process_stores_and_lists_what_arrives() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let (dir, a) = field_client(&server, "field-a").await;
    let (_b_dir, b) = field_client(&server, "field-b").await;
    // Another process: its own connection to the same SQLite file.
    let other = Field::open(&Home::new(Some(dir.path().to_owned())).unwrap()).unwrap();
    let watching = tokio::sync::Notify::new();
    let watch = a.sync(true, |line| {
        if line.starts_with("watching") {
            watching.notify_one();
        }
    });
    let checks = async {
        watching.notified().await;
        other
            .edit(PipelineEdit::Move {
                id: LeadId::parse("ben-2").unwrap(),
                to: Stage::Proposal,
            })
            .await
            .unwrap();
        server_stage_reaches(&pool, "ben-2", "proposal").await;

        b.edit(PipelineEdit::Move {
            id: LeadId::parse("ben-3").unwrap(),
            to: Stage::Lost,
        })
        .await
        .unwrap();
        b.sync(false, |_| {}).await.unwrap();
        wait_for(
            "the watch to list b's move",
            Duration::from_secs(30),
            || async { (stage_of(&local_leads(&a).await, "ben-3") == "lost").then_some(()) },
        )
        .await;
        // Recorded as the server's at a tick of the watch.
        wait_for("the edit to go out", Duration::from_secs(30), || async {
            (a.status().await.unwrap().documents[0].changes_waiting == 0).then_some(())
        })
        .await;
    };
    tokio::select! {
        ended = watch => panic!("the watch ended: {ended:?}"),
        () = checks => {}
    }
    server.stop().await;
}

/// A session that ends while `sync --watch` is connected (signed out on
/// another device, revoked by the back office) ends the watch with what
/// to run, instead of redialing forever.
#[tokio::test]
async fn a_watch_ends_with_what_to_do_when_its_session_ends() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let (_dir, a) = field_client(&server, "field-a").await;
    let watching = tokio::sync::Notify::new();
    let watch = a.sync(true, |line| {
        if line.starts_with("watching") {
            watching.notify_one();
        }
    });
    let sign_out = async {
        watching.notified().await;
        let (status, _) = api(
            &server,
            &a.session.token,
            "DELETE",
            "/api/sessions/current",
            None,
        )
        .await;
        assert_eq!(status, 204);
        std::future::pending::<()>().await;
    };
    let ended = tokio::time::timeout(Duration::from_secs(30), async {
        tokio::select! {
            ended = watch => ended,
            () = sign_out => unreachable!(),
        }
    })
    .await
    .expect("the watch ends once its session has");
    let error = ended.unwrap_err();
    assert!(
        matches!(error, portal_field::engine::FieldError::SessionEnded(_)),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("run `portal-field sign-in` again")
    );
    server.stop().await;
}
