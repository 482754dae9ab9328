//! Training: the tracks admins author and publish (`/api/admin/training`),
//! the same shape partners read from a track's catalog document, blob
//! uploads (`/api/admin/blobs/uploads`), assignments, and what the server
//! decided of a partner's exams and certificates.
//!
//! A [`Track`] is what an admin writes. Publishing it makes an immutable
//! version; partners read that version with every exam's answer key and
//! explanations taken out (`correct` empty, `explanation` absent), so a
//! device never holds them. Practice quizzes keep theirs: they are graded
//! on the device.

use serde::{Deserialize, Serialize};

use crate::{AttemptOutcome, Audience, MediaKind, QuizKind};

/// A track: modules in order, in a knowledge-base channel (a topic).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Track {
    pub id: String,
    /// The topic it is listed under ("Product", "Selling").
    pub channel: String,
    pub title: String,
    #[serde(default)]
    pub summary: String,
    pub audience: Audience,
    pub modules: Vec<Module>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Module {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub summary: String,
    /// How long it takes, as the author estimates.
    pub minutes: u32,
    pub lessons: Vec<Lesson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiz: Option<Quiz>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    pub id: String,
    pub title: String,
    /// Formatted text: paragraphs separated by a blank line, `# ` a
    /// heading, `- ` a list item, `**strong**`.
    #[serde(default)]
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<Media>,
}

/// A lesson's file, by the SHA-256 of its bytes (`/blobs/<sha256>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Media {
    pub sha256: String,
    pub kind: MediaKind,
    pub content_type: String,
    pub bytes: u64,
    /// Said to a screen reader, shown under an image.
    #[serde(default)]
    pub caption: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quiz {
    pub id: String,
    pub title: String,
    pub kind: QuizKind,
    /// The share of questions right that passes, 1 to 100.
    pub pass_percent: u8,
    pub questions: Vec<Question>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub id: String,
    pub prompt: String,
    /// More than one choice may be right (check boxes, not radio buttons).
    #[serde(default)]
    pub multiple: bool,
    pub choices: Vec<Choice>,
    /// The ids of the right choices; empty in what partners read of an exam.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub correct: Vec<String>,
    /// Why, shown after answering a practice quiz; absent in an exam.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub id: String,
    pub text: String,
}

/// What a catalog document's `manifest` holds: a published version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub version: u32,
    pub track: Track,
}

/// `GET /api/admin/training/tracks`: one line per track.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackSummary<Time = String> {
    pub id: String,
    pub channel: String,
    pub title: String,
    pub audience: Audience,
    pub modules: u32,
    pub updated_at: Time,
    /// `None` until first published.
    pub published_version: Option<u32>,
    pub published_at: Option<Time>,
    /// The draft differs from the published version.
    pub unpublished_changes: bool,
}

/// `GET /api/admin/training/tracks/{id}`, and the answer to `PUT` (the
/// body of which is a [`Track`]; `?new=true` makes a track and refuses an
/// id taken, `?base=<updated_at>` saves over that draft only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackDraft<Time = String> {
    pub track: Track,
    /// What a save sends back as `?base=`, so that it does not overwrite
    /// a save made since (a 409 with the draft as it is now).
    pub updated_at: Time,
    pub published_version: Option<u32>,
    /// The latest published version as partners read it: what may be
    /// assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<Track>,
}

/// The answer to `POST /api/admin/training/tracks/{id}/publish`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publication<Time = String> {
    pub track_id: String,
    pub version: u32,
    pub published_at: Time,
    /// The catalog document partners read it from.
    pub doc_id: String,
}

/// `POST /api/admin/blobs/uploads`: the blob about to be sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUpload {
    pub sha256: String,
    pub bytes: u64,
    pub content_type: String,
}

/// Where an upload stands (`POST`, `GET`, `PUT ...?offset=` on an upload,
/// and a 409 when a part is sent at another offset). `upload` is `None`
/// when the blob is kept already: nothing to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadState {
    pub upload: Option<String>,
    pub sha256: String,
    pub bytes: u64,
    pub received: u64,
}

/// `POST /api/admin/training/assignments` (and `.../team/training/assignments`
/// for a team leader): modules someone must complete by a date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAssignment {
    pub partner_ids: Vec<String>,
    pub track_id: String,
    pub module_id: String,
    /// `YYYY-MM-DD`.
    pub due_on: String,
}

/// One assignment and where its partner stands with it
/// (`GET .../training/assignments`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentStatus<Time = String> {
    pub partner_id: String,
    pub partner_name: String,
    pub track_id: String,
    pub module_id: String,
    pub module_title: String,
    pub due_on: String,
    pub lessons_done: u32,
    pub lessons: u32,
    pub completed_at: Option<Time>,
}

/// `GET /verify/{id}.json`: a certificate as anyone may check it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate<Time = String> {
    pub id: String,
    pub recipient: String,
    pub track_id: String,
    pub track_title: String,
    pub score_percent: u8,
    pub issued_at: Time,
    /// `/verify/<id>/certificate.pdf`.
    pub pdf: String,
}

/// What the server made of one exam attempt; the account view carries
/// these to the partner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExamResult {
    pub attempt_id: String,
    pub track_id: String,
    pub quiz_id: String,
    pub outcome: AttemptOutcome,
    pub score_percent: Option<u8>,
    /// Milliseconds since the Unix epoch.
    pub graded_at: i64,
    pub certificate_id: Option<String>,
    /// When another attempt may be taken, if the policy says wait.
    pub retry_after: Option<i64>,
}
