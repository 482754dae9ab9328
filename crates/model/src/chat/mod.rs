//! Team collaboration: channels and their messages.
//!
//! A channel is two kinds of document, so that a reconnect syncs tens of
//! small documents rather than one that grows for ever:
//!
//! - its **index** (`channel`), written by the server alone: the name,
//!   the form (a team's channel, the programme's announcements, a topic,
//!   a direct conversation), the members with their names, and the
//!   message documents it has, by period;
//! - its **messages** (`messages`), one document per channel and period
//!   (a calendar month; the server opens the next one ahead of time, so a
//!   device offline at the turn of a month still has one to write into).
//!
//! Layout of a messages document (schema 1):
//!
//! ```text
//! ROOT { schema: 1, kind: "messages", channel: <index doc id>, period: "2026-12",
//!        messages:  [ { id, at, body, reply_to?, edited_at?, deleted?, removed_by? } ],
//!        reactions: [ { message, emoji, at } ] }
//! ```
//!
//! The server makes the root and the two lists; a member only inserts
//! elements of their own into a list, and changes or deletes only what
//! they inserted: exactly what the server's validated shared writes let
//! through. **Who wrote something is never a field**: it is the actor of
//! the change that made it. A member's actor id is their account id, a
//! zero byte and random bytes ([`actor_for`]), the server refuses an actor
//! that does not start with the sender's own account, and so every device
//! reads the author from the document itself ([`author_of`]), with nothing
//! to forge. Bodies are scalar strings, not Automerge text: nobody types
//! into another's message, and a string costs one object, not one per
//! character.
//!
//! Order: by the time written on the device, ties broken by the message's
//! id, so that messages two partners wrote apart interleave the same way
//! on every device once they meet, whatever order they arrived in.

#[cfg(feature = "doc")]
mod doc;

use serde::{Deserialize, Serialize};

#[cfg(feature = "doc")]
pub use doc::{ChannelIndexDoc, MessagesDoc, ReadsDoc, actor_for, author_of};

use crate::{ModelError, Timestamp};

/// The root `kind` of a channel's index.
pub const CHANNEL_KIND: &str = "channel";
/// The root `kind` of a channel's messages of one period.
pub const MESSAGES_KIND: &str = "messages";

pub mod limits {
    /// Characters in a message.
    pub const BODY_CHARS: usize = 4000;
    /// Bytes of a message or reaction id.
    pub const ID_LEN: usize = 40;
    /// Bytes of a reaction (one emoji, with its modifiers).
    pub const EMOJI_BYTES: usize = 32;
    /// Characters of an attached file's name.
    pub const FILE_NAME_CHARS: usize = 120;
    /// Bytes of an attached file: a phone's photo, a brochure.
    pub const FILE_BYTES: u64 = 10 * 1024 * 1024;
    /// A voice clip's longest length: five minutes.
    pub const VOICE_MS: u32 = 5 * 60 * 1000;
    /// Bars of a voice clip's waveform.
    pub const WAVEFORM_BARS: usize = 64;
    /// A thumbnail's longer side, in pixels: sharp at the 240 points a
    /// message shows a picture in, on a phone's screen of two pixels a
    /// point, and some 30 KB where the photo was megabytes.
    pub const THUMB_EDGE: u32 = 480;
}

/// What a file attached to a message may be: what every device shows
/// (images inline, voice clips played) or offers as a card. Anything else
/// (HTML, SVG, scripts) is refused on the device and by the server.
pub const FILE_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/gif",
    "application/pdf",
    "audio/mp4",
    "audio/webm",
    "audio/ogg",
    "text/plain",
    "text/csv",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
];

/// A file attached to a message: dropped in, or a voice clip recorded in
/// the app. The message names it before it is uploaded (its id is made
/// on the device), so a file dropped offline waits on the device and the
/// message goes out at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatFile {
    /// 32 lower-case hex digits: `/api/chat/files/<id>`.
    pub id: String,
    pub name: String,
    /// One of [`FILE_TYPES`].
    pub content_type: String,
    pub bytes: u64,
    /// A voice clip's length and loudness, computed as it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<Voice>,
    /// A picture's thumbnail, made on the device as it was dropped: what
    /// the message shows, the picture whole a tap away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb: Option<Thumb>,
}

