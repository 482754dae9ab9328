//! Which leads the board shows, and in which order: a search, filters and
//! a sort, kept in the pipeline's state. Pure: leads in, leads out.

use model::{Currency, Lead, Money, NumberFormat, Stage, Timestamp};

/// How the board orders each stage's leads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sort {
    /// Oldest first: the order leads came in.
    #[default]
    Oldest,
    Newest,
    /// The most valuable first (within a currency; currencies by code).
    Value,
    /// Soonest follow-up first; leads without one last.
    FollowUp,
    /// Most recently changed first.
    Updated,
    Name,
}

impl Sort {
    pub const ALL: [Sort; 6] = [
        Sort::Oldest,
        Sort::Newest,
        Sort::Value,
        Sort::FollowUp,
        Sort::Updated,
        Sort::Name,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Oldest => "oldest",
            Sort::Newest => "newest",
            Sort::Value => "value",
            Sort::FollowUp => "follow-up",
            Sort::Updated => "updated",
            Sort::Name => "name",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Sort::Oldest => "Oldest first",
            Sort::Newest => "Newest first",
            Sort::Value => "Highest value",
            Sort::FollowUp => "Next follow-up",
            Sort::Updated => "Recently changed",
            Sort::Name => "Name",
        }
    }

    pub fn parse(s: &str) -> Option<Sort> {
        Sort::ALL.into_iter().find(|sort| sort.as_str() == s)
    }
}

/// What the board is narrowed to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    /// Words that must all appear in the name, company, email or notes,
    /// whatever their case.
    pub query: String,
    /// Only leads with a follow-up due (now or before).
    pub due_only: bool,
    pub stage: Option<Stage>,
    pub currency: Option<Currency>,
    /// The least and the most value shown, as typed, read in each lead's
    /// currency the way the reader writes numbers (`format`), by the one
    /// amount parser. A bound that does not read shows nothing.
    pub min_value: String,
    pub max_value: String,
    pub format: NumberFormat,
    pub sort: Sort,
}

impl Default for Filter {
    fn default() -> Filter {
        Filter {
            query: String::new(),
            due_only: false,
            stage: None,
            currency: None,
            min_value: String::new(),
            max_value: String::new(),
            format: NumberFormat::CANONICAL,
            sort: Sort::default(),
        }
    }
}

impl Filter {
    /// Whether anything narrows the board.
    pub fn narrows(&self) -> bool {
        !self.query.trim().is_empty() || self.filters()
    }

    /// Whether a filter (not the search) narrows the board.
    pub fn filters(&self) -> bool {
        self.due_only
            || self.stage.is_some()
            || self.currency.is_some()
            || !self.min_value.trim().is_empty()
            || !self.max_value.trim().is_empty()
    }

    /// What is wrong with the bounds typed, one sentence each: a bound
    /// that does not read as an amount (in the currency filtered on, or
    /// else in one with cents) shows nothing, and says why here.
    pub fn bound_errors(&self) -> Vec<String> {
        let currency = self
            .currency
            .unwrap_or_else(|| Currency::parse("USD").expect("a currency"));
        [("At least", &self.min_value), ("At most", &self.max_value)]
            .into_iter()
            .filter(|(_, typed)| {
                let typed = typed.trim();
                !typed.is_empty() && Money::parse_in(typed, currency, self.format).is_err()
            })
            .map(|(what, typed)| format!("{what}: \"{}\" is not an amount.", typed.trim()))
            .collect()
    }

