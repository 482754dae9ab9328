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
//! - validated shared writes: the changes to a `messages` document are
//!   checked change by change (`shared_writes.rs`);
//! - the session: when it ends (sign-out, expiry, revocation) the
//!   connection is closed with 4401.
//!
//! A violation gets a protocol `error` message naming it, a close frame
//! (1008, policy violation; 1009 for oversized messages), and the end of the
//! connection. Nothing of the offending message reaches samod, so nothing of
//! it is stored or projected.

use std::{
    collections::HashMap,
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

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
    platform::expansion,
    platform::policy::{self, Access, AccessPolicy},
    platform::residency::Farewell,
    platform::shared_writes::{IncomingChanges, WriteViolation, actor_owners, register_actor},
};

/// The close of a socket whose session ended (signed out, expired,
/// revoked): clients read 4401 as "sign in again".
pub const SESSION_ENDED: Farewell = Farewell {
    code: sync::SESSION_ENDED_CLOSE,
    reason: "session ended; sign in again",
};

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Messages a connection may send at once.
    pub burst: u32,
    /// Messages per second a connection may sustain.
    pub per_second: u32,
    /// Time a new connection has to send its first message.
    pub handshake: Duration,
    /// What the Automerge data of one message may expand to.
    pub expansion: expansion::Limits,
    /// A connection silent this long is pinged, and closed if it stays
    /// silent as long again: a phone that lost its network leaves a socket
    /// that would otherwise hold one of its account's places until its
    /// session ends.
    pub keepalive: Duration,
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
    #[error("{0}")]
    TooExpansive(String),
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
            Violation::TooLarge | Violation::TooExpansive(_) => 1009,
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
    /// What an `ephemeral` message carries (presence).
    pub payload: Option<&'a [u8]>,
}

/// The most entries a message's map may have: the protocol's messages
/// have at most eight fields.
const MAX_FIELDS: u64 = 32;
/// How deep values nest under a field the guard does not read (samod skips
/// them; minicbor's skip keeps a stack entry per open indefinite-length
/// container, 16 bytes for each byte received).
const MAX_DEPTH: usize = 8;
/// Lists samod decodes into `Vec<String>` (`supportedProtocolVersions`,
/// `add`, `remove`, a peer's `heads`) and maps it decodes into a `HashMap`
/// (`newHeads`): each entry costs samod dozens of bytes for one received,
/// so their lengths are bounded here.
const MAX_LIST: u64 = 64;
/// Text fields: peer and document ids, versions, session ids.
const MAX_TEXT: usize = 1024;

