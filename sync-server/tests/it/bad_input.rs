//! A catalogue of malformed input on `/sync`, one test each. Every case gets
//! its connection closed (with a protocol `error` message naming the problem
//! where one can still be delivered); a well-behaved client connected to the
//! same server keeps syncing into Postgres; and nothing of the bad input is
//! stored: no chunk appears for a document outside the registry.

use std::time::Duration;

use automerge::sync::SyncDoc;
use futures::{SinkExt, StreamExt};
use model::{Currency, LeadDraft, LeadId, Money, PipelineDoc, Timestamp};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;

/// Limits tight enough to hit quickly.
const LIMITS: [&str; 8] = [
    "--max-sync-message-bytes",
    "65536",
    "--sync-burst",
    "50",
    "--sync-rate-per-sec",
    "20",
    "--sync-handshake-secs",
    "1",
];

/// A CBOR value, encoded by hand: the tests must be able to say things no
/// well-behaved encoder would.
pub(crate) enum C {
    Text(&'static str),
    Owned(String),
    Bytes(Vec<u8>),
    Uint(u64),
    Array(Vec<C>),
    Map(Vec<(&'static str, C)>),
}

pub(crate) fn head(major: u8, n: u64, out: &mut Vec<u8>) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend([m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((n as u16).to_be_bytes());
        }
        _ => {
            out.push(m | 26);
            out.extend((n as u32).to_be_bytes());
        }
    }
}

pub(crate) fn cbor(value: &C) -> Vec<u8> {
    let mut out = Vec::new();
    encode(value, &mut out);
    out
}

pub(crate) fn encode(value: &C, out: &mut Vec<u8>) {
    match value {
        C::Uint(n) => head(0, *n, out),
        C::Bytes(b) => {
            head(2, b.len() as u64, out);
            out.extend(b);
        }
        C::Text(s) => encode(&C::Owned((*s).to_owned()), out),
        C::Owned(s) => {
            head(3, s.len() as u64, out);
            out.extend(s.as_bytes());
        }
        C::Array(items) => {
            head(4, items.len() as u64, out);
            items.iter().for_each(|i| encode(i, out));
        }
        C::Map(entries) => {
            head(5, entries.len() as u64, out);
            for (k, v) in entries {
                encode(&C::Text(k), out);
                encode(v, out);
            }
        }
    }
}

pub(crate) fn join(versions: &[&'static str]) -> Vec<u8> {
    cbor(&C::Map(vec![
        ("type", C::Text("join")),
        ("senderId", C::Text("a-ana/bad-peer")),
        (
            "supportedProtocolVersions",
            C::Array(versions.iter().map(|v| C::Text(v)).collect()),
        ),
    ]))
}

/// An empty but valid Automerge sync message.
pub(crate) fn empty_sync_data() -> Vec<u8> {
    automerge::Automerge::new()
        .generate_sync_message(&mut automerge::sync::State::new())
        .expect("a first sync message")
        .encode()
}

pub(crate) fn sync_msg(doc_id: &str, target: &str, data: Vec<u8>) -> Vec<u8> {
    cbor(&C::Map(vec![
        ("type", C::Text("sync")),
        ("senderId", C::Text("a-ana/bad-peer")),
        ("targetId", C::Owned(target.to_owned())),
        ("documentId", C::Owned(doc_id.to_owned())),
        ("data", C::Bytes(data)),
    ]))
}

enum Frame {
    Binary(Vec<u8>),
    Text(&'static str),
}

struct Case {
    frames: Vec<Frame>,
    /// Words the server's `error` message must contain; `None` when no
    /// message can be expected (the socket itself was broken).
    error: Option<&'static str>,
}

/// Reads until the server closes; returns the `error` messages it sent.
async fn read_until_closed(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Vec<String> {
    let mut errors = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(message) = ws.next().await {
            match message {
                Ok(Message::Binary(bytes)) => {
                    if let Some(text) = error_text(&bytes) {
                        errors.push(text);
                    }
                }
                Ok(Message::Close(_)) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the server did not close the connection within 10 s"
    );
    errors
}

/// A text field of a protocol message of type `kind`.
pub(crate) fn field(bytes: &[u8], kind: &str, name: &str) -> Option<String> {
    let mut d = minicbor::Decoder::new(bytes);
    let n = d.map().ok()??;
    let (mut found_kind, mut value) = (None, None);
    for _ in 0..n {
        let key = d.str().ok()?;
        if key == "type" {
            found_kind = Some(d.str().ok()?.to_owned());
        } else if key == name && matches!(d.datatype(), Ok(minicbor::data::Type::String)) {
            value = Some(d.str().ok()?.to_owned());
        } else {
            d.skip().ok()?;
        }
    }
    (found_kind.as_deref() == Some(kind)).then(|| value.unwrap_or_default())
}

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A raw socket of Ana that has joined; and the server's peer id.
pub(crate) async fn joined(server: &impl ServerUnderTest) -> (Socket, String) {
    let (mut ws, _) = raw_socket(server, "a-ana").await;
    ws.send(Message::Binary(join(&["1"]).into())).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("a reply to join")
        .expect("an open socket")
        .unwrap();
    let Message::Binary(reply) = reply else {
        panic!("peer reply: {reply:?}")
    };
    let peer = field(&reply, "peer", "senderId").expect("a peer message");
    (ws, peer)
}

pub(crate) fn error_text(bytes: &[u8]) -> Option<String> {
    field(bytes, "error", "message")
}

/// `joined_first`: send a valid join first; `case` gets the document id and the
/// server's peer id (from its reply to the join) and says what to send.
async fn run(joined_first: bool, case: impl FnOnce(&str, &str) -> Case) {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let server = TestServer::start_with_args(&db.url, &LIMITS).await;
    let doc_id = pipeline_doc(&pool, "p-ana").await;

    // A well-behaved client, connected throughout.
    let good = client("a-ana").await;
    let _link = connect(&good, &server).await;
    let handle = open(&good, &doc_id).await;

    let (mut ws, server_peer) = if joined_first {
        joined(&server).await
    } else {
        (
            raw_socket(&server, "a-ana").await.0,
            "unknown-server".to_owned(),
        )
    };
    let case = case(&doc_id, &server_peer);
    for frame in case.frames {
        let message = match frame {
            Frame::Binary(b) => Message::Binary(b.into()),
            Frame::Text(t) => Message::Text(t.into()),
        };
        // The server may already have closed; later sends may fail.
        if ws.send(message).await.is_err() {
            break;
        }
    }
    let errors = read_until_closed(&mut ws).await;
    if let Some(words) = case.error {
        assert!(
            errors.iter().any(|e| e.contains(words)),
            "expected an error containing {words:?}, got {errors:?}"
        );
    }

    // The good client still syncs into Postgres.
    handle
        .with_document(|doc| {
            let draft = LeadDraft::parse(
                "Still here",
                "",
                "",
                "",
                Money::new(1, Currency::parse("USD")?),
                "",
            )?;
            PipelineDoc::add_lead(
                doc,
                &LeadId::parse("after-bad-input")?,
                &draft,
                Timestamp(1),
            )
        })
        .unwrap();
    wait_for_rows(&pool, "p-ana", &rows_of(&read(&handle))).await;

    // Nothing stored for any document outside the registry.
    let stray: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM doc_chunks
         WHERE key LIKE '%/%' AND split_part(key, '/', 1) NOT IN (SELECT doc_id FROM documents)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stray, 0, "chunks of unregistered documents were stored");
}

fn bin(b: Vec<u8>) -> Vec<Frame> {
    vec![Frame::Binary(b)]
}

macro_rules! case {
    ($name:ident, joined: $joined:expr, |$doc:ident, $server:ident| $frames:expr, $error:expr) => {
        #[tokio::test]
        async fn $name() {
            run($joined, |$doc: &str, $server: &str| {
                let _ = ($doc, $server);
                Case {
                    frames: $frames,
                    error: $error,
                }
            })
            .await;
        }
    };
}

case!(bytes_that_are_not_cbor, joined: false, |doc, server| bin(b"hello, server".to_vec()), Some("not a protocol message"));
case!(an_empty_frame, joined: false, |doc, server| bin(vec![]), Some("not a protocol message"));
case!(a_lone_break_byte, joined: false, |doc, server| bin(vec![0xff]), Some("not a protocol message"));
case!(a_truncated_map, joined: false, |doc, server| bin(vec![0xa2, 0x64, b't']), Some("not a protocol message"));
case!(an_indefinite_length_map, joined: false, |doc, server| bin(vec![0xbf, 0x64, b't', b'y', b'p', b'e', 0x64, b'j', b'o', b'i', b'n', 0xff]), Some("indefinite"));
case!(a_cbor_array, joined: false, |doc, server| bin(cbor(&C::Array(vec![C::Uint(1), C::Uint(2)]))), Some("expected a CBOR map"));
case!(a_cbor_integer, joined: false, |doc, server| bin(cbor(&C::Uint(42))), Some("expected a CBOR map"));
case!(a_map_without_type, joined: false, |doc, server| bin(cbor(&C::Map(vec![("senderId", C::Text("x"))]))), Some("no `type`"));
case!(a_type_that_is_not_text, joined: false, |doc, server| bin(cbor(&C::Map(vec![("type", C::Uint(7))]))), Some("`type` must be text"));
case!(an_unknown_type_before_the_handshake, joined: false, |doc, server| bin(cbor(&C::Map(vec![("type", C::Text("bogus"))]))), Some("unknown message type"));
case!(an_unsupported_protocol_version, joined: false, |doc, server| bin(join(&["99"])), Some("unsupported protocol version"));
case!(a_sync_before_the_handshake, joined: false, |doc, server| bin(sync_msg(doc, server, empty_sync_data())), Some(""));
case!(trailing_bytes_after_a_message, joined: false, |doc, server| bin([join(&["1"]), vec![0x00]].concat()), Some("trailing bytes"));
case!(a_huge_declared_length, joined: false, |doc, server| bin(vec![0x5a, 0xff, 0xff, 0xff, 0xff, 0x00]), Some("not a protocol message"));
case!(a_text_frame, joined: false, |doc, server| vec![Frame::Text("{\"type\":\"join\"}")], Some("binary"));
case!(a_text_frame_that_is_nearly_the_heartbeat, joined: true, |doc, server| vec![Frame::Text("ping\0")], Some("binary"));
case!(a_flood_of_heartbeats, joined: true, |doc, server| (0..200).map(|_| Frame::Text("ping")).collect(), Some("too many messages"));
case!(an_invalid_document_id, joined: true, |doc, server| bin(sync_msg("not a document id!", server, empty_sync_data())), Some("`documentId` is not a document id"));
case!(garbage_inside_a_sync_message, joined: true, |doc, server| bin(sync_msg(doc, server, b"\x00\x01 not automerge".to_vec())), Some("not an Automerge sync message"));
case!(cbor_where_sync_data_belongs, joined: true, |doc, server| bin(sync_msg(doc, server, cbor(&C::Map(vec![("heads", C::Array(vec![]))])))), Some("not an Automerge sync message"));
case!(a_sync_message_without_data, joined: true, |doc, server| bin(cbor(&C::Map(vec![("type", C::Text("sync")), ("senderId", C::Text("a-ana/bad-peer")), ("targetId", C::Owned(server.to_owned())), ("documentId", C::Owned(doc.to_owned()))]))), Some("needs `data`"));
case!(a_request_without_a_document, joined: true, |doc, server| bin(cbor(&C::Map(vec![("type", C::Text("request")), ("senderId", C::Text("a-ana/bad-peer")), ("data", C::Bytes(empty_sync_data()))]))), Some("needs a `documentId`"));
case!(an_unknown_type_after_the_handshake, joined: true, |doc, server| bin(cbor(&C::Map(vec![("type", C::Text("drop-table")), ("senderId", C::Text("a-ana/bad-peer"))]))), Some("unknown message type"));
case!(a_second_join, joined: true, |doc, server| bin(join(&["1"])), Some(""));
case!(a_message_for_another_peer, joined: true, |doc, server| bin(sync_msg(doc, "someone-else", empty_sync_data())), Some("mismatch"));
case!(a_frame_larger_than_the_limit, joined: true, |doc, server| bin(vec![0u8; 100 * 1024]), None);
case!(a_burst_beyond_the_rate_limit, joined: true, |doc, server| (0..200).map(|_| Frame::Binary(sync_msg(doc, server, empty_sync_data()))).collect(), Some("too many messages"));
case!(a_handshake_that_never_comes, joined: false, |doc, server| vec![], Some("no handshake"));

/// The app's heartbeat (the one text frame the socket takes) is answered,
/// before the handshake and after it, and the connection goes on: a sync
/// message after it is still answered.
#[tokio::test]
async fn the_heartbeat_is_answered_and_the_connection_goes_on() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let server = TestServer::start_with_args(&db.url, &LIMITS).await;
    let doc_id = pipeline_doc(&pool, "p-ana").await;

    let (mut ws, _) = raw_socket(&server, "a-ana").await;
    async fn next_text(ws: &mut Socket) -> String {
        loop {
            match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => return t.to_string(),
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                other => panic!("expected the heartbeat's answer, got {other:?}"),
            }
        }
    }
    ws.send(Message::Text("ping".into())).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "pong");

    let (mut ws, server_peer) = joined(&server).await;
    ws.send(Message::Text("ping".into())).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "pong");
    ws.send(Message::Binary(
        sync_msg(&doc_id, &server_peer, empty_sync_data()).into(),
    ))
    .await
    .unwrap();
    let answered = loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Binary(bytes)))) => break bytes,
            Ok(Some(Ok(_))) => continue,
            other => panic!("expected the server's sync message, got {other:?}"),
        }
    };
    assert!(
        error_text(&answered).is_none(),
        "the server answered with an error: {:?}",
        error_text(&answered)
    );
}
