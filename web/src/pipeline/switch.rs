//! The header's choice among the pipelines an account sees: its own and,
//! for a team leader, the team's (read-only). Shown only when there is a
//! choice.

use web_common::api::{Access, Me};
use web_sys::HtmlSelectElement;
use yew::prelude::*;

/// The choice among `me`'s pipelines, `selected` the one shown.
pub fn switch(me: &Me, selected: Option<&str>, on_select: &Callback<String>) -> Html {
    let pipelines: Vec<_> = me.pipelines().collect();
    if pipelines.len() < 2 {
        return Html::default();
    }
    let onchange =
        on_select.reform(|e: Event| e.target_unchecked_into::<HtmlSelectElement>().value());
    html! {
        <select id="pipeline-switch" aria-label="Pipeline shown" {onchange}>
            { for pipelines.iter().map(|d| html! {
                <option value={d.doc_id.clone()} selected={selected == Some(d.doc_id.as_str())}>
                    { match d.access {
                        Access::ReadWrite => "My pipeline".to_owned(),
                        Access::ReadOnly => format!("{} (read-only)", d.partner_name),
                    } }
                </option>
            }) }
        </select>
    }
}
