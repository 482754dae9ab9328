//! What the partner app's screens (`web`) and its sync engine (`web-engine`,
//! in a dedicated worker) say to each other.
//!
//! The engine is a wasm module of its own, run in a worker, so that the
//! screens' module carries no Automerge, samod or IndexedDB storage (it is
//! painted and usable while the engine still downloads and compiles), and
//! so that loading and merging documents never holds up the page. The two
//! share nothing but these messages: the screens ask for documents by id
//! and kind and hear how they read (plain data, `model` without its `doc`
//! feature); they send changes as [`Edit`]s (a pipeline's, a training
//! record's), which the engine checks and writes. Every message crosses as JSON text, read back with a
//! bound on its size ([`decode`]).

use model::{
    AccountView, Catalog, ChannelIndex, ChatEdit, Heads, Inbox, Messages, Pipeline, PipelineEdit,
    Reads, ReadsEdit, Referrals, ReferralsEdit, Training, TrainingEdit,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Which follow of a document a message is about: the screens number
/// them, so a late message about a document no longer shown is told apart.
pub type FollowId = u32;

/// From the screens to the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum ToEngine {
    /// Open the account's documents (its IndexedDB database) as `peer_id`
    /// (`<account>/<device>`), to sync with the server the worker came
    /// from once asked to dial. Answered with [`FromEngine::Started`] or
    /// [`FromEngine::StartFailed`].
    Start { account_id: String, peer_id: String },
    /// Dial the server, reconnecting with backoff, unless it already does.
    Resume,
    /// Close the connection and stop dialing; documents stay open and
    /// editable, their changes waiting in IndexedDB.
    Pause,
    /// The browser says the network is back: dial now rather than at the
    /// end of the backoff, unless connected or paused.
    Redial,
    /// Whether the page is shown: a hidden page's heartbeat is slower.
    Visible { visible: bool },
    /// Open `doc_id` and tell how it reads, now and after every change.
    /// For a document this device writes, `synced` is what the server was
    /// last known to share with it (kept by the screens across reloads,
    /// see [`DocNews::Synced`]), from which the changes waiting are counted.
    Follow {
        follow: FollowId,
        doc_id: String,
        kind: DocKind,
        synced: Option<Heads>,
    },
    /// Stop telling about that document.
    Unfollow { follow: FollowId },
    /// Write `edit` into the followed document (a pipeline), now or as soon
    /// as it is open. Answered with [`DocNews::Written`], [`DocNews::Queued`]
    /// or [`DocNews::Refused`].
    Edit { follow: FollowId, edit: Edit },
    /// Tell the others in the followed channel (an index) where this device
    /// is; not kept, not answered.
    Presence {
        follow: FollowId,
        state: PresenceState,
    },
    /// Stop dialing and stop once every write has reached IndexedDB;
    /// answered with [`FromEngine::Stopped`].
    Stop,
}

/// Where a person is in a channel, as their devices say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceState {
    /// The channel is open on a screen.
    Here,
    Typing,
    /// The channel was left.
    Away,
}

