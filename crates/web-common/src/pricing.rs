//! What a deal would earn the partner, offline: the rates the partner's
//! account view gives for a deal approved now (`model::DealPricing`, which
//! the server computes as it prices one), applied by the rules crate's own
//! arithmetic, so a preview rounds exactly as the ledger will.

use model::{DealPricing, Money};
use rules::Rate;

/// What a deal of `amount` would earn at `pricing`; `None` for rates no
/// server writes.
pub fn expected_earnings(amount: Money, pricing: &DealPricing) -> Option<Money> {
    let base = Rate::from_bps(pricing.base_bps).ok()?;
    let extra = Rate::from_bps(pricing.extra_bps).ok()?;
    rules::deal_earnings(amount, base, extra).ok()
}

/// The rate a deal is paid at, as people read it ("20%", "32%").
pub fn rate_of(pricing: &DealPricing) -> String {
    crate::show::rate(pricing.base_bps.saturating_add(pricing.extra_bps))
}

#[cfg(test)]
mod tests {
    use model::Currency;

    use super::*;

    fn pricing(base_bps: u32, extra_bps: u32) -> DealPricing {
        DealPricing {
            tier: "elite".into(),
            base_bps,
            extra_bps,
        }
    }

    #[test]
    fn a_deal_earns_its_base_and_extra_lines() {
        let usd = Currency::parse("USD").unwrap();
        // 30% of 1234.57 is 370.371, 2% is 24.6914: 370.37 + 24.69.
        assert_eq!(
            expected_earnings(Money::new(123_457, usd), &pricing(3000, 200)),
            Some(Money::new(39_506, usd))
        );
        assert_eq!(rate_of(&pricing(3000, 200)), "32%");
        assert_eq!(
            expected_earnings(Money::new(100, usd), &pricing(10_001, 0)),
            None
        );
    }
}