/// Checks one inbound message's envelope, and what the Automerge data of
/// a `sync` or `request` expands to. Every length the message states is
/// checked against the bytes that are there and the bounds above before
/// anything is sized by it, so the guard, and samod after it, decode in
/// memory bounded by the frame and the expansion limits.
pub fn check_message<'a>(
    bytes: &'a [u8],
    expansion: &expansion::Limits,
) -> Result<Envelope<'a>, Violation> {
    let bad = |what: &str| Violation::Malformed(what.to_owned());
    let mut d = minicbor::Decoder::new(bytes);
    let entries = d
        .map()
        .map_err(|_| bad("expected a CBOR map"))?
        .ok_or_else(|| bad("indefinite-length maps are not accepted"))?;
    if entries > MAX_FIELDS {
        return Err(bad("too many fields"));
    }
    let (mut kind, mut sender, mut doc_id, mut data) = (None, None, None, None);
    let mut keys: Vec<&str> = Vec::with_capacity(entries as usize);
    for _ in 0..entries {
        let key = d.str().map_err(|_| bad("map keys must be text"))?;
        // samod keeps the last of two same keys, the guard would have
        // checked the first.
        if keys.contains(&key) {
            return Err(Violation::Malformed(format!("field `{key}` appears twice")));
        }
        keys.push(key);
        let text = |d: &mut minicbor::Decoder<'a>| -> Result<&'a str, Violation> {
            let t = d
                .str()
                .map_err(|_| Violation::Malformed(format!("`{key}` must be text")))?;
            if t.len() > MAX_TEXT {
                return Err(Violation::Malformed(format!("`{key}` is too long")));
            }
            Ok(t)
        };
        match key {
            "type" => kind = Some(text(&mut d)?),
            "senderId" => sender = Some(text(&mut d)?),
            "documentId" => doc_id = Some(text(&mut d)?),
            "targetId" | "selectedProtocolVersion" | "sessionId" => {
                text(&mut d)?;
            }
            "data" if matches!(d.datatype(), Ok(minicbor::data::Type::Bytes)) => {
                data = Some(d.bytes().map_err(|_| bad("`data` is cut short"))?)
            }
            "supportedProtocolVersions" | "add" | "remove" => {
                if matches!(d.datatype(), Ok(minicbor::data::Type::Array)) {
                    let n = list_len(&mut d, key)?;
                    for _ in 0..n {
                        text(&mut d)?;
                    }
                } else {
                    skip(&mut d, MAX_DEPTH)?;
                }
            }
            "newHeads" => {
                let n = map_len(&mut d, key)?;
                for _ in 0..n {
                    text(&mut d)?;
                    let fields = map_len(&mut d, key)?;
                    for _ in 0..fields {
                        if text(&mut d)? == "heads" {
                            let heads = list_len(&mut d, key)?;
                            for _ in 0..heads {
                                text(&mut d)?;
                            }
                        } else {
                            skip(&mut d, MAX_DEPTH)?;
                        }
                    }
                }
            }
            _ => skip(&mut d, MAX_DEPTH)?,
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
        expansion::measure(data, expansion).map_err(|refused| match refused {
            expansion::Refused::TooLarge { .. } => Violation::TooExpansive(refused.to_string()),
            expansion::Refused::Malformed(_) => Violation::Malformed(refused.to_string()),
        })?;
    }
    Ok(Envelope {
        kind,
        sender,
        doc_id,
        data: data.filter(|_| matches!(kind, "sync" | "request")),
        payload: data.filter(|_| kind == "ephemeral"),
    })
}

/// The length of a definite array of at most [`MAX_LIST`] entries.
fn list_len(d: &mut minicbor::Decoder<'_>, key: &str) -> Result<u64, Violation> {
    match d.array() {
        Ok(Some(n)) if n <= MAX_LIST => Ok(n),
        Ok(Some(_)) => Err(Violation::Malformed(format!(
            "`{key}` has too many entries"
        ))),
        _ => Err(Violation::Malformed(format!(
            "`{key}` must be an array of definite length"
        ))),
    }
}

/// The length of a definite map of at most [`MAX_LIST`] entries.
fn map_len(d: &mut minicbor::Decoder<'_>, key: &str) -> Result<u64, Violation> {
    match d.map() {
        Ok(Some(n)) if n <= MAX_LIST => Ok(n),
        Ok(Some(_)) => Err(Violation::Malformed(format!(
            "`{key}` has too many entries"
        ))),
        _ => Err(Violation::Malformed(format!(
            "`{key}` must be a map of definite length"
        ))),
    }
}

/// Skips one value nested at most `depth` deep, allocating nothing: a
/// recursion bounded by [`MAX_DEPTH`] instead of minicbor's growing stack.
fn skip(d: &mut minicbor::Decoder<'_>, depth: usize) -> Result<(), Violation> {
    use minicbor::data::Type;
    let cut = || Violation::Malformed("a value is cut short".to_owned());
    let deep = || Violation::Malformed("values nest too deep".to_owned());
    match d.datatype().map_err(|_| cut())? {
        Type::Array | Type::ArrayIndef => {
            let len = d.array().map_err(|_| cut())?;
            let depth = depth.checked_sub(1).ok_or_else(deep)?;
            items(d, len, depth, 1)
        }
        Type::Map | Type::MapIndef => {
            let len = d.map().map_err(|_| cut())?;
            let depth = depth.checked_sub(1).ok_or_else(deep)?;
            items(d, len, depth, 2)
        }
        Type::Tag => {
            d.tag().map_err(|_| cut())?;
            // Tags nest as values do.
            skip(d, depth.checked_sub(1).ok_or_else(deep)?)
        }
        // Scalars, and byte and text strings (definite or chunked), which
        // minicbor skips in place.
        _ => d.skip().map_err(|_| cut()),
    }
}

