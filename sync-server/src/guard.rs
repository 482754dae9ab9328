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
//!   and `request` messages a valid Automerge sync message;
//! - identity: the connection joins as `<account id>/<device>` for the
//!   account its session signed in, and never speaks under another peer id
//!   (samod's share policy trusts the account a peer id names);
//! - validated shared writes: the changes to a `channel` document are
//!   checked change by change (`shared_writes.rs`);
//! - the session: when it ends (sign-out, expiry, revocation) the
//!   connection is closed with 4401.
//!
//! A violation gets a protocol `error` message naming it, a close frame
//! (1008, policy violation; 1009 for oversized messages), and the end of the
//! connection. Nothing of the offending message reaches samod, so nothing of
//! it is stored or projected.

use std::{collections::HashMap, str::FromStr, time::Duration};

use automerge::ActorId;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use chrono::{DateTime, Utc};
use futures::{SinkExt, StreamExt};
use samod::{DocumentId, Transport};
use sqlx::PgPool;
use sync::DocKind;
use tokio::{
    sync::{mpsc, watch},
    time::Instant,
};

use crate::{
    live_sessions::SESSION_ENDED,
    policy::{self, Access, AccessPolicy},
    residency::Farewell,
    shared_writes::{ActorOwner, IncomingChanges, WriteViolation},
};

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
    #[error("{0}")]
    Impersonation(String),
    #[error("write refused: {0}")]
    ForbiddenWrite(#[from] WriteViolation),
}

impl Violation {
    fn close_code(&self) -> u16 {
        match self {
            Violation::TooLarge => 1009,
            _ => 1008,
        }
    }
}

/// What the guard reads of a message that passed [`check_message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope<'a> {
    pub kind: &'a str,
    pub sender: Option<&'a str>,
    pub doc_id: Option<&'a str>,
    /// The Automerge sync message of a `sync` or `request`.
    pub data: Option<&'a [u8]>,
}

