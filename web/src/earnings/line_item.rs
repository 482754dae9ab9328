//! One earning line: what it is (at which rate), its amount, when it is
//! available or that it is paid, and the server's explanation.

use std::collections::HashMap;

use model::{EarningLine, LeadId, LineStatus, Money};
use web_common::show::{self, day, rate};
use yew::prelude::*;

/// `customers` names the line's customer, when the line is a deal's.
pub fn line_item(line: &EarningLine, customers: &HashMap<LeadId, String>) -> Html {
    let customer = line.lead_id.as_ref().and_then(|id| customers.get(id));
    let status = line.status.as_str();
    let when = match line.status {
        LineStatus::Pending => format!("held until {}", day(line.available_at.0 as f64)),
        LineStatus::Available => format!("available since {}", day(line.available_at.0 as f64)),
        LineStatus::Paid => "paid".to_owned(),
    };
    let rate = line.rate_bps.map(|bps| format!(" at {}", rate(bps)));
    html! {
        <li class="line" data-line={line.id.to_string()} data-status={status} data-minor={line.amount_minor.to_string()}>
            <div class="lead-head">
                <span>{ format!("{}{}", kind_name(&line.kind), rate.unwrap_or_default()) }</span>
                <strong>{ show::amount(Money::new(line.amount_minor, line.currency)) }</strong>
            </div>
            if let Some(customer) = customer { <div class="customer">{ customer }</div> }
            <div class={classes!("hint", status)}>{ format!("{} · {when}", day(line.accrued_at.0 as f64)) }</div>
            <p class="notes">{ &line.explanation }</p>
        </li>
    }
}

/// What a line is, for the partner.
fn kind_name(kind: &str) -> &str {
    match kind {
        "base" => "Commission",
        "elite" => "Elite extra",
        "override" => "Team override",
        "referral" => "Referral share",
        "clawback" => "Clawback",
        "bonus" => "Challenge bonus",
        other => other,
    }
}