    /// Whether `lead` passes at `now`.
    pub fn matches(&self, lead: &Lead, now: Timestamp) -> bool {
        if self.due_only && lead.follow_up.as_ref().is_none_or(|f| f.at > now) {
            return false;
        }
        if self.stage.is_some_and(|s| s != lead.stage)
            || self.currency.is_some_and(|c| c != lead.value.currency)
        {
            return false;
        }
        let bound = |typed: &str| {
            let typed = typed.trim();
            (!typed.is_empty())
                .then(|| Money::parse_in(typed, lead.value.currency, self.format).map(|m| m.minor))
        };
        match (bound(&self.min_value), bound(&self.max_value)) {
            (Some(Err(_)), _) | (_, Some(Err(_))) => return false,
            (Some(Ok(min)), _) if lead.value.minor < min => return false,
            (_, Some(Ok(max))) if lead.value.minor > max => return false,
            _ => {}
        }
        let words: Vec<String> = self
            .query
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        if words.is_empty() {
            return true;
        }
        let text = [
            lead.contact_name.as_str(),
            &lead.company,
            &lead.email,
            &lead.notes,
        ]
        .join("\n")
        .to_lowercase();
        words.iter().all(|word| text.contains(word.as_str()))
    }

    /// `leads` that pass at `now`, in the order of `sort` (ties in the
    /// order given, which is the document's: oldest first, then by id).
    pub fn apply<'a>(
        &self,
        leads: impl Iterator<Item = &'a Lead>,
        now: Timestamp,
    ) -> Vec<&'a Lead> {
        let mut shown: Vec<&Lead> = leads.filter(|lead| self.matches(lead, now)).collect();
        match self.sort {
            Sort::Oldest => {}
            Sort::Newest => shown.reverse(),
            Sort::Value => shown.sort_by(|a, b| {
                (a.value.currency.as_str(), std::cmp::Reverse(a.value.minor))
                    .cmp(&(b.value.currency.as_str(), std::cmp::Reverse(b.value.minor)))
            }),
            Sort::FollowUp => {
                shown.sort_by_key(|lead| lead.follow_up.as_ref().map_or(i64::MAX, |f| f.at.0))
            }
            Sort::Updated => shown.sort_by_key(|lead| std::cmp::Reverse(lead.updated_at)),
            Sort::Name => shown.sort_by_key(|lead| lead.contact_name.to_lowercase()),
        }
        shown
    }
}

#[cfg(test)]
mod tests {
    use model::{FollowUp, LeadId, Stage};

    use super::*;

    fn lead(id: &str, name: &str, minor: i64, currency: &str) -> Lead {
        Lead {
            id: LeadId::parse(id).unwrap(),
            contact_name: name.into(),
            company: format!("{name} Ltd"),
            email: String::new(),
            phone: String::new(),
            value: Money::new(minor, Currency::parse(currency).unwrap()),
            notes: String::new(),
            stage: Stage::New,
            created_at: Timestamp(0),
            updated_at: Timestamp(minor),
            archived_at: None,
            follow_up: None,
            activity: Vec::new(),
            conflicts: Vec::new(),
        }
    }

    fn ids(leads: Vec<&Lead>) -> Vec<&str> {
        leads.iter().map(|l| l.id.as_str()).collect()
    }

    #[test]
    fn every_word_searched_for_must_appear_whatever_its_case() {
        let mut ada = lead("a", "Ada Obi", 100, "USD");
        ada.notes = "Budget in MÄRZ".into();
        let leads = [ada, lead("b", "Ben Okafor", 200, "USD")];
        let search = |query: &str| Filter {
            query: query.into(),
            ..Filter::default()
        };
        assert_eq!(ids(search("obi").apply(leads.iter(), Timestamp(0))), ["a"]);
        assert_eq!(
            ids(search("  ADA   märz ").apply(leads.iter(), Timestamp(0))),
            ["a"]
        );
        assert_eq!(
            ids(search("ada ben").apply(leads.iter(), Timestamp(0))),
            Vec::<&str>::new()
        );
        assert_eq!(
            ids(search("ltd").apply(leads.iter(), Timestamp(0))),
            ["a", "b"]
        );
        assert!(!Filter::default().narrows() && search("x").narrows());
    }