/// Skips the `len` entries (`per` values each) of a container, or up to
/// its break when its length is indefinite.
fn items(
    d: &mut minicbor::Decoder<'_>,
    len: Option<u64>,
    depth: usize,
    per: u64,
) -> Result<(), Violation> {
    use minicbor::data::Type;
    let cut = || Violation::Malformed("a value is cut short".to_owned());
    match len {
        Some(n) => {
            // Each value takes at least a byte: a count past what is left
            // is a lie, and no loop runs longer than the frame.
            let left = (d.input().len() - d.position()) as u64;
            if n.saturating_mul(per) > left {
                return Err(cut());
            }
            for _ in 0..n * per {
                skip(d, depth)?;
            }
        }
        None => loop {
            if d.datatype().map_err(|_| cut())? == Type::Break {
                d.skip().map_err(|_| cut())?;
                break;
            }
            skip(d, depth)?;
        },
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
    Ping,
    /// The answer to the app's heartbeat (`sync::HEARTBEAT`), which, like
    /// any frame, took a token from the connection's rate bucket.
    Pong,
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
    /// Says farewell when the session ends (see `http/live_sessions.rs`).
    pub session_end: watch::Receiver<Option<Farewell>>,
    pub session_expires: DateTime<Utc>,
    pub pool: PgPool,
    pub policy: AccessPolicy,
    /// The repo the connection syncs with: what it already holds of a
    /// shared document is not the sender's write.
    pub repo: samod::Repo,
    /// The connection's place among its account's sockets, given back when
    /// the connection ends.
    pub slot: crate::platform::sockets::SocketSlot,
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
    // At most one answer to the heartbeat waits to be sent: a client that
    // pings and never reads must not fill the outbox.
    let pong_waiting = Arc::new(AtomicBool::new(false));
    let pong_sent = pong_waiting.clone();

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
                Outgoing::Ping => {
                    if ws_out
                        .send(Message::Ping(Default::default()))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
                Outgoing::Pong => {
                    pong_sent.store(false, Ordering::Relaxed);
                    if ws_out
                        .send(Message::Text(sync::HEARTBEAT_ANSWER.into()))
                        .await
                        .is_err()
                    {
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
        /// When the silence ends in a ping, or (once pinged) in a close.
        quiet_until: Instant,
        pinged: bool,
        pong_waiting: Arc<AtomicBool>,
    }
    let keepalive = gate.limits.keepalive;
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
        quiet_until: Instant::now() + keepalive,
        pinged: false,
        pong_waiting,
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
                () = tokio::time::sleep_until(st.quiet_until) => {
                    if st.pinged {
                        let _ = st.outbox.send(Outgoing::Farewell(GONE));
                        return None;
                    }
                    let _ = st.outbox.send(Outgoing::Ping);
                    st.pinged = true;
                    st.quiet_until = Instant::now() + st.gate.limits.keepalive;
                    continue;
                }
                next = next_before(&mut st.ws, deadline) => next,
            };
            // Anything from the peer, a pong included, says it is there.
            st.pinged = false;
            st.quiet_until = Instant::now() + st.gate.limits.keepalive;
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
                        match check_message(&bytes, &st.gate.limits.expansion) {
                            Ok(envelope) => {
                                admit(&mut st.peer, &mut st.writes, &st.gate, envelope).await
                            }
                            Err(violation) => Err(violation),
                        }
                        .map(|pass| (pass == Pass::Forward).then(|| bytes.to_vec()))
                    }
                }
                Ok(Message::Text(text)) if text.as_str() == sync::HEARTBEAT => {
                    if st.bucket.take(&st.gate.limits) {
                        if !st.pong_waiting.swap(true, Ordering::Relaxed) {
                            let _ = st.outbox.send(Outgoing::Pong);
                        }
                        continue;
                    }
                    Err(Violation::RateLimited)
                }
                Ok(Message::Text(_)) => Err(Violation::TextFrame),
                Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                Ok(Message::Close(_)) => return None,
                Err(error) => {
                    if is_too_large(error) {
                        Err(Violation::TooLarge)
                    } else {
                        return None;
                    }
                }
            };
            match verdict {
                Ok(Some(bytes)) => {
                    st.greeted = true;
                    return Some((Ok::<_, Closed>(bytes), st));
                }
                Ok(None) => continue,
                Err(violation) => {
                    let _ = st.outbox.send(Outgoing::Reject(violation));
                    // The client is still sending (it hit the rate or size
                    // limit): dropping the socket with unread data would
                    // reset it, and the client would see an abrupt 1006
                    // instead of the close frame. Read on until it answers
                    // the close, for a bounded time, still holding its
                    // place among the account's sockets.
                    tokio::spawn(drain(st.ws, st.gate.slot));
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
    /// A shared document the peer may write; with the repo's handle, once
    /// it is found.
    Checked(Option<samod::DocHandle>),
}

/// At most this many decisions are kept per connection; past it, a
/// document is decided again each time (as the policy's cache allows).
const MAX_DECISIONS: usize = 4096;

/// What becomes of a message the guard admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    Forward,
    /// Left out, the connection kept: an ephemeral message naming someone
    /// else, or not saying who (see [`sync::presence`]).
    Drop,
}

