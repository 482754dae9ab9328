//! `/sync` under hostile input: messages that expand (DEFLATE bombs, runs
//! of billions of rows, bloom filters with billions of probes), CBOR that
//! makes decoders allocate, messages before `join`, limits that must close
//! with their documented code, and too many sockets for one account.
//!
//! Each hostile message is sent for a document the sender may write (their
//! own pipeline), where nothing but the guard stands in the way, and the
//! server's peak memory is read before and after.

use std::{io::Write, time::Duration};

use futures::{SinkExt, StreamExt};
use sync_server::platform::expansion::write_uleb128 as leb128;
use tokio_tungstenite::tungstenite::{Message, protocol::frame::coding::CloseCode};

use crate::{
    bad_input::{C, Socket, cbor, empty_sync_data, error_text, joined, sync_msg},
    helpers::*,
};

/// Reads until the server closes: the `error` messages it sent and the
/// close frame's code (`None`: the connection ended without one).
async fn until_closed(ws: &mut Socket) -> (Vec<String>, Option<u16>) {
    let mut errors = Vec::new();
    let code = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(message) = ws.next().await {
            match message {
                Ok(Message::Binary(bytes)) => errors.extend(error_text(&bytes)),
                Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                Err(_) => return None,
                Ok(_) => {}
            }
        }
        None
    })
    .await
    .expect("the server closes the connection within 20 s");
    (errors, code)
}

/// An Automerge sync message (V1, no heads, needs or haves) carrying one
/// chunk of `kind` with `data`.
fn sync_data_with_chunk(kind: u8, data: &[u8]) -> Vec<u8> {
    let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, kind];
    leb128(&mut chunk, data.len() as u64);
    chunk.extend(data);
    let mut out = vec![0x42, 0, 0, 0, 1];
    leb128(&mut out, chunk.len() as u64);
    out.extend(chunk);
    out
}

/// Sends `data` as a sync message for Ana's pipeline; returns the errors,
/// the close code, and how much the server's peak memory grew.
async fn send_for_own_pipeline(data: Vec<u8>) -> (Vec<String>, Option<u16>, u64) {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    // A process: its peak memory is read, and a bomb the guard let through
    // must not take the test binary down with it.
    let server = ServerProcess::start(&db.url).await;
    let doc = pipeline_doc(&pool, "p-ana").await;
    let (mut ws, peer) = joined(&server).await;
    let before = server.peak_rss();
    ws.send(Message::Binary(sync_msg(&doc, &peer, data).into()))
        .await
        .unwrap();
    let (errors, code) = until_closed(&mut ws).await;
    // The server is still there, and answers.
    let (status, _, _) = http_get(server.addr, "/healthz", &[]).await;
    assert_eq!(status, 200);
    let grew = server.peak_rss().saturating_sub(before);
    (errors, code, grew)
}

const MIB: u64 = 1024 * 1024;