    #[test]
    fn filters_narrow_by_follow_up_due_currency_and_least_value() {
        let mut due = lead("due", "Due", 500, "USD");
        due.follow_up = Some(FollowUp::parse(Timestamp(10), "").unwrap());
        let mut later = lead("later", "Later", 50_000, "EUR");
        later.follow_up = Some(FollowUp::parse(Timestamp(99), "").unwrap());
        let leads = [due, later, lead("none", "None", 100_000, "JPY")];
        let at = Timestamp(50);
        let only = |filter: Filter| ids(filter.apply(leads.iter(), at));
        assert_eq!(
            only(Filter {
                due_only: true,
                ..Filter::default()
            }),
            ["due"]
        );
        assert_eq!(
            only(Filter {
                currency: Currency::parse("EUR").ok(),
                ..Filter::default()
            }),
            ["later"]
        );
        // 400 in each lead's currency: 400.00 USD, 400.00 EUR, 400 JPY.
        assert_eq!(
            only(Filter {
                min_value: "400".into(),
                ..Filter::default()
            }),
            ["later", "none"]
        );
        // As the reader writes numbers: "1.000" in German is a thousand.
        let german = Filter {
            min_value: "1.000".into(),
            format: NumberFormat::for_language("de-DE"),
            ..Filter::default()
        };
        assert_eq!(only(german), ["none"]);
        assert_eq!(
            only(Filter {
                min_value: "x".into(),
                ..Filter::default()
            }),
            Vec::<&str>::new()
        );
        assert_eq!(
            only(Filter {
                max_value: "400".into(),
                ..Filter::default()
            }),
            ["due"]
        );
        // Both ends are kept: 5.00 USD is "at least 5", 500.00 EUR "at
        // most 500".
        assert_eq!(
            only(Filter {
                min_value: "5".into(),
                max_value: "500".into(),
                ..Filter::default()
            }),
            ["due", "later"]
        );
        assert_eq!(
            only(Filter {
                max_value: "1e9".into(),
                ..Filter::default()
            }),
            Vec::<&str>::new(),
            "a bound that does not read shows nothing"
        );
    }

    #[test]
    fn a_bound_that_does_not_read_says_so() {
        let filter = Filter {
            min_value: "12".into(),
            max_value: " abc ".into(),
            ..Filter::default()
        };
        assert_eq!(
            filter.bound_errors(),
            ["At most: \"abc\" is not an amount."]
        );
        assert!(Filter::default().bound_errors().is_empty());
    }

    #[test]
    fn a_stage_filter_keeps_that_stage_only() {
        let mut won = lead("w", "Won", 1, "USD");
        won.stage = Stage::Won;
        let leads = [lead("n", "New", 1, "USD"), won];
        let filter = Filter {
            stage: Some(Stage::Won),
            ..Filter::default()
        };
        assert!(filter.narrows());
        assert_eq!(ids(filter.apply(leads.iter(), Timestamp(0))), ["w"]);
    }

    #[test]
    fn sorts_order_each_stage() {
        let mut a = lead("a", "zoe", 300, "USD");
        a.follow_up = Some(FollowUp::parse(Timestamp(5), "").unwrap());
        let b = lead("b", "Amy", 100, "USD");
        let mut c = lead("c", "max", 200, "EUR");
        c.follow_up = Some(FollowUp::parse(Timestamp(1), "").unwrap());
        let leads = [a, b, c];
        let sorted = |sort| {
            ids(Filter {
                sort,
                ..Filter::default()
            }
            .apply(leads.iter(), Timestamp(0)))
        };
        assert_eq!(sorted(Sort::Oldest), ["a", "b", "c"]);
        assert_eq!(sorted(Sort::Newest), ["c", "b", "a"]);
        assert_eq!(
            sorted(Sort::Value),
            ["c", "a", "b"],
            "EUR, then USD by value"
        );
        assert_eq!(sorted(Sort::FollowUp), ["c", "a", "b"]);
        assert_eq!(sorted(Sort::Updated), ["a", "c", "b"]);
        assert_eq!(sorted(Sort::Name), ["b", "c", "a"]);
        for sort in Sort::ALL {
            assert_eq!(Sort::parse(sort.as_str()), Some(sort));
        }
    }
}
