//! A team leader's Team screen (`#team`, and `#member-<partner>` for one
//! member): each member's pipeline by stage, deals won this month and win
//! rate, training and overdue assignments, tier and progress, last
//! activity; the leader's override lines with the member and deal each
//! comes from, and, below the tier that earns overrides, what the team's
//! deals would have paid and what is missing. All of it is the server's
//! `team` document (`model::TeamView`), read from the device, offline
//! too, "as of" when the server computed it. Assigning training is the
//! training hub's (each member's line links there); a member's pipeline
//! opens read-only on the board.

use std::rc::Rc;

use model::{MemberFigures, TeamView, Timestamp};
use web_common::show;
use yew::prelude::*;

use crate::{
    document::{DocEvent, Document, Followed, use_document},
    engine::EngineRef,
    page,
};

/// The module's pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Page {
    Team,
    /// One member, by partner id.
    Member(String),
}

impl page::Page for Page {
    fn parse(name: &str) -> Option<Page> {
        if name == "team" {
            return Some(Page::Team);
        }
        let id = name.strip_prefix("member-")?;
        let valid = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then(|| Page::Member(id.to_owned()))
    }

    fn name(&self) -> String {
        match self {
            Page::Team => "team".to_owned(),
            Page::Member(id) => format!("member-{id}"),
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Page::Team => "Team",
            Page::Member(_) => "Member",
        }
    }
}

/// The team view as the screens read it: the server's JSON view, typed.
#[derive(Clone, PartialEq)]
pub struct Team {
    pub computed_at: Timestamp,
    pub view: TeamView,
}

impl Document for Team {
    const KIND: engine_protocol::DocKind = engine_protocol::DocKind::Team;
    fn from_reading(reading: engine_protocol::Reading) -> Option<Self> {
        match reading {
            engine_protocol::Reading::Team { computed_at, body } => Some(Team {
                computed_at,
                view: serde_json::from_value(body).ok()?,
            }),
            _ => None,
        }
    }
}

#[derive(Properties, PartialEq)]
pub struct Props {
    pub page: Page,
    pub engine: Option<EngineRef>,
    /// The leader's team document; `None` for an account that leads none.
    pub doc_id: Option<String>,
    /// Opens a member's pipeline (read-only) on the board, by partner id.
    pub open_pipeline: Callback<String>,
    /// Posts a win card in the team's channel; `None` until this device
    /// knows the channel.
    pub celebrate: Option<Callback<String>>,
}

#[function_component(TeamPage)]
pub fn team_page(props: &Props) -> Html {
    let reading = use_state(|| None::<Result<Rc<Team>, String>>);
    let on = {
        let reading = reading.clone();
        Callback::from(move |followed: Followed<Team>| match followed.event {
            DocEvent::Read { value, .. } => reading.set(Some(value.map(Rc::new))),
            DocEvent::Failed(e) => reading.set(Some(Err(e))),
            _ => {}
        })
    };
    use_document::<Team>(props.engine.clone(), props.doc_id.clone(), on);
    if props.doc_id.is_none() {
        return html! {
            <main id="team" class="card">
                <h2>{ "Team" }</h2>
                <p>{ "This screen is for team leaders: you lead no team." }</p>
            </main>
        };
    }
    let team = match &*reading {
        None => {
            return html! { <main id="team"><p class="hint" role="status">{ "Opening your team…" }</p></main> };
        }
        Some(Err(e)) => {
            return html! {
                <main id="team" class="card"><p role="alert">{ format!("Your team's figures do not read: {e}") }</p></main>
            };
        }
        Some(Ok(team)) => team.clone(),
    };
    match &props.page {
        Page::Team => overview(&team),
        Page::Member(id) => match team.view.members.get(id) {
            Some(member) => member_page(
                &team,
                id,
                member,
                &props.open_pipeline,
                props.celebrate.as_ref(),
            ),
            None => html! {
                <main id="team" class="card">
                    <p>{ "This person is not in your team." }</p>
                    <a class="button" href="#team">{ "Back to your team" }</a>
                </main>
            },
        },
    }
}

fn as_of(team: &Team) -> Html {
    html! {
        <p class="hint as-of" data-computed-at={team.computed_at.0.to_string()}>
            { format!("As of {} · {} ({})", show::when(team.computed_at.0),
                show::month(&team.view.period.key), team.view.period.time_zone) }
        </p>
    }
}

