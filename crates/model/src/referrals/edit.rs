//! A change to a referrals document as data, as a screen asks for it.

use serde::{Deserialize, Serialize};

use super::{ReferralLink, Referrals, check_label, limits, valid_code};
use crate::{ModelError, Timestamp};
#[cfg(feature = "doc")]
use {super::ReferralsDoc, automerge::Automerge};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ReferralsEdit {
    /// A new link, its code made on the device.
    Create {
        code: String,
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
        let (ReferralsEdit::Create { code, label, .. } | ReferralsEdit::Rename { code, label }) =
            self;
        if !valid_code(code) {
            return Err(ModelError::Invalid {
                what: "code",
                why: "is not 12 of 0-9 and a-z without i, l, o and u".into(),
            });
        }
        check_label(label).map(drop)
    }

    /// Writes the edit into `doc`.
    #[cfg(feature = "doc")]
    pub fn apply(&self, doc: &mut Automerge) -> Result<(), ModelError> {
        self.checked()?;
        match self {
            ReferralsEdit::Create { code, label, at } => {
                ReferralsDoc::create_link(doc, code, &check_label(label)?, *at)
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
            ReferralsEdit::Create { code, label, at } => {
                if self.link(code).is_none() && self.links.len() < limits::LINKS {
                    self.links.push(ReferralLink {
                        code: code.clone(),
                        label: check_label(label).unwrap_or_default(),
                        created_at: *at,
                    });
                    self.links
                        .sort_by(|a, b| (a.created_at, &a.code).cmp(&(b.created_at, &b.code)));
                }
            }
            ReferralsEdit::Rename { code, label } => {
                if let Some(link) = self.links.iter_mut().find(|l| &l.code == code) {
                    link.label = check_label(label).unwrap_or_default();
                }
            }
        }
    }
}