/// A picture's thumbnail: a JPEG of its own file id (uploaded before the
/// picture, from the same queue), at most [`limits::THUMB_EDGE`] pixels
/// a side, its size known so the message keeps its place as it loads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thumb {
    pub id: String,
    pub width: u32,
    pub height: u32,
}

/// A voice clip's length and its waveform: [`limits::WAVEFORM_BARS`] at
/// most, each bar's peak 0 to 255.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Voice {
    pub duration_ms: u32,
    pub waveform: Vec<u8>,
}

impl ChatFile {
    /// Whether it is shown as a picture.
    pub fn is_image(&self) -> bool {
        self.content_type.starts_with("image/")
    }
}

/// A file id: 32 lower-case hex digits.
pub fn valid_file_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A file as it may be attached (see [`ChatFile`]).
pub fn check_file(file: &ChatFile) -> Result<(), ModelError> {
    if !valid_file_id(&file.id) {
        return Err(invalid("file", "has no valid id"));
    }
    let name = file.name.trim();
    if name.is_empty()
        || file.name.chars().count() > limits::FILE_NAME_CHARS
        || file
            .name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
    {
        return Err(invalid(
            "file",
            format!(
                "needs a name of 1 to {} characters, without slashes",
                limits::FILE_NAME_CHARS
            ),
        ));
    }
    if !FILE_TYPES.contains(&file.content_type.as_str()) {
        return Err(invalid(
            "file",
            "is of a type that is not shared here (pictures, PDFs, office documents, text and voice clips are)",
        ));
    }
    if file.bytes == 0 || file.bytes > limits::FILE_BYTES {
        return Err(invalid(
            "file",
            format!(
                "must be 1 byte to {} MB",
                limits::FILE_BYTES / (1024 * 1024)
            ),
        ));
    }
    if let Some(voice) = &file.voice {
        if !file.content_type.starts_with("audio/") {
            return Err(invalid("voice clip", "is not a sound"));
        }
        if voice.duration_ms == 0 || voice.duration_ms > limits::VOICE_MS {
            return Err(invalid("voice clip", "is longer than five minutes"));
        }
        if voice.waveform.len() > limits::WAVEFORM_BARS {
            return Err(invalid("voice clip", "has too long a waveform"));
        }
    }
    if let Some(thumb) = &file.thumb {
        let side = 1..=limits::THUMB_EDGE;
        if !file.is_image()
            || !valid_file_id(&thumb.id)
            || thumb.id == file.id
            || !side.contains(&thumb.width)
            || !side.contains(&thumb.height)
        {
            return Err(invalid("thumbnail", "is not a picture's"));
        }
    }
    Ok(())
}

/// What a channel is for, which decides who posts in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelForm {
    /// A team's own channel: the leader and every member post.
    Team,
    /// The programme's announcements: admins post, everyone reads.
    Announcements,
    /// A team's announcements: its leader posts, the team reads.
    TeamAnnouncements,
    /// A channel about a subject, which people join.
    Topic,
    /// A conversation between two to eight people.
    Direct,
}

impl ChannelForm {
    pub const ALL: [ChannelForm; 5] = [
        ChannelForm::Team,
        ChannelForm::Announcements,
        ChannelForm::TeamAnnouncements,
        ChannelForm::Topic,
        ChannelForm::Direct,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelForm::Team => "team",
            ChannelForm::Announcements => "announcements",
            ChannelForm::TeamAnnouncements => "team_announcements",
            ChannelForm::Topic => "topic",
            ChannelForm::Direct => "direct",
        }
    }

    pub fn parse(s: &str) -> Option<ChannelForm> {
        ChannelForm::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// Whether every member posts; otherwise admins do, and in a team's
    /// announcements its leader.
    pub fn members_post(self) -> bool {
        matches!(
            self,
            ChannelForm::Team | ChannelForm::Topic | ChannelForm::Direct
        )
    }

    /// Whether its members are a team's, kept in step with the team.
    pub fn of_team(self) -> bool {
        matches!(self, ChannelForm::Team | ChannelForm::TeamAnnouncements)
    }
}

/// A member as the index names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub account_id: String,
    pub name: String,
}

/// One messages document of a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    /// `2026-12`; a period split early is `2026-12.2`, `2026-12.3` ...
    /// (ordered by [`period_order`]).
    pub period: String,
    pub doc_id: String,
}

