//! How figures are shown and read back: amounts as the reader writes
//! numbers (and amounts they type read the same way), days and moments in
//! the reader's language, percentages (and percentages typed, read back),
//! tier names.
//!
//! Amounts are shown without digit grouping ("1234,50 EUR" in German), so
//! what an amount field starts from is what the reader sees elsewhere; a
//! reader may type groups ("1.234,50"), which [`typed_amount`] reads.

use model::{Currency, ModelError, Money, NumberFormat};
use wasm_bindgen::JsValue;

/// How the reader writes numbers, from the browser's language.
pub fn number_format() -> NumberFormat {
    NumberFormat::for_language(&language())
}

/// An amount with its currency's digits and code, as the reader writes
/// numbers, digits grouped: "1,234.50 USD" in English, "1.234,50 USD" in
/// German, "12,34,567.00 INR" in India. (A field to type in starts from
/// [`amount_field`], ungrouped; the parser reads either.)
pub fn amount(money: Money) -> String {
    amount_in(money, number_format())
}

/// [`amount`] in `format`.
pub fn amount_in(money: Money, format: NumberFormat) -> String {
    format!("{} {}", money.format_grouped_in(format), money.currency)
}

/// An amount in minor units of a currency as the server names it, as the
/// reader writes numbers; a code that is no currency is shown as it is.
pub fn money(minor: i64, currency: &str) -> String {
    money_in(minor, currency, number_format())
}

/// [`money`] in `format`.
pub fn money_in(minor: i64, currency: &str, format: NumberFormat) -> String {
    match Currency::parse(currency) {
        Ok(c) => amount_in(Money::new(minor, c), format),
        Err(_) => format!("{minor} {currency}"),
    }
}

/// The number of an amount alone, as an amount field starts from it:
/// "1234,50" in German.
pub fn amount_field(money: Money) -> String {
    money.format_in(number_format())
}

/// What the reader typed in an amount field, read as they write numbers
/// by the model's one parser of typed amounts: "12,50" is 12.50 in German
/// and refused in English, never 1250; negative amounts are refused.
pub fn typed_amount(typed: &str, currency: Currency) -> Result<Money, ModelError> {
    Money::parse_in(typed, currency, number_format())
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

/// Basis points as a percentage with its sign: 2000 → "20%",
/// 2250 → "22.5%".
pub fn rate(bps: u32) -> String {
    format!("{}%", percent(bps.into()))
}

/// A percentage as typed ("2", "2.5", "0.25") in basis points, without
/// floating point; at most two decimals. What [`percent`] shows reads back.
pub fn typed_percent(text: &str) -> Result<u32, String> {
    let refuse = || format!("\"{text}\" is not a percentage like 2.5");
    let (whole, fraction) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty()
        || !digits(whole)
        || !digits(fraction)
        || fraction.len() > 2
        || whole.len() > 3
    {
        return Err(refuse());
    }
    let whole: u32 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| refuse())?
    };
    let hundredths: u32 = format!("{fraction:0<2}").parse().map_err(|_| refuse())?;
    Ok(whole * 100 + hundredths)
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

/// A stage as the screens name it.
pub fn stage_label(stage: model::Stage) -> &'static str {
    use model::Stage;
    match stage {
        Stage::New => "New",
        Stage::Contacted => "Contacted",
        Stage::Qualified => "Qualified",
        Stage::Proposal => "Proposal",
        Stage::Won => "Won",
        Stage::Lost => "Lost",
    }
}

/// A day in the reader's language, from milliseconds since the epoch, with
/// the month named ("Dec 3, 2026", "3 Dec 2026"): "12/3/2026" reads as
/// March outside the US.
pub fn day(ms: f64) -> String {
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"dateStyle".into(), &"medium".into());
    js_sys::Date::new(&JsValue::from_f64(ms))
        .to_locale_date_string(&language(), &options)
        .into()
}

