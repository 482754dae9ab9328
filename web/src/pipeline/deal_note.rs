//! What the back-office made of a lead marked won, on its card, and, when
//! a device that did not know of the approval moved the lead on, that the
//! server kept the deal (it records the conflict; the account view carries
//! it, so this shows offline too).

use model::{DealOutcome, DealStatus, Money};
use web_common::show;
use yew::prelude::*;

use super::stage_label;

pub fn deal_note(deal: &DealOutcome) -> Html {
    let money = show::amount(Money::new(deal.amount_minor, deal.currency));
    let text = match (deal.status, &deal.reason) {
        (DealStatus::Submitted, _) => format!("Deal of {money} submitted for approval"),
        (DealStatus::Approved, _) => format!("Deal of {money} approved"),
        (DealStatus::Rejected, Some(why)) => format!("Deal rejected: {why}"),
        (DealStatus::Rejected, None) => "Deal rejected".to_owned(),
        (DealStatus::Withdrawn, _) => "Deal withdrawn".to_owned(),
    };
    let status = deal.status.as_str();
    html! {
        <>
            <p class={classes!("deal", status)} data-deal={status}>{ text }</p>
            if let Some(stage) = deal.moved_to {
                <p class="deal conflict" data-conflict={stage.as_str()} role="status">
                    { format!(
                        "Moved to {} on another device after the deal was approved; the deal stands.",
                        stage_label(stage)
                    ) }
                </p>
            }
        </>
    }
}
