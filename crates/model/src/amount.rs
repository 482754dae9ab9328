//! Amounts as people write them, and the one parser of typed amounts.
//!
//! Every amount a person types (a lead's value in the partner app, an order
//! in the back-office) and every amount an API receives as text goes
//! through [`Money::parse_in`]: the apps with the [`NumberFormat`] of the
//! reader's language, the server with [`NumberFormat::CANONICAL`] (digits,
//! a dot before the decimals, nothing else). The apps show amounts with
//! [`Money::format_in`] in the same format, so what the app shows, it reads
//! back as the same amount.
//!
//! The parser never guesses: a separator is the decimal separator of the
//! format or its digit-group separator between proper groups, and anything
//! else is refused with an example of how to write it. "12,50" is 12.50 in
//! German and refused in English (where "," only groups thousands), never
//! 1250; "1,0,0" and "1_000" are refused everywhere.
//!
//! ```
//! use model::{Currency, Money, NumberFormat};
//! let eur = Currency::parse("EUR").unwrap();
//! let de = NumberFormat::for_language("de-DE");
//! let typed = Money::parse_in("1.234,5", eur, de).unwrap();
//! assert_eq!(typed, Money::new(123_450, eur));
//! assert_eq!(typed.format_grouped_in(de), "1.234,50");
//! assert!(Money::parse_in("12,50", eur, NumberFormat::for_language("en-US")).is_err());
//! ```

use crate::{Currency, ModelError, Money, Quoted};

