//! Who may read and write which document, through the real server: real
//! sessions, real WebSocket clients (samod's, and a hand-written one for what
//! a well-behaved client would never send).

use std::time::Duration;

use automerge::{
    Automerge, ROOT, ReadDoc,
    sync::{State, SyncDoc},
    transaction::Transactable,
};
use futures::{SinkExt, StreamExt};
use model::{ChatEdit, Currency, LeadDraft, LeadId, MessagesDoc, Money, PipelineDoc, Timestamp};
use samod::{DocHandle, Repo};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    None,
    Read,
    ReadWrite,
}

fn write_key(account: &str) -> String {
    format!("written_by_{account}")
}

/// The write each subject attempts: a message in a channel's messages (the
/// only write a member may make there), a root field anywhere else.
fn write(handle: &DocHandle, kind: &str, account: &str) {
    let result = handle.with_document(|doc| {
        if kind == "messages" {
            doc.set_actor(model::actor_for(account, rand::random()));
            ChatEdit::Post {
                id: format!("hello-{account}"),
                at: Timestamp(1),
                body: "hello".into(),
                reply_to: None,
                file: None,
            }
            .apply(doc)
            .map_err(|e| e.to_string())
        } else {
            doc.transact::<_, _, automerge::AutomergeError>(|tx| {
                tx.put(ROOT, write_key(account), true)?;
                Ok(())
            })
            .map(|_| ())
            .map_err(|f| f.error.to_string())
        }
    });
    result.unwrap();
}

fn has_write(doc: &Automerge, kind: &str, account: &str) -> bool {
    if kind == "messages" {
        MessagesDoc::read(doc, None, None)
            .map(|c| c.messages.iter().any(|m| m.author == account))
            .unwrap_or(false)
    } else {
        doc.get(ROOT, write_key(account)).ok().flatten().is_some()
    }
}

pub(crate) async fn find(repo: &Repo, doc_id: &str) -> Option<DocHandle> {
    tokio::time::timeout(Duration::from_secs(15), repo.find(doc_id.parse().unwrap()))
        .await
        .expect("find answers within 15 s")
        .unwrap()
}

// --- a client that speaks the protocol by hand ---

/// What the server said to a hand-written client.
#[derive(Debug, PartialEq)]
pub(crate) enum Reply {
    Sync(String),
    Unavailable(String),
    Error(String),
    Closed(Option<u16>),
}

pub(crate) struct Raw {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    peer: String,
    server_peer: String,
    last_close: Option<u16>,
}

