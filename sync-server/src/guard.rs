//! The gate in front of samod on `/sync`.
//!
//! samod already answers undecodable and out-of-protocol messages with an
//! `error` message and a disconnect. What it cannot know about is the
//! transport and the cost of a connection, so this wrapper enforces, before
//! samod sees a byte:
//!
//! - binary frames only (the protocol is CBOR);
//! - a per-connection rate limit (token bucket);
//! - a handshake deadline: a socket that says nothing is closed;
//! - a well-formed envelope: a CBOR map whose `type` is a protocol message
//!   type; `documentId`, when present, a valid document id; `data` of `sync`
//!   and `request` messages a valid Automerge sync message.
//!
//! A violation gets a protocol `error` message naming it, a close frame
//! (1008, policy violation; 1009 for oversized messages), and the end of the
//! connection. Nothing of the offending message reaches samod, so nothing of
//! it is stored or projected.

use std::{str::FromStr, time::Duration};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::{SinkExt, StreamExt};
use samod::{DocumentId, Transport};
use tokio::{
    sync::{mpsc, watch},
    time::Instant,
};

use crate::residency::Farewell;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Messages a connection may send at once.
    pub burst: u32,
    /// Messages per second a connection may sustain.
    pub per_second: u32,
    /// Time a new connection has to send its first message.
    pub handshake: Duration,
}

/// Message types of the automerge-repo protocol.
const KNOWN_TYPES: [&str; 10] = [
    "join",
    "peer",
    "leave",
    "request",
    "sync",
    "doc-unavailable",
    "ephemeral",
    "error",
    "remote-subscription-change",
    "remote-heads-changed",
];

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Violation {
    #[error("text frames are not part of the sync protocol; send binary CBOR")]
    TextFrame,
    #[error("message is too large")]
    TooLarge,
    #[error("too many messages; slow down")]
    RateLimited,
    #[error("no handshake within {0:?}")]
    HandshakeTimeout(Duration),
    #[error("not a protocol message: {0}")]
    Malformed(String),
}

impl Violation {
    fn close_code(&self) -> u16 {
        match self {
            Violation::TooLarge => 1009,
            _ => 1008,
        }
    }
}

/// Checks one inbound message's envelope.
pub fn check_message(bytes: &[u8]) -> Result<(), Violation> {
    let bad = |what: &str| Violation::Malformed(what.to_owned());
    let mut d = minicbor::Decoder::new(bytes);
    let entries = d
        .map()
        .map_err(|_| bad("expected a CBOR map"))?
        .ok_or_else(|| bad("indefinite-length maps are not accepted"))?;
    let (mut kind, mut doc_id, mut data) = (None, None, None);
    for _ in 0..entries {
        let key = d.str().map_err(|_| bad("map keys must be text"))?;
        match key {
            "type" => kind = Some(d.str().map_err(|_| bad("`type` must be text"))?),
            "documentId" => doc_id = Some(d.str().map_err(|_| bad("`documentId` must be text"))?),
            "data" if matches!(d.datatype(), Ok(minicbor::data::Type::Bytes)) => {
                data = Some(d.bytes().map_err(|_| bad("`data` is cut short"))?)
            }
            _ => d.skip().map_err(|_| bad("a value is cut short"))?,
        }
    }
    if d.position() != bytes.len() {
        return Err(bad("trailing bytes after the message"));
    }
    let kind = kind.ok_or_else(|| bad("no `type`"))?;
    if !KNOWN_TYPES.contains(&kind) {
        return Err(Violation::Malformed(format!(
            "unknown message type {kind:?}"
        )));
    }
    if let Some(id) = doc_id {
        DocumentId::from_str(id).map_err(|_| bad("`documentId` is not a document id"))?;
    }
    if matches!(kind, "sync" | "request") {
        if doc_id.is_none() {
            return Err(Violation::Malformed(format!(
                "a {kind} message needs a `documentId`"
            )));
        }
        let data = data
            .ok_or_else(|| Violation::Malformed(format!("a {kind} message needs `data` bytes")))?;
        automerge::sync::Message::decode(data)
            .map_err(|_| bad("`data` is not an Automerge sync message"))?;
    }
    Ok(())
}