impl PresenceState {
    pub fn as_str(self) -> &'static str {
        match self {
            PresenceState::Here => "here",
            PresenceState::Typing => "typing",
            PresenceState::Away => "away",
        }
    }

    pub fn parse(s: &str) -> Option<PresenceState> {
        [
            PresenceState::Here,
            PresenceState::Typing,
            PresenceState::Away,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// A change to a document the device writes, as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "doc", content = "edit", rename_all = "snake_case")]
pub enum Edit {
    Pipeline(PipelineEdit),
    Training(TrainingEdit),
    /// A message, reaction, change or deletion in a channel's messages.
    Chat(ChatEdit),
    /// How far the person read a channel.
    Reads(ReadsEdit),
    /// A referral link made or renamed.
    Referrals(ReferralsEdit),
}

impl From<ReferralsEdit> for Edit {
    fn from(edit: ReferralsEdit) -> Edit {
        Edit::Referrals(edit)
    }
}

impl From<ReadsEdit> for Edit {
    fn from(edit: ReadsEdit) -> Edit {
        Edit::Reads(edit)
    }
}

impl From<ChatEdit> for Edit {
    fn from(edit: ChatEdit) -> Edit {
        Edit::Chat(edit)
    }
}

impl From<PipelineEdit> for Edit {
    fn from(edit: PipelineEdit) -> Edit {
        Edit::Pipeline(edit)
    }
}

impl From<TrainingEdit> for Edit {
    fn from(edit: TrainingEdit) -> Edit {
        Edit::Training(edit)
    }
}

impl Edit {
    /// The kind of document it changes.
    pub fn kind(&self) -> DocKind {
        match self {
            Edit::Pipeline(_) => DocKind::Pipeline,
            Edit::Training(_) => DocKind::Training,
            Edit::Chat(_) => DocKind::Messages,
            Edit::Reads(_) => DocKind::Reads,
            Edit::Referrals(_) => DocKind::Referrals,
        }
    }
}

/// The kinds of document the screens follow, and so how each is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// The partner's leads: written on this device, its changes counted
    /// until the server has them.
    Pipeline,
    /// Money and tier, written by the server alone.
    AccountView,
    /// The person's notifications, written by the server alone.
    Inbox,
    /// The partner's training record: written on this device.
    Training,
    /// A published training track, written by the server alone.
    Catalog,
    /// A channel's index, written by the server alone.
    Channel,
    /// A channel's messages of one period: written here (as the account's
    /// own actor) and by the other members.
    Messages,
    /// The person's read markers: written here.
    Reads,
    /// The partner's referral links: written here.
    Referrals,
    /// A team leader's team figures, written by the server alone.
    Team,
    /// The partner's places on the leaderboards, written by the server
    /// alone.
    Standings,
}

impl DocKind {
    /// Whether this device writes it, so that its unconfirmed changes count.
    pub fn written_here(self) -> bool {
        matches!(
            self,
            DocKind::Pipeline
                | DocKind::Training
                | DocKind::Messages
                | DocKind::Reads
                | DocKind::Referrals
        )
    }
}

/// From the engine to the screens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum FromEngine {
    /// The worker listens: messages sent before this may be lost.
    Ready,
    Started,
    /// The account's storage could not be opened.
    StartFailed {
        why: String,
    },
    /// Whether a socket to the server is open (sent when it changes).
    Connected {
        connected: bool,
    },
    /// The server closed the socket because the session ended (4401); the
    /// engine stops dialing until [`ToEngine::Resume`].
    SessionEnded,
    /// A socket was refused or closed abnormally: the network, or maybe the
    /// session (a refused upgrade looks the same), so the app asks.
    Refused,
    Doc {
        follow: FollowId,
        news: DocNews,
    },
    Stopped,
}

/// What following a document tells its screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "news", rename_all = "snake_case")]
pub enum DocNews {
    /// Found (in IndexedDB or from the server); its reading follows.
    Opened,
    /// How it reads now (as it opened, or after a change), and how many of
    /// its changes the server has not confirmed (0 when not counted).
    Read {
        reading: Result<Box<Reading>, String>,
        pending: usize,
    },
    /// The server confirmed changes: how many are left.
    Pending { pending: usize },
    /// What the server now shares with this device, to keep for
    /// [`ToEngine::Follow`]'s `synced` after a reload.
    Synced { heads: Heads },
    /// Nobody has it to give yet (offline on first use); the search goes on.
    Missing,
    /// It cannot be opened (a malformed id, say); no change is taken.
    Failed { why: String },
    /// An edit is written.
    Written,
    /// An edit waits for the document to open and is written as it does.
    Queued,
    /// An edit was not written, and why.
    Refused { why: String },
    /// Someone in the followed channel says where they are (the server
    /// checked that they are who they say).
    Presence {
        user: String,
        device: String,
        state: PresenceState,
    },
}

/// A document read into plain data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reading {
    Pipeline(Pipeline),
    /// Boxed: the largest reading by far.
    AccountView(Box<AccountView>),
    Inbox(Inbox),
    Training(Training),
    Catalog(Catalog),
    Channel(ChannelIndex),
    /// Messages in order, those written here and not yet confirmed by the
    /// server marked `unsent`.
    Messages(Messages),
    Reads(Reads),
    Referrals(Referrals),
    /// A server-written JSON view (`model::json_doc`), passed on as read:
    /// the screens read it as their type (`model::TeamView`).
    Team {
        computed_at: model::Timestamp,
        body: serde_json::Value,
    },
    /// The same, of a partner's standings (`model::Standings`).
    Standings {
        computed_at: model::Timestamp,
        body: serde_json::Value,
    },
}

