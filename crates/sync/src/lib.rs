//! What the client and the server share about sync, on top of samod.
//!
//! samod speaks the automerge-repo protocol and asks its storage for keys that
//! are short paths (`[doc id, "incremental", change hash]`). Every storage we
//! write (Postgres on the server, IndexedDB in the browser) flattens such a key
//! to one string and must answer "all keys under this prefix" with a range
//! scan over an ordered index, never a scan of everything. This module owns
//! that flattening so both sides agree on it.

pub mod fault;
pub mod presence;

use std::{future::Future, time::Duration};

use samod::storage::StorageKey;
use serde::{Deserialize, Serialize};

/// Runs `op` until it succeeds, sleeping with `sleep` between attempts (50 ms
/// doubling to 5 s) and telling `on_error` about each failure.
///
/// samod's storage methods cannot return errors, so both our storages
/// (Postgres, IndexedDB) retry instead of dropping a write: samod does not
/// consider a change stored until `put` returns. The sleep is a parameter
/// because the server sleeps on tokio and the browser on `setTimeout`.
pub async fn retry_forever<T, E, Op, Fut, Sleep, SleepFut>(
    mut op: Op,
    sleep: Sleep,
    mut on_error: impl FnMut(&E, Duration),
) -> T
where
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    Sleep: Fn(Duration) -> SleepFut,
    SleepFut: Future<Output = ()>,
{
    let mut delay = Duration::from_millis(50);
    loop {
        match op().await {
            Ok(value) => return value,
            Err(error) => {
                on_error(&error, delay);
                sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// What the app and the server say on the sync socket besides samod's
/// protocol, so that both ends read the same words.
///
/// The heartbeat: the one text frame the server accepts, and its answer. A
/// page can neither send nor see WebSocket pings, and a socket whose
/// network has gone stays open in the browser for tens of seconds until a
/// write times out, all the while looking connected: the app sends
/// `HEARTBEAT` when the socket has been quiet (web-engine/src/dialer.rs) and the
/// server answers `HEARTBEAT_ANSWER` (sync-server/src/platform/guard.rs).
pub const HEARTBEAT: &str = "ping";
pub const HEARTBEAT_ANSWER: &str = "pong";

/// The close code of a socket whose session ended (expired or revoked):
/// the app reads it as "sign in again" and stops redialing.
pub const SESSION_ENDED_CLOSE: u16 = 4401;

/// Separator between key components. samod guarantees no component holds it.
pub const KEY_SEPARATOR: char = '/';

/// Flattens a storage key to the string stored in an ordered index.
pub fn key_to_string(key: &StorageKey) -> String {
    key.into_iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("/")
}

/// Reads back a flattened key. `None` for strings no samod key flattens to.
pub fn key_from_string(s: &str) -> Option<StorageKey> {
    StorageKey::from_parts(s.split(KEY_SEPARATOR)).ok()
}

/// The half-open range `[lower, upper)` of flattened keys strictly under
/// `prefix` (in byte order), for range loads. `"a/b"` gives `["a/b/", "a/b0")`:
/// `'0'` is the character after `'/'`, so `"a/bc"` is outside the range.
pub fn prefix_range(prefix: &StorageKey) -> (String, String) {
    let base = key_to_string(prefix);
    if base.is_empty() {
        // The empty prefix covers every key.
        return (String::new(), char::MAX.to_string());
    }
    (format!("{base}/"), format!("{base}0"))
}

/// The id of the document a storage key belongs to, if it is a document key
/// (`[doc id, "incremental" | "snapshot", ...]`).
pub fn document_of_key(key: &StorageKey) -> Option<&str> {
    let mut parts = key.into_iter();
    let doc = parts.next()?;
    match parts.next().map(String::as_str) {
        Some("incremental" | "snapshot") => Some(doc.as_str()),
        _ => None,
    }
}

/// What a document is. Together with its owner this decides who may read and
/// write it (the server's share policy), and which projection the server
/// runs over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// One per partner: that partner's leads. Its team leader reads it.
    Pipeline,
    /// One per partner: training progress. Its team leader reads it.
    Training,
    /// A partner's private document, made on their device.
    Note,
    /// One per partner, written by the server only: tier and earnings.
    AccountView,
    /// Written by admins, read by every signed-in account.
    Catalog,
    /// A channel's index (name, members, its message documents), written
    /// by the server only; its members read it.
    Channel,
    /// One per partner, written by the server only: their notifications.
    Inbox,
    /// A channel's messages of one period: written by its members, each
    /// change checked by the server.
    Messages,
    /// One per partner, written on their devices: how far they read each
    /// channel.
    Reads,
    /// One per partner, written on their devices: their referral links.
    Referrals,
    /// One per team leader, written by the server only: their team's
    /// figures and their overrides.
    Team,
    /// One per partner, written by the server only: where they rank on
    /// the leaderboards.
    Standings,
}

impl DocKind {
    pub const ALL: [DocKind; 12] = [
        DocKind::Pipeline,
        DocKind::Training,
        DocKind::Note,
        DocKind::AccountView,
        DocKind::Catalog,
        DocKind::Channel,
        DocKind::Inbox,
        DocKind::Messages,
        DocKind::Reads,
        DocKind::Referrals,
        DocKind::Team,
        DocKind::Standings,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Pipeline => "pipeline",
            DocKind::Training => "training",
            DocKind::Note => "note",
            DocKind::AccountView => "account_view",
            DocKind::Catalog => "catalog",
            DocKind::Channel => "channel",
            DocKind::Inbox => "inbox",
            DocKind::Messages => "messages",
            DocKind::Reads => "reads",
            DocKind::Referrals => "referrals",
            DocKind::Team => "team",
            DocKind::Standings => "standings",
        }
    }

    pub fn parse(s: &str) -> Result<DocKind, UnknownKind> {
        DocKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| UnknownKind(s.to_owned()))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown document kind {0:?}")]
pub struct UnknownKind(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    fn key(parts: &[&str]) -> StorageKey {
        StorageKey::from_parts(parts).unwrap()
    }

    #[test]
    fn keys_round_trip_through_strings() {
        let k = key(&["doc1", "incremental", "abc"]);
        assert_eq!(key_to_string(&k), "doc1/incremental/abc");
        assert_eq!(key_from_string("doc1/incremental/abc"), Some(k));
        assert_eq!(key_from_string("a//b"), None);
    }

    #[test]
    fn prefix_range_holds_exactly_the_keys_under_the_prefix() {
        let (lo, hi) = prefix_range(&key(&["doc1", "snapshot"]));
        let inside = |s: &str| lo.as_str() <= s && s < hi.as_str();
        assert!(inside("doc1/snapshot/x"));
        assert!(inside("doc1/snapshot/zzz/deeper"));
        assert!(!inside("doc1/snapshot"));
        assert!(!inside("doc1/snapshots/x"));
        assert!(!inside("doc1/incremental/x"));
        assert!(!inside("doc10/snapshot/x"));
    }

    #[test]
    fn document_keys_name_their_document() {
        assert_eq!(document_of_key(&key(&["d", "snapshot", "h"])), Some("d"));
        assert_eq!(document_of_key(&key(&["d", "incremental", "h"])), Some("d"));
        assert_eq!(document_of_key(&key(&["storage-adapter-id"])), None);
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in DocKind::ALL {
            assert_eq!(DocKind::parse(kind.as_str()).unwrap(), kind);
        }
        assert!(DocKind::parse("Pipeline").is_err());
    }
}