/// The protocol's `error` message.
fn error_message(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = minicbor::Encoder::new(&mut out);
    // Writing to a Vec cannot fail.
    let _ = e
        .map(2)
        .and_then(|e| e.str("type"))
        .and_then(|e| e.str("error"));
    let _ = e.str("message").and_then(|e| e.str(text));
    out
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self, limits: &Limits) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * f64::from(limits.per_second);
        self.tokens = (self.tokens + refill).min(f64::from(limits.burst));
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

enum Outgoing {
    Data(Vec<u8>),
    Reject(Violation),
    /// The server ends a connection it has nothing against.
    Farewell(Farewell),
}

#[derive(Debug, thiserror::Error)]
#[error("connection closed")]
pub struct Closed;

/// Wraps an accepted WebSocket in the checks above and hands samod a
/// transport of plain messages. A value sent on `farewell` closes the
/// connection with that code.
pub fn transport(
    socket: WebSocket,
    limits: Limits,
    farewell: watch::Receiver<Option<Farewell>>,
) -> Transport {
    let (mut ws_out, ws_in) = socket.split();
    let (outbox, mut outgoing) = mpsc::unbounded_channel::<Outgoing>();

    // One writer owns the socket's sending half: samod's messages and, on a
    // violation, the error and the close frame.
    tokio::spawn(async move {
        while let Some(item) = outgoing.recv().await {
            match item {
                Outgoing::Data(bytes) => {
                    if ws_out.send(Message::Binary(bytes.into())).await.is_err() {
                        break;
                    }
                }
                Outgoing::Reject(violation) => {
                    tracing::info!(%violation, "closing sync connection");
                    let reason = violation.to_string();
                    let _ = ws_out
                        .send(Message::Binary(error_message(&reason).into()))
                        .await;
                    let _ = ws_out
                        .send(Message::Close(Some(CloseFrame {
                            code: violation.close_code(),
                            reason: reason.chars().take(120).collect::<String>().into(),
                        })))
                        .await;
                    break;
                }
                Outgoing::Farewell(farewell) => {
                    tracing::debug!(
                        code = farewell.code,
                        reason = farewell.reason,
                        "closing sync connection"
                    );
                    let _ = ws_out
                        .send(Message::Close(Some(CloseFrame {
                            code: farewell.code,
                            reason: farewell.reason.into(),
                        })))
                        .await;
                    break;
                }
            }
        }
    });

    struct In {
        ws: futures::stream::SplitStream<WebSocket>,
        outbox: mpsc::UnboundedSender<Outgoing>,
        bucket: Bucket,
        greeted: bool,
        started: Instant,
        limits: Limits,
        farewell: watch::Receiver<Option<Farewell>>,
    }
    let state = In {
        ws: ws_in,
        outbox: outbox.clone(),
        bucket: Bucket {
            tokens: f64::from(limits.burst),
            at: Instant::now(),
        },
        greeted: false,
        started: Instant::now(),
        limits,
        farewell,
    };
    let inbound = futures::stream::unfold(state, |mut st| async move {
        loop {
            let farewell = st.farewell.borrow_and_update().clone();
            if let Some(farewell) = farewell {
                let _ = st.outbox.send(Outgoing::Farewell(farewell));
                return None;
            }
            let deadline = (!st.greeted).then(|| st.started + st.limits.handshake);
            let next = tokio::select! {
                changed = st.farewell.changed() => {
                    if changed.is_err() {
                        // Whoever could say farewell is gone: so is the repo.
                        return None;
                    }
                    continue;
                }
                next = next_before(&mut st.ws, deadline) => next,
            };
            let Ok(next) = next else {
                let _ = st.outbox.send(Outgoing::Reject(Violation::HandshakeTimeout(
                    st.limits.handshake,
                )));
                return None;
            };
            let verdict = match next? {
                Ok(Message::Binary(bytes)) => {
                    if !st.bucket.take(&st.limits) {
                        Err(Violation::RateLimited)
                    } else {
                        check_message(&bytes).map(|()| bytes.to_vec())
                    }
                }
                Ok(Message::Text(_)) => Err(Violation::TextFrame),
                Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                Ok(Message::Close(_)) => return None,
                Err(error) => {
                    let too_large = error.to_string().to_ascii_lowercase().contains("too long")
                        || error.to_string().to_ascii_lowercase().contains("too large");
                    if too_large {
                        Err(Violation::TooLarge)
                    } else {
                        return None;
                    }
                }
            };
            match verdict {
                Ok(bytes) => {
                    st.greeted = true;
                    return Some((Ok::<_, Closed>(bytes), st));
                }
                Err(violation) => {
                    let _ = st.outbox.send(Outgoing::Reject(violation));
                    return None;
                }
            }
        }
    });
    let sink = futures::sink::unfold(outbox, |outbox, bytes: Vec<u8>| async move {
        outbox.send(Outgoing::Data(bytes)).map_err(|_| Closed)?;
        Ok::<_, Closed>(outbox)
    });
    Transport::new(Box::pin(inbound), Box::pin(sink))
}