/// What the server accepts on either side of a peer id's slash
/// (`<account>/<device>`, sync-server's `account_of_peer`): 1 to 64 of
/// `[A-Za-z0-9_-]`.
pub fn is_peer_id_part(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The device of `peer_id` if it is `<account_id>/<device>`, both parts as
/// the server accepts them: a peer id naming another account, or none, is
/// refused with why.
pub fn device_of<'a>(account_id: &str, peer_id: &'a str) -> Result<&'a str, String> {
    if !is_peer_id_part(account_id) {
        return Err(format!("{account_id:.80} is not an account id"));
    }
    peer_id
        .strip_prefix(account_id)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|device| is_peer_id_part(device))
        .ok_or_else(|| format!("{peer_id:.80} is not a device of {account_id:.80}"))
}

/// A message longer than this is not read. A 500-lead pipeline with a
/// year of activity reads as about 1 MB of JSON.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// A message as it crosses.
pub fn encode<T: Serialize>(message: &T) -> String {
    // Plain data with string keys: serializing cannot fail.
    serde_json::to_string(message).unwrap_or_default()
}

/// A message read back, if it is one and not longer than
/// [`MAX_MESSAGE_BYTES`] (serde_json also bounds its nesting).
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(format!(
            "a message of {} bytes is over the limit of {MAX_MESSAGE_BYTES}",
            text.len()
        ));
    }
    serde_json::from_str(text).map_err(|e| format!("not a message: {e}"))
}

#[cfg(test)]
mod tests {
    use model::{LeadId, Stage};

    use super::*;

    #[test]
    fn messages_cross_and_come_back_the_same() {
        let to = [
            ToEngine::Start {
                account_id: "p-ben".into(),
                peer_id: "p-ben/0123abcd".into(),
            },
            ToEngine::Follow {
                follow: 3,
                doc_id: "2cUvHkq".into(),
                kind: DocKind::Pipeline,
                synced: Some(Heads(vec!["ab".repeat(32)])),
            },
            ToEngine::Edit {
                follow: 3,
                edit: PipelineEdit::Move {
                    id: LeadId::parse("ben-1").unwrap(),
                    to: Stage::Won,
                }
                .into(),
            },
            ToEngine::Edit {
                follow: 4,
                edit: model::TrainingEdit::Complete {
                    track: "selling".into(),
                    module: "m".into(),
                    lesson: "l".into(),
                    at: model::Timestamp(5),
                }
                .into(),
            },
            ToEngine::Visible { visible: false },
        ];
        for message in to {
            assert_eq!(decode::<ToEngine>(&encode(&message)), Ok(message));
        }
        let from = FromEngine::Doc {
            follow: 3,
            news: DocNews::Read {
                reading: Err("document schema version 9 is newer".into()),
                pending: 2,
            },
        };
        assert_eq!(decode::<FromEngine>(&encode(&from)), Ok(from));
    }

    #[test]
    fn peer_ids_are_what_the_server_accepts() {
        assert!(is_peer_id_part("0123456789abcdef"));
        assert!(is_peer_id_part("phone_2-B"));
        assert!(is_peer_id_part(&"a".repeat(64)));
        assert!(!is_peer_id_part(""));
        assert!(!is_peer_id_part(&"a".repeat(65)));
        assert!(!is_peer_id_part("a/b"));
        assert!(!is_peer_id_part("tablette-é"));
        assert_eq!(device_of("a-ben", "a-ben/0123abcd"), Ok("0123abcd"));
        for (account, peer) in [
            ("a-ben", "a-ana/0123abcd"),
            ("a-ben", "a-bennett/0123abcd"),
            ("a-ben", "a-ben/"),
            ("a-ben", "a-ben/x/y"),
            ("a-ben", "a-ben"),
            ("a/ben", "a/ben/0123abcd"),
            ("", "/0123abcd"),
        ] {
            assert!(device_of(account, peer).is_err(), "{peer} as {account}");
        }
    }

    #[test]
    fn what_is_no_message_is_refused_with_why() {
        let long = format!("\"{}\"", "x".repeat(MAX_MESSAGE_BYTES));
        assert!(
            decode::<ToEngine>(&long)
                .unwrap_err()
                .contains("over the limit")
        );
        for hostile in [
            "",
            "{}",
            r#"{"to":"launch"}"#,
            r#"{"to":"follow","follow":-1,"doc_id":"x","kind":"pipeline","synced":null}"#,
            r#"{"to":"edit","follow":1,"edit":{"op":"move","id":"../x","to":"won"}}"#,
            &"[".repeat(10_000),
        ] {
            assert!(
                decode::<ToEngine>(hostile).is_err(),
                "{hostile:.40} was read"
            );
        }
    }
}
