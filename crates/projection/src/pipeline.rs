//! A pipeline's leads as rows: each lead that reads whole, checked; each
//! entry that cannot be a row without inventing a value, with why.

use chrono::{DateTime, Datelike, Utc};
use model::{Lead, Pipeline, Stage, limits};

/// A lead as its row holds it: what the document says, checked.
#[derive(Debug)]
pub struct LeadRow<'a> {
    pub lead: &'a Lead,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
    pub follow_up_at: Option<DateTime<Utc>>,
}

impl LeadRow<'_> {
    /// The follow-up's note, as the row keeps it (none without a
    /// follow-up).
    pub fn follow_up_note(&self) -> Option<&str> {
        self.lead.follow_up.as_ref().map(|f| f.note.as_str())
    }
}

/// What a pipeline projects: the rows of the leads that read whole, and the
/// entries that cannot be projected without inventing a value, by key, with
/// why. A rejected entry keeps whatever row and deal it had.
#[derive(Debug)]
pub struct Leads<'a> {
    pub rows: Vec<LeadRow<'a>>,
    pub rejected: Vec<(String, String)>,
}

impl<'a> Leads<'a> {
    pub fn of(pipeline: &'a Pipeline) -> Leads<'a> {
        let mut rows = Vec::new();
        let mut rejected: Vec<(String, String)> = pipeline
            .unreadable
            .iter()
            // A key is anything a client wrote. One with a NUL, which
            // Postgres text cannot hold (nor take as a parameter), has no
            // row anyway: it is named with U+FFFD instead.
            .map(|key| {
                let key = key.replace('\0', "\u{fffd}");
                (key, "the entry does not read as a lead".to_owned())
            })
            .collect();
        for lead in &pipeline.leads {
            match row_of(lead) {
                Ok(row) => rows.push(row),
                Err(why) => rejected.push((lead.id.to_string(), why)),
            }
        }
        Leads { rows, rejected }
    }

    pub fn won(&self) -> impl Iterator<Item = &LeadRow<'a>> {
        self.rows.iter().filter(|row| row.lead.stage == Stage::Won)
    }

    /// Every key whose row (and deal) the document still speaks for,
    /// written now or kept as it was.
    pub fn kept(&self) -> Vec<&str> {
        let rows = self.rows.iter().map(|row| row.lead.id.as_str());
        rows.chain(self.rejected.iter().map(|(key, _)| key.as_str()))
            .collect()
    }
}

/// The row of a lead, or why it has none: a negative amount and a time no
/// calendar shows are refused, not turned into 0 or 1970.
pub fn row_of(lead: &Lead) -> Result<LeadRow<'_>, String> {
    if lead.value.minor < 0 {
        return Err(format!("value_minor {} is negative", lead.value.minor));
    }
    // Postgres text cannot hold a NUL: the row's insert would fail, and
    // the document's projection with it, again at every retry.
    for (field, text) in [
        ("contact_name", lead.contact_name.as_str()),
        ("company", &lead.company),
        ("email", &lead.email),
        ("phone", &lead.phone),
        ("notes", &lead.notes),
        (
            "follow-up note",
            lead.follow_up.as_ref().map_or("", |f| f.note.as_str()),
        ),
    ] {
        if text.contains('\0') {
            return Err(format!("{field} holds a NUL character"));
        }
    }
    // What no form lets anyone type: a client that skips the model's
    // parser gets no row rather than megabytes of text in one.
    for (field, text, max) in [
        (
            "contact_name",
            lead.contact_name.as_str(),
            limits::CONTACT_NAME,
        ),
        ("company", &lead.company, limits::COMPANY),
        ("email", &lead.email, limits::EMAIL),
        ("phone", &lead.phone, limits::PHONE),
        ("notes", &lead.notes, limits::NOTES),
        (
            "follow-up note",
            lead.follow_up.as_ref().map_or("", |f| f.note.as_str()),
            limits::FOLLOW_UP_NOTE,
        ),
    ] {
        let count = text.chars().count();
        if count > max {
            return Err(format!("{field} is {count} characters long, over {max}"));
        }
    }
    Ok(LeadRow {
        lead,
        created_at: time("created_at", lead.created_at)?,
        updated_at: time("updated_at", lead.updated_at)?,
        archived_at: lead
            .archived_at
            .map(|at| time("archived_at", at))
            .transpose()?,
        // A follow-up at a time no calendar shows is no follow-up: the lead
        // still projects (a deal it files matters more than a reminder).
        follow_up_at: lead
            .follow_up
            .as_ref()
            .and_then(|f| time("follow_up.at", f.at).ok()),
    })
}

