//! The dashboard, the app's home: where the partner stands (tier and the
//! way to the next), what to do first (the first-run checklist, ticked
//! from real data), what is due (today's and overdue follow-ups), the
//! figures (pipeline value by stage, deals won this month, commission
//! pending and available, close rate), the training assigned to the
//! partner with its due days, and the latest notices. Everything
//! comes from documents on the device: it works offline, and what the
//! server computes says when it was computed.

mod figures;
mod install;
mod invite;

use model::{AccountView, Inbox, Pipeline, Timestamp};
use web_common::show::{self, stage_label, tier_name};
use yew::prelude::*;

use install::InstallCard;
use invite::InviteCard;

use figures::{Standing, Step};

/// The module's page: `#home`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Page {
    Home,
}

impl crate::page::Page for Page {
    fn parse(name: &str) -> Option<Page> {
        (name == "home").then_some(Page::Home)
    }

    fn name(&self) -> String {
        "home".to_owned()
    }

    fn title(&self) -> &'static str {
        "Home"
    }
}

/// What the dashboard reads.
pub struct Input<'a> {
    pub name: &'a str,
    pub account_id: &'a str,
    /// A team leader: their invite link is here.
    pub leads_team: bool,
    /// The profile has what the programme needs (`#profile`).
    pub profile_done: bool,
    /// Whether the partner made a referral link (as the links screen
    /// last read them on this device).
    pub has_link: bool,
    /// The partner's own pipeline, once read.
    pub pipeline: Option<&'a Pipeline>,
    pub view: Option<&'a AccountView>,
    pub inbox: Option<&'a Inbox>,
    /// Training modules the partner was asked to complete.
    pub assigned: &'a [Assigned],
    /// Their rank and achievements (`leaderboard::Highlights`).
    pub highlights: Html,
}

/// A module assigned to the partner, as the dashboard lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct Assigned {
    pub title: String,
    /// The track's page: `#training-<track>`.
    pub hash: String,
    /// `YYYY-MM-DD`.
    pub due_on: String,
    pub by: String,
    pub done: bool,
}

fn assigned(list: &[Assigned]) -> Html {
    if list.is_empty() {
        return Html::default();
    }
    let today = show::local_day(0);
    let (to_do, done) = figures::assigned(list, &today);
    html! {
        <section class="card assigned" aria-labelledby="assigned-title">
            <h2 id="assigned-title">{ "Training assigned to you" }</h2>
            if to_do.is_empty() {
                <p class="hint">{ "All done. Well done!" }</p>
            }
            <ul class="plain">
                { for to_do.iter().map(|(a, late)| html! {
                    <li class={classes!("due-item", late.then_some("overdue"))}>
                        <a href={a.hash.clone()}>{ &a.title }</a>
                        <span class="hint">{ format!("{} {} · from {}",
                            if *late { "overdue since" } else { "due" }, show::calendar_day(&a.due_on), a.by) }</span>
                    </li>
                }) }
            </ul>
            if done > 0 && !to_do.is_empty() {
                <p class="hint">{ format!("{done} done") }</p>
            }
        </section>
    }
}

/// Midnight today, midnight tomorrow and the first of this month, on the
/// device's calendar.
fn calendar() -> (Timestamp, Timestamp, Timestamp) {
    let day = js_sys::Date::new_0();
    day.set_hours(0);
    day.set_minutes(0);
    day.set_seconds(0);
    day.set_milliseconds(0);
    let today = day.get_time();
    let next = js_sys::Date::new(&day.get_time().into());
    next.set_date(day.get_date() + 1);
    let month = js_sys::Date::new(&day.get_time().into());
    month.set_date(1);
    (
        Timestamp(today as i64),
        Timestamp(next.get_time() as i64),
        Timestamp(month.get_time() as i64),
    )
}

