//! Why there is nothing to show yet.

use yew::prelude::*;

/// `missing`: nobody could give the account view yet.
pub fn not_here(missing: bool) -> Html {
    html! {
        <p class="hint" id="view-missing">{
            if missing {
                "Your earnings have not reached this device yet. They will appear once you are online."
            } else {
                "Opening your earnings…"
            }
        }</p>
    }
}
