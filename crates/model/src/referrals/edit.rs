//! A change to a referrals document as data, as a screen asks for it.

use serde::{Deserialize, Serialize};

use super::{Referrals, check_label, valid_code, valid_nonce};
use crate::{ModelError, Timestamp};
#[cfg(feature = "doc")]
use {super::ReferralsDoc, automerge::Automerge};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ReferralsEdit {
    /// A new link: its code is the partner's and the nonce's
    /// (`code_for`), made as the document takes it.
    Create {
        nonce: String,
        label: String,
        at: Timestamp,
    },
    /// A link's label changed.
    Rename { code: String, label: String },
}

impl ReferralsEdit {
    /// Refuses what no document should hold: a code out of shape, a label
    /// empty or too long.
    pub fn checked(&self) -> Result<(), ModelError> {
        match self {
            ReferralsEdit::Create { nonce, label, .. } => {
                if !valid_nonce(nonce) {
                    return Err(ModelError::Invalid {
                        what: "nonce",
                        why: "is not 16 hex digits".into(),
                    });
                }
                check_label(label).map(drop)
            }
            ReferralsEdit::Rename { code, label } => {
                if !valid_code(code) {
                    return Err(ModelError::Invalid {
                        what: "code",
                        why: "is not 12 of 0-9 and a-z without i, l, o and u".into(),
                    });
                }
                check_label(label).map(drop)
            }
        }
    }

    /// Writes the edit into `doc`.
    #[cfg(feature = "doc")]
    pub fn apply(&self, doc: &mut Automerge) -> Result<(), ModelError> {
        self.checked()?;
        match self {
            ReferralsEdit::Create { nonce, label, at } => {
                ReferralsDoc::create_link(doc, nonce, &check_label(label)?, *at).map(drop)
            }
            ReferralsEdit::Rename { code, label } => {
                ReferralsDoc::rename(doc, code, &check_label(label)?)
            }
        }
    }
}

impl Referrals {
    /// The reading as it will be once `edit` is written: what a screen
    /// shows at once, as [`ReferralsEdit::apply`] will write it.
    pub fn shown_with(&mut self, edit: &ReferralsEdit) {
        if edit.checked().is_err() {
            return;
        }
        match edit {
            // Its code is a hash the screens' module does not carry: the
            // link shows with the engine's reading, a moment later.
            ReferralsEdit::Create { .. } => {}
            ReferralsEdit::Rename { code, label } => {
                if let Some(link) = self.links.iter_mut().find(|l| &l.code == code) {
                    link.label = check_label(label).unwrap_or_default();
                }
            }
        }
    }
}