fn amounts(list: &[model::Money]) -> String {
    if list.is_empty() {
        String::new()
    } else {
        list.iter()
            .map(|m| show::amount(*m))
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

pub fn view(input: Input) -> Html {
    let (today, tomorrow, month) = calendar();
    let steps = figures::checklist(
        input.profile_done,
        input.has_link,
        input.pipeline,
        input.view,
    );
    html! {
        <main id="home" class="home">
            <p class="hello">{ format!("Hello, {}", input.name.split_whitespace().next().unwrap_or(input.name)) }</p>
            <div class="home-grid">
                <div class="home-main">
                    { tier(input.view) }
                    { input.highlights }
                    if figures::unfinished(&steps) { { checklist(&steps) } }
                    { assigned(input.assigned) }
                    { follow_ups(input.pipeline, today, tomorrow) }
                    { stats(input.pipeline, input.view, month) }
                </div>
                <div class="home-side">
                    { feed(input.inbox) }
                    if input.leads_team {
                        <InviteCard account_id={input.account_id.to_owned()} />
                    }
                    <InstallCard />
                </div>
            </div>
        </main>
    }
}

fn as_of(view: &AccountView) -> Html {
    html! { <p class="hint as-of">{ format!("As of {}", show::when(view.computed_at.0)) }</p> }
}

fn tier(view: Option<&AccountView>) -> Html {
    let Some(view) = view else {
        return html! {
            <section class="card tier-card" aria-labelledby="tier-title">
                <h2 id="tier-title">{ "Your tier" }</h2>
                <p class="hint">{ "Your tier shows once the server has worked it out; it needs a connection the first time." }</p>
            </section>
        };
    };
    let percent = u32::from(view.progress.per_mille.min(1000)) / 10;
    html! {
        <section class="card tier-card" aria-labelledby="tier-title">
            <h2 id="tier-title"><a href="#tier">{ tier_name(&view.tier) }</a></h2>
            { match &view.progress.next_tier {
                Some(next) => html! {
                    <>
                        <progress max="1000" value={view.progress.per_mille.to_string()}
                            aria-label={format!("{percent}% of the way to {}", tier_name(next))}></progress>
                        <p>{ format!("{percent}% of the way to {}", tier_name(next)) }</p>
                    </>
                },
                None => html! { <p>{ "The highest tier." }</p> },
            } }
            { as_of(view) }
        </section>
    }
}

fn step_text(step: Step) -> (&'static str, &'static str, &'static str) {
    match step {
        Step::Profile => (
            "Finish your profile",
            "#profile",
            "Company, phone, country and currency",
        ),
        Step::Training => (
            "Complete a training module",
            "#training",
            "Lessons and quizzes, offline too",
        ),
        Step::ReferralLink => (
            "Create a referral link",
            "#links",
            "Share the shop with a link of your own",
        ),
        Step::FirstLead => ("Add your first lead", "#pipeline", "Who could buy from us?"),
        Step::FirstDeal => ("Submit your first deal", "#pipeline", "Move a lead to Won"),
        Step::FirstCommission => (
            "Earn your first commission",
            "#earnings",
            "Once a deal is approved",
        ),
    }
}

fn checklist(steps: &[(Step, Standing)]) -> Html {
    let done = steps.iter().filter(|(_, s)| *s == Standing::Done).count();
    let open = steps.len();
    html! {
        <section class="card checklist" aria-labelledby="checklist-title">
            <h2 id="checklist-title">{ "Get started" }</h2>
            <p class="hint">{ format!("{done} of {open} done") }</p>
            <ol class="plain">
                { for steps.iter().map(|&(step, standing)| {
                    let (title, href, hint) = step_text(step);
                    let mark = match standing {
                        Standing::Done => "✓",
                        Standing::ToDo => "",
                    };
                    let state = match standing {
                        Standing::Done => "done",
                        Standing::ToDo => "to-do",
                    };
                    html! {
                        <li class={classes!("step", state)} data-state={state}>
                            <span class="mark" aria-hidden="true">{ mark }</span>
                            <span class="step-text">
                                if standing == Standing::ToDo {
                                    <a href={href}>{ title }</a>
                                } else {
                                    <span>{ title }</span>
                                }
                                <span class="visually-hidden">{ match standing {
                                    Standing::Done => ": done",
                                    Standing::ToDo => ": to do",
                                } }</span>
                                <span class="hint">{ hint }</span>
                            </span>
                        </li>
                    }
                }) }
            </ol>
        </section>
    }
}

fn follow_ups(pipeline: Option<&Pipeline>, today: Timestamp, tomorrow: Timestamp) -> Html {
    let Some(pipeline) = pipeline else {
        return Html::default();
    };
    let (overdue, due) = figures::follow_ups(pipeline, today, tomorrow);
    let item = |lead: &model::Lead, late: bool| {
        let at = lead.follow_up.as_ref().map(|f| f.at.0).unwrap_or_default();
        html! {
            <li class={classes!("due-item", late.then_some("overdue"))}>
                <a href={format!("#lead-{}", lead.id)}>{ &lead.contact_name }</a>
                <span class="hint">{ if late { format!("overdue since {}", show::when(at)) } else { show::when(at) } }</span>
            </li>
        }
    };
    html! {
        <section class="card follow-ups" aria-labelledby="follow-ups-title">
            <h2 id="follow-ups-title">{ "Follow-ups" }</h2>
            if overdue.is_empty() && due.is_empty() {
                <p class="hint">{ "Nothing due today." }</p>
            }
            if !overdue.is_empty() {
                <h3>{ format!("Overdue ({})", overdue.len()) }</h3>
                <ul class="plain">{ for overdue.iter().map(|l| item(l, true)) }</ul>
            }
            if !due.is_empty() {
                <h3>{ format!("Today ({})", due.len()) }</h3>
                <ul class="plain">{ for due.iter().map(|l| item(l, false)) }</ul>
            }
        </section>
    }
}

fn stats(pipeline: Option<&Pipeline>, view: Option<&AccountView>, month: Timestamp) -> Html {
    let value = pipeline.map(figures::pipeline_value).unwrap_or_default();
    let won = pipeline.map(|p| figures::won_since(p, month));
    let rate = pipeline.and_then(figures::close_rate);
    html! {
        <section class="stats" aria-label="Figures">
            <div class="card stat" id="stat-pipeline">
                <h2>{ "Open pipeline" }</h2>
                <ul class="plain">
                    { for value.iter().map(|s| html! {
                        <li data-stage={s.stage.as_str()}>
                            <a href="#pipeline">{ stage_label(s.stage) }</a>
                            <span>{ match s.leads {
                                0 => "No leads".to_owned(),
                                1 => format!("1 lead · {}", amounts(&s.value)),
                                n => format!("{n} leads · {}", amounts(&s.value)),
                            } }</span>
                        </li>
                    }) }
                </ul>
            </div>
            <div class="card stat" id="stat-commission">
                <h2>{ "Commission" }</h2>
                { match view {
                    Some(view) if !view.balances.is_empty() => html! {
                        <>
                            <ul class="plain">
                                { for view.balances.iter().map(|b| html! {
                                    <li data-currency={b.currency.as_str().to_owned()}>
                                        { format!(
                                            "{} pending (held until the deal's hold ends) · {} available to be paid",
                                            show::amount(model::Money::new(b.pending_minor, b.currency)),
                                            show::amount(model::Money::new(b.available_minor, b.currency)),
                                        ) }
                                    </li>
                                }) }
                            </ul>
                            { as_of(view) }
                        </>
                    },
                    Some(view) => html! { <><p>{ "None yet." }</p>{ as_of(view) }</> },
                    None => html! { <p class="hint">{ "Shown once the server has worked it out." }</p> },
                } }
            </div>
            <div class="card stat" id="stat-won">
                <h2>{ "Won this month" }</h2>
                { match won {
                    Some((0, _)) => html! { <p><strong>{ "0" }</strong></p> },
                    Some((n, value)) => html! { <p><strong>{ n }</strong>{ format!(" · {}", amounts(&value)) }</p> },
                    None => html! { <p class="hint">{ "Opening your pipeline…" }</p> },
                } }
            </div>
            <div class="card stat" id="stat-close-rate">
                <h2>{ "Close rate" }</h2>
                { match rate {
                    Some(per_mille) => html! { <p><strong>{ show::percent(u64::from(per_mille) * 10) }{ "%" }</strong>{ " of closed leads won" }</p> },
                    None => html! { <p class="hint">{ "No lead won or lost yet." }</p> },
                } }
            </div>
        </section>
    }
}

fn feed(inbox: Option<&Inbox>) -> Html {
    let latest: Vec<&model::Notice> = inbox
        .map(|i| i.notices.iter().take(5).collect())
        .unwrap_or_default();
    html! {
        <section class="card feed" aria-labelledby="feed-title">
            <h2 id="feed-title">{ "Latest" }</h2>
            if latest.is_empty() {
                <p class="hint">{ "Decisions on your deals, commissions and payouts show here." }</p>
            } else {
                <ul class="plain">
                    { for latest.iter().map(|n| html! {
                        <li class="feed-item" data-kind={n.kind.clone()}>
                            <a href={crate::page::safe_hash(&n.screen)}>{ &n.title }</a>
                            <time class="hint">{ show::when(n.at.0) }</time>
                        </li>
                    }) }
                </ul>
            }
            <a class="button" href="#notifications">{ "All notifications" }</a>
        </section>
    }
}