/// Members by name.
fn members(view: &TeamView) -> Vec<(&String, &MemberFigures)> {
    let mut all: Vec<_> = view.members.iter().collect();
    all.sort_by(|a, b| a.1.name.cmp(&b.1.name).then(a.0.cmp(b.0)));
    all
}

/// Open pipeline value per currency: "9,650.00 USD · 4,100.00 EUR".
fn pipeline_total(member: &MemberFigures) -> String {
    let mut by: Vec<(&str, i64)> = Vec::new();
    for s in &member.pipeline {
        match by.iter_mut().find(|(c, _)| *c == s.currency) {
            Some(entry) => entry.1 = entry.1.saturating_add(s.value_minor),
            None => by.push((&s.currency, s.value_minor)),
        }
    }
    if by.is_empty() {
        return "No open leads".to_owned();
    }
    by.iter()
        .map(|(c, minor)| show::money(*minor, c))
        .collect::<Vec<_>>()
        .join(" · ")
}

fn win_rate(member: &MemberFigures) -> String {
    member
        .win_rate_percent()
        .map_or("—".to_owned(), |p| format!("{p}%"))
}

fn training_line(member: &MemberFigures) -> String {
    let mut line = format!(
        "{} module{} done",
        member.modules_done,
        if member.modules_done == 1 { "" } else { "s" }
    );
    if member.assignments_open > 0 {
        line.push_str(&format!(" · {} assigned", member.assignments_open));
    }
    line
}

fn last_active(member: &MemberFigures) -> String {
    member
        .last_active_at
        .map_or("No activity yet".to_owned(), |at| {
            format!("Active {}", show::when(at))
        })
}

/// The tier with the progress bar towards the next one.
fn tier(member: &MemberFigures) -> Html {
    let label = match &member.next_tier {
        Some(next) => format!(
            "{}: {}% of the way to {}",
            show::tier_name(&member.tier),
            member.progress_per_mille / 10,
            show::tier_name(next)
        ),
        None => format!("{}: top tier", show::tier_name(&member.tier)),
    };
    html! {
        <div class="member-tier">
            <span class="badge">{ show::tier_name(&member.tier) }</span>
            <progress max="1000" value={member.progress_per_mille.to_string()} aria-label={label}></progress>
        </div>
    }
}

fn overview(team: &Team) -> Html {
    let view = &team.view;
    let month = show::month(&view.period.key);
    html! {
        <main id="team" data-members={view.members.len().to_string()}>
            <section class="card" aria-labelledby="team-members">
                <h2 id="team-members">{ format!("Your team ({})", view.members.len()) }</h2>
                if view.members.is_empty() {
                    <p>{ "Nobody is in your team yet. Share your invite link from Home: who applies by it joins your team once approved." }</p>
                }
                <ul class="plain team-list">
                    { for members(view).into_iter().map(|(id, m)| html! {
                        <li class="member" data-member={id.clone()}>
                            <a class="member-link" href={format!("#member-{id}")}>
                                <span class="member-name">{ &m.name }</span>
                                { tier(m) }
                                { member_figures(m, &month, Shown::Card) }
                                <span class="hint">{ last_active(m) }</span>
                            </a>
                        </li>
                    }) }
                </ul>
                <p><a class="button" href="#training">{ "Assign training" }</a></p>
            </section>
            { overrides(view) }
            { recruits(view) }
            { as_of(team) }
        </main>
    }
}

/// Where a member's figures are shown: their card in the list (with the
/// pipeline's total; the page has it by stage) or their page (with the
/// leads lost).
#[derive(Clone, Copy, PartialEq)]
enum Shown {
    Card,
    Page,
}

/// A member's month in figures.
fn member_figures(m: &MemberFigures, month: &str, shown: Shown) -> Html {
    html! {
        <dl class="member-figures">
            if shown == Shown::Card {
                <div><dt>{ "Pipeline" }</dt><dd>{ pipeline_total(m) }</dd></div>
            }
            <div><dt>{ format!("Won in {month}") }</dt><dd class="won">{ m.won_in_period }</dd></div>
            if shown == Shown::Page {
                <div><dt>{ "Lost" }</dt><dd>{ m.lost_in_period }</dd></div>
            }
            <div><dt>{ "Win rate" }</dt><dd>{ win_rate(m) }</dd></div>
            <div><dt>{ "Training" }</dt><dd class="training">{ training_line(m) }
                if m.assignments_overdue > 0 {
                    <span class="overdue">{ format!(" · {} overdue", m.assignments_overdue) }</span>
                }
            </dd></div>
        </dl>
    }
}

