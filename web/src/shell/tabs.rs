//! The header's navigation: one link per screen a partner moves between,
//! the current one marked. A module's screens get their links here.

use yew::prelude::*;

use super::screen::Screen;
use crate::{chat, dashboard, earnings, pipeline, resources, training};

/// The links, `current` marked; `tier` is the partner's tier once known:
/// the tier tab is the tier badge.
pub fn tabs(current: &Screen, tier: Option<&str>, chat_unread: usize) -> Html {
    let tier = tier.unwrap_or("Tier");
    let tabs = [
        (Screen::Dashboard(dashboard::Page::Home), "Home"),
        (Screen::Pipeline(pipeline::Page::Board), "Pipeline"),
        (Screen::Chat(chat::Page::List), "Chat"),
        (Screen::Training(training::Page::Catalog), "Training"),
        (Screen::Resources(resources::Page::Library), "Resources"),
        (Screen::Earnings(earnings::Page::Earnings), "Earnings"),
        (Screen::Earnings(earnings::Page::Tier), tier),
    ];
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
        // The referral links are the resources' other half.
        (Screen::Resources(_), Screen::Referrals(_) | Screen::Resources(_)) => true,
        _ => to == current,
    }
}