/// Checks one inbound message's envelope.
pub fn check_message(bytes: &[u8]) -> Result<Envelope<'_>, Violation> {
    let bad = |what: &str| Violation::Malformed(what.to_owned());
    let mut d = minicbor::Decoder::new(bytes);
    let entries = d
        .map()
        .map_err(|_| bad("expected a CBOR map"))?
        .ok_or_else(|| bad("indefinite-length maps are not accepted"))?;
    let (mut kind, mut sender, mut doc_id, mut data) = (None, None, None, None);
    for _ in 0..entries {
        let key = d.str().map_err(|_| bad("map keys must be text"))?;
        match key {
            "type" => kind = Some(d.str().map_err(|_| bad("`type` must be text"))?),
            "senderId" => sender = Some(d.str().map_err(|_| bad("`senderId` must be text"))?),
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
    Ok(Envelope {
        kind,
        sender,
        doc_id,
        data: data.filter(|_| matches!(kind, "sync" | "request")),
    })
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

/// Everything the guard knows about one connection before samod sees it.
pub struct Gate {
    pub limits: Limits,
    /// The account the connection's session signed in.
    pub account: String,
    /// Says farewell when the session ends (see `live_sessions.rs`).
    pub session_end: watch::Receiver<Option<Farewell>>,
    pub session_expires: DateTime<Utc>,
    pub pool: PgPool,
    pub policy: AccessPolicy,
    /// The repo the connection syncs with: what it already holds of a
    /// shared document is not the sender's write.
    pub repo: samod::Repo,
}

/// Wraps an accepted WebSocket in the checks above and hands samod a
/// transport of plain messages. A value sent on `farewell` closes the
/// connection with that code.
pub fn transport(
    socket: WebSocket,
    gate: Gate,
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
        expires: Instant,
        gate: Gate,
        /// The peer id the connection joined with.
        peer: Option<String>,
        /// What was decided about each document this connection named.
        writes: HashMap<String, Writes>,
        farewell: watch::Receiver<Option<Farewell>>,
    }
    let left = (gate.session_expires - Utc::now())
        .to_std()
        .unwrap_or(Duration::ZERO);
    let state = In {
        ws: ws_in,
        outbox: outbox.clone(),
        bucket: Bucket {
            tokens: f64::from(gate.limits.burst),
            at: Instant::now(),
        },
        greeted: false,
        started: Instant::now(),
        expires: Instant::now() + left,
        gate,
        peer: None,
        writes: HashMap::new(),
        farewell,
    };
    let inbound = futures::stream::unfold(state, |mut st| async move {
        loop {
            let farewell = st
                .farewell
                .borrow_and_update()
                .clone()
                .or_else(|| st.gate.session_end.borrow_and_update().clone());
            if let Some(farewell) = farewell {
                let _ = st.outbox.send(Outgoing::Farewell(farewell));
                return None;
            }
            let deadline = (!st.greeted).then(|| st.started + st.gate.limits.handshake);
            let next = tokio::select! {
                changed = st.farewell.changed() => {
                    if changed.is_err() {
                        // Whoever could say farewell is gone: so is the repo.
                        return None;
                    }
                    continue;
                }
                changed = st.gate.session_end.changed() => {
                    if changed.is_err() {
                        let _ = st.outbox.send(Outgoing::Farewell(SESSION_ENDED));
                        return None;
                    }
                    continue;
                }
                () = tokio::time::sleep_until(st.expires) => {
                    let _ = st.outbox.send(Outgoing::Farewell(SESSION_ENDED));
                    return None;
                }
                next = next_before(&mut st.ws, deadline) => next,
            };
            let Ok(next) = next else {
                let _ = st.outbox.send(Outgoing::Reject(Violation::HandshakeTimeout(
                    st.gate.limits.handshake,
                )));
                return None;
            };
            let verdict = match next? {
                Ok(Message::Binary(bytes)) => {
                    if !st.bucket.take(&st.gate.limits) {
                        Err(Violation::RateLimited)
                    } else {
                        match check_message(&bytes) {
                            Ok(envelope) => {
                                admit(&mut st.peer, &mut st.writes, &st.gate, envelope).await
                            }
                            Err(violation) => Err(violation),
                        }
                        .map(|()| bytes.to_vec())
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

/// Whether a connection's writes to a document are checked, decided the
/// first time the connection names it. samod asks the share policy once per
/// document and connection (see `policy.rs`) and keeps the answer while the
/// connection lasts, so the guard does the same: were it to ask again, a
/// member removed from a channel mid-connection would have their writes let
/// through by samod unchecked.
enum Writes {
    Unchecked,
    /// A shared document the peer may use; with the repo's handle, once it
    /// is found.
    Checked(Option<samod::DocHandle>),
}

/// At most this many decisions are kept per connection; past it, a
/// document is decided again each time (as the policy's cache allows).
const MAX_DECISIONS: usize = 4096;

/// Who may say what: the peer id is the session's account's, and a change
/// to a shared document passes [`check_shared_write`].
async fn admit(
    peer: &mut Option<String>,
    writes: &mut HashMap<String, Writes>,
    gate: &Gate,
    envelope: Envelope<'_>,
) -> Result<(), Violation> {
    match (envelope.kind, envelope.sender, peer.as_deref()) {
        ("join", Some(sender), None) => {
            if policy::account_of_peer(sender) != Some(gate.account.as_str()) {
                return Err(Violation::Impersonation(format!(
                    "peer id {sender:?} is not yours: join as \"{}/<device>\"",
                    gate.account
                )));
            }
            *peer = Some(sender.to_owned());
        }
        (_, Some(sender), Some(joined)) if sender == joined => {}
        (_, Some(_), _) => {
            return Err(Violation::Impersonation(
                "`senderId` is not the peer id this connection joined with".to_owned(),
            ));
        }
        (_, None, _) => {}
    }
    if let (Some(doc_id), Some(data)) = (envelope.doc_id, envelope.data) {
        let mut decided = match writes.remove(doc_id) {
            Some(decided) => decided,
            None => decide(peer.as_deref().unwrap_or_default(), gate, doc_id).await,
        };
        if let Writes::Checked(handle) = &mut decided {
            check_shared_write(gate, doc_id, handle, data).await?;
        }
        if writes.len() < MAX_DECISIONS {
            writes.insert(doc_id.to_owned(), decided);
        }
    }
    Ok(())
}

async fn decide(peer: &str, gate: &Gate, doc_id: &str) -> Writes {
    let kind = sync::retry_forever(
        || gate.policy.kind(doc_id),
        tokio::time::sleep,
        |error, delay| tracing::warn!(%error, ?delay, "guard: document lookup failed"),
    )
    .await;
    // A peer who may not read the document is answered by samod as if it
    // did not exist; checking its changes here would tell it that it is a
    // channel.
    if kind == Some(DocKind::Channel) && gate.policy.access(doc_id, peer).await != Access::None {
        Writes::Checked(None)
    } else {
        Writes::Unchecked
    }
}

/// The changes a sync message brings to a shared document must be written
/// by actors of the sending account, and touch only what it may touch (see
/// `shared_writes.rs`). Actors seen for the first time are registered to
/// the account before the message goes on.
async fn check_shared_write(
    gate: &Gate,
    doc_id: &str,
    handle: &mut Option<samod::DocHandle>,
    data: &[u8],
) -> Result<(), Violation> {
    let mut changes = IncomingChanges::decode(data)?;
    if changes.is_empty() {
        return Ok(());
    }
    // A whole-document chunk repeats everybody's history: only what the
    // server does not have yet is this sender's write.
    if handle.is_none()
        && let Ok(id) = doc_id.parse::<DocumentId>()
    {
        *handle = gate.repo.find(id).await.ok().flatten();
    }
    if let Some(handle) = handle {
        handle.with_document(|doc| {
            changes.skip_known(|hash| automerge::ReadDoc::get_change_by_hash(doc, hash).is_some())
        });
    }
    if changes.is_empty() {
        return Ok(());
    }
    let actors: Vec<Vec<u8>> = changes
        .actors()
        .into_iter()
        .map(|actor| actor.to_bytes().to_vec())
        .collect();
    let owners = sync::retry_forever(
        || async {
            sqlx::query_as::<_, (Vec<u8>, Option<String>)>(
                "SELECT actor, account_id FROM actors WHERE actor = ANY($1)",
            )
            .bind(&actors)
            .fetch_all(&gate.pool)
            .await
        },
        tokio::time::sleep,
        |error, delay| tracing::warn!(%error, ?delay, "guard: actor lookup failed"),
    )
    .await;
    let owners: HashMap<ActorId, ActorOwner> = owners
        .into_iter()
        .map(|(actor, account)| {
            let owner = account.map_or(ActorOwner::Server, ActorOwner::Account);
            (ActorId::from(actor), owner)
        })
        .collect();
    let new_actors = changes.check(&gate.account, &owners)?;
    for actor in new_actors {
        let actor = actor.to_bytes().to_vec();
        let registered = sync::retry_forever(
            || async {
                sqlx::query_scalar::<_, Option<String>>(
                    "INSERT INTO actors (actor, account_id) VALUES ($1, $2)
                     ON CONFLICT (actor) DO UPDATE SET actor = EXCLUDED.actor
                     RETURNING account_id",
                )
                .bind(&actor)
                .bind(&gate.account)
                .fetch_one(&gate.pool)
                .await
            },
            tokio::time::sleep,
            |error, delay| tracing::warn!(%error, ?delay, "guard: actor registration failed"),
        )
        .await;
        // Two connections of different accounts raced for a new actor: the
        // loser's change is someone else's now.
        if registered.as_deref() != Some(gate.account.as_str()) {
            return Err(WriteViolation::ForeignActor.into());
        }
    }
    Ok(())
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
        assert!(check_message(&error_message("nope")).is_ok());
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
            check_message(&unknown).map(|_| ()),
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
            assert!(check_message(&message).is_ok());
        }
    }
}