/// ISO 4217 list one as published on 2026-01-01 (SIX), every code that has
/// a minor unit, with its number of decimals; sorted, for a binary search.
/// Left out: the codes ISO gives no minor unit (gold, silver, platinum,
/// palladium, the SDR, the bond-market units, XSU, XUA, XTS and XXX), which
/// nobody books a deal in, and withdrawn codes (HRK, BGN, SLL, ZWL, ANG...).
#[rustfmt::skip]
const ISO_4217: [([u8; 3], u8); 165] = [
    (*b"AED", 2), (*b"AFN", 2), (*b"ALL", 2), (*b"AMD", 2), (*b"AOA", 2), (*b"ARS", 2),
    (*b"AUD", 2), (*b"AWG", 2), (*b"AZN", 2), (*b"BAM", 2), (*b"BBD", 2), (*b"BDT", 2),
    (*b"BHD", 3), (*b"BIF", 0), (*b"BMD", 2), (*b"BND", 2), (*b"BOB", 2), (*b"BOV", 2),
    (*b"BRL", 2), (*b"BSD", 2), (*b"BTN", 2), (*b"BWP", 2), (*b"BYN", 2), (*b"BZD", 2),
    (*b"CAD", 2), (*b"CDF", 2), (*b"CHE", 2), (*b"CHF", 2), (*b"CHW", 2), (*b"CLF", 4),
    (*b"CLP", 0), (*b"CNY", 2), (*b"COP", 2), (*b"COU", 2), (*b"CRC", 2), (*b"CUP", 2),
    (*b"CVE", 2), (*b"CZK", 2), (*b"DJF", 0), (*b"DKK", 2), (*b"DOP", 2), (*b"DZD", 2),
    (*b"EGP", 2), (*b"ERN", 2), (*b"ETB", 2), (*b"EUR", 2), (*b"FJD", 2), (*b"FKP", 2),
    (*b"GBP", 2), (*b"GEL", 2), (*b"GHS", 2), (*b"GIP", 2), (*b"GMD", 2), (*b"GNF", 0),
    (*b"GTQ", 2), (*b"GYD", 2), (*b"HKD", 2), (*b"HNL", 2), (*b"HTG", 2), (*b"HUF", 2),
    (*b"IDR", 2), (*b"ILS", 2), (*b"INR", 2), (*b"IQD", 3), (*b"IRR", 2), (*b"ISK", 0),
    (*b"JMD", 2), (*b"JOD", 3), (*b"JPY", 0), (*b"KES", 2), (*b"KGS", 2), (*b"KHR", 2),
    (*b"KMF", 0), (*b"KPW", 2), (*b"KRW", 0), (*b"KWD", 3), (*b"KYD", 2), (*b"KZT", 2),
    (*b"LAK", 2), (*b"LBP", 2), (*b"LKR", 2), (*b"LRD", 2), (*b"LSL", 2), (*b"LYD", 3),
    (*b"MAD", 2), (*b"MDL", 2), (*b"MGA", 2), (*b"MKD", 2), (*b"MMK", 2), (*b"MNT", 2),
    (*b"MOP", 2), (*b"MRU", 2), (*b"MUR", 2), (*b"MVR", 2), (*b"MWK", 2), (*b"MXN", 2),
    (*b"MXV", 2), (*b"MYR", 2), (*b"MZN", 2), (*b"NAD", 2), (*b"NGN", 2), (*b"NIO", 2),
    (*b"NOK", 2), (*b"NPR", 2), (*b"NZD", 2), (*b"OMR", 3), (*b"PAB", 2), (*b"PEN", 2),
    (*b"PGK", 2), (*b"PHP", 2), (*b"PKR", 2), (*b"PLN", 2), (*b"PYG", 0), (*b"QAR", 2),
    (*b"RON", 2), (*b"RSD", 2), (*b"RUB", 2), (*b"RWF", 0), (*b"SAR", 2), (*b"SBD", 2),
    (*b"SCR", 2), (*b"SDG", 2), (*b"SEK", 2), (*b"SGD", 2), (*b"SHP", 2), (*b"SLE", 2),
    (*b"SOS", 2), (*b"SRD", 2), (*b"SSP", 2), (*b"STN", 2), (*b"SVC", 2), (*b"SYP", 2),
    (*b"SZL", 2), (*b"THB", 2), (*b"TJS", 2), (*b"TMT", 2), (*b"TND", 3), (*b"TOP", 2),
    (*b"TRY", 2), (*b"TTD", 2), (*b"TWD", 2), (*b"TZS", 2), (*b"UAH", 2), (*b"UGX", 0),
    (*b"USD", 2), (*b"USN", 2), (*b"UYI", 0), (*b"UYU", 2), (*b"UYW", 4), (*b"UZS", 2),
    (*b"VED", 2), (*b"VES", 2), (*b"VND", 0), (*b"VUV", 0), (*b"WST", 2), (*b"XAD", 2),
    (*b"XAF", 0), (*b"XCD", 2), (*b"XCG", 2), (*b"XOF", 0), (*b"XPF", 0), (*b"YER", 2),
    (*b"ZAR", 2), (*b"ZMW", 2), (*b"ZWG", 2),
];

/// The decimals of an ISO 4217 currency's minor unit; `None` for a code
/// that is not one.
pub(crate) fn iso_4217_digits(code: [u8; 3]) -> Option<u8> {
    ISO_4217
        .binary_search_by(|(c, _)| c.cmp(&code))
        .ok()
        .map(|i| ISO_4217[i].1)
}

/// How a language writes numbers: the decimal separator, the separator of
/// digit groups, and whether the groups above the thousands are of two
/// digits (India: 12,34,567.00). Digits are always ASCII.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberFormat {
    decimal: char,
    /// `None`: digits are never grouped (the canonical text).
    group: Option<char>,
    lakh: bool,
}

const NBSP: char = '\u{a0}';
const NNBSP: char = '\u{202f}';
const RIGHT_QUOTE: char = '\u{2019}';

impl NumberFormat {
    /// The text of the API, files and documents: "1234.56".
    pub const CANONICAL: NumberFormat = NumberFormat::new('.', None);

    const fn new(decimal: char, group: Option<char>) -> NumberFormat {
        NumberFormat {
            decimal,
            group,
            lakh: false,
        }
    }