/// Who applied by the leader's invite link, and where each stands.
fn recruits(view: &TeamView) -> Html {
    let invitees = view.recent_invitees();
    html! {
        <section id="recruits" class="card" aria-labelledby="recruits-title">
            <h2 id="recruits-title">{ "Recruiting" }</h2>
            if invitees.is_empty() {
                <p>{ "Nobody has applied by your invite link yet." }</p>
            } else {
                <ul class="plain invitees">
                    { for invitees.into_iter().map(|i| html! {
                        <li class="invitee" data-status={i.status.clone()}>
                            <span class="who">{ &i.name }</span>
                            <span class="hint">{ invitee_status(i) }</span>
                        </li>
                    }) }
                </ul>
            }
            <p><a class="button" href="#home">{ "Share your invite link" }</a></p>
        </section>
    }
}

fn invitee_status(i: &model::Invitee) -> String {
    let day = |ms: i64| show::day(ms as f64);
    match (i.status.as_str(), i.decided_at) {
        ("approved", Some(at)) if i.in_team => format!("Approved {} · in your team", day(at)),
        ("approved", Some(at)) => format!("Approved {} · placed in another team", day(at)),
        ("rejected", Some(at)) => format!("Not approved ({})", day(at)),
        _ => format!("Applied {} · waiting for approval", day(i.applied_at)),
    }
}

/// The win card a leader posts in the team's channel for a deal.
fn win_card(member: &str, d: &model::MemberDeal) -> String {
    format!(
        "🎉 Win! {member} closed {}: {}. Congratulations!",
        customer(&d.contact, &d.company),
        show::money(d.amount_minor, &d.currency)
    )
}

fn member_page(
    team: &Team,
    id: &str,
    m: &MemberFigures,
    open: &Callback<String>,
    celebrate: Option<&Callback<String>>,
) -> Html {
    let onclick = {
        let (open, id) = (open.clone(), id.to_owned());
        Callback::from(move |_: MouseEvent| open.emit(id.clone()))
    };
    html! {
        <main id="team" class="member-page" data-member={id.to_owned()}>
            <section class="card">
                <a class="back" href="#team">{ "← Your team" }</a>
                <h2>{ &m.name }</h2>
                { tier(m) }
                { member_figures(m, &show::month(&team.view.period.key), Shown::Page) }
                <p class="hint">{ last_active(m) }</p>
                <div class="actions">
                    <button type="button" {onclick}>{ format!("Open {}'s pipeline", m.name) }</button>
                    <a class="button" href="#training">{ "Assign training" }</a>
                </div>
            </section>
            <section class="card" aria-labelledby="member-pipeline">
                <h3 id="member-pipeline">{ "Open pipeline by stage" }</h3>
                if m.pipeline.is_empty() {
                    <p>{ "No open leads." }</p>
                } else {
                    <table class="stage-totals">
                        <thead><tr><th scope="col">{ "Stage" }</th><th scope="col">{ "Leads" }</th><th scope="col">{ "Value" }</th></tr></thead>
                        <tbody>
                            { for m.pipeline.iter().map(|s| html! {
                                <tr data-stage={s.stage.clone()}>
                                    <th scope="row">{ model::Stage::parse(&s.stage).map_or_else(|_| s.stage.clone(), |stage| show::stage_label(stage).to_owned()) }</th>
                                    <td>{ s.leads }</td>
                                    <td class="amount">{ show::money(s.value_minor, &s.currency) }</td>
                                </tr>
                            }) }
                        </tbody>
                    </table>
                }
            </section>
            <section class="card" aria-labelledby="member-deals">
                <h3 id="member-deals">{ "Deals" }</h3>
                if m.deals.is_empty() {
                    <p>{ "No deals yet." }</p>
                }
                <ul class="plain deals">
                    { for m.recent_deals().into_iter().map(|(lead, d)| html! {
                        <li class="deal" data-lead={lead.clone()} data-status={d.status.clone()}>
                            <div class="lead-head">
                                <span>{ customer(&d.contact, &d.company) }</span>
                                <span class="amount">{ show::money(d.amount_minor, &d.currency) }</span>
                            </div>
                            <span class="hint">{ format!("{} · {}", deal_status(&d.status), show::day(d.at as f64)) }</span>
                            if d.status == "approved" {
                                if let Some(celebrate) = celebrate {
                                    <button type="button" class="celebrate" onclick={
                                        let (celebrate, card) = (celebrate.clone(), win_card(&m.name, d));
                                        Callback::from(move |_: MouseEvent| celebrate.emit(card.clone()))
                                    }>{ "Celebrate in the team channel" }</button>
                                }
                            }
                        </li>
                    }) }
                </ul>
            </section>
            { as_of(team) }
        </main>
    }
}