/// A channel's index as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelIndex {
    pub name: String,
    pub form: ChannelForm,
    /// By name.
    pub members: Vec<Member>,
    /// By period, oldest first.
    pub buckets: Vec<Bucket>,
}

impl ChannelIndex {
    /// The newest `n` message documents, newest last.
    pub fn latest(&self, n: usize) -> &[Bucket] {
        &self.buckets[self.buckets.len().saturating_sub(n)..]
    }

    /// The document a message written at `at` goes into, among the
    /// `newest` documents (those a device keeps open): the one of its month
    /// if there is one, else the newest (a device whose clock is wrong, or
    /// offline past the months it knows of).
    pub fn bucket_for(&self, at: Timestamp, newest: usize) -> Option<&Bucket> {
        let month = month_of(at);
        let open = self.latest(newest);
        open.iter()
            .rev()
            .find(|b| b.period.split('.').next() == Some(month.as_str()))
            .or(open.last())
    }

    pub fn name_of<'a>(&'a self, account_id: &'a str) -> &'a str {
        self.members
            .iter()
            .find(|m| m.account_id == account_id)
            .map_or(account_id, |m| m.name.as_str())
    }
}

/// How periods are ordered: by month, then by split (`2026-12` is the
/// month's first, `2026-12.10` comes after `2026-12.9`).
pub fn period_order(period: &str) -> (&str, u32) {
    match period.split_once('.') {
        Some((month, n)) => (month, n.parse().unwrap_or(u32::MAX)),
        None => (period, 1),
    }
}

/// `YYYY-MM` of a time (UTC), the period of the messages written then.
pub fn month_of(at: Timestamp) -> String {
    let days = at.0.div_euclid(86_400_000);
    // Civil from days (H. Hinnant's algorithm), for the year and month.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}")
}

/// A reaction and who made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    pub emoji: String,
    /// Account ids, in the order they reacted.
    pub by: Vec<String>,
}

/// A message as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub id: String,
    /// The account whose actor wrote it (see the module's doc).
    pub author: String,
    pub at: Timestamp,
    /// Empty once deleted or removed.
    pub body: String,
    /// The message this one answers, in a thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<Timestamp>,
    #[serde(default)]
    pub deleted: bool,
    /// An admin removed it (moderation), and who.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// A file or voice clip attached; gone with the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<ChatFile>,
    /// Written here and not yet confirmed by the server.
    #[serde(default)]
    pub unsent: bool,
}

impl ChatMessage {
    /// Gone from view: deleted by its author or removed by an admin.
    pub fn is_gone(&self) -> bool {
        self.deleted || self.removed_by.is_some()
    }
}

/// A channel's messages of one period, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Messages {
    pub channel: String,
    pub period: String,
    pub messages: Vec<ChatMessage>,
}

/// A change a member makes to a messages document, as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ChatEdit {
    Post {
        id: String,
        at: Timestamp,
        body: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<String>,
        /// With a file its body may be empty.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file: Option<ChatFile>,
    },
    /// A new text for one's own message.
    Change {
        id: String,
        at: Timestamp,
        body: String,
    },
    /// One's own message, shown as deleted.
    Delete {
        id: String,
        at: Timestamp,
    },
    React {
        message: String,
        emoji: String,
        at: Timestamp,
    },
    Unreact {
        message: String,
        emoji: String,
    },
}

/// A message or reaction id: 1 to [`limits::ID_LEN`] of `[A-Za-z0-9_-]`.
pub fn valid_message_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= limits::ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn invalid(what: &'static str, why: impl Into<String>) -> ModelError {
    ModelError::Invalid {
        what,
        why: why.into(),
    }
}

/// A body as it may be written: trimmed of nothing, but not empty, not
/// over [`limits::BODY_CHARS`], and without control characters other than
/// line breaks and tabs.
pub fn check_body(body: &str) -> Result<(), ModelError> {
    if body.trim().is_empty() {
        return Err(invalid("message", "is empty"));
    }
    if body.chars().count() > limits::BODY_CHARS {
        return Err(invalid(
            "message",
            format!("is longer than {} characters", limits::BODY_CHARS),
        ));
    }
    if body
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(invalid("message", "has a control character"));
    }
    Ok(())
}

pub fn check_emoji(emoji: &str) -> Result<(), ModelError> {
    if emoji.is_empty()
        || emoji.len() > limits::EMOJI_BYTES
        || emoji.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(invalid("reaction", "is not one emoji"));
    }
    Ok(())
}