    /// The format of a BCP 47 language tag as browsers give it
    /// (`navigator.language`: "en-US", "de", "pt-BR", "zh-Hant-TW"), after
    /// CLDR's symbols for Latin digits. A language this table does not know
    /// writes "1,234.56": there "," only groups, so a decimal comma is
    /// refused rather than misread.
    pub fn for_language(tag: &str) -> NumberFormat {
        let mut parts = tag.split(['-', '_']);
        let language = parts.next().unwrap_or_default().to_ascii_lowercase();
        // The region: two letters or three digits; a script (four letters)
        // or a variant says nothing about numbers.
        let region = parts
            .find(|p| {
                (p.len() == 2 && p.bytes().all(|b| b.is_ascii_alphabetic()))
                    || (p.len() == 3 && p.bytes().all(|b| b.is_ascii_digit()))
            })
            .map(str::to_ascii_uppercase)
            .unwrap_or_default();
        let (language, region) = (language.as_str(), region.as_str());
        let dot_comma = NumberFormat::new('.', Some(','));
        let comma_dot = NumberFormat::new(',', Some('.'));
        let comma_space = NumberFormat::new(',', Some(NBSP));
        let swiss = NumberFormat::new('.', Some(RIGHT_QUOTE));
        match (language, region) {
            ("de" | "it" | "rm" | "gsw" | "en", "CH" | "LI") => swiss,
            ("de", "AT") | ("pt", "PT") | ("en", "ZA") => comma_space,
            ("es", "MX" | "US" | "419") => dot_comma,
            (_, "IN") | ("hi", _) => NumberFormat {
                lakh: true,
                ..dot_comma
            },
            (
                "de" | "es" | "it" | "nl" | "pt" | "id" | "tr" | "da" | "el" | "ro" | "hr" | "sl"
                | "sr" | "vi" | "is" | "bs" | "mk" | "az" | "ca" | "gl" | "eu",
                _,
            ) => comma_dot,
            (
                "fr" | "ru" | "uk" | "pl" | "cs" | "sk" | "sv" | "nb" | "no" | "nn" | "fi" | "hu"
                | "bg" | "lt" | "lv" | "et" | "be" | "kk" | "ky" | "hy" | "ka" | "sq" | "af",
                _,
            ) => comma_space,
            _ => dot_comma,
        }
    }

    /// The character before the decimals: '.' or ','.
    pub fn decimal_separator(&self) -> char {
        self.decimal
    }

    /// Whether `c` separates digit groups here. A space-grouping language
    /// is written with a no-break space but typed with any space, and
    /// Swiss grouping with either apostrophe.
    fn is_group(&self, c: char) -> bool {
        match self.group {
            None => false,
            Some(NBSP) => matches!(c, ' ' | NBSP | NNBSP),
            Some(RIGHT_QUOTE) => matches!(c, '\'' | RIGHT_QUOTE),
            Some(g) => c == g,
        }
    }

    /// Whether the digit groups of a whole part (the first one first) are
    /// the groups this format writes: the first of one to three digits
    /// (one or two above the thousands in India) and not starting with 0,
    /// then threes (in India, twos and a last three).
    fn groups_are_proper(&self, groups: &[&str]) -> bool {
        let Some((first, rest)) = groups.split_first() else {
            return false;
        };
        if first.is_empty() || first.starts_with('0') {
            return false;
        }
        let thousands = first.len() <= 3 && rest.iter().all(|g| g.len() == 3);
        let lakh = self.lakh
            && first.len() <= 2
            && rest.split_last().is_some_and(|(last, middle)| {
                last.len() == 3 && middle.iter().all(|g| g.len() == 2)
            });
        thousands || lakh
    }

    /// `digits` (ASCII, no sign) with this format's group separator.
    fn group_digits(&self, digits: &str) -> String {
        let Some(group) = self.group else {
            return digits.to_owned();
        };
        let n = digits.len();
        let mut out = String::with_capacity(n + n / 2);
        for (i, d) in digits.chars().enumerate() {
            let left = n - i;
            let boundary = if self.lakh {
                left == 3 || (left > 3 && (left - 3).is_multiple_of(2))
            } else {
                left.is_multiple_of(3)
            };
            if i > 0 && boundary {
                out.push(group);
            }
            out.push(d);
        }
        out
    }
}

fn invalid(why: impl Into<String>) -> ModelError {
    ModelError::Invalid {
        what: "amount",
        why: why.into(),
    }
}