/// Years 1 to 9999: what every clock, calendar and column here can show
/// (Postgres refuses some earlier times outright, which would stop the
/// document's projection for good).
fn time(field: &str, ms: model::Timestamp) -> Result<DateTime<Utc>, String> {
    DateTime::from_timestamp_millis(ms.0)
        .filter(|t| (1..=9999).contains(&t.year()))
        .ok_or_else(|| format!("{field} {} ms is not a time in the years 1 to 9999", ms.0))
}

#[cfg(test)]
mod tests {
    use model::{Currency, LeadId, Money, PartnerId, Timestamp};

    use super::*;

    fn lead(id: &str, minor: i64, created: i64, updated: i64) -> Lead {
        Lead {
            id: LeadId::parse(id).unwrap(),
            contact_name: "Ada".into(),
            company: String::new(),
            email: String::new(),
            phone: String::new(),
            value: Money::new(minor, Currency::parse("USD").unwrap()),
            notes: String::new(),
            stage: Stage::Won,
            created_at: Timestamp(created),
            updated_at: Timestamp(updated),
            archived_at: None,
            follow_up: None,
            activity: Vec::new(),
            conflicts: Vec::new(),
        }
    }

    #[test]
    fn a_lead_with_an_invented_value_gets_no_row_and_says_why() {
        let now = 1_750_000_000_000;
        // Below what chrono holds, and what chrono holds but Postgres does
        // not (about 250,000 BC): neither is 1970, neither stops the worker.
        let pipeline = Pipeline {
            partner_id: PartnerId::parse("p-ben").unwrap(),
            leads: vec![
                lead("ok", 100, now, now),
                // 1970 itself is a time: kept.
                lead("epoch", 0, 10, 10),
                lead("negative", -500, now, now),
                lead("far-future", 100, now, i64::MAX),
                lead("far-past", 100, -8_000_000_000_000_000, now),
                Lead {
                    archived_at: Some(Timestamp(i64::MIN)),
                    ..lead("archived-never", 100, now, now)
                },
                Lead {
                    follow_up: Some(model::FollowUp {
                        at: Timestamp(now),
                        note: "a\0b".into(),
                    }),
                    ..lead("nul-follow-up", 100, now, now)
                },
                Lead {
                    notes: "n".repeat(limits::NOTES + 1),
                    ..lead("novel", 100, now, now)
                },
                Lead {
                    follow_up: Some(model::FollowUp {
                        at: Timestamp(i64::MAX),
                        note: "someday".into(),
                    }),
                    ..lead("someday", 100, now, now)
                },
            ],
            unreadable: vec!["junk".into()],
            heads: model::Heads::default(),
        };
        let leads = Leads::of(&pipeline);
        let rows: Vec<&str> = leads.rows.iter().map(|r| r.lead.id.as_str()).collect();
        assert_eq!(rows, ["ok", "epoch", "someday"]);
        assert_eq!(
            leads.rows[2].follow_up_at, None,
            "a follow-up at no time is none"
        );
        assert_eq!(
            leads.rejected,
            [
                ("junk".into(), "the entry does not read as a lead".into()),
                ("negative".into(), "value_minor -500 is negative".into()),
                (
                    "far-future".into(),
                    format!(
                        "updated_at {} ms is not a time in the years 1 to 9999",
                        i64::MAX
                    )
                ),
                (
                    "far-past".into(),
                    "created_at -8000000000000000 ms is not a time in the years 1 to 9999".into()
                ),
                (
                    "archived-never".into(),
                    format!(
                        "archived_at {} ms is not a time in the years 1 to 9999",
                        i64::MIN
                    )
                ),
                (
                    "nul-follow-up".into(),
                    "follow-up note holds a NUL character".into()
                ),
                (
                    "novel".into(),
                    "notes is 10001 characters long, over 10000".into()
                ),
            ]
        );
        // Only rows count as won; every key keeps its row.
        assert_eq!(leads.won().count(), 3);
        assert_eq!(
            leads.kept(),
            [
                "ok",
                "epoch",
                "someday",
                "junk",
                "negative",
                "far-future",
                "far-past",
                "archived-never",
                "nul-follow-up",
                "novel"
            ]
        );
        assert_eq!(
            leads.rows[1].created_at,
            DateTime::from_timestamp_millis(10).unwrap()
        );
    }
}