/// Who may say what: the peer id is the session's account's, a change
/// to a shared document passes [`check_shared_write`], and an ephemeral
/// message names the connection's own account and device.
async fn admit(
    peer: &mut Option<String>,
    writes: &mut HashMap<String, Writes>,
    gate: &Gate,
    envelope: Envelope<'_>,
) -> Result<Pass, Violation> {
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
        // Nothing is decided about a document before the peer says who it
        // is.
        (kind, _, None) if kind != "join" => {
            return Err(Violation::Malformed(format!(
                "a {kind} message before `join`: join first"
            )));
        }
        (_, Some(sender), Some(joined)) if sender == joined => {}
        // A client's samod passes on the ephemeral messages it hears to its
        // other connections, so another member's presence comes back to us
        // under its first sender's id: an echo, not an impersonation.
        ("ephemeral", Some(_), Some(_)) => return Ok(Pass::Drop),
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
    if envelope.kind == "ephemeral" {
        let device = peer
            .as_deref()
            .and_then(|p| p.split_once('/'))
            .map(|(_, device)| device);
        let own = envelope
            .payload
            .and_then(|bytes| sync::presence::Presence::decode(bytes).ok())
            .is_some_and(|p| p.user == gate.account && Some(p.device.as_str()) == device);
        if !own {
            tracing::debug!(account = %gate.account, "guard: ephemeral message not its sender's own; dropped");
            return Ok(Pass::Drop);
        }
    }
    Ok(Pass::Forward)
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
    if kind != Some(DocKind::Messages) {
        return Writes::Unchecked;
    }
    match gate.policy.access(doc_id, peer).await {
        // samod drops a read-only peer's changes (nothing is stored); a
        // refusal here would close the connection for a change the device
        // keeps and sends again at every reconnect, and its other
        // documents would never sync again.
        Access::None | Access::Read => Writes::Unchecked,
        Access::ReadWrite => Writes::Checked(None),
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
        || actor_owners(&gate.pool, &actors),
        tokio::time::sleep,
        |error, delay| tracing::warn!(%error, ?delay, "guard: actor lookup failed"),
    )
    .await;
    let new_actors = changes.check(&gate.account, &owners)?;
    for actor in new_actors {
        let actor = actor.to_bytes().to_vec();
        let registered = sync::retry_forever(
            || register_actor(&gate.pool, &actor, &gate.account),
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

/// Whether a WebSocket error is a message or frame over the size limit, by
/// its kind in the WebSocket library.
fn is_too_large(error: axum::Error) -> bool {
    error
        .into_inner()
        .downcast_ref::<tungstenite::Error>()
        .is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)))
}

