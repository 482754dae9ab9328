//! What the dashboard shows, worked out from the documents on the device
//! (the partner's pipeline, the account view and the inbox the server
//! writes): pure functions of their readings and the time, so they are
//! tested natively and work offline.

use std::collections::BTreeMap;

use model::{AccountView, Currency, Lead, Money, Pipeline, Stage, Timestamp};

use super::Assigned;

/// The stages a lead is still open in, in pipeline order.
pub const OPEN: [Stage; 4] = [
    Stage::New,
    Stage::Contacted,
    Stage::Qualified,
    Stage::Proposal,
];

/// One open stage: its leads and their value, per currency (amounts in
/// different currencies are never added up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageValue {
    pub stage: Stage,
    pub leads: usize,
    pub value: Vec<Money>,
}

fn on_board(pipeline: &Pipeline) -> impl Iterator<Item = &Lead> {
    pipeline.leads.iter().filter(|l| !l.is_archived())
}

/// Sums per currency, in currency order.
fn per_currency<'a>(amounts: impl Iterator<Item = &'a Money>) -> Vec<Money> {
    let mut sums: BTreeMap<String, (Currency, i64)> = BTreeMap::new();
    for money in amounts {
        let entry = sums
            .entry(money.currency.as_str().to_owned())
            .or_insert((money.currency, 0));
        // Amounts are bounded (`Money::MAX_MINOR`), so no sum of a
        // pipeline's overflows; saturating all the same.
        entry.1 = entry.1.saturating_add(money.minor);
    }
    sums.into_values()
        .map(|(currency, minor)| Money::new(minor, currency))
        .collect()
}

/// The open stages with their leads and value.
pub fn pipeline_value(pipeline: &Pipeline) -> Vec<StageValue> {
    OPEN.iter()
        .map(|&stage| {
            let leads: Vec<&Lead> = on_board(pipeline).filter(|l| l.stage == stage).collect();
            StageValue {
                stage,
                leads: leads.len(),
                value: per_currency(leads.iter().map(|l| &l.value)),
            }
        })
        .collect()
}

/// When a lead last moved to won, if it is won: its last stage change to
/// won, or its creation for one made won.
fn won_at(lead: &Lead) -> Option<Timestamp> {
    if lead.stage != Stage::Won {
        return None;
    }
    lead.stage_changes()
        .filter(|(_, _, to)| *to == Stage::Won)
        .map(|(at, _, _)| at)
        .max()
        .or(Some(lead.created_at))
}

/// Leads won since `since` (the start of this month, on the device's
/// calendar) and their value per currency.
pub fn won_since(pipeline: &Pipeline, since: Timestamp) -> (usize, Vec<Money>) {
    let won: Vec<&Lead> = on_board(pipeline)
        .filter(|l| won_at(l).is_some_and(|at| at >= since))
        .collect();
    (won.len(), per_currency(won.iter().map(|l| &l.value)))
}

/// Of the leads closed (won or lost), the share won, in per mille; none
/// while nothing is closed.
pub fn close_rate(pipeline: &Pipeline) -> Option<u32> {
    let won = on_board(pipeline).filter(|l| l.stage == Stage::Won).count();
    let lost = on_board(pipeline)
        .filter(|l| l.stage == Stage::Lost)
        .count();
    let closed = won + lost;
    (closed > 0).then(|| ((won * 1000 + closed / 2) / closed) as u32)
}

/// Follow-ups due: those overdue (before `today`, the start of the
/// device's day) and those due today (before `tomorrow`).
pub fn follow_ups(
    pipeline: &Pipeline,
    today: Timestamp,
    tomorrow: Timestamp,
) -> (Vec<&Lead>, Vec<&Lead>) {
    let due = pipeline.follow_ups_due(Timestamp(tomorrow.0 - 1));
    due.into_iter()
        .partition(|l| l.follow_up.as_ref().is_some_and(|f| f.at < today))
}

/// A step of the first-run checklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Profile,
    Training,
    ReferralLink,
    FirstLead,
    FirstDeal,
    FirstCommission,
}

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Done,
    ToDo,
}