fn deflate(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[tokio::test]
async fn a_deflate_bomb_is_refused_before_it_inflates() {
    // 256 MiB of zeros in a compressed change chunk of about 255 KiB.
    let bomb = deflate(&vec![0u8; 256 * 1024 * 1024]);
    let (errors, code, grew) = send_for_own_pipeline(sync_data_with_chunk(2, &bomb)).await;
    println!(
        "DEFLATE bomb ({} KiB on the wire): server peak memory grew {:.1} MiB",
        bomb.len() / 1024,
        grew as f64 / MIB as f64
    );
    assert!(
        errors.iter().any(|e| e.contains("expands past")),
        "{errors:?}"
    );
    assert_eq!(code, Some(1009));
    assert!(grew < 32 * MIB, "grew {grew} bytes");
}

#[tokio::test]
async fn a_million_actors_in_a_change_header_are_refused() {
    // A compressed change whose header lists a million empty "other
    // actors": a few KiB on the wire, an `ActorId` each once Automerge
    // reads it.
    let mut body = vec![0, 1, b'a', 1, 1, 0, 0];
    leb128(&mut body, 1_000_000);
    body.extend(std::iter::repeat_n(0u8, 1_000_000));
    body.push(0);
    let (errors, code, grew) =
        send_for_own_pipeline(sync_data_with_chunk(2, &deflate(&body))).await;
    println!(
        "a million actors in a change header: server peak memory grew {:.1} MiB",
        grew as f64 / MIB as f64
    );
    assert!(
        errors.iter().any(|e| e.contains("too many actors")),
        "{errors:?}"
    );
    assert_eq!(code, Some(1008));
}

#[tokio::test]
async fn a_run_of_a_trillion_rows_is_refused() {
    // A change whose one column claims 2^40 rows in a dozen bytes.
    let mut column = Vec::new();
    // A signed LEB128 run length of 2^40, then the value repeated.
    let mut n: i64 = 1 << 40;
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 && byte & 0x40 == 0 {
            column.push(byte);
            break;
        }
        column.push(byte | 0x80);
    }
    column.push(0);
    let mut body = vec![0, 1, b'a', 1, 1, 0, 0, 0, 1];
    leb128(&mut body, 1 | (1 << 4));
    leb128(&mut body, column.len() as u64);
    body.extend(column);
    let (errors, code, _) = send_for_own_pipeline(sync_data_with_chunk(1, &body)).await;
    assert!(
        errors.iter().any(|e| e.contains("operations")),
        "{errors:?}"
    );
    assert_eq!(code, Some(1009));
}

#[tokio::test]
async fn a_bloom_filter_with_billions_of_probes_is_refused() {
    // One `have` whose bloom filter asks for 2^32 - 1 probes per hash: an
    // allocation of 16 GiB for every hash the server tests against it.
    let mut bloom = Vec::new();
    leb128(&mut bloom, 1);
    leb128(&mut bloom, 8);
    leb128(&mut bloom, u64::from(u32::MAX));
    bloom.push(0xff);
    let mut data = vec![0x42, 0, 0, 1, 0];
    leb128(&mut data, bloom.len() as u64);
    data.extend(&bloom);
    data.push(0);
    let (errors, code, _) = send_for_own_pipeline(data).await;
    assert!(errors.iter().any(|e| e.contains("bloom")), "{errors:?}");
    assert_eq!(code, Some(1008));
}

/// A `join` with an extra field holding `value`.
fn join_with(value: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::new();
    crate::bad_input::head(5, 4, &mut out);
    for (k, v) in [
        ("type", C::Text("join")),
        ("senderId", C::Text("a-ana/bad-peer")),
        ("supportedProtocolVersions", C::Array(vec![C::Text("1")])),
    ] {
        out.extend(cbor(&C::Text(k)));
        out.extend(cbor(&v));
    }
    out.extend(cbor(&C::Text("extra")));
    out.extend(value);
    out
}

/// Sends, as a connection's first message, the frame `make` makes of Ana's
/// pipeline's id.
async fn send_first(make: impl FnOnce(&str) -> Vec<u8>) -> (Vec<String>, Option<u16>, u64) {
    let db = TestDb::new().await;
    // A process: its peak memory is read, and a frame the guard let through
    // must not take the test binary down with it.
    let server = ServerProcess::start(&db.url).await;
    let frame = make(&pipeline_doc(&db.pool().await, "p-ana").await);
    let (mut ws, _) = raw_socket(&server, "a-ana").await;
    let before = server.peak_rss();
    ws.send(Message::Binary(frame.into())).await.unwrap();
    let (errors, code) = until_closed(&mut ws).await;
    let grew = server.peak_rss().saturating_sub(before);
    (errors, code, grew)
}

