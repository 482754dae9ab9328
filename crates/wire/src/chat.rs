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

/// One channel of `GET /api/admin/channels`: every channel of the
/// programme, for the back-office's moderation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminChannel<Time = String> {
    /// Its index document.
    pub doc_id: String,
    pub name: String,
    /// `team`, `announcements`, `topic` or `direct`.
    pub form: String,
    /// How many are listed in it (the announcements list the admins).
    pub members: u32,
    /// Messages projected, removed and deleted ones included.
    pub messages: u32,
    pub last_at: Option<Time>,
}

/// A file attached to a message of the history, as its card shows it:
/// fetched at `/api/chat/files/{author}/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryFile {
    pub id: String,
    pub name: String,
    pub content_type: String,
    pub bytes: u64,
    /// A picture's thumbnail, a file of its own.
    pub thumb: Option<HistoryThumb>,
}

/// A picture's thumbnail: its file id and its size in pixels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryThumb {
    pub id: String,
    pub width: u32,
    pub height: u32,
}

/// One message of `GET /api/chat/channels/{id}/history`: the server's
/// projection of a channel, for what is older than a device keeps and
/// for the back-office. Newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryMessage<Time = String> {
    pub id: String,
    /// The author's account id.
    pub author: String,
    pub author_name: String,
    pub written_at: Time,
    /// Empty once deleted or removed.
    pub body: String,
    pub reply_to: Option<String>,
    pub edited_at: Option<Time>,
    /// Deleted by its author.
    pub deleted: bool,
    /// Removed by an admin (moderation): the admin's name.
    pub removed_by: Option<String>,
    pub file: Option<HistoryFile>,
    /// The cursor of the next page (`?before=`), older than this one.
    pub cursor: String,
}

/// The body of `POST /api/admin/channels/{id}/messages`: an admin's post
/// (the programme's announcements, above all), written as theirs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminPost {
    pub body: String,
}

/// The 201 answer to `POST /api/admin/channels/{id}/messages`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posted {
    /// The message's id.
    pub id: String,
}