impl Money {
    /// The largest amount, in minor units, of any currency: 9,999,999,999,999
    /// (99,999,999,999.99 USD, 9,999,999,999,999 JPY, 9,999,999,999.999 KWD).
    /// Past any deal a partner brings, and small enough that no sum overflows
    /// the 64-bit integers the ledger, the rules and the reports add in: a
    /// report sums the amounts of one month and currency, a balance the lines
    /// of one partner and currency, and either would need more than 900,000
    /// rows, each at this maximum, to pass `i64::MAX` (9.2 × 10^18). The
    /// rules multiply an amount by a rate of at most 10,000 basis points in
    /// `i128`, whose result (at most 10^17) fits `i64` again.
    pub const MAX_MINOR: i64 = 9_999_999_999_999;

    /// An amount of `minor` units within [`Money::MAX_MINOR`] either way:
    /// how amounts written by others (a partner's document) are read.
    pub fn try_new(minor: i64, currency: Currency) -> Result<Money, ModelError> {
        if minor.unsigned_abs() > Money::MAX_MINOR.unsigned_abs() {
            let max = Money::new(Money::MAX_MINOR, currency);
            return Err(invalid(format!(
                "{minor} minor units of {currency} is beyond the largest amount, {max}"
            )));
        }
        Ok(Money::new(minor, currency))
    }

    /// Parses an amount a person typed (or an API received) in `currency`,
    /// written as `format` writes numbers: the one parser of typed amounts.
    /// Exact, no floating point. Refused, with an example of how to write
    /// it: an empty text, a negative amount (no one types one: reversals are
    /// computed by the ledger), any character that is not a digit or one of
    /// the format's separators, digit groups that are not proper groups,
    /// more decimals than the currency has, more than [`Money::MAX_MINOR`],
    /// and a lone group separator before three digits in a currency with
    /// three or more decimals ("1,234" KWD in English), which could be
    /// either.
    pub fn parse_in(
        text: &str,
        currency: Currency,
        format: NumberFormat,
    ) -> Result<Money, ModelError> {
        let typed = text.trim();
        if typed.is_empty() {
            return Err(invalid("is required"));
        }
        if typed.starts_with(['-', '\u{2212}']) {
            return Err(invalid("cannot be negative"));
        }
        let scale = currency.minor_digits() as usize;
        let written_like = || {
            let example = Money::new(example_minor(scale), currency);
            let plain = example.format_in(format);
            let grouped = example.format_grouped_in(format);
            if plain == grouped {
                invalid(format!(
                    "is written like {plain} here, not {}",
                    Quoted(typed)
                ))
            } else {
                invalid(format!(
                    "is written like {plain} or {grouped} here, not {}",
                    Quoted(typed)
                ))
            }
        };
        let (whole, fraction) = match typed.split_once(format.decimal) {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (typed, None),
        };
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        // A second decimal separator, a group separator after the decimal
        // one, or anything else that is no digit.
        if !fraction.is_none_or(digits) {
            return Err(written_like());
        }
        let groups: Vec<&str> = whole.split(|c| format.is_group(c)).collect();
        if !groups.iter().all(|g| digits(g)) {
            return Err(written_like());
        }
        if groups.len() > 1 {
            if !format.groups_are_proper(&groups) {
                return Err(written_like());
            }
            // "1,234" in English, "1.234" in German: thousands grouped, or
            // a decimal written the other way? Only a currency with three
            // decimals or more could mean the latter; ask.
            let punctuation = matches!(format.group, Some(',' | '.'));
            if fraction.is_none() && groups.len() == 2 && scale >= 3 && punctuation {
                let as_whole = groups.concat();
                let as_decimal = format!("{}{}{}", groups[0], format.decimal, groups[1]);
                return Err(invalid(format!(
                    "{} could be {as_whole} or {as_decimal} {currency}, which has \
                     {scale} decimals: write {as_whole} or {as_decimal}",
                    Quoted(typed)
                )));
            }
        }
        let fraction = fraction.unwrap_or_default();
        if whole.is_empty() && fraction.is_empty() {
            return Err(written_like());
        }
        if fraction.len() > scale {
            return Err(invalid(match scale {
                0 => format!(
                    "is in whole {currency}, which has no decimals: not {}",
                    Quoted(typed)
                ),
                _ => format!(
                    "has at most {scale} decimals in {currency}: not {}",
                    Quoted(typed)
                ),
            }));
        }
        let too_large = || {
            let max = Money::new(Money::MAX_MINOR, currency);
            invalid(format!(
                "is more than the largest amount accepted, {} {currency}",
                max.format_grouped_in(format)
            ))
        };
        let mut minor: i64 = 0;
        let padded = groups.concat() + fraction + &"0".repeat(scale - fraction.len());
        for b in padded.bytes() {
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(i64::from(b - b'0')))
                .filter(|m| *m <= Money::MAX_MINOR)
                .ok_or_else(too_large)?;
        }
        Ok(Money::new(minor, currency))
    }

    /// The amount as `format` writes it, digits not grouped ("1234,50" in
    /// German), with all the currency's decimals: what the apps show, and
    /// what an edit form starts from.
    pub fn format_in(&self, format: NumberFormat) -> String {
        self.write(format, false)
    }

    /// The amount as `format` writes it with its digits grouped ("1.234,50"
    /// in German, "12,34,567.00" in India).
    pub fn format_grouped_in(&self, format: NumberFormat) -> String {
        self.write(format, true)
    }

    fn write(&self, format: NumberFormat, grouped: bool) -> String {
        let scale = self.currency.minor_digits();
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        let unit = 10u64.pow(scale);
        let whole = (abs / unit).to_string();
        let whole = if grouped {
            format.group_digits(&whole)
        } else {
            whole
        };
        if scale == 0 {
            return format!("{sign}{whole}");
        }
        format!(
            "{sign}{whole}{}{:0width$}",
            format.decimal,
            abs % unit,
            width = scale as usize
        )
    }
}