fn cbor_map(entries: &[(&str, CborValue)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = minicbor::Encoder::new(&mut out);
    e.map(entries.len() as u64).unwrap();
    for (key, value) in entries {
        e.str(key).unwrap();
        match value {
            CborValue::Text(s) => e.str(s).unwrap(),
            CborValue::Bytes(b) => e.bytes(b).unwrap(),
            CborValue::Uint(n) => e.u64(*n).unwrap(),
            CborValue::Texts(items) => {
                e.array(items.len() as u64).unwrap();
                for item in items {
                    e.str(item).unwrap();
                }
                &mut e
            }
        };
    }
    out
}

enum CborValue {
    Text(String),
    Bytes(Vec<u8>),
    Uint(u64),
    Texts(Vec<String>),
}

/// The text fields of a reply.
fn fields(bytes: &[u8]) -> Vec<(String, String)> {
    let mut d = minicbor::Decoder::new(bytes);
    let mut out = Vec::new();
    let Ok(Some(n)) = d.map() else {
        return out;
    };
    for _ in 0..n {
        let Ok(key) = d.str() else {
            return out;
        };
        let key = key.to_owned();
        if matches!(d.datatype(), Ok(minicbor::data::Type::String)) {
            out.push((key, d.str().unwrap().to_owned()));
        } else if d.skip().is_err() {
            return out;
        }
    }
    out
}

impl Raw {
    /// Connects with a new session of `account` and joins as `peer`.
    pub(crate) async fn join(
        server: &TestServer,
        account: &str,
        peer: &str,
    ) -> (Raw, Option<Reply>) {
        let (ws, _) = raw_socket(server, account).await;
        let mut raw = Raw {
            ws,
            peer: peer.to_owned(),
            server_peer: String::new(),
            last_close: None,
        };
        let join = cbor_map(&[
            ("type", CborValue::Text("join".into())),
            ("senderId", CborValue::Text(peer.into())),
            (
                "supportedProtocolVersions",
                CborValue::Texts(vec!["1".into()]),
            ),
        ]);
        raw.ws.send(Message::Binary(join.into())).await.unwrap();
        loop {
            let Some(bytes) = raw.next_binary().await else {
                let closed = raw.closed().await;
                return (raw, Some(closed));
            };
            let f = fields(&bytes);
            let get = |k: &str| f.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
            match get("type").as_deref() {
                Some("peer") => {
                    raw.server_peer = get("senderId").unwrap();
                    return (raw, None);
                }
                Some("error") => return (raw, Some(Reply::Error(get("message").unwrap()))),
                _ => {}
            }
        }
    }

    async fn send(&mut self, kind: &str, sender: &str, doc_id: &str, data: Vec<u8>) {
        let message = cbor_map(&[
            ("type", CborValue::Text(kind.into())),
            ("senderId", CborValue::Text(sender.into())),
            ("targetId", CborValue::Text(self.server_peer.clone())),
            ("documentId", CborValue::Text(doc_id.into())),
            ("data", CborValue::Bytes(data)),
        ]);
        self.ws.send(Message::Binary(message.into())).await.unwrap();
    }

    /// An ephemeral message about `doc_id` carrying `data`, the `count`-th
    /// of session `session`.
    pub(crate) async fn ephemeral(
        &mut self,
        doc_id: &str,
        session: &str,
        count: u64,
        data: Vec<u8>,
    ) {
        let peer = self.peer.clone();
        self.ephemeral_from(&peer, doc_id, session, count, data)
            .await;
    }

    /// The same, as passed on from `sender` (what a client's samod does
    /// with what it hears).
    pub(crate) async fn ephemeral_from(
        &mut self,
        sender: &str,
        doc_id: &str,
        session: &str,
        count: u64,
        data: Vec<u8>,
    ) {
        let message = cbor_map(&[
            ("type", CborValue::Text("ephemeral".into())),
            ("senderId", CborValue::Text(sender.into())),
            ("targetId", CborValue::Text(self.server_peer.clone())),
            ("count", CborValue::Uint(count)),
            ("sessionId", CborValue::Text(session.into())),
            ("documentId", CborValue::Text(doc_id.into())),
            ("data", CborValue::Bytes(data)),
        ]);
        self.ws.send(Message::Binary(message.into())).await.unwrap();
    }

    pub(crate) async fn sync(&mut self, doc_id: &str, data: Vec<u8>) {
        let peer = self.peer.clone();
        self.send("sync", &peer, doc_id, data).await;
    }

    /// The next binary message, or `None` once the server closes.
    async fn next_binary(&mut self) -> Option<Vec<u8>> {
        loop {
            let next = tokio::time::timeout(Duration::from_secs(15), self.ws.next())
                .await
                .expect("the server answers within 15 s");
            match next {
                Some(Ok(Message::Binary(b))) => return Some(b.to_vec()),
                Some(Ok(Message::Close(frame))) => {
                    self.last_close = frame.map(|f| u16::from(f.code));
                    return None;
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    async fn closed(&mut self) -> Reply {
        Reply::Closed(self.last_close)
    }

    /// The server's first answer about `doc_id` (or its error, or its close).
    pub(crate) async fn reply_about(&mut self, doc_id: &str) -> Reply {
        loop {
            let Some(bytes) = self.next_binary().await else {
                return self.closed().await;
            };
            let f = fields(&bytes);
            let get = |k: &str| f.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
            match (get("type").as_deref(), get("documentId")) {
                (Some("error"), _) => return Reply::Error(get("message").unwrap_or_default()),
                (Some("sync"), Some(d)) if d == doc_id => return Reply::Sync(d),
                (Some("doc-unavailable"), Some(d)) if d == doc_id => {
                    return Reply::Unavailable(d);
                }
                _ => {}
            }
        }
    }

    /// After an error: the close code the server sent.
    pub(crate) async fn close_code(&mut self) -> Option<u16> {
        while self.next_binary().await.is_some() {}
        self.last_close
    }
}

/// A sync message from `mine` to a peer that holds `theirs`, carrying the
/// changes `theirs` lacks: what a client sends after the handshake.
pub(crate) fn sync_data_with_new_changes(mut mine: Automerge, theirs: &Automerge) -> Vec<u8> {
    let mut theirs = theirs.clone();
    let (mut my_state, mut their_state) = (State::new(), State::new());
    for _ in 0..10 {
        if let Some(message) = mine.generate_sync_message(&mut my_state) {
            if message.changes.iter().next().is_some() {
                return message.encode();
            }
            theirs
                .receive_sync_message(&mut their_state, message)
                .unwrap();
        }
        if let Some(reply) = theirs.generate_sync_message(&mut their_state) {
            mine.receive_sync_message(&mut my_state, reply).unwrap();
        }
    }
    panic!("no sync message carried the new changes");
}

/// A change from nowhere: a new actor's root field, no dependencies.
fn stray_write(account: &str) -> Vec<u8> {
    let mut mine = Automerge::new();
    mine.transact::<_, _, automerge::AutomergeError>(|tx| {
        tx.put(ROOT, write_key(account), true)?;
        Ok(())
    })
    .unwrap();
    sync_data_with_new_changes(mine, &Automerge::new())
}

pub(crate) async fn admin_token(server: &TestServer) -> String {
    session_for(&server.database_url, "a-admin").await
}

/// The messages document of a channel for this month.
pub(crate) async fn bucket_of(pool: &sqlx::PgPool, channel: &str) -> String {
    sqlx::query_scalar(
        "SELECT doc_id FROM channel_buckets WHERE channel_id = $1
         ORDER BY period LIMIT 1",
    )
    .bind(channel)
    .fetch_one(pool)
    .await
    .unwrap()
}

pub(crate) async fn create_channel(server: &TestServer, members: &[&str]) -> String {
    let token = admin_token(server).await;
    let body = serde_json::json!({ "name": "Team Ana", "members": members });
    let (status, created) = api(server, &token, "POST", "/api/admin/channels", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    created["doc_id"].as_str().unwrap().to_owned()
}

struct MatrixDoc {
    label: &'static str,
    kind: &'static str,
    id: String,
}

/// Every (role, relation, kind, read or write) cell, one table. Ben is a
/// partner in Ana's team, Ana a team leader, Cleo a partner of no team.
#[tokio::test]
async fn the_authorization_matrix() {
    use Access::{None as N, Read as R, ReadWrite as RW};
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;

    // The documents: the fixtures' pipelines, Ben's account view (the
    // server makes it), a channel made through the admin API, and the other
    // kinds made by an admin's device.
    let admin = client("a-admin").await;
    let mut docs = vec![
        MatrixDoc {
            label: "Ben's pipeline",
            kind: "pipeline",
            id: pipeline_doc(&pool, "p-ben").await,
        },
        MatrixDoc {
            label: "Cleo's pipeline",
            kind: "pipeline",
            id: pipeline_doc(&pool, "p-cleo").await,
        },
        MatrixDoc {
            label: "Ben's account view",
            kind: "account_view",
            id: account_view_doc(&pool, "p-ben").await,
        },
        MatrixDoc {
            label: "Ana's team view",
            kind: "team",
            id: team_doc(&pool, "p-ana").await,
        },
        MatrixDoc {
            label: "Ben's standings",
            kind: "standings",
            id: standings_doc(&pool, "p-ben").await,
        },
        MatrixDoc {
            label: "Ben's training",
            kind: "training",
            id: sqlx::query_scalar(
                "SELECT doc_id FROM documents WHERE owner_id = 'p-ben' AND kind = 'training'",
            )
            .fetch_one(&pool)
            .await
            .unwrap(),
        },
    ];
    let channel = create_channel(&server, &["a-ana", "a-ben"]).await;
    docs.push(MatrixDoc {
        label: "Team Ana's messages",
        kind: "messages",
        id: bucket_of(&pool, &channel).await,
    });
    docs.push(MatrixDoc {
        label: "Team Ana's channel",
        kind: "channel",
        id: channel,
    });
    for (label, kind, owner) in [
        ("Ben's note", "note", Some("p-ben")),
        ("the catalog", "catalog", None),
    ] {
        let mut doc = Automerge::new();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "title", label)?;
            Ok(())
        })
        .unwrap();
        let handle = admin.create(doc).await.unwrap();
        let id = handle.document_id().to_string();
        sqlx::query("INSERT INTO documents (doc_id, kind, owner_id) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(kind)
            .bind(owner)
            .execute(&pool)
            .await
            .unwrap();
        docs.push(MatrixDoc { label, kind, id });
    }
    let _admin_link = connect(&admin, &server).await;
    for doc in &docs {
        let handle = find(&admin, &doc.id).await.expect("the admin reads all");
        drop(handle);
        wait_for(
            &format!("{} to be stored", doc.label),
            Duration::from_secs(20),
            || async {
                let stored = stored(&pool, &doc.id).await;
                (!stored.get_heads().is_empty()).then_some(())
            },
        )
        .await;
    }

    let subjects = ["a-ben", "a-ana", "a-cleo", "a-admin"];
    #[rustfmt::skip]
    let table: [(&str, [Access; 4]); 10] = [
        //                       Ben  Ana  Cleo Admin
        ("Ben's pipeline",      [RW,  R,   N,   RW]),
        ("Ana's team view",     [N,   R,   N,   RW]),
        ("Ben's training",      [RW,  R,   N,   RW]),
        ("Ben's note",          [RW,  N,   N,   RW]),
        ("Ben's account view",  [R,   N,   N,   RW]),
        // His place on the leaderboards is his alone, even to his leader.
        ("Ben's standings",     [R,   N,   N,   RW]),
        ("the catalog",         [R,   R,   R,   RW]),
        ("Team Ana's channel",  [R,   R,   N,   RW]),
        ("Team Ana's messages", [RW,  RW,  N,   RW]),
        ("Cleo's pipeline",     [N,   N,   RW,  RW]),
    ];
    assert_eq!(table.len(), docs.len());
    let doc = |label: &str| docs.iter().find(|d| d.label == label).unwrap();

    let mut ignored_writes = Vec::new();
    for (column, subject) in subjects.iter().enumerate() {
        let repo = if *subject == "a-admin" {
            admin.clone()
        } else {
            client(subject).await
        };
        let link = if *subject == "a-admin" {
            None
        } else {
            Some(connect(&repo, &server).await)
        };
        for (label, row) in &table {
            let (doc, expected) = (doc(label), row[column]);
            let cell = format!("{subject} on {label}");
            let found = find(&repo, &doc.id).await;
            assert_eq!(found.is_some(), expected != N, "read: {cell}");
            match (expected, found) {
                (RW, Some(handle)) => {
                    write(&handle, doc.kind, subject);
                    wait_for(
                        &format!("write stored: {cell}"),
                        Duration::from_secs(20),
                        || async {
                            has_write(&stored(&pool, &doc.id).await, doc.kind, subject)
                                .then_some(())
                        },
                    )
                    .await;
                }
                (R, Some(handle)) => {
                    write(&handle, doc.kind, subject);
                    // The server says it ignores this peer's changes...
                    wait_for(
                        &format!("read-only advertised: {cell}"),
                        Duration::from_secs(10),
                        || async {
                            handle
                                .peers()
                                .0
                                .values()
                                .any(|p| p.peer_read_only)
                                .then_some(())
                        },
                    )
                    .await;
                    // ...and the final barrier below proves it did.
                    ignored_writes.push((doc, *subject));
                }
                (N, Option::None) => {
                    // A write needs no read: a hand-made change for the id.
                    let peer = peer_id_of(subject);
                    let (mut raw, refused) = Raw::join(&server, subject, &peer).await;
                    assert_eq!(refused, Option::None, "{cell}");
                    raw.sync(&doc.id, stray_write(subject)).await;
                    assert_eq!(
                        raw.reply_about(&doc.id).await,
                        Reply::Unavailable(doc.id.clone()),
                        "write: {cell}"
                    );
                    assert!(
                        !has_write(&stored(&pool, &doc.id).await, doc.kind, subject),
                        "write: {cell}"
                    );
                }
                (_, found) => panic!("{cell}: found {:?}", found.is_some()),
            }
        }
        if let Some(link) = link {
            link.close();
        }
    }

    // Barrier: once only the admin is connected, the ignored writes were
    // handled (each came before its client's close); an admin write to each
    // document after that is stored after them.
    wait_for(
        "other clients to leave",
        Duration::from_secs(20),
        || async { (gauge(&server, "portal_sync_connections").await == 1).then_some(()) },
    )
    .await;
    for (doc, subject) in &ignored_writes {
        let handle = find(&admin, &doc.id).await.unwrap();
        let barrier = format!("barrier_after_{subject}");
        handle
            .with_document(|d| {
                d.transact::<_, _, automerge::AutomergeError>(|tx| {
                    tx.put(ROOT, barrier.as_str(), true)?;
                    Ok(())
                })
                .map(|_| ())
                .map_err(|f| f.error.to_string())
            })
            .unwrap();
        wait_for(
            "the barrier to be stored",
            Duration::from_secs(20),
            || async {
                stored(&pool, &doc.id)
                    .await
                    .get(ROOT, barrier.as_str())
                    .ok()
                    .flatten()
                    .map(|_| ())
            },
        )
        .await;
        assert!(
            !has_write(&stored(&pool, &doc.id).await, doc.kind, subject),
            "{subject} wrote to {} although it is read-only for them",
            doc.label
        );
    }
    // And the hand-made write path really writes when allowed: Ben's own note.
    let note = doc("Ben's note");
    let (mut raw, _) = Raw::join(&server, "a-ben", &peer_id_of("a-ben")).await;
    raw.sync(&note.id, stray_write("a-ben-by-hand")).await;
    wait_for(
        "a hand-made write to be stored",
        Duration::from_secs(20),
        || async {
            has_write(&stored(&pool, &note.id).await, "note", "a-ben-by-hand").then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn a_client_cannot_act_under_another_peer_id() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;

    // Joining as Cleo's device with Ben's session.
    let (mut raw, refused) = Raw::join(&server, "a-ben", "a-cleo/phone").await;
    assert!(
        matches!(&refused, Some(Reply::Error(m)) if m.contains("not yours")),
        "{refused:?}"
    );
    assert_eq!(raw.close_code().await, Some(1008));

    // Joining as himself, then speaking as Cleo.
    let pool = db.pool().await;
    let cleo_doc = pipeline_doc(&pool, "p-cleo").await;
    let (mut raw, refused) = Raw::join(&server, "a-ben", "a-ben/phone").await;
    assert_eq!(refused, None);
    let request = Automerge::new()
        .generate_sync_message(&mut State::new())
        .unwrap()
        .encode();
    raw.send("request", "a-cleo/phone", &cleo_doc, request)
        .await;
    let reply = raw.reply_about(&cleo_doc).await;
    assert!(
        matches!(&reply, Reply::Error(m) if m.contains("senderId")),
        "{reply:?}"
    );
    assert_eq!(raw.close_code().await, Some(1008));

    // A peer id that names no account at all.
    let (_, refused) = Raw::join(&server, "a-ben", "phone-of-ben").await;
    assert!(matches!(refused, Some(Reply::Error(_))), "{refused:?}");
}

/// Ana leads Ben's team: she reads his pipeline, and a lead she slips into
/// it by hand is neither stored nor projected.
#[tokio::test]
async fn a_write_to_a_read_only_document_is_never_stored_nor_projected() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let ben_doc = pipeline_doc(&pool, "p-ben").await;
    let before = stored(&pool, &ben_doc).await;
    let rows = rows_of(&PipelineDoc::read(&before).unwrap());
    wait_for_rows(&pool, "p-ben", &rows).await;

    let mut forged = before.fork();
    let draft = LeadDraft::parse(
        "Planted by Ana",
        "",
        "",
        "",
        Money::new(100, Currency::parse("USD").unwrap()),
        "",
    )
    .unwrap();
    PipelineDoc::add_lead(
        &mut forged,
        &LeadId::parse("planted").unwrap(),
        &draft,
        Timestamp(5),
    )
    .unwrap();
    let (mut raw, refused) = Raw::join(&server, "a-ana", &peer_id_of("a-ana")).await;
    assert_eq!(refused, None);
    raw.sync(&ben_doc, sync_data_with_new_changes(forged, &before))
        .await;
    // The server answers the message it handled (with its own heads)...
    assert_eq!(
        raw.reply_about(&ben_doc).await,
        Reply::Sync(ben_doc.clone())
    );
    // ...and kept nothing of it.
    let after = stored(&pool, &ben_doc).await;
    assert_eq!(after.get_heads(), before.get_heads());
    assert!(
        !PipelineDoc::read(&after)
            .unwrap()
            .leads
            .iter()
            .any(|l| l.id.as_str() == "planted")
    );
    assert_eq!(lead_rows(&pool, "p-ben").await, rows);
}

/// Cleo asks for Ben's pipeline and for an id nobody uses: the two answers
/// are the same, and her write to Ben's pipeline is not stored.
#[tokio::test]
async fn another_partners_document_is_answered_as_missing() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let ben_doc = pipeline_doc(&pool, "p-ben").await;
    let nobodys = samod::DocumentId::new(&mut rand::rng()).to_string();
    let before = stored(&pool, &ben_doc).await.get_heads();

    let request = || {
        Automerge::new()
            .generate_sync_message(&mut State::new())
            .unwrap()
            .encode()
    };
    let peer = peer_id_of("a-cleo");
    let (mut raw, _) = Raw::join(&server, "a-cleo", &peer).await;
    raw.send("request", &peer, &ben_doc, request()).await;
    assert_eq!(
        raw.reply_about(&ben_doc).await,
        Reply::Unavailable(ben_doc.clone())
    );
    raw.send("request", &peer, &nobodys, request()).await;
    assert_eq!(
        raw.reply_about(&nobodys).await,
        Reply::Unavailable(nobodys.clone())
    );

    raw.sync(&ben_doc, stray_write("a-cleo")).await;
    assert_eq!(
        raw.reply_about(&ben_doc).await,
        Reply::Unavailable(ben_doc.clone())
    );
    assert_eq!(stored(&pool, &ben_doc).await.get_heads(), before);

    // Through samod too: Cleo's client finds nothing.
    let cleo = client("a-cleo").await;
    let _link = connect(&cleo, &server).await;
    assert!(find(&cleo, &ben_doc).await.is_none());
}

#[tokio::test]
async fn a_session_that_ends_closes_its_sockets() {
    let db = TestDb::new().await;
    let server = TestServer::start_with_args(&db.url, &["--session-sweep-secs", "1"]).await;
    let pool = db.pool().await;
    let ben_doc = pipeline_doc(&pool, "p-ben").await;

    // Signing out closes the socket at once, and the token opens no other.
    let token = session_for(&server.database_url, "a-ben").await;
    let ben = client("a-ben").await;
    let link = connect_with(&ben, server.ws_url(), &token).await;
    let handle = find(&ben, &ben_doc).await.unwrap();
    let auth = format!("Bearer {token}");
    let (status, _, _) = http_request(
        server.addr,
        "DELETE",
        "/api/sessions/current",
        &[("authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(status, 204);
    // The dialer sees the socket close, redials, and is refused for good.
    let mut events = link.events();
    tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(event) = events.next().await {
            if matches!(event, samod::DialerEvent::PermanentFailure) {
                return;
            }
        }
        panic!("the dialer's events ended");
    })
    .await
    .expect("the dialer gives up within 20 s");
    match link.established().await {
        Err(samod::DialerFailed::PermanentFailure(refused)) => {
            assert!(refused.to_string().contains("401"), "{refused}");
        }
        other => panic!("expected a refused session, got {other:?}"),
    }
    assert!(!link.is_connected());
    // Ben's device keeps what he writes meanwhile.
    write(&handle, "pipeline", "a-ben");
    assert!(handle.with_document(|d| has_write(d, "pipeline", "a-ben")));

    // Revoked in the database (another server, an admin's tool): the sweep
    // finds it and closes the socket with 4401.
    let (mut raw, refused) = Raw::join(&server, "a-ben", &peer_id_of("a-ben")).await;
    assert_eq!(refused, None);
    sqlx::query("UPDATE sessions SET revoked_at = now() WHERE account_id = 'a-ben'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(raw.close_code().await, Some(4401));

    // Expired: the same.
    let (mut raw, refused) = Raw::join(&server, "a-ben", &peer_id_of("a-ben")).await;
    assert_eq!(refused, None);
    sqlx::query(
        "UPDATE sessions SET expires_at = now() WHERE account_id = 'a-ben' AND revoked_at IS NULL",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(raw.close_code().await, Some(4401));
    // Its other sessions were not touched: a session is one device.
    assert_eq!(gauge(&server, "portal_sync_connections").await, 0);
}
