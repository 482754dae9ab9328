//! How old the figures are: when the server computed the account view.

use model::Timestamp;
use web_common::show::when;
use yew::prelude::*;

pub fn as_of(computed_at: Timestamp) -> Html {
    html! {
        <p class="hint as-of" data-computed-at={computed_at.0.to_string()}>
            { format!("As of {}", when(computed_at.0)) }
        </p>
    }
}
