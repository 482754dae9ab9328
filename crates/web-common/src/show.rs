//! How figures are shown: amounts with their currency's digits, days and
//! moments in the reader's language, tier names.

use model::{Currency, Money};
use wasm_bindgen::JsValue;

/// An amount in minor units, with the currency's digits: "1234.50 USD".
pub fn money(minor: i64, currency: &str) -> String {
    match Currency::parse(currency) {
        Ok(c) => Money::new(minor, c).to_string(),
        Err(_) => format!("{minor} {currency}"),
    }
}

/// Basis points as a percentage, without the sign: 2000 → "20",
/// 2250 → "22.5", 1005 → "10.05".
pub fn percent(bps: u64) -> String {
    match (bps / 100, bps % 100) {
        (whole, 0) => whole.to_string(),
        (whole, f) if f % 10 == 0 => format!("{whole}.{}", f / 10),
        (whole, f) => format!("{whole}.{f:02}"),
    }
}

/// The rules' tier names as a partner reads them.
pub fn tier_name(tier: &str) -> &str {
    match tier {
        "starter" => "Starter",
        "active" => "Active",
        "performer" => "Performer",
        "elite" => "Elite",
        other => other,
    }
}

fn language() -> String {
    web_sys::window()
        .and_then(|w| w.navigator().language())
        .unwrap_or_else(|| "en".to_owned())
}

/// A day in the reader's language, from milliseconds since the epoch.
pub fn day(ms: f64) -> String {
    js_sys::Date::new(&JsValue::from_f64(ms))
        .to_locale_date_string(&language(), &JsValue::UNDEFINED)
        .into()
}

/// A moment (ms since the epoch) in the reader's language.
pub fn moment(ms: i64) -> String {
    js_sys::Date::new(&JsValue::from_f64(ms as f64))
        .to_locale_string(&language(), &JsValue::UNDEFINED)
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_with_their_currency_digits_and_tiers_by_name() {
        assert_eq!(money(123_450, "EUR"), "1234.50 EUR");
        assert_eq!(money(-5, "JPY"), "-5 JPY");
        assert_eq!(money(7, "dollars"), "7 dollars");
        assert_eq!(tier_name("performer"), "Performer");
        assert_eq!(tier_name("unknown"), "unknown");
    }
}