/// 1234.56 with `scale` decimals (1234, 1234.567, 1234.5678), in minor
/// units: the example in messages.
fn example_minor(scale: usize) -> i64 {
    let fraction = &"5678"[..scale.min(4)];
    format!("1234{fraction}").parse().unwrap_or(1234)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn currency(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    fn parse(text: &str, code: &str, language: &str) -> Result<i64, String> {
        Money::parse_in(text, currency(code), NumberFormat::for_language(language))
            .map(|m| m.minor)
            .map_err(|e| e.to_string())
    }

    /// The languages the properties run over: each way of writing numbers
    /// the table knows, and the canonical text.
    const LANGUAGES: [&str; 10] = [
        "en-US", "de-DE", "fr-FR", "de-CH", "en-IN", "pt-PT", "es-MX", "ja", "sv-SE", "xx",
    ];

    fn formats() -> Vec<NumberFormat> {
        LANGUAGES
            .iter()
            .map(|l| NumberFormat::for_language(l))
            .chain([NumberFormat::CANONICAL])
            .collect()
    }

    #[test]
    fn the_table_is_sorted_and_knows_the_minor_units() {
        assert!(ISO_4217.windows(2).all(|w| w[0].0 < w[1].0));
        let digits = |c: &str| currency(c).minor_digits();
        assert_eq!(
            [digits("USD"), digits("JPY"), digits("KWD"), digits("CLF")],
            [2, 0, 3, 4]
        );
    }

    #[test]
    fn languages_write_numbers_their_way() {
        let m = Money::new(123_456_789, currency("EUR"));
        let grouped = |l: &str| m.format_grouped_in(NumberFormat::for_language(l));
        assert_eq!(grouped("en-US"), "1,234,567.89");
        assert_eq!(grouped("de-DE"), "1.234.567,89");
        assert_eq!(grouped("fr-FR"), "1\u{a0}234\u{a0}567,89");
        assert_eq!(grouped("de-CH"), "1\u{2019}234\u{2019}567.89");
        assert_eq!(grouped("en-IN"), "12,34,567.89");
        assert_eq!(grouped("pt_BR"), "1.234.567,89");
        assert_eq!(grouped("zh-Hant-TW"), "1,234,567.89");
        assert_eq!(m.format_in(NumberFormat::for_language("de")), "1234567,89");
        assert_eq!(m.format_grouped_in(NumberFormat::CANONICAL), "1234567.89");
    }

    #[test]
    fn a_typed_amount_reads_in_the_readers_language() {
        assert_eq!(parse("1,234.56", "USD", "en-US"), Ok(123_456));
        assert_eq!(parse("1.234,56", "EUR", "de-DE"), Ok(123_456));
        assert_eq!(parse("1 234,56", "EUR", "fr-FR"), Ok(123_456));
        assert_eq!(parse("1\u{202f}234,56", "EUR", "fr-FR"), Ok(123_456));
        assert_eq!(parse("1'234.56", "CHF", "de-CH"), Ok(123_456));
        assert_eq!(parse("12,34,567", "INR", "en-IN"), Ok(123_456_700));
        assert_eq!(parse("1,234,567", "INR", "en-IN"), Ok(123_456_700));
        assert_eq!(parse("12,50", "EUR", "de-DE"), Ok(1250));
        assert_eq!(parse(" 0,5 ", "EUR", "de"), Ok(50));
        assert_eq!(parse(",5", "EUR", "de"), Ok(50));
        assert_eq!(parse("12.", "USD", "en"), Ok(1200));
        assert_eq!(parse("1500", "JPY", "ja"), Ok(1500));
        assert_eq!(parse("1,500", "JPY", "ja"), Ok(1500));
        assert_eq!(parse("1.234", "KWD", "en"), Ok(1234));
        assert_eq!(parse("1234", "KWD", "en"), Ok(1_234_000));
    }

    #[test]
    fn a_decimal_comma_is_read_or_refused_never_multiplied() {
        let refused = parse("12,50", "USD", "en-US").unwrap_err();
        assert_eq!(
            refused,
            "amount is written like 1234.56 or 1,234.56 here, not \"12,50\""
        );
        let refused = parse("12.50", "EUR", "de-DE").unwrap_err();
        assert_eq!(
            refused,
            "amount is written like 1234,56 or 1.234,56 here, not \"12.50\""
        );
        // Three decimals: grouping or a decimal written the other way?
        let refused = parse("1,234", "KWD", "en-US").unwrap_err();
        assert_eq!(
            refused,
            "amount \"1,234\" could be 1234 or 1.234 KWD, which has 3 decimals: \
             write 1234 or 1.234"
        );
        assert!(parse("1.234", "KWD", "de-DE").is_err());
        assert!(parse("0,50", "USD", "en-US").is_err());
        assert!(parse("0,500", "USD", "en-US").is_err());
    }

    #[test]
    fn what_is_no_amount_is_refused_with_a_reason() {
        for (text, code, language, why) in [
            ("1,0,0", "USD", "en-US", "is written like"),
            ("1,000", "USD", "canonical", "is written like 1234.56 here"),
            ("1_000", "USD", "en-US", "is written like"),
            ("1 000", "USD", "en-US", "is written like"),
            ("1.2.3", "USD", "en-US", "is written like"),
            ("1,234.5.6", "USD", "en-US", "is written like"),
            ("12,3456", "EUR", "fr", "has at most 2 decimals in EUR"),
            ("01,234", "USD", "en-US", "is written like"),
            ("1e5", "USD", "en-US", "is written like"),
            ("+5", "USD", "en-US", "is written like"),
            ("$5", "USD", "en-US", "is written like"),
            ("٥", "USD", "en-US", "is written like"),
            (".", "USD", "en-US", "is written like"),
            ("", "USD", "en-US", "is required"),
            ("   ", "USD", "en-US", "is required"),
            ("-5", "USD", "en-US", "cannot be negative"),
            ("\u{2212}5", "USD", "en-US", "cannot be negative"),
            ("1.234", "USD", "en-US", "has at most 2 decimals in USD"),
            ("1.5", "JPY", "en-US", "is in whole JPY"),
            (
                "99999999999999999999",
                "USD",
                "en-US",
                "is more than the largest",
            ),
            (
                "100000000000.00",
                "USD",
                "en-US",
                "is more than the largest",
            ),
        ] {
            let format = match language {
                "canonical" => NumberFormat::CANONICAL,
                l => NumberFormat::for_language(l),
            };
            let refused = Money::parse_in(text, currency(code), format)
                .map(|m| m.minor)
                .map_err(|e| e.to_string());
            assert!(
                refused.as_ref().is_err_and(|e| e.contains(why)),
                "{text:?} in {language}: {refused:?}"
            );
        }
        assert_eq!(parse("99999999999.99", "USD", "en"), Ok(Money::MAX_MINOR));
    }

    #[test]
    fn amounts_beyond_the_maximum_do_not_construct_from_outside() {
        let usd = currency("USD");
        assert!(Money::try_new(Money::MAX_MINOR, usd).is_ok());
        assert!(Money::try_new(-Money::MAX_MINOR, usd).is_ok());
        assert!(Money::try_new(-5, usd).is_ok());
        assert!(Money::try_new(Money::MAX_MINOR + 1, usd).is_err());
        assert!(Money::try_new(i64::MIN, usd).is_err());
    }

    /// Amounts within the maximum, in currencies of 0, 2, 3 and 4 decimals.
    fn amounts() -> impl Strategy<Value = Money> {
        (
            prop_oneof![
                0..1_000_000i64,
                0..=Money::MAX_MINOR,
                Just(Money::MAX_MINOR)
            ],
            prop::sample::select(vec!["USD", "JPY", "KWD", "CLF", "EUR"]),
        )
            .prop_map(|(minor, code)| Money::new(minor, currency(code)))
    }

    proptest! {
        #[test]
        fn what_a_language_writes_it_reads_back(money in amounts()) {
            for format in formats() {
                let plain = money.format_in(format);
                prop_assert_eq!(Money::parse_in(&plain, money.currency, format), Ok(money));
                let grouped = money.format_grouped_in(format);
                prop_assert_eq!(Money::parse_in(&grouped, money.currency, format), Ok(money));
            }
        }

        /// However a person writes an amount (either decimal separator,
        /// any grouping, fewer decimals than the currency has), every
        /// language reads it as that amount or refuses it, and never as
        /// more: a decimal comma is never 100 times the amount. The one
        /// other reading is smaller: a whole amount grouped German-style,
        /// "1.234", is 1.234 in English, in a currency with three decimals.
        #[test]
        fn a_separator_written_another_way_is_never_a_larger_amount(
            whole in 0u64..100_000_000,
            fraction in "[0-9]{0,4}",
            decimal in prop::sample::select(vec![',', '.']),
            group in prop::sample::select(vec![None, Some(','), Some('.'), Some(' '), Some('\'')]),
            trailing in any::<bool>(),
            code in prop::sample::select(vec!["USD", "JPY", "KWD", "CLF"]),
        ) {
            let currency = currency(code);
            let scale = currency.minor_digits() as usize;
            let fraction = &fraction[..fraction.len().min(scale)];
            let group = group.filter(|g| *g != decimal);
            let mut digits = whole.to_string();
            if let Some(g) = group {
                let writer = NumberFormat { decimal, group: Some(g), lakh: false };
                digits = writer.group_digits(&digits);
            }
            let bare = fraction.is_empty() && !trailing;
            let text = if bare { digits } else { format!("{digits}{decimal}{fraction}") };
            let meant = i64::try_from(whole).unwrap() * 10i64.pow(scale as u32)
                + format!("{fraction:0<scale$}").parse::<i64>().unwrap_or(0);
            for format in formats() {
                if let Ok(read) = Money::parse_in(&text, currency, format) {
                    prop_assert!(read.minor <= meant, "{:?} in {:?}: {:?}", text, format, read);
                    if !(bare && group.is_some()) {
                        prop_assert_eq!(read.minor, meant, "{:?} in {:?}", text, format);
                    }
                }
            }
        }
    }
}
