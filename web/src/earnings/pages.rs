//! The module's screen: the page asked for, once the account view is on
//! the device.

use std::collections::HashMap;

use model::{AccountView, LeadId};
use yew::prelude::*;

use super::{
    ModuleToDo, Page, not_here::not_here, statement::statement, summary::summary, tier::tier,
};

/// The `page` of the partner's account view `view`; when it is not on the
/// device, why (`missing`: nobody could give it yet, or the server has not
/// made it). `on_signed_out` hears that a change sent from here found the
/// session over, with when it was sent (ms since the epoch).
/// `customers` names the partner's leads ("Ada Obi (Obi Health)");
/// `to_do` the training modules not completed, which the tier links;
/// `highlights` the partner's achievements, which it shows.
pub fn earnings(
    page: Page,
    view: Option<&AccountView>,
    missing: bool,
    customers: &HashMap<LeadId, String>,
    to_do: &[ModuleToDo],
    highlights: Html,
    on_signed_out: &Callback<f64>,
) -> Html {
    let Some(view) = view else {
        return not_here(missing);
    };
    match page {
        Page::Tier => tier(view, to_do, highlights),
        Page::Statement(id) => statement(view, id),
        Page::Earnings => summary(view, customers, on_signed_out),
    }
}
