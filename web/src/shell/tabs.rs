//! The header's navigation: one link per screen a partner moves between,
//! the current one marked. A module's screens get their links here.

use yew::prelude::*;

use super::screen::Screen;
use crate::{chat, dashboard, earnings, pipeline, resources, team, training};

/// The links, `current` marked; `tier` is the partner's tier once known:
/// the tier tab is the tier badge. A team leader has a Team tab.
pub fn tabs(current: &Screen, tier: Option<&str>, chat_unread: usize, leads_team: bool) -> Html {
    let tier = tier.unwrap_or("Tier");
    let team = leads_team.then_some((Screen::Team(team::Page::Team), "Team"));
    let tabs = [
        Some((Screen::Dashboard(dashboard::Page::Home), "Home")),
        Some((Screen::Pipeline(pipeline::Page::Board), "Pipeline")),
        team,
        Some((Screen::Chat(chat::Page::List), "Chat")),
        Some((Screen::Training(training::Page::Catalog), "Training")),
        Some((Screen::Resources(resources::Page::Library), "Resources")),
        Some((Screen::Earnings(earnings::Page::Earnings), "Earnings")),
        Some((Screen::Earnings(earnings::Page::Tier), tier)),
    ]
    .into_iter()
    .flatten();
    html! {
        <nav class="tabs no-print">
            { for tabs.into_iter().map(|(to, label)| {
                let unread = (matches!(to, Screen::Chat(_)) && chat_unread > 0).then_some(chat_unread);
                html! {
                    <a class="tab" href={to.hash()} aria-current={here(&to, current).then_some("page")}
                        aria-label={unread.map(|n| format!("{label}, {n} unread"))}>
                        { label }
                        if let Some(n) = unread { <span class="unread" aria-hidden="true">{ n.min(99) }</span> }
                    </a>
                }
            }) }
        </nav>
    }
}

/// Whether the tab for `to` is the one `current` is under: a lead's page
/// is part of the pipeline.
fn here(to: &Screen, current: &Screen) -> bool {
    match (to, current) {
        (Screen::Pipeline(_), Screen::Pipeline(_)) => true,
        (Screen::Training(_), Screen::Training(_)) => true,
        (Screen::Chat(_), Screen::Chat(_)) => true,
        (Screen::Team(_), Screen::Team(_)) => true,
        // The leaderboards are the tier's other half.
        (Screen::Earnings(earnings::Page::Tier), Screen::Leaderboard(_)) => true,
        // The referral links are the resources' other half.
        (Screen::Resources(_), Screen::Referrals(_) | Screen::Resources(_)) => true,
        _ => to == current,
    }
}
