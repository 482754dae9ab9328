//! Domain values that parse, not validate: once constructed they are valid.

use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};

use crate::{ModelError, NumberFormat, amount::iso_4217_digits};

fn invalid(what: &'static str, why: impl Into<String>) -> ModelError {
    ModelError::Invalid {
        what,
        why: why.into(),
    }
}

/// An identifier chosen by the system (partners, leads): 1 to 64 characters of
/// ASCII letters, digits, `-` and `_`. Narrow on purpose: ids end up in URLs,
/// storage keys and SQL, and none of them should need escaping.
fn parse_id(what: &'static str, s: &str) -> Result<String, ModelError> {
    if s.is_empty() || s.len() > 64 {
        return Err(invalid(what, "must be 1 to 64 characters long"));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid(what, "may hold only letters, digits, '-' and '_'"));
    }
    Ok(s.to_owned())
}

macro_rules! id_type {
    ($name:ident, $what:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, ModelError> {
                parse_id($what, s).map(Self)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = ModelError;
            fn try_from(s: String) -> Result<Self, ModelError> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    };
}

id_type!(PartnerId, "partner id");
id_type!(LeadId, "lead id");

/// Where a lead stands in the sales pipeline.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Where a lead starts.
    #[default]
    New,
    Contacted,
    Qualified,
    Proposal,
    Won,
    Lost,
}