fn customer(contact: &str, company: &str) -> String {
    match (contact.is_empty(), company.is_empty()) {
        (_, true) => contact.to_owned(),
        (true, false) => company.to_owned(),
        (false, false) => format!("{contact} ({company})"),
    }
}

fn deal_status(status: &str) -> &str {
    match status {
        "submitted" => "Waiting for approval",
        "approved" => "Approved",
        "rejected" => "Rejected",
        "withdrawn" => "Withdrawn",
        "reversed" => "Refunded, commission clawed back",
        other => other,
    }
}

/// The leader's overrides: the lines and where they come from; below the
/// tier that earns them, what the team's deals would have paid.
fn overrides(view: &TeamView) -> Html {
    let o = &view.overrides;
    let rate = show::rate(o.rate_bps);
    let from = show::tier_name(&o.from_tier);
    let missed: Vec<String> = o
        .missed
        .iter()
        .map(|m| show::money(m.amount_minor, &m.currency))
        .collect();
    let missed_deals: u32 = o.missed.iter().map(|m| m.deals).sum();
    let lines = o.recent_lines();
    html! {
        <section id="overrides" class="card" aria-labelledby="overrides-title" data-earns={o.earns.to_string()}>
            <h2 id="overrides-title">{ "Your overrides" }</h2>
            if o.earns {
                <p>{ format!("You earn {rate} of each team member's base commission.") }</p>
            } else {
                <div class="callout" role="note">
                    <p>{ format!("Overrides start at {from}: {rate} of each team member's base commission. You are {} and need {} more approved deal{} of your own.",
                        article_tier(&o.leader_tier), o.deals_to_go, if o.deals_to_go == 1 { "" } else { "s" }) }</p>
                    if !missed.is_empty() {
                        <p class="missed">{ format!("At {from}, your team's {missed_deals} approved deal{} of the past year would have paid you {}.",
                            if missed_deals == 1 { "" } else { "s" }, missed.join(" and ")) }</p>
                    }
                </div>
            }
            if lines.is_empty() {
                <p class="hint">{ "No override lines yet." }</p>
            } else {
                <ul class="plain override-lines">
                    { for lines.into_iter().map(|l| html! {
                        <li class="override-line" data-member={l.member.clone()} data-lead={l.lead_id.clone().unwrap_or_default()}>
                            <div class="lead-head">
                                <a href={format!("#member-{}", l.member)}>{ &l.member_name }</a>
                                <span class="amount">{ show::money(l.amount_minor, &l.currency) }</span>
                            </div>
                            <span class="hint">{ format!("{} · {}", customer(&l.contact, &l.company), show::day(l.accrued_at as f64)) }
                                if l.reversed { <span class="overdue">{ " · clawed back" }</span> }
                            </span>
                        </li>
                    }) }
                </ul>
            }
        </section>
    }
}

fn article_tier(tier: &str) -> String {
    let name = show::tier_name(tier);
    let article = if name.starts_with(['A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::Page as _;

    #[test]
    fn pages_are_addressed_by_the_hash() {
        assert_eq!(Page::parse("team"), Some(Page::Team));
        assert_eq!(
            Page::parse("member-p-ben"),
            Some(Page::Member("p-ben".into()))
        );
        assert_eq!(Page::Member("p-ben".into()).name(), "member-p-ben");
        assert_eq!(Page::parse("member-"), None);
        assert_eq!(Page::parse("member-a%20b"), None);
        assert_eq!(Page::parse("teams"), None);
    }

    #[test]
    fn tiers_take_their_article() {
        assert_eq!(article_tier("starter"), "a Starter");
        assert_eq!(article_tier("active"), "an Active");
        assert_eq!(article_tier("elite"), "an Elite");
    }
}