impl ChatEdit {
    /// The edit's own checks, before any document is read.
    pub fn check(&self) -> Result<(), ModelError> {
        let id_ok = |id: &str| {
            if valid_message_id(id) {
                Ok(())
            } else {
                Err(invalid("message id", "is not one"))
            }
        };
        match self {
            ChatEdit::Post {
                id,
                body,
                reply_to,
                file,
                ..
            } => {
                id_ok(id)?;
                if let Some(parent) = reply_to {
                    id_ok(parent)?;
                }
                match file {
                    Some(file) => {
                        check_file(file)?;
                        if body.is_empty() {
                            Ok(())
                        } else {
                            check_body(body)
                        }
                    }
                    None => check_body(body),
                }
            }
            ChatEdit::Change { id, body, .. } => {
                id_ok(id)?;
                check_body(body)
            }
            ChatEdit::Delete { id, .. } => id_ok(id),
            ChatEdit::React { message, emoji, .. } | ChatEdit::Unreact { message, emoji } => {
                id_ok(message)?;
                check_emoji(emoji)
            }
        }
    }
}

impl Messages {
    /// Shows `edit`, made by `me`, at once: what the document will read
    /// once the engine has written it.
    pub fn shown_with(&mut self, edit: &ChatEdit, me: &str) {
        let mine = |m: &&mut ChatMessage, id: &str| m.id == id && m.author == me;
        match edit {
            ChatEdit::Post {
                id,
                at,
                body,
                reply_to,
                file,
            } => {
                if self.messages.iter().any(|m| m.id == *id) {
                    return;
                }
                self.messages.push(ChatMessage {
                    id: id.clone(),
                    author: me.to_owned(),
                    at: *at,
                    body: body.clone(),
                    reply_to: reply_to.clone(),
                    edited_at: None,
                    deleted: false,
                    removed_by: None,
                    reactions: Vec::new(),
                    file: file.clone(),
                    unsent: true,
                });
                sort(&mut self.messages);
            }
            ChatEdit::Change { id, at, body } => {
                if let Some(m) = self.messages.iter_mut().find(|m| mine(m, id)) {
                    m.body = body.clone();
                    m.edited_at = Some(*at);
                }
            }
            ChatEdit::Delete { id, .. } => {
                if let Some(m) = self.messages.iter_mut().find(|m| mine(m, id)) {
                    m.body.clear();
                    m.file = None;
                    m.deleted = true;
                }
            }
            ChatEdit::React { message, emoji, .. } => {
                if let Some(m) = self.messages.iter_mut().find(|m| m.id == *message) {
                    add_reaction(&mut m.reactions, emoji, me);
                }
            }
            ChatEdit::Unreact { message, emoji } => {
                if let Some(m) = self.messages.iter_mut().find(|m| m.id == *message) {
                    for r in &mut m.reactions {
                        if r.emoji == *emoji {
                            r.by.retain(|who| who != me);
                        }
                    }
                    m.reactions.retain(|r| !r.by.is_empty());
                }
            }
        }
    }
}

pub(crate) fn add_reaction(reactions: &mut Vec<Reaction>, emoji: &str, who: &str) {
    match reactions.iter_mut().find(|r| r.emoji == emoji) {
        Some(r) if r.by.iter().any(|b| b == who) => {}
        Some(r) => r.by.push(who.to_owned()),
        None => reactions.push(Reaction {
            emoji: emoji.to_owned(),
            by: vec![who.to_owned()],
        }),
    }
}