impl Stage {
    /// Every stage, in pipeline order.
    pub const ALL: [Stage; 6] = [
        Stage::New,
        Stage::Contacted,
        Stage::Qualified,
        Stage::Proposal,
        Stage::Won,
        Stage::Lost,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::New => "new",
            Stage::Contacted => "contacted",
            Stage::Qualified => "qualified",
            Stage::Proposal => "proposal",
            Stage::Won => "won",
            Stage::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Result<Stage, ModelError> {
        Stage::ALL
            .into_iter()
            .find(|stage| stage.as_str() == s)
            .ok_or_else(|| {
                invalid(
                    "stage",
                    format!(
                        "{} is not one of new, contacted, qualified, proposal, won, lost",
                        Quoted(s)
                    ),
                )
            })
    }

    /// The stage `steps` on in pipeline order (back, when negative), if
    /// there is one: a swipe on a lead's card moves it one stage.
    pub fn step(self, steps: isize) -> Option<Stage> {
        let at = Stage::ALL.iter().position(|s| *s == self)?;
        Stage::ALL.get(at.checked_add_signed(steps)?).copied()
    }

    /// Won and lost are closed; a closed lead can still be reopened.
    pub fn is_closed(self) -> bool {
        matches!(self, Stage::Won | Stage::Lost)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Text quoted and escaped as `{:?}` would, for messages people read.
/// Written out because the browser bundles are built with `{:?}` compiled
/// to nothing (`-Zfmt-debug=none`, crates/xtask/src/web.rs): every `Debug`
/// implementation in them was code no one reads.
pub struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for c in self.0.chars() {
            // As `{:?}` of a str: a single quote needs no escape there.
            if c == '\'' {
                f.write_char(c)?;
            } else {
                write!(f, "{}", c.escape_debug())?;
            }
        }
        f.write_char('"')
    }
}

/// An ISO 4217 currency: one of the codes of the standard's current list
/// (see `amount.rs`), so its minor unit is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn parse(s: &str) -> Result<Currency, ModelError> {
        let bytes = s.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_uppercase) {
            return Err(invalid(
                "currency",
                format!(
                    "{} is not a three-letter upper-case code such as USD",
                    Quoted(s)
                ),
            ));
        }
        let code = [bytes[0], bytes[1], bytes[2]];
        if iso_4217_digits(code).is_none() {
            return Err(invalid(
                "currency",
                format!("{} is not an ISO 4217 currency code", Quoted(s)),
            ));
        }
        Ok(Currency(code))
    }

    pub fn as_str(&self) -> &str {
        // Constructed only from ASCII upper-case letters.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// Digits after the decimal point of the currency's minor unit.
    pub fn minor_digits(&self) -> u32 {
        // Constructed only from codes of the table.
        iso_4217_digits(self.0).map_or(2, u32::from)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Currency {
    type Error = ModelError;
    fn try_from(s: String) -> Result<Self, ModelError> {
        Currency::parse(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.as_str().to_owned()
    }
}

/// An amount of money in integer minor units (cents for USD). Never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    /// Parses an amount in the canonical text of the API, files and
    /// documents ("1500", "1500.5"): [`Money::parse_in`] with
    /// [`NumberFormat::CANONICAL`].
    pub fn parse_decimal(text: &str, currency: Currency) -> Result<Money, ModelError> {
        Money::parse_in(text, currency, NumberFormat::CANONICAL)
    }

    /// The amount as canonical decimal text with the currency's minor
    /// digits ("1234.50").
    pub fn to_decimal(&self) -> String {
        self.format_in(NumberFormat::CANONICAL)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal(), self.currency)
    }
}

/// Milliseconds since the Unix epoch. The model takes time as input and never
/// reads a clock, so it stays deterministic and runs anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

/// A document's heads as read: the hashes (hex) of the changes nothing
/// else in it follows. Plain strings, so that a reading travels without
/// Automerge: to screens in another wasm module, to the view cache.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Heads(pub Vec<String>);

#[cfg(feature = "doc")]
impl Heads {
    pub fn of(doc: &automerge::Automerge) -> Heads {
        Heads(doc.get_heads().iter().map(|h| h.to_string()).collect())
    }

    /// The hashes; `None` if one of them is not a hash.
    pub fn hashes(&self) -> Option<Vec<automerge::ChangeHash>> {
        self.0.iter().map(|h| h.parse().ok()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Heads come back from the screens as text: what is no hash is no
    /// heads at all, never a hash made up.
    #[cfg(feature = "doc")]
    #[test]
    fn heads_that_are_not_hashes_read_as_none() {
        let hash = "ab".repeat(32);
        assert_eq!(Heads(vec![hash.clone()]).hashes().map(|h| h.len()), Some(1));
        for hostile in ["", "zz", &"ab".repeat(33), &"ab".repeat(31), "../etc"] {
            assert_eq!(
                Heads(vec![hash.clone(), hostile.to_owned()]).hashes(),
                None,
                "{hostile}"
            );
        }
    }
    use proptest::prelude::*;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    /// `Quoted` stands in for `{:?}` where the browser bundles format
    /// nothing for it: natively, the two must read alike.
    #[test]
    fn quoted_reads_as_debug_does() {
        for s in [
            "",
            "1,234.50",
            "o'brien",
            "say \"hi\"",
            "tab\there",
            "new\nline",
            "back\\slash",
            "\u{7f}",
            "€ 12",
            "\u{200b}zero-width",
        ] {
            assert_eq!(Quoted(s).to_string(), format!("{s:?}"), "{s}");
        }
    }

    proptest! {
        #[test]
        fn quoted_reads_as_debug_does_for_any_text(s in any::<String>()) {
            prop_assert_eq!(Quoted(&s).to_string(), format!("{s:?}"));
        }
    }

    #[test]
    fn ids_reject_what_would_need_escaping() {
        assert!(PartnerId::parse("p-ana_01").is_ok());
        for bad in [
            "",
            "a/b",
            "a b",
            "ä",
            "x'; drop table leads; --",
            &"a".repeat(65),
        ] {
            assert!(PartnerId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn currency_is_an_iso_4217_code() {
        assert_eq!(Currency::parse("EUR").unwrap().as_str(), "EUR");
        for bad in ["eur", "EURO", "E1R", "", "ZZZ", "XXX", "XAU", "HRK"] {
            assert!(Currency::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            Currency::parse("ZZZ").unwrap_err().to_string(),
            "currency \"ZZZ\" is not an ISO 4217 currency code"
        );
        let digits = |c: &str| Currency::parse(c).unwrap().minor_digits();
        assert_eq!(
            [
                digits("JPY"),
                digits("KWD"),
                digits("BHD"),
                digits("CLF"),
                digits("XOF")
            ],
            [0, 3, 3, 4, 0]
        );
    }

    #[test]
    fn canonical_amounts_parse_exactly() {
        let cases = [
            ("1500", 150_000),
            ("1500.5", 150_050),
            ("0.07", 7),
            (".5", 50),
        ];
        for (text, minor) in cases {
            assert_eq!(
                Money::parse_decimal(text, usd()).unwrap().minor,
                minor,
                "{text}"
            );
        }
        let yen = Currency::parse("JPY").unwrap();
        assert_eq!(Money::parse_decimal("1500", yen).unwrap().minor, 1500);
        assert!(Money::parse_decimal("1.5", yen).is_err());
        let dinar = Currency::parse("KWD").unwrap();
        assert_eq!(Money::parse_decimal("1.5", dinar).unwrap().minor, 1500);
        // Commas and underscores were dropped anywhere ("1,0,0" was
        // 100.00), negative amounts and amounts past any bound accepted.
        for bad in [
            "",
            "abc",
            "1.234",
            "1.2.3",
            "1,0,0",
            "1,500.5",
            "1_000",
            "12,50",
            "-12.34",
            "99999999999999999999",
            "92233720368547758.07",
            "100000000000.00",
        ] {
            assert!(
                Money::parse_decimal(bad, usd()).is_err(),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn a_stage_steps_on_and_back_within_the_pipeline() {
        assert_eq!(Stage::New.step(1), Some(Stage::Contacted));
        assert_eq!(Stage::Won.step(-1), Some(Stage::Proposal));
        assert_eq!(Stage::New.step(-1), None);
        assert_eq!(Stage::Lost.step(1), None);
        assert_eq!(Stage::Proposal.step(0), Some(Stage::Proposal));
    }

    #[test]
    fn stages_round_trip_through_text() {
        for stage in Stage::ALL {
            assert_eq!(Stage::parse(stage.as_str()).unwrap(), stage);
        }
        assert!(Stage::parse("WON").is_err());
    }

    proptest! {
        #[test]
        fn decimal_round_trips(minor in 0..=Money::MAX_MINOR) {
            let money = Money::new(minor, usd());
            prop_assert_eq!(Money::parse_decimal(&money.to_decimal(), usd()).unwrap(), money);
        }
    }
}
