//! What a person types about a lead, parsed, and how long each field may be.
//!
//! The bounds are the model's, so every form (the PWA, the back-office, the
//! field client) refuses the same things with the same words, and a lead
//! card never has to lay out a novel: a name of 200 characters and notes of
//! 10,000 are more than a sales contact needs and little enough for a
//! phone to show.

use serde::{Deserialize, Serialize};

use crate::{ModelError, Money, Quoted, Timestamp};

/// The most characters (Unicode scalar values) each field may hold.
pub mod limits {
    pub const CONTACT_NAME: usize = 200;
    pub const COMPANY: usize = 200;
    /// RFC 5321's limit on a forward path.
    pub const EMAIL: usize = 254;
    /// Room for a country code, spaces and an extension.
    pub const PHONE: usize = 40;
    pub const NOTES: usize = 10_000;
    /// A logged call, meeting or note.
    pub const ENTRY: usize = 2_000;
    /// What to do at a follow-up.
    pub const FOLLOW_UP_NOTE: usize = 500;
}

/// What a person types to create or edit a lead. Parsed: the contact name is
/// present, the email, when given, looks like one, the phone is made of what
/// phone numbers are written with, and nothing is longer than its bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadDraft {
    pub contact_name: String,
    pub company: String,
    pub email: String,
    pub phone: String,
    pub value: Money,
    pub notes: String,
}

impl LeadDraft {
    pub fn parse(
        contact_name: &str,
        company: &str,
        email: &str,
        phone: &str,
        value: Money,
        notes: &str,
    ) -> Result<LeadDraft, ModelError> {
        let contact_name = bounded("contact name", contact_name.trim(), limits::CONTACT_NAME)?;
        if contact_name.is_empty() {
            return Err(ModelError::Invalid {
                what: "contact name",
                why: "is required".into(),
            });
        }
        let company = bounded("company", company.trim(), limits::COMPANY)?;
        let email = bounded("email", email.trim(), limits::EMAIL)?;
        if !email.is_empty() {
            let plausible = email
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
            if !plausible || email.contains(char::is_whitespace) {
                return Err(ModelError::Invalid {
                    what: "email",
                    why: format!("{} is not an email address", Quoted(email)),
                });
            }
        }
        let phone = bounded("phone", phone.trim(), limits::PHONE)?;
        if !phone.chars().all(is_phone_char) {
            return Err(ModelError::Invalid {
                what: "phone",
                why: "may hold only digits, spaces and + - ( ) . / x".into(),
            });
        }
        if value.minor < 0 {
            return Err(ModelError::Invalid {
                what: "estimated value",
                why: "cannot be negative".into(),
            });
        }
        Ok(LeadDraft {
            contact_name: contact_name.to_owned(),
            company: company.to_owned(),
            email: email.to_owned(),
            phone: phone.to_owned(),
            value,
            notes: bounded("notes", notes, limits::NOTES)?.to_owned(),
        })
    }
}

impl LeadDraft {
    /// The draft as [`LeadDraft::parse`] would make it of its own fields:
    /// a draft read from elsewhere (a message, a file) is checked again.
    pub fn checked(&self) -> Result<LeadDraft, ModelError> {
        LeadDraft::parse(
            &self.contact_name,
            &self.company,
            &self.email,
            &self.phone,
            self.value,
            &self.notes,
        )
    }
}

/// Digits and what people put between them; `x` for an extension.
fn is_phone_char(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.' | '/' | 'x' | 'X')
}

/// `text` if it is at most `max` characters long; otherwise an error that
/// says by how much it is over, so the person knows what to cut.
pub(crate) fn bounded<'a>(
    what: &'static str,
    text: &'a str,
    max: usize,
) -> Result<&'a str, ModelError> {
    if text.contains('\0') {
        // No database column holds it; the lead would never be projected.
        return Err(ModelError::Invalid {
            what,
            why: "holds a NUL character".into(),
        });
    }
    let count = text.chars().count();
    if count > max {
        return Err(ModelError::Invalid {
            what,
            why: format!(
                "is {count} characters long; the most is {max} ({} too many)",
                count - max
            ),
        });
    }
    Ok(text)
}

/// What a follow-up says: when, and what to do then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    pub at: Timestamp,
    pub note: String,
}

/// The moments a follow-up may be set at: 1970 to the end of 9999, what
/// every clock, calendar and column here can show.
pub const FOLLOW_UP_TIMES: std::ops::RangeInclusive<i64> = 0..=253_402_300_799_999;

impl FollowUp {
    pub fn parse(at: Timestamp, note: &str) -> Result<FollowUp, ModelError> {
        if !FOLLOW_UP_TIMES.contains(&at.0) {
            return Err(ModelError::Invalid {
                what: "follow-up",
                why: "must be between 1970 and 9999".into(),
            });
        }
        Ok(FollowUp {
            at,
            note: bounded("follow-up note", note.trim(), limits::FOLLOW_UP_NOTE)?.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Currency;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").unwrap())
    }

    #[test]
    fn drafts_are_parsed() {
        assert!(LeadDraft::parse("  ", "", "", "", usd(0), "").is_err());
        assert!(LeadDraft::parse("Ada", "", "not-an-email", "", usd(0), "").is_err());
        assert!(LeadDraft::parse("Ada", "", "", "", usd(-1), "").is_err());
        assert!(LeadDraft::parse("Ada", "", "", "call me", usd(0), "").is_err());
        let ok =
            LeadDraft::parse(" Ada ", "", "", " +44 (0)20 7946-0958 x12 ", usd(0), "").unwrap();
        assert_eq!(ok.contact_name, "Ada");
        assert_eq!(ok.phone, "+44 (0)20 7946-0958 x12");
    }

    #[test]
    fn every_field_is_bounded_and_the_message_says_by_how_much() {
        let long = |n: usize| "é".repeat(n);
        let at_bounds = LeadDraft::parse(
            &long(limits::CONTACT_NAME),
            &long(limits::COMPANY),
            &format!("{}@b.io", "a".repeat(limits::EMAIL - 5)),
            &"1".repeat(limits::PHONE),
            usd(0),
            &long(limits::NOTES),
        );
        assert!(at_bounds.is_ok(), "{at_bounds:?}");
        let err = LeadDraft::parse(&long(201), "", "", "", usd(0), "").unwrap_err();
        assert_eq!(
            err.to_string(),
            "contact name is 201 characters long; the most is 200 (1 too many)"
        );
        let over = [
            LeadDraft::parse("A", &long(201), "", "", usd(0), ""),
            LeadDraft::parse(
                "A",
                "",
                &format!("{}@b.io", "a".repeat(250)),
                "",
                usd(0),
                "",
            ),
            LeadDraft::parse("A", "", "", &"1".repeat(41), usd(0), ""),
            LeadDraft::parse("A", "", "", "", usd(0), &long(10_001)),
        ];
        let named: Vec<&str> = over
            .iter()
            .map(|r| match r {
                Err(ModelError::Invalid { what, .. }) => *what,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(named, ["company", "email", "phone", "notes"]);
        assert!(FollowUp::parse(Timestamp(0), &long(501)).is_err());
        assert!(FollowUp::parse(Timestamp(-1), "").is_err());
        assert!(FollowUp::parse(Timestamp(253_402_300_800_000), "").is_err());
        assert!(LeadDraft::parse("A\0b", "", "", "", usd(0), "").is_err());
        assert!(LeadDraft::parse("A", "", "", "", usd(0), "x\0").is_err());
        assert_eq!(
            FollowUp::parse(Timestamp(5), " call back ").unwrap().note,
            "call back"
        );
    }
}