/// A month of the programme's calendar, keyed `YYYY-MM`, in the reader's
/// language ("December 2026", "dezembro de 2026"); anything else as it is.
/// Drawn from the key, not an instant: the programme's zone decides which
/// month an instant is in, and the device's zone must not move it.
pub fn month(key: &str) -> String {
    let mut parts = key.split('-').map(|p| p.parse::<u32>().ok());
    let (Some(Some(y)), Some(Some(m)), None) = (parts.next(), parts.next(), parts.next()) else {
        return key.to_owned();
    };
    if !(1..=12).contains(&m) {
        return key.to_owned();
    }
    let options = js_sys::Object::new();
    for (k, v) in [("month", "long"), ("year", "numeric"), ("timeZone", "UTC")] {
        let _ = js_sys::Reflect::set(&options, &k.into(), &v.into());
    }
    let mid = js_sys::Date::utc(f64::from(y), f64::from(m - 1)) + 14.0 * 86_400_000.0;
    js_sys::Date::new(&JsValue::from_f64(mid))
        .to_locale_date_string(&language(), &options)
        .into()
}

/// A day written `YYYY-MM-DD` (a due day) as the reader writes days;
/// anything else as it is.
pub fn calendar_day(day: &str) -> String {
    let mut parts = day.split('-').map(|p| p.parse::<i32>().ok());
    match (
        parts.next().flatten(),
        parts.next().flatten(),
        parts.next().flatten(),
    ) {
        (Some(y), Some(m), Some(d)) if y > 0 => {
            self::day(js_sys::Date::new_with_year_month_day(y as u32, m - 1, d).get_time())
        }
        _ => day.to_owned(),
    }
}

/// The day `offset` days from today on the device's calendar,
/// `YYYY-MM-DD` (as a date field holds it).
pub fn local_day(offset: i32) -> String {
    let day = js_sys::Date::new_0();
    day.set_date((day.get_date() as i32 + offset) as u32);
    format!(
        "{:04}-{:02}-{:02}",
        day.get_full_year(),
        day.get_month() + 1,
        day.get_date()
    )
}

/// A count as the reader groups digits: "10,000" in English, "10.000" in
/// German.
pub fn count(n: u64) -> String {
    js_sys::Number::from(n as f64)
        .to_locale_string(&language())
        .into()
}

/// A moment, short: the day and the time of day ("3 Dec 2026, 10:30" in
/// British English, "Dec 3, 2026, 10:30 AM" in American).
pub fn when(ms: i64) -> String {
    let options = js_sys::Object::new();
    for (key, value) in [("dateStyle", "medium"), ("timeStyle", "short")] {
        let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
    }
    js_sys::Date::new(&JsValue::from_f64(ms as f64))
        .to_locale_string(&language(), &options)
        .into()
}

/// A moment, shortest: the time of day if it is today on the device's
/// calendar ("10:30", "10:30 AM"), else the day and time.
pub fn short_time(ms: i64) -> String {
    let at = js_sys::Date::new(&JsValue::from_f64(ms as f64));
    let today = js_sys::Date::new_0();
    let same_day = at.get_full_year() == today.get_full_year()
        && at.get_month() == today.get_month()
        && at.get_date() == today.get_date();
    if !same_day {
        return when(ms);
    }
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"timeStyle".into(), &"short".into());
    at.to_locale_time_string_with_options(&language(), &options)
        .into()
}

/// A moment as a `datetime-local` field holds it: `2026-12-03T10:30`, in
/// the device's time zone.
pub fn local_input(ms: i64) -> String {
    let d = js_sys::Date::new(&JsValue::from_f64(ms as f64));
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes()
    )
}