#[tokio::test]
async fn nested_indefinite_arrays_are_refused_without_allocating() {
    // 1,000,000 bytes of `[_ [_ [_ ...` (just under the frame limit):
    // minicbor's skip kept 16 bytes per byte.
    let (errors, code, grew) = send_first(|_| join_with(vec![0x9f; 1_000_000])).await;
    println!(
        "1,000,000 bytes of nested indefinite arrays: server peak memory grew {:.1} MiB",
        grew as f64 / MIB as f64
    );
    assert!(
        errors.iter().any(|e| e.contains("nest too deep")),
        "{errors:?}"
    );
    assert_eq!(code, Some(1008));
}

#[tokio::test]
async fn lists_samod_collects_are_bounded() {
    // 500,000 empty strings where samod collects a `Vec<String>`.
    let mut versions = Vec::new();
    crate::bad_input::head(4, 500_000, &mut versions);
    versions.extend(std::iter::repeat_n(0x60, 500_000));
    let mut frame = Vec::new();
    crate::bad_input::head(5, 3, &mut frame);
    frame.extend(cbor(&C::Text("type")));
    frame.extend(cbor(&C::Text("join")));
    frame.extend(cbor(&C::Text("senderId")));
    frame.extend(cbor(&C::Text("a-ana/bad-peer")));
    frame.extend(cbor(&C::Text("supportedProtocolVersions")));
    frame.extend(versions);
    let (errors, code, _) = send_first(|_| frame).await;
    assert!(
        errors.iter().any(|e| e.contains("too many entries")),
        "{errors:?}"
    );
    assert_eq!(code, Some(1008));
}

#[tokio::test]
async fn a_document_message_before_join_is_refused_by_the_guard() {
    let (errors, code, _) = send_first(|doc| sync_msg(doc, "server", empty_sync_data())).await;
    assert!(
        errors.iter().any(|e| e.contains("join first")),
        "{errors:?}"
    );
    assert_eq!(code, Some(1008));
}

#[tokio::test]
async fn the_rate_limit_closes_with_its_code_not_an_abrupt_1006() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let server =
        TestServer::start_with_args(&db.url, &["--sync-burst", "20", "--sync-rate-per-sec", "5"])
            .await;
    let doc = pipeline_doc(&pool, "p-ana").await;
    let (mut ws, peer) = joined(&server).await;
    // The client keeps sending after the limit, as a misbehaving one does.
    for _ in 0..300 {
        let frame = sync_msg(&doc, &peer, empty_sync_data());
        if ws.send(Message::Binary(frame.into())).await.is_err() {
            break;
        }
    }
    let (errors, code) = until_closed(&mut ws).await;
    assert!(
        errors.iter().any(|e| e.contains("too many messages")),
        "{errors:?}"
    );
    assert_eq!(code, Some(u16::from(CloseCode::Policy)));
}

#[tokio::test]
async fn an_oversized_message_closes_with_1009() {
    let db = TestDb::new().await;
    let server = TestServer::start_with_args(&db.url, &["--max-sync-message-bytes", "65536"]).await;
    let (mut ws, _) = joined(&server).await;
    let _ = ws.send(Message::Binary(vec![0u8; 100 * 1024].into())).await;
    let (_, code) = until_closed(&mut ws).await;
    assert_eq!(code, Some(1009));
}

#[tokio::test]
async fn an_account_has_at_most_its_cap_of_sockets() {
    let db = TestDb::new().await;
    let server = TestServer::start_with_args(&db.url, &["--max-sockets-per-account", "3"]).await;
    let token = session_for(&server.database_url, "a-ana").await;
    let dial = || async {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = server.ws_url().as_str().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        tokio_tungstenite::connect_async(request).await
    };
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(dial().await.expect("within the cap").0);
    }
    match dial().await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429)
        }
        other => panic!("a fourth socket: {:?}", other.map(|(_, r)| r.status())),
    }
    // Another account is not counted with Ana's.
    let (_ben, _) = raw_socket(&server, "a-ben").await;
    // One closes: its place is free again, once the server has seen it go.
    open.pop().unwrap().close(None).await.unwrap();
    wait_for("a freed socket slot", Duration::from_secs(10), || async {
        dial().await.ok().map(|_| ())
    })
    .await;
}

