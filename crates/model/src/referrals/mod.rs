//! A partner's referral links as their devices write them: one per
//! campaign, each a code and a label.
//!
//! Layout (schema 1):
//!
//! ```text
//! ROOT { schema: 1, kind: "referrals", partner_id: "p-ben",
//!        links: { <code>: { nonce: str, label: str, created_at: ts } } }
//! ```
//!
//! The code is made on the device, so a link exists at once, offline too,
//! and a printed QR code never changes: the device draws a nonce (64
//! random bits) and the code is the partner's and the nonce's hash
//! (`code_for`: 60 bits of SHA-256, 12 characters). So a code is its
//! partner's by construction: another partner who copies a code seen on a
//! flyer into their own document cannot give it a nonce that hashes to it
//! under their name (2^60 tries), and the entry does not read. The server
//! confirms a link by projecting it into its table; only the partner
//! writes the document; a label is theirs to rename (the last writer's
//! stands). Links are never removed: a code that was shared keeps
//! attributing.

#[cfg(feature = "doc")]
mod doc;
mod edit;

use serde::{Deserialize, Serialize};

#[cfg(feature = "doc")]
pub use doc::ReferralsDoc;
pub use edit::ReferralsEdit;

use crate::{PartnerId, Timestamp};

/// The value of the root `kind` field of a referrals document.
pub const REFERRALS_KIND: &str = "referrals";

/// Bounds on what a referrals document may hold, checked on every write
/// and by the server's projection.
pub mod limits {
    /// Characters of a label.
    pub const LABEL_CHARS: usize = 80;
    /// Links a partner may make.
    pub const LINKS: usize = 500;
    /// Characters of a code the device makes.
    pub const CODE_LEN: usize = 12;
}

/// The alphabet of codes: Crockford's base 32 in lower case (no i, l, o,
/// u), so a code read aloud or off paper is not mistaken.
pub const CODE_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// The partner's links as read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referrals {
    pub partner_id: Option<PartnerId>,
    /// Oldest first.
    pub links: Vec<ReferralLink>,
    /// Keys whose entry does not read (written by something else).
    #[serde(default)]
    pub unreadable: Vec<String>,
}

/// One link as the partner made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralLink {
    pub code: String,
    pub label: String,
    pub created_at: Timestamp,
}

impl Referrals {
    pub fn link(&self, code: &str) -> Option<&ReferralLink> {
        self.links.iter().find(|l| l.code == code)
    }
}

/// A nonce as links carry: 16 lower-case hex digits.
pub fn valid_nonce(nonce: &str) -> bool {
    nonce.len() == 16
        && nonce
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A nonce from 64 random bits (the caller draws them).
pub fn nonce_of(random: u64) -> String {
    format!("{random:016x}")
}

/// The code of `partner`'s link with `nonce`.
#[cfg(feature = "doc")]
pub fn code_for(partner: &PartnerId, nonce: &str) -> String {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    hash.update(b"portal referral link\0");
    hash.update(partner.as_str().as_bytes());
    hash.update(b"\0");
    hash.update(nonce.as_bytes());
    let digest = hash.finalize();
    let mut bits = [0u8; 8];
    bits.copy_from_slice(&digest[..8]);
    new_code(u64::from_le_bytes(bits))
}

/// A code as links carry: exactly [`limits::CODE_LEN`] of [`CODE_ALPHABET`].
pub fn valid_code(code: &str) -> bool {
    code.len() == limits::CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b))
}

/// The code 60 bits make (the low 60 of `random`).
pub fn new_code(random: u64) -> String {
    (0..limits::CODE_LEN)
        .map(|i| CODE_ALPHABET[((random >> (5 * i)) & 31) as usize] as char)
        .collect()
}

/// A label as links carry: its ends trimmed, 1 to [`limits::LABEL_CHARS`]
/// characters, no control characters.
pub fn check_label(label: &str) -> Result<String, crate::ModelError> {
    let label = label.trim();
    let why = if label.is_empty() {
        "is empty"
    } else if label.chars().count() > limits::LABEL_CHARS {
        "is longer than 80 characters"
    } else if label.chars().any(char::is_control) {
        "holds a control character"
    } else {
        return Ok(label.to_owned());
    };
    Err(crate::ModelError::Invalid {
        what: "label",
        why: why.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_twelve_letters_of_the_alphabet_from_sixty_bits() {
        let a = new_code(0);
        assert_eq!(a, "000000000000");
        assert!(valid_code(&a));
        let b = new_code(u64::MAX);
        assert_eq!(b, "zzzzzzzzzzzz");
        let c = new_code(0x0123_4567_89ab_cdef);
        assert!(valid_code(&c));
        assert_ne!(c, new_code(0x0123_4567_89ab_cdee));
        for bad in [
            "",
            "0000000000",
            "00000000000o",
            "0000000000000",
            "00000000000I",
        ] {
            assert!(!valid_code(bad), "{bad:?}");
        }
    }

    #[test]
    fn labels_are_trimmed_and_bounded() {
        assert_eq!(check_label("  Spring fair ").unwrap(), "Spring fair");
        assert!(check_label("   ").is_err());
        assert!(check_label(&"é".repeat(81)).is_err());
        assert!(check_label(&"é".repeat(80)).is_ok());
        assert!(check_label("a\u{7}b").is_err());
    }
}