/// What a `datetime-local` field holds, as ms since the epoch (the field's
/// time is the device's); `None` when it holds no moment.
pub fn from_local_input(value: &str) -> Option<i64> {
    let (date, time) = value.trim().split_once('T')?;
    let mut date = date.splitn(3, '-').map(|p| p.parse::<u32>().ok());
    let mut time = time
        .splitn(3, ':')
        .map(|p| p.split('.').next()?.parse::<u32>().ok());
    let (y, mo, d) = (date.next()??, date.next()??, date.next()??);
    let (h, mi) = (time.next()??, time.next()??);
    let s = time.next().flatten().unwrap_or(0);
    // Four-digit years only: the browser reads 0 to 99 as 1900 to 1999.
    if !(1000..=9999).contains(&y)
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&d)
        || h > 23
        || mi > 59
        || s > 59
    {
        return None;
    }
    let at = js_sys::Date::new_with_year_month_day_hr_min_sec(
        y,
        mo as i32 - 1,
        d as i32,
        h as i32,
        mi as i32,
        s as i32,
    );
    let ms = at.get_time();
    // 31 February rolls over into March: not what was typed.
    (ms.is_finite() && at.get_date() == d).then_some(ms as i64)
}

/// What a lesson's file is, in words.
pub fn media_word(kind: wire::MediaKind) -> &'static str {
    match kind {
        wire::MediaKind::Video => "Video",
        wire::MediaKind::Pdf => "PDF",
        wire::MediaKind::Image => "Image",
        wire::MediaKind::Audio => "Audio",
    }
}

/// A file's size as people read it: "950 KB", "12.4 MB".
pub fn file_size(bytes: u64) -> String {
    match bytes {
        b if b < 1_000 => format!("{b} bytes"),
        b if b < 1_000_000 => format!("{} KB", b.div_ceil(1_000)),
        b if b < 1_000_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b => format!("{:.1} GB", b as f64 / 1e9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_sizes_read_in_the_unit_that_fits() {
        assert_eq!(file_size(950), "950 bytes");
        assert_eq!(file_size(66_501), "67 KB");
        assert_eq!(file_size(12_400_000), "12.4 MB");
        assert_eq!(file_size(3_200_000_000), "3.2 GB");
        assert_eq!(media_word(wire::MediaKind::Pdf), "PDF");
    }

    #[test]
    fn amounts_read_with_their_currency_digits_and_tiers_by_name() {
        let (en, de) = (
            NumberFormat::for_language("en-US"),
            NumberFormat::for_language("de-DE"),
        );
        assert_eq!(money_in(123_450, "EUR", en), "1,234.50 EUR");
        assert_eq!(money_in(123_450, "EUR", de), "1.234,50 EUR");
        assert_eq!(money_in(99_999, "USD", en), "999.99 USD");
        assert_eq!(money_in(1_234_567_800, "JPY", de), "1.234.567.800 JPY");
        assert_eq!(money_in(-5, "JPY", de), "-5 JPY");
        assert_eq!(money_in(7, "dollars", en), "7 dollars");
        assert_eq!(tier_name("performer"), "Performer");
        assert_eq!(tier_name("unknown"), "unknown");
    }

    #[test]
    fn rates_read_as_percentages() {
        assert_eq!(rate(2000), "20%");
        assert_eq!(rate(2250), "22.5%");
        assert_eq!(rate(1005), "10.05%");
        assert_eq!(rate(4250), "42.5%");
        assert_eq!(rate(10_000), "100%");
    }

    #[test]
    fn percentages_become_basis_points_exactly() {
        for (typed, bps) in [
            ("2", 200),
            ("2.5", 250),
            ("2.50", 250),
            ("0.25", 25),
            (".5", 50),
            (" 70 ", 7000),
            ("0", 0),
        ] {
            assert_eq!(typed_percent(typed), Ok(bps), "{typed}");
            assert_eq!(typed_percent(&percent(bps.into())), Ok(bps));
        }
        for typed in ["", ".", "-1", "2.555", "1e2", "2,5", "abc", "10000"] {
            assert!(typed_percent(typed).is_err(), "{typed}");
        }
    }

    #[test]
    fn what_a_reader_sees_they_can_type_back() {
        let eur = Currency::parse("EUR").unwrap();
        for language in ["en-US", "de-DE", "fr-FR", "de-CH", "en-IN"] {
            let format = NumberFormat::for_language(language);
            let shown = Money::new(123_450, eur);
            let field = shown.format_in(format);
            assert_eq!(
                Money::parse_in(&field, eur, format),
                Ok(shown),
                "{language}"
            );
        }
    }
}