/// The most any admitted message can cost: a change of as many operations
/// as `--max-sync-ops` lets through (list elements: the cheapest ops on
/// the wire, a few KiB for all of them), written by the partner to their
/// own pipeline through a real client. The server's peak memory growth is
/// printed: it is the figure the limit buys.
#[tokio::test]
async fn the_largest_admitted_message_has_a_bounded_cost() {
    use automerge::transaction::Transactable;
    let db = TestDb::new().await;
    let pool = db.pool().await;
    // A process: its peak memory is read, apart from the client's.
    let server = ServerProcess::start(&db.url).await;
    let doc_id = pipeline_doc(&pool, "p-ana").await;
    let ana = client("a-ana").await;
    let _link = connect(&ana, &server).await;
    let handle = open(&ana, &doc_id).await;
    let before = server.peak_rss();
    let ops = 499_000;
    handle.with_document(|doc| {
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            let list = tx.put_object(automerge::ROOT, "bulk", automerge::ObjType::List)?;
            tx.splice(
                &list,
                0,
                0,
                std::iter::repeat_n(automerge::ScalarValue::Null, ops),
            )?;
            Ok(())
        })
        .unwrap();
    });
    let heads = heads(&handle);
    wait_for("the change stored", Duration::from_secs(120), || {
        let (pool, doc_id, heads) = (pool.clone(), doc_id.clone(), heads.clone());
        async move { (stored_heads(&pool, &doc_id).await == Some(heads)).then_some(()) }
    })
    .await;
    let grew = server.peak_rss().saturating_sub(before);
    println!(
        "an admitted message of {ops} ops: server peak memory grew {:.1} MiB",
        grew as f64 / MIB as f64
    );
    // About 500 bytes an op while it is applied, stored and projected; a
    // fourfold margin for allocator and build differences. Without the
    // bound on ops, one message asks for as much as its sender likes.
    assert!(grew < 1024 * MIB, "grew {grew} bytes");
}

/// A phone that loses its network leaves a socket nobody reads; it must
/// not hold one of its account's places until the session ends.
#[tokio::test]
async fn a_socket_that_stops_answering_gives_back_its_place() {
    let db = TestDb::new().await;
    let server = TestServer::start_with_args(
        &db.url,
        &[
            "--max-sockets-per-account",
            "1",
            "--sync-keepalive-secs",
            "1",
        ],
    )
    .await;
    // Joined, then never read again: the client answers no ping.
    let (silent, _) = joined(&server).await;
    let second = wait_for(
        "the silent socket's place given back",
        Duration::from_secs(15),
        || async {
            let token = session_for(&server.database_url, "a-ana").await;
            use tokio_tungstenite::tungstenite::client::IntoClientRequest;
            let mut request = server.ws_url().as_str().into_client_request().unwrap();
            request
                .headers_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
            tokio_tungstenite::connect_async(request).await.ok()
        },
    )
    .await;
    drop((silent, second));
}

/// A client that answers pings keeps its socket however quiet it is.
#[tokio::test]
async fn a_quiet_socket_that_answers_pings_stays_open() {
    let db = TestDb::new().await;
    let server = TestServer::start_with_args(&db.url, &["--sync-keepalive-secs", "1"]).await;
    let (mut ws, _) = joined(&server).await;
    // Reading answers pings (tungstenite sends the pongs); three rounds of
    // pings pass with nothing else said.
    let mut pings = 0;
    while pings < 3 {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Ping(_)))) => pings += 1,
            Ok(Some(Ok(Message::Binary(_)))) => {}
            other => panic!("the socket ended: {other:?}"),
        }
    }
}