pub const STEPS: [Step; 6] = [
    Step::Profile,
    Step::Training,
    Step::ReferralLink,
    Step::FirstLead,
    Step::FirstDeal,
    Step::FirstCommission,
];

/// Each step of the checklist, ticked from the data: the profile
/// (`profile_done`, from the account), a lead in the pipeline (archived
/// ones count), a deal submitted (a lead marked won, or a deal the server
/// knows of), a commission approved (a line in the account view), a
/// training module completed (the account view's `modules_done`).
pub fn checklist(
    profile_done: bool,
    has_link: bool,
    pipeline: Option<&Pipeline>,
    view: Option<&AccountView>,
) -> Vec<(Step, Standing)> {
    let done = |yes: bool| if yes { Standing::Done } else { Standing::ToDo };
    let has_lead = pipeline.is_some_and(|p| !p.leads.is_empty());
    let has_deal = pipeline.is_some_and(|p| p.leads.iter().any(|l| l.stage == Stage::Won))
        || view.is_some_and(|v| !v.deals.is_empty());
    let has_commission = view.is_some_and(|v| v.lines.iter().any(|l| l.amount_minor > 0));
    let has_module = view.is_some_and(|v| !v.modules_done.is_empty());
    STEPS
        .iter()
        .map(|&step| {
            let standing = match step {
                Step::Profile => done(profile_done),
                Step::Training => done(has_module),
                Step::ReferralLink => done(has_link),
                Step::FirstLead => done(has_lead),
                Step::FirstDeal => done(has_deal),
                Step::FirstCommission => done(has_commission),
            };
            (step, standing)
        })
        .collect()
}

/// Whether the checklist still has something to do.
pub fn unfinished(steps: &[(Step, Standing)]) -> bool {
    steps.iter().any(|(_, s)| *s == Standing::ToDo)
}

