//! The sync badge: whether the device reaches the server, and how many
//! changes made here the server has not confirmed yet.

use yew::prelude::*;

use super::state::Connection;

#[derive(Properties, PartialEq)]
pub struct BadgeProps {
    pub connection: Option<Connection>,
    pub pending: usize,
    pub signed_out: bool,
}

#[function_component(SyncBadge)]
pub fn sync_badge(props: &BadgeProps) -> Html {
    let (class, label) = match props.connection {
        _ if props.signed_out => ("signed-out", "Signed out"),
        Some(Connection::Online) => ("online", "Online"),
        Some(Connection::Offline) => ("offline", "Offline"),
        _ => ("connecting", "Connecting"),
    };
    let waiting = match props.pending {
        0 => "all changes synced".to_owned(),
        1 => "1 change waiting".to_owned(),
        n => format!("{n} changes waiting"),
    };
    html! {
        <div id="sync-status" class={classes!("badge", class)} data-connection={class} data-pending={props.pending.to_string()} aria-live="polite">
            <span class="dot"></span>{ format!("{label} · {waiting}") }
        </div>
    }
}
