//! Email addresses as the accounts module reads them: one text however
//! an address is typed, look-alikes refused.

use unicode_normalization::UnicodeNormalization;
use unicode_security::mixed_script::AugmentedScriptSet;

/// An email address, one text however it is typed: trimmed, in Unicode
/// NFKC (a fullwidth `ｂ` is `b`, a decomposed `é` the composed one),
/// lower-cased, without the trailing dot of a fully qualified domain.
/// Refused, each with a message that says why: invisible characters (a
/// zero-width space, a joiner, a bidi control) and a name or domain label
/// that mixes scripts as no real address does (a Cyrillic `е` among Latin
/// letters; Latin beside Chinese, Japanese or Korean is allowed, UTS #39's
/// "highly restrictive" level). So a look-alike of an address either is
/// that address or is refused: it never makes a second account. Only the
/// shape is checked; whether it reaches anybody is the admin's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

const EMAIL_SHAPE: &str = "email must look like name@example.com";

impl Email {
    pub fn parse(s: &str) -> Result<Email, String> {
        let s = s.trim();
        if let Some(c) = s.chars().find(|c| invisible(*c)) {
            return Err(format!(
                "email must not contain invisible or control characters (it has U+{:04X})",
                u32::from(c)
            ));
        }
        // Lower-casing sits between two NFKC passes because it can undo a
        // normal form (`İ` lower-cases to `i` and a combining dot).
        let folded: String = s
            .nfkc()
            .flat_map(char::to_lowercase)
            // Where case folding differs from lower-casing in a way that
            // makes two spellings: a word-final sigma.
            .map(|c| if c == 'ς' { 'σ' } else { c })
            .nfkc()
            .collect();
        let Some((local, domain)) = folded.split_once('@') else {
            return Err(EMAIL_SHAPE.to_owned());
        };
        // IDNA reads an ideographic full stop as the dot between labels.
        let domain = domain.replace('\u{3002}', ".");
        // `example.com.` is the fully qualified spelling of `example.com`.
        let domain = domain.strip_suffix('.').unwrap_or(&domain);
        let valid = !local.is_empty()
            && local.len() <= 64
            && domain.len() <= 253
            && domain.split('.').all(|l| !l.is_empty() && l.len() <= 63)
            && !domain.contains('@')
            && !folded.chars().any(|c| c.is_whitespace() || invisible(c));
        if !valid {
            return Err(EMAIL_SHAPE.to_owned());
        }
        for part in std::iter::once(local).chain(domain.split('.')) {
            if let Some(scripts) = mixed_scripts(part) {
                return Err(format!(
                    "email must not mix scripts within its name or a part of its domain: \
                     \"{part}\" has {scripts} letters"
                ));
            }
        }
        Ok(Email(format!("{local}@{domain}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties):
/// characters that show nothing, such as U+200B ZERO WIDTH SPACE, the
/// joiners, bidi controls, variation selectors and Hangul fillers.
/// (unicode-security has this table but does not export it.)
const DEFAULT_IGNORABLE: [(char, char); 17] = [
    ('\u{ad}', '\u{ad}'),
    ('\u{34f}', '\u{34f}'),
    ('\u{61c}', '\u{61c}'),
    ('\u{115f}', '\u{1160}'),
    ('\u{17b4}', '\u{17b5}'),
    ('\u{180b}', '\u{180f}'),
    ('\u{200b}', '\u{200f}'),
    ('\u{202a}', '\u{202e}'),
    ('\u{2060}', '\u{206f}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{fe00}', '\u{fe0f}'),
    ('\u{feff}', '\u{feff}'),
    ('\u{ffa0}', '\u{ffa0}'),
    ('\u{fff0}', '\u{fff8}'),
    ('\u{1bca0}', '\u{1bca3}'),
    ('\u{1d173}', '\u{1d17a}'),
    ('\u{e0000}', '\u{e0fff}'),
];

/// A character no reader sees: a control character or a default-ignorable
/// one.
fn invisible(c: char) -> bool {
    c.is_control()
        || DEFAULT_IGNORABLE
            .iter()
            .any(|(first, last)| (*first..=*last).contains(&c))
}

/// The scripts of `part` when they mix as no real name does, for the
/// message; `None` for one script (digits and punctuation go with any), and
/// for Latin beside the scripts of Chinese, Japanese or Korean.
fn mixed_scripts(part: &str) -> Option<String> {
    let latin = AugmentedScriptSet::for_char('a');
    let mut all = AugmentedScriptSet::default();
    let mut besides_latin = AugmentedScriptSet::default();
    for c in part.chars() {
        let set = AugmentedScriptSet::for_char(c);
        all.intersect_with(set);
        let mut shared_with_latin = set;
        shared_with_latin.intersect_with(latin);
        if shared_with_latin.is_empty() {
            besides_latin.intersect_with(set);
        }
    }
    if !all.is_empty() || besides_latin.hanb || besides_latin.jpan || besides_latin.kore {
        return None;
    }
    let mut names: Vec<String> = Vec::new();
    for set in part.chars().map(AugmentedScriptSet::for_char) {
        let name = set.base.to_string();
        if !set.is_all() && !names.contains(&name) {
            names.push(name);
        }
    }
    Some(names.join(" and "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_of_an_email_are_that_email() {
        for (typed, parsed) in [
            ("Ben@Okafor.example", "ben@okafor.example"),
            ("  ben@okafor.example\t", "ben@okafor.example"),
            // Fullwidth letters, at sign and full stop.
            ("ｂｅｎ＠ｏｋａｆｏｒ．ｅｘａｍｐｌｅ", "ben@okafor.example"),
            ("ＢＥＮ@okafor.example", "ben@okafor.example"),
            // The fully qualified domain.
            ("ben@okafor.example.", "ben@okafor.example"),
            ("ben@okafor。example", "ben@okafor.example"),
            // A decomposed accent, and the composed one.
            ("rene\u{301}@x.example", "ren\u{e9}@x.example"),
            ("REN\u{c9}@x.example", "ren\u{e9}@x.example"),
            // A ligature.
            ("\u{fb01}n@x.example", "fin@x.example"),
            // One script per part, whichever it is; a final sigma folds.
            ("ΟΔΥΣΣΕΥΣ@ithaca.example", "οδυσσευσ@ithaca.example"),
            ("οδυσσευς@ithaca.example", "οδυσσευσ@ithaca.example"),
            ("ИВАН@пример.рф", "иван@пример.рф"),
            // Latin beside Japanese, as real addresses have.
            ("tanaka太郎@example.jp", "tanaka太郎@example.jp"),
            (
                "first.last+tag@sub.example.com",
                "first.last+tag@sub.example.com",
            ),
        ] {
            assert_eq!(
                Email::parse(typed).as_ref().map(Email::as_str),
                Ok(parsed),
                "{typed:?}"
            );
        }
    }

    #[test]
    fn invisible_and_mixed_script_emails_are_refused_with_a_reason() {
        for (typed, message) in [
            (
                "b\u{435}n@okafor.example",
                "email must not mix scripts within its name or a part of its domain: \
                 \"b\u{435}n\" has Latin and Cyrillic letters",
            ),
            (
                "ben@\u{43e}kafor.example",
                "email must not mix scripts within its name or a part of its domain: \
                 \"\u{43e}kafor\" has Cyrillic and Latin letters",
            ),
            (
                "ben\u{200b}@okafor.example",
                "email must not contain invisible or control characters (it has U+200B)",
            ),
            (
                "ben@okafor.example\u{feff}",
                "email must not contain invisible or control characters (it has U+FEFF)",
            ),
            (
                "\u{202e}ben@okafor.example",
                "email must not contain invisible or control characters (it has U+202E)",
            ),
            (
                "ben\u{0}@okafor.example",
                "email must not contain invisible or control characters (it has U+0000)",
            ),
            ("ben@okafor.example..", EMAIL_SHAPE),
            ("ben@.example", EMAIL_SHAPE),
            ("ben@@okafor.example", EMAIL_SHAPE),
            ("b en@okafor.example", EMAIL_SHAPE),
            ("@okafor.example", EMAIL_SHAPE),
            ("no-at-sign", EMAIL_SHAPE),
        ] {
            assert_eq!(Email::parse(typed), Err(message.to_owned()), "{typed:?}");
        }
    }

    /// The fullwidth form of printable ASCII.
    fn fullwidth(s: &str) -> String {
        s.chars()
            .map(|c| match c {
                '!'..='~' => char::from_u32(u32::from(c) + 0xfee0).unwrap(),
                other => other,
            })
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn an_address_parses_the_same_however_it_is_typed(
            local in "[a-z0-9][a-z0-9._+-]{0,15}",
            domain in "[a-z0-9]{1,10}(\\.[a-z0-9-]{1,10}){0,3}",
        ) {
            let plain = format!("{local}@{domain}");
            let parsed = Email::parse(&plain).unwrap();
            proptest::prop_assert_eq!(parsed.as_str(), plain.as_str());
            for typed in [
                plain.to_uppercase(),
                fullwidth(&plain),
                format!(" {plain}. "),
                fullwidth(&plain.to_uppercase()),
            ] {
                let again = Email::parse(&typed);
                proptest::prop_assert_eq!(again.as_ref(), Ok(&parsed), "{:?}", typed);
            }
        }

        #[test]
        fn an_invisible_character_anywhere_is_refused(
            local in "[a-z]{1,10}",
            at in 0usize..10,
            hidden in proptest::sample::select(vec!['\u{ad}', '\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}', '\u{202e}', '\u{2066}', '\u{fe0f}', '\u{e0041}', '\u{115f}', '\u{7}']),
        ) {
            let mut typed: Vec<char> = format!("{local}@okafor.example").chars().collect();
            typed.insert(at.min(typed.len() - 1), hidden);
            let typed: String = typed.into_iter().collect();
            proptest::prop_assert!(Email::parse(&typed).unwrap_err().contains("invisible"));
        }

        #[test]
        fn parsing_is_idempotent(typed in "\\PC{0,40}") {
            if let Ok(parsed) = Email::parse(&typed) {
                proptest::prop_assert_eq!(Email::parse(parsed.as_str()), Ok(parsed.clone()));
            }
        }
    }
}