/// The one order of messages: time written, then id.
pub fn sort(messages: &mut [ChatMessage]) {
    messages.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_utc_calendar_months() {
        assert_eq!(month_of(Timestamp(0)), "1970-01");
        // 2026-12-31T23:59:59.999Z and the next instant.
        assert_eq!(month_of(Timestamp(1_798_761_599_999)), "2026-12");
        assert_eq!(month_of(Timestamp(1_798_761_600_000)), "2027-01");
        // 2024-02-29T12:00Z, a leap day.
        assert_eq!(month_of(Timestamp(1_709_208_000_000)), "2024-02");
    }

    #[test]
    fn a_message_goes_into_its_month_or_the_newest() {
        let index = ChannelIndex {
            name: "Team".into(),
            form: ChannelForm::Team,
            members: vec![],
            buckets: vec![
                Bucket {
                    period: "2026-11".into(),
                    doc_id: "nov".into(),
                },
                Bucket {
                    period: "2026-12".into(),
                    doc_id: "dec".into(),
                },
            ],
        };
        let nov = Timestamp(1_763_000_000_000); // 2025-11-13: no such bucket
        assert_eq!(index.bucket_for(nov, 3).unwrap().doc_id, "dec");
        let nov26 = Timestamp(1_794_000_000_000); // 2026-11-06
        assert_eq!(index.bucket_for(nov26, 3).unwrap().doc_id, "nov");
        // A month not kept open on the device is never written into.
        assert_eq!(index.bucket_for(nov26, 1).unwrap().doc_id, "dec");
        assert_eq!(index.latest(1)[0].doc_id, "dec");
        assert_eq!(index.latest(5).len(), 2);
    }

    #[test]
    fn edits_check_their_text() {
        let post = |body: &str| ChatEdit::Post {
            id: "m1".into(),
            at: Timestamp(1),
            body: body.into(),
            reply_to: None,
            file: None,
        };
        assert!(post("Kick-off at nine\nsee you").check().is_ok());
        assert!(post("  ").check().is_err());
        assert!(post("bell\u{7}").check().is_err());
        assert!(post(&"x".repeat(limits::BODY_CHARS + 1)).check().is_err());
        let react = |emoji: &str| ChatEdit::React {
            message: "m1".into(),
            emoji: emoji.into(),
            at: Timestamp(1),
        };
        assert!(react("👍").check().is_ok());
        assert!(react("👍🏽").check().is_ok());
        assert!(react("").check().is_err());
        assert!(react("a b").check().is_err());
        assert!(
            ChatEdit::Delete {
                id: "../x".into(),
                at: Timestamp(1)
            }
            .check()
            .is_err()
        );
    }
}

/// The root `kind` of a person's read markers.
pub const READS_KIND: &str = "reads";

/// How far a person has read each channel: the time written of the last
/// message they saw there, by channel index. Their own document, synced
/// across their devices; the largest time wins when two devices marked
/// apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Reads {
    pub read_to: std::collections::BTreeMap<String, Timestamp>,
}

impl Reads {
    /// Messages of others in `messages` written after the marker of
    /// `channel` (deleted ones not counted).
    pub fn unread<'a>(
        &self,
        channel: &str,
        me: &str,
        messages: impl IntoIterator<Item = &'a ChatMessage>,
    ) -> usize {
        let seen = self.read_to.get(channel).copied().unwrap_or(Timestamp(0));
        messages
            .into_iter()
            .filter(|m| m.author != me && m.at > seen && !m.is_gone())
            .count()
    }
}

/// A change to one's read markers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ReadsEdit {
    /// Read `channel` up to the message written at `to`: a marker only
    /// moves forward.
    Read { channel: String, to: Timestamp },
}

/// The member a word of a message names, if it is `@` and their first
/// name (any case; punctuation after it allowed): `@ana,` names Ana Souza.
pub fn mentioned<'a>(word: &str, members: &'a [Member]) -> Option<&'a Member> {
    let name = word
        .strip_prefix('@')?
        .trim_end_matches(['.', ',', '!', '?', ':', ';', ')']);
    if name.is_empty() {
        return None;
    }
    members.iter().find(|m| {
        m.name
            .split_whitespace()
            .next()
            .is_some_and(|first| first.eq_ignore_ascii_case(name))
    })
}

/// The accounts a message names (each once, in order).
pub fn mentions(body: &str, members: &[Member]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in body.split_whitespace() {
        if let Some(m) = mentioned(word, members)
            && !out.contains(&m.account_id)
        {
            out.push(m.account_id.clone());
        }
    }
    out
}

#[cfg(test)]
mod mention_tests {
    use super::*;

    #[test]
    fn mentions_name_members_by_first_name() {
        let members = [
            Member {
                account_id: "a-ana".into(),
                name: "Ana Souza".into(),
            },
            Member {
                account_id: "a-ben".into(),
                name: "Ben Okafor".into(),
            },
        ];
        assert_eq!(
            mentions(
                "Kick-off, @Ben. And @ANA: you too, @ben again, @Cleo, email@ben",
                &members
            ),
            ["a-ben", "a-ana"]
        );
        assert!(mentions("no one @ here @", &members).is_empty());
    }
}
