//! A partner's training record as their devices write it: the lessons
//! they completed and the quiz attempts they submitted, offline or not.
//!
//! Layout (schema 1):
//!
//! ```text
//! ROOT { schema: 1, kind: "training", partner_id: "p-ben",
//!        lessons: { "<track>/<lesson>": { module: "<module>", completed_at: ts } },
//!        attempts: { <attempt id>: { track: str, version: uint, quiz: str,
//!                                    kind: "practice" | "exam",
//!                                    answers: { <question id>: "a,c" },
//!                                    started_at: ts, submitted_at: ts,
//!                                    score: uint (practice only) } } }
//! ```
//!
//! Only the partner writes it (their team leader reads it), so there is no
//! partition to lose a quiz in: an attempt is written once, whole, in one
//! change, under an id made on the device, and syncs like any change.
//! Nothing is ever rewritten: a lesson completed stays completed at the
//! first time a device said so, an attempt submitted stays as submitted.
//! What the server decides of an exam is not here (the partner could
//! write it); it comes back in the account view.

#[cfg(feature = "doc")]
mod doc;
mod edit;

use serde::{Deserialize, Serialize};

#[cfg(feature = "doc")]
pub use doc::TrainingDoc;
pub use edit::TrainingEdit;

use crate::{PartnerId, Timestamp};

/// The value of the root `kind` field of a training document.
pub const TRAINING_KIND: &str = "training";

/// Bounds on what a training document may hold, checked on every write
/// and by the server's projection.
pub mod limits {
    /// Ids of tracks, modules, lessons, quizzes, questions and choices.
    pub const ID_LEN: usize = 64;
    /// Questions answered in one attempt.
    pub const ANSWERS: usize = 200;
    /// Choices picked for one question.
    pub const PICKS: usize = 20;
    pub const LESSONS: usize = 20_000;
    pub const ATTEMPTS: usize = 5_000;
}

/// The partner's record as read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Training {
    pub partner_id: Option<PartnerId>,
    pub lessons: Vec<Completion>,
    pub attempts: Vec<Attempt>,
    /// Keys whose entry does not read (written by something else).
    #[serde(default)]
    pub unreadable: Vec<String>,
}

/// A lesson completed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    pub track: String,
    pub module: String,
    pub lesson: String,
    pub completed_at: Timestamp,
}

/// A quiz submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// Made on the device: random, so two devices never pick the same.
    pub id: String,
    pub track: String,
    pub version: u32,
    pub quiz: String,
    pub exam: bool,
    /// Question id and the choice ids picked, sorted by question.
    pub answers: Vec<(String, Vec<String>)>,
    pub started_at: Timestamp,
    pub submitted_at: Timestamp,
    /// A practice quiz's score as the device graded it, in percent.
    pub score: Option<u8>,
}

impl Training {
    pub fn completed(&self, track: &str, lesson: &str) -> bool {
        self.lessons
            .iter()
            .any(|c| c.track == track && c.lesson == lesson)
    }

    /// The key a lesson has in the document.
    pub fn lesson_key(track: &str, lesson: &str) -> String {
        format!("{track}/{lesson}")
    }
}

/// An id as tracks, lessons, quizzes and attempts use: 1 to 64 of
/// `a-z`, `0-9`, `-` and `_`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= limits::ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}
