//! Team collaboration: the channels an account belongs to and the
//! back-office's channel making.

use serde::{Deserialize, Serialize};

/// The body of `POST /api/admin/channels`: a topic channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewChannel {
    pub name: String,
    /// Account ids of its members.
    pub members: Vec<String>,
}

/// The 201 answer to `POST /api/admin/channels`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelCreated {
    /// Its index document.
    pub doc_id: String,
}

/// One channel of `GET /api/chat/channels`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyChannel {
    /// Its index document, which names its messages documents.
    pub doc_id: String,
    pub name: String,
    /// `team`, `announcements`, `topic` or `direct` (`model::ChannelForm`).
    pub form: String,
    /// Whether this account may post in it.
    pub posts: bool,
}

/// One message found by `GET /api/chat/search?q=`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatHit<Time = String> {
    /// The channel's index document.
    pub channel: String,
    pub channel_name: String,
    pub id: String,
    pub author_name: String,
    pub written_at: Time,
    pub body: String,
    /// The message it answers in a thread.
    pub reply_to: Option<String>,
}

/// The body of `POST /api/chat/direct`: a conversation with these people
/// (account ids, the caller left out), 1 to 7 of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewConversation {
    pub with: Vec<String>,
}

/// One topic channel of `GET /api/chat/topics`: every topic of the
/// programme, which any approved account may join.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicChannel {
    /// Its index document.
    pub doc_id: String,
    pub name: String,
    /// How many belong to it.
    pub members: u32,
    /// Whether the caller belongs to it.
    pub joined: bool,
}
