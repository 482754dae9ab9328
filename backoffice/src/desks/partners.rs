//! Partners: each with their tier now, their balances, and the extra rate
//! agreed for when they are Elite, which the admin sets here.

use yew::prelude::*;

use super::{
    Ctx,
    parts::{answer, card},
};
use web_common::{
    api::{self, ApiError, PartnerEntry, Terms},
    forms::{Change, form},
    show::{self, money, tier_name},
};

pub const NAME: &str = "partners";
pub const TITLE: &str = "Partners";

/// Every partner, by name.
pub type Answers = Vec<PartnerEntry>;

pub async fn fetch(_choice: &str) -> Result<Answers, ApiError> {
    api::get("/api/admin/partners").await
}

pub fn view(partners: &Answers, ctx: &Ctx) -> Html {
    html! { for partners.iter().map(|p| row(p, ctx)) }
}

fn row(p: &PartnerEntry, ctx: &Ctx) -> Html {
    let id = p.partner_id.clone();
    let terms = {
        let (change, invalid, id) = (ctx.change.clone(), ctx.invalid.clone(), id.clone());
        Callback::from(move |e: SubmitEvent| {
            match show::typed_percent(&form(&e)("extra")) {
            Ok(bps) => change.emit(Change::new(
                "PUT",
                format!("/api/admin/partners/{id}/terms"),
                Some(&Terms {
                    elite_custom_bps: bps,
                }),
                |t| {
                    answer(t, |terms: Terms| {
                        html! { format!("Elite extra rate set to {}.", percent(terms.elite_custom_bps)) }
                    })
                },
            )),
            Err(why) => invalid.emit(why),
        }
        })
    };
    card(
        id,
        p.tier.as_str().to_owned(),
        p.name.clone(),
        tier_name(p.tier.as_str()).to_owned(),
        html! {
            <>
                <div class="company">{ format!("{} · {}", p.company, match p.deals_in_window {
                    1 => "1 deal in the window".to_owned(),
                    n => format!("{n} deals in the window"),
                }) }</div>
                { for p.balances.iter().map(|b| html! {
                    <div class="hint" data-currency={b.currency.clone()}>{ format!(
                        "Pending {} · available {} · paid {}",
                        money(b.pending_minor, &b.currency),
                        money(b.available_minor, &b.currency),
                        money(b.paid_minor, &b.currency),
                    ) }</div>
                }) }
                <form class="row terms-form" onsubmit={terms}>
                    <label>{ "Elite extra rate (%)" }
                        <input name="extra" inputmode="decimal" placeholder="0" value={match p.elite_custom_bps {
                            None => String::new(),
                            Some(bps) => percent(bps),
                        }} />
                    </label>
                    <button type="submit">{ "Save" }</button>
                </form>
            </>
        },
    )
}

/// Basis points as a percentage: 250 → "2.5"; a negative rate (which the
/// database refuses) as 0.
fn percent(bps: impl TryInto<u64>) -> String {
    show::percent(bps.try_into().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_shown_read_back_as_typed() {
        // How typed percentages read is `show::typed_percent`'s test.
        for bps in [0, 25, 250, 7000] {
            assert_eq!(show::typed_percent(&percent(bps)), Ok(bps));
        }
        assert_eq!(percent(-5_i32), "0");
    }
}
