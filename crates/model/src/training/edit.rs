//! A change to a training document as data, as a screen asks for it.

use serde::{Deserialize, Serialize};

use super::{Attempt, Completion, Training, limits, valid_id};
use crate::{ModelError, Timestamp};
#[cfg(feature = "doc")]
use {super::TrainingDoc, automerge::Automerge};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum TrainingEdit {
    /// A lesson read or watched to its end.
    Complete {
        track: String,
        module: String,
        lesson: String,
        at: Timestamp,
    },
    /// A quiz submitted.
    Submit { attempt: Attempt },
}

fn invalid(what: &'static str, why: impl Into<String>) -> ModelError {
    ModelError::Invalid {
        what,
        why: why.into(),
    }
}

impl TrainingEdit {
    /// Refuses what no document should hold: ids out of shape, too many
    /// answers, a score over 100.
    pub fn checked(&self) -> Result<(), ModelError> {
        let id = |what: &'static str, value: &str| {
            if valid_id(value) {
                Ok(())
            } else {
                Err(invalid(what, "is not 1 to 64 of a-z, 0-9, - and _"))
            }
        };
        match self {
            TrainingEdit::Complete {
                track,
                module,
                lesson,
                ..
            } => {
                id("track", track)?;
                id("module", module)?;
                id("lesson", lesson)
            }
            TrainingEdit::Submit { attempt } => {
                id("attempt", &attempt.id)?;
                id("track", &attempt.track)?;
                id("quiz", &attempt.quiz)?;
                if attempt.answers.len() > limits::ANSWERS {
                    return Err(invalid("answers", "are too many"));
                }
                for (question, picks) in &attempt.answers {
                    id("question", question)?;
                    if picks.len() > limits::PICKS {
                        return Err(invalid("choices", "are too many"));
                    }
                    for pick in picks {
                        id("choice", pick)?;
                    }
                }
                if attempt.score.is_some_and(|s| s > 100) {
                    return Err(invalid("score", "is over 100"));
                }
                if attempt.exam && attempt.score.is_some() {
                    return Err(invalid("score", "is the server's to give for an exam"));
                }
                Ok(())
            }
        }
    }

    /// Writes the edit into `doc`.
    #[cfg(feature = "doc")]
    pub fn apply(&self, doc: &mut Automerge) -> Result<(), ModelError> {
        self.checked()?;
        match self {
            TrainingEdit::Complete {
                track,
                module,
                lesson,
                at,
            } => TrainingDoc::complete(doc, track, module, lesson, *at),
            TrainingEdit::Submit { attempt } => TrainingDoc::submit(doc, attempt),
        }
    }
}

impl Training {
    /// The reading as it will be once `edit` is written: what a screen
    /// shows at once, as [`TrainingEdit::apply`] will write it.
    pub fn shown_with(&mut self, edit: &TrainingEdit) {
        if edit.checked().is_err() {
            return;
        }
        match edit {
            TrainingEdit::Complete {
                track,
                module,
                lesson,
                at,
            } => {
                if !self.completed(track, lesson) {
                    self.lessons.push(Completion {
                        track: track.clone(),
                        module: module.clone(),
                        lesson: lesson.clone(),
                        completed_at: *at,
                    });
                }
            }
            TrainingEdit::Submit { attempt } => {
                if !self.attempts.iter().any(|a| a.id == attempt.id) {
                    let mut attempt = attempt.clone();
                    attempt.answers.sort();
                    self.attempts.push(attempt);
                }
            }
        }
    }
}