/// The assigned modules still to do, the soonest due first, each with
/// whether it is overdue on `today` (`YYYY-MM-DD`: such days compare as
/// text), and how many are done.
pub fn assigned<'a>(list: &'a [Assigned], today: &str) -> (Vec<(&'a Assigned, bool)>, usize) {
    let mut to_do: Vec<(&Assigned, bool)> = list
        .iter()
        .filter(|a| !a.done)
        .map(|a| (a, a.due_on.as_str() < today))
        .collect();
    to_do.sort_by(|(a, _), (b, _)| (&a.due_on, &a.title).cmp(&(&b.due_on, &b.title)));
    (to_do, list.iter().filter(|a| a.done).count())
}

#[cfg(test)]
mod tests {
    use model::{Activity, FollowUp, LeadId, PartnerId};

    use super::*;

    const DAY: i64 = 86_400_000;

    fn lead(id: &str, stage: Stage, minor: i64, currency: &str) -> Lead {
        Lead {
            id: LeadId::parse(id).unwrap(),
            contact_name: id.to_owned(),
            company: String::new(),
            email: String::new(),
            phone: String::new(),
            value: Money::new(minor, Currency::parse(currency).unwrap()),
            notes: String::new(),
            stage,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            archived_at: None,
            follow_up: None,
            activity: Vec::new(),
            conflicts: Vec::new(),
        }
    }

    fn pipeline(leads: Vec<Lead>) -> Pipeline {
        Pipeline {
            partner_id: PartnerId::parse("p-ben").unwrap(),
            leads,
            unreadable: Vec::new(),
            heads: Default::default(),
        }
    }

    fn won_on(mut lead: Lead, day: i64) -> Lead {
        lead.activity.push(Activity::Moved {
            at: Timestamp(day * DAY),
            from: Stage::Proposal,
            to: Stage::Won,
        });
        lead
    }

    #[test]
    fn value_is_per_open_stage_and_currency_never_mixed() {
        let mut archived = lead("a", Stage::New, 99_900, "USD");
        archived.archived_at = Some(Timestamp(1));
        let p = pipeline(vec![
            lead("b", Stage::New, 10_000, "USD"),
            lead("c", Stage::New, 50_00, "EUR"),
            lead("d", Stage::New, 25_00, "USD"),
            lead("e", Stage::Proposal, 100_000, "JPY"),
            lead("f", Stage::Won, 7_00, "USD"),
            archived,
        ]);
        let value = pipeline_value(&p);
        assert_eq!(value.len(), 4);
        assert_eq!(value[0].leads, 3);
        let eur = Currency::parse("EUR").unwrap();
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(
            value[0].value,
            [Money::new(50_00, eur), Money::new(12_500, usd)]
        );
        assert_eq!((value[1].leads, value[1].value.len()), (0, 0));
        assert_eq!(value[3].leads, 1);
    }

    #[test]
    fn won_this_month_counts_the_last_move_to_won() {
        let p = pipeline(vec![
            won_on(lead("a", Stage::Won, 10_00, "USD"), 40),
            won_on(lead("b", Stage::Won, 20_00, "USD"), 10),
            // Won, then lost: not won.
            won_on(lead("c", Stage::Lost, 30_00, "USD"), 41),
        ]);
        let (count, value) = won_since(&p, Timestamp(30 * DAY));
        assert_eq!(count, 1);
        assert_eq!(value, [Money::new(10_00, Currency::parse("USD").unwrap())]);
    }

    #[test]
    fn close_rate_is_won_among_closed() {
        assert_eq!(
            close_rate(&pipeline(vec![lead("a", Stage::New, 1, "USD")])),
            None
        );
        let p = pipeline(vec![
            lead("a", Stage::Won, 1, "USD"),
            lead("b", Stage::Lost, 1, "USD"),
            lead("c", Stage::Lost, 1, "USD"),
            lead("d", Stage::New, 1, "USD"),
        ]);
        assert_eq!(close_rate(&p), Some(333));
    }

    #[test]
    fn follow_ups_split_into_overdue_and_today() {
        let at = |l: &str, ms: i64| {
            let mut lead = lead(l, Stage::Contacted, 1, "USD");
            lead.follow_up = Some(FollowUp {
                at: Timestamp(ms),
                note: String::new(),
            });
            lead
        };
        let p = pipeline(vec![
            at("late", 9 * DAY),
            at("today", 10 * DAY + 5),
            at("later", 11 * DAY + 1),
        ]);
        let (overdue, today) = follow_ups(&p, Timestamp(10 * DAY), Timestamp(11 * DAY));
        let ids = |ls: Vec<&Lead>| ls.iter().map(|l| l.id.to_string()).collect::<Vec<_>>();
        assert_eq!(ids(overdue), ["late"]);
        assert_eq!(ids(today), ["today"]);
    }

    #[test]
    fn the_checklist_ticks_from_the_data() {
        let empty = pipeline(Vec::new());
        let steps = checklist(false, false, Some(&empty), None);
        assert!(steps.iter().all(|(_, s)| *s == Standing::ToDo));
        assert!(unfinished(&steps));
        let one = pipeline(vec![lead("a", Stage::Won, 1, "USD")]);
        let steps = checklist(true, true, Some(&one), None);
        let standing = |step| steps.iter().find(|(s, _)| *s == step).unwrap().1;
        assert_eq!(standing(Step::Profile), Standing::Done);
        assert_eq!(standing(Step::ReferralLink), Standing::Done);
        assert_eq!(standing(Step::FirstLead), Standing::Done);
        assert_eq!(standing(Step::FirstDeal), Standing::Done);
        assert_eq!(standing(Step::FirstCommission), Standing::ToDo);
    }

    #[test]
    fn assigned_modules_list_the_soonest_first_and_say_which_are_late() {
        let a = |title: &str, due: &str, done: bool| Assigned {
            title: title.into(),
            hash: "#training-t".into(),
            due_on: due.into(),
            by: "Ana".into(),
            done,
        };
        let list = [
            a("Closing", "2026-12-20", false),
            a("Opening", "2026-12-01", false),
            a("Pricing", "2026-11-01", true),
            a("Qualifying", "2026-12-03", false),
        ];
        let (to_do, done) = assigned(&list, "2026-12-03");
        let seen: Vec<(&str, bool)> = to_do
            .iter()
            .map(|(a, late)| (a.title.as_str(), *late))
            .collect();
        assert_eq!(
            seen,
            [("Opening", true), ("Qualifying", false), ("Closing", false)]
        );
        assert_eq!(done, 1);
    }
}