/// The next frame, or `Err` when `deadline` passes first.
async fn next_before(
    ws: &mut futures::stream::SplitStream<WebSocket>,
    deadline: Option<Instant>,
) -> Result<Option<Result<Message, axum::Error>>, tokio::time::error::Elapsed> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, ws.next()).await,
        None => Ok(ws.next().await),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_message_is_a_protocol_message() {
        assert_eq!(check_message(&error_message("nope")), Ok(()));
    }

    #[test]
    fn envelopes_are_checked() {
        assert!(check_message(b"hello").is_err());
        assert!(check_message(&[]).is_err());
        let mut unknown = Vec::new();
        minicbor::Encoder::new(&mut unknown)
            .map(1)
            .unwrap()
            .str("type")
            .unwrap()
            .str("bogus")
            .unwrap();
        assert_eq!(
            check_message(&unknown),
            Err(Violation::Malformed(
                "unknown message type \"bogus\"".into()
            ))
        );
    }
}

/// Fuzzing of the inbound path: arbitrary bytes and mutations of real
/// protocol messages go through [`check_message`]; whatever passes must
/// also decode as what it claims. No input may panic. `cargo xtask fuzz`
/// runs many more cases than the test suite does.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;

    fn valid_messages() -> Vec<Vec<u8>> {
        let doc = automerge::Automerge::new();
        let data = automerge::sync::SyncDoc::generate_sync_message(
            &doc,
            &mut automerge::sync::State::new(),
        )
        .expect("first message")
        .encode();
        let doc_id = DocumentId::try_from(vec![7u8; 16])
            .expect("16 bytes")
            .to_string();
        let mut join = Vec::new();
        let _ = minicbor::Encoder::new(&mut join)
            .map(3)
            .and_then(|e| e.str("type")?.str("join")?.str("senderId")?.str("p"))
            .and_then(|e| e.str("supportedProtocolVersions")?.array(1)?.str("1"));
        let mut sync = Vec::new();
        let _ = minicbor::Encoder::new(&mut sync)
            .map(5)
            .and_then(|e| e.str("type")?.str("sync")?.str("senderId")?.str("p"))
            .and_then(|e| e.str("targetId")?.str("s")?.str("documentId")?.str(&doc_id))
            .and_then(|e| e.str("data")?.bytes(&data));
        vec![join, sync, error_message("x")]
    }

    fn frames() -> impl Strategy<Value = Vec<u8>> {
        let valid = valid_messages();
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..256),
            (
                0..valid.len(),
                prop::collection::vec((any::<usize>(), any::<u8>()), 1..8)
            )
                .prop_map(move |(which, edits)| {
                    let mut bytes = valid[which].clone();
                    for (at, byte) in edits {
                        if bytes.is_empty() {
                            break;
                        }
                        let i = at % bytes.len();
                        match byte % 3 {
                            0 => bytes[i] = byte,
                            1 => bytes.truncate(i),
                            _ => bytes.insert(i, byte),
                        }
                    }
                    bytes
                }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: std::env::var("FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(2_000),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn no_frame_panics_the_inbound_check(frame in frames()) {
            if check_message(&frame).is_ok() {
                // Accepted frames are really what they claim to be.
                let mut d = minicbor::Decoder::new(&frame);
                prop_assert!(d.map().unwrap().is_some());
            }
        }
    }

    #[test]
    fn the_seeds_themselves_pass() {
        for message in valid_messages() {
            assert_eq!(check_message(&message), Ok(()));
        }
    }
}