/// The close of a connection whose peer stopped answering pings.
const GONE: Farewell = Farewell {
    code: 1001,
    reason: "no answer to pings; reconnect",
};

/// How long a refused connection is read after its close frame, at most.
const DRAIN_FOR: Duration = Duration::from_secs(5);

/// Reads and drops what a refused client still sends until it closes.
async fn drain(
    mut ws: futures::stream::SplitStream<WebSocket>,
    _slot: crate::platform::sockets::SocketSlot,
) {
    let _ = tokio::time::timeout(DRAIN_FOR, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
                // Nothing can be read past an error (an oversized frame
                // stays unread): the socket is held open instead, so that
                // the close frame already sent reaches the client rather
                // than being lost to the reset that closing a socket with
                // unread data sends.
                Some(Err(_)) | None => std::future::pending::<()>().await,
            }
        }
    })
    .await;
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
        assert!(check_message(&error_message("nope"), &expansion::Limits::default()).is_ok());
    }

    #[test]
    fn envelopes_are_checked() {
        assert!(check_message(b"hello", &expansion::Limits::default()).is_err());
        assert!(check_message(&[], &expansion::Limits::default()).is_err());
        let mut unknown = Vec::new();
        minicbor::Encoder::new(&mut unknown)
            .map(1)
            .unwrap()
            .str("type")
            .unwrap()
            .str("bogus")
            .unwrap();
        assert_eq!(
            check_message(&unknown, &expansion::Limits::default()).map(|_| ()),
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

    fn sync_envelope(data: &[u8]) -> Vec<u8> {
        let doc_id = DocumentId::try_from(vec![7u8; 16])
            .expect("16 bytes")
            .to_string();
        let mut sync = Vec::new();
        let _ = minicbor::Encoder::new(&mut sync)
            .map(5)
            .and_then(|e| e.str("type")?.str("sync")?.str("senderId")?.str("p"))
            .and_then(|e| e.str("targetId")?.str("s")?.str("documentId")?.str(&doc_id))
            .and_then(|e| e.str("data")?.bytes(data));
        sync
    }

    /// A sync message (V1, no heads, needs or haves) with these chunks.
    fn sync_data(chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut out = vec![0x42, 0, 0, 0, chunks.len() as u8];
        for c in chunks {
            expansion::write_uleb128(&mut out, c.len() as u64);
            out.extend(c);
        }
        out
    }

    /// Real protocol messages, and Automerge data that expands: a whole
    /// document with DEFLATE columns, a compressed change, a DEFLATE bomb
    /// and a long run-length column, for mutations to start from.
    fn valid_messages() -> Vec<Vec<u8>> {
        use std::io::Write;

        use automerge::transaction::Transactable;
        let doc = automerge::Automerge::new();
        let data = automerge::sync::SyncDoc::generate_sync_message(
            &doc,
            &mut automerge::sync::State::new(),
        )
        .expect("first message")
        .encode();
        let mut join = Vec::new();
        let _ = minicbor::Encoder::new(&mut join)
            .map(3)
            .and_then(|e| e.str("type")?.str("join")?.str("senderId")?.str("p"))
            .and_then(|e| e.str("supportedProtocolVersions")?.array(1)?.str("1"));

        let mut big = automerge::AutoCommit::new();
        let text = big
            .put_object(automerge::ROOT, "notes", automerge::ObjType::Text)
            .expect("a text");
        big.splice_text(&text, 0, 0, &"call back on Monday ".repeat(200))
            .expect("an edit");
        big.commit();
        let saved = big.save();
        // `bytes` is the change compressed, as a chunk of type 2.
        let compressed = big.get_changes(&[])[0].clone().bytes().to_vec();
        assert_eq!(compressed[8], 2, "a compressed change chunk");
        // 16 MiB of zeros in a compressed change chunk of about 16 KiB.
        let inflated = {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
            let _ = e.write_all(&vec![0u8; 16 * 1024 * 1024]);
            e.finish().unwrap_or_default()
        };
        let bomb = {
            let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 2];
            expansion::write_uleb128(&mut chunk, inflated.len() as u64);
            chunk.extend(&inflated);
            chunk
        };
        // One actor column of 2^40 rows.
        let run = vec![
            0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 1, 18, 0, 1, b'a', 1, 1, 0, 0, 0, 1, 0x11, 7, 0x80,
            0x80, 0x80, 0x80, 0x80, 0x20, 0,
        ];
        vec![
            join,
            sync_envelope(&data),
            sync_envelope(&sync_data(&[saved])),
            sync_envelope(&sync_data(&[compressed])),
            sync_envelope(&sync_data(&[bomb])),
            sync_envelope(&sync_data(&[run])),
            error_message("x"),
        ]
    }

    fn frames() -> impl Strategy<Value = Vec<u8>> {
        let valid = valid_messages();
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..256),
            // Highly repetitive input: one byte or a short pattern many
            // times (nested containers, long runs), after a valid start.
            (
                0..valid.len(),
                prop::collection::vec(any::<u8>(), 1..4),
                0usize..200_000
            )
                .prop_map({
                    let valid = valid.clone();
                    move |(which, pattern, times)| {
                        let seed = &valid[which];
                        let mut bytes = seed[..seed.len() / 2].to_vec();
                        for _ in 0..times {
                            bytes.extend(&pattern);
                        }
                        bytes
                    }
                }),
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

    /// This process's peak resident memory (`VmHWM`), in KiB.
    fn peak_kib() -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().strip_suffix("kB"))
                    .and_then(|v| v.trim().parse().ok())
            })
            .unwrap_or(0)
    }

    /// No frame panics the inbound check, and whatever passes decodes as
    /// what it claims and expands within the limits. Prints the cases run,
    /// those admitted, and the process's peak memory (`cargo xtask fuzz`
    /// runs many more cases than the test suite does).
    #[test]
    fn no_frame_panics_or_inflates_the_inbound_check() {
        let cases = std::env::var("FUZZ_CASES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2_000);
        let limits = expansion::Limits::default();
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases,
            failure_persistence: None,
            ..ProptestConfig::default()
        });
        let admitted = std::cell::Cell::new(0u64);
        let strategy = frames();
        let before = peak_kib();
        runner
            .run(&strategy, |frame| {
                if let Ok(envelope) = check_message(&frame, &limits) {
                    admitted.set(admitted.get() + 1);
                    // Accepted frames are really what they claim to be.
                    let mut d = minicbor::Decoder::new(&frame);
                    prop_assert!(d.map().unwrap().is_some());
                    if let Some(data) = envelope.data {
                        prop_assert!(automerge::sync::Message::decode(data).is_ok());
                        prop_assert!(expansion::measure(data, &limits).is_ok());
                    }
                }
                Ok(())
            })
            .unwrap();
        println!(
            "fuzz: {cases} frames, {} admitted, 0 crashes; peak memory {} MiB ({} MiB before the first frame, seeds built)",
            admitted.get(),
            peak_kib() / 1024,
            before / 1024,
        );
    }

    #[test]
    fn the_seeds_themselves_pass_or_are_refused_as_they_should() {
        let limits = expansion::Limits::default();
        let verdicts: Vec<_> = valid_messages()
            .iter()
            .map(|m| check_message(m, &limits).map(|_| ()))
            .collect();
        assert!(verdicts[..4].iter().all(Result::is_ok), "{verdicts:?}");
        assert!(matches!(verdicts[4], Err(Violation::TooExpansive(_))));
        assert!(matches!(verdicts[5], Err(Violation::TooExpansive(_))));
        assert!(verdicts[6].is_ok());
    }
}
