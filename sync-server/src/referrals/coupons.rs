//! A partner's coupon code: what a buyer types at checkout on a device
//! that never clicked the partner's link (the phone saw the link, the
//! laptop buys). Made with the partner's first link, from their name and
//! four random characters, so it reads as theirs and is not guessed.

use rand::Rng;
use sqlx::PgConnection;

/// Characters of a coupon's random part (no 0/O, 1/I: typed from paper).
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Gives `partner` a coupon if they have none; whether one was made.
pub async fn ensure(tx: &mut PgConnection, partner: &str) -> Result<bool, sqlx::Error> {
    let held: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM partner_coupons WHERE partner_id = $1)")
            .bind(partner)
            .fetch_one(&mut *tx)
            .await?;
    if held {
        return Ok(false);
    }
    let name: String = sqlx::query_scalar("SELECT name FROM partners WHERE id = $1")
        .bind(partner)
        .fetch_one(&mut *tx)
        .await?;
    let stem = stem_of(&name);
    // A clash of the random part is retried; a few tries are plenty.
    for _ in 0..8 {
        let code = format!("{stem}-{}", random_part());
        let made = sqlx::query(
            "INSERT INTO partner_coupons (code, partner_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(&code)
        .bind(partner)
        .execute(&mut *tx)
        .await?;
        if made.rows_affected() == 1 {
            return Ok(true);
        }
    }
    Ok(false)
}

fn random_part() -> String {
    let mut rng = rand::rng();
    (0..4)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The first name's letters, in capitals, at most 10 (A–Z and 0–9 only:
/// "Zoë" gives "ZO", and a name with none gives "PARTNER").
fn stem_of(name: &str) -> String {
    let stem: String = name
        .split_whitespace()
        .next()
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(10)
        .collect::<String>()
        .to_ascii_uppercase();
    if stem.is_empty() {
        "PARTNER".to_owned()
    } else {
        stem
    }
}

/// A coupon as typed: trimmed and in capitals; `None` for what no coupon
/// can be (empty, too long, other characters).
pub fn normalise(typed: &str) -> Option<String> {
    let code = typed.trim().to_ascii_uppercase();
    ((4..=24).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-'))
    .then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_coupon_reads_as_its_partner() {
        assert_eq!(stem_of("Ben Okafor"), "BEN");
        assert_eq!(stem_of("Zoë Smith"), "ZO");
        assert_eq!(stem_of("  "), "PARTNER");
        assert_eq!(stem_of("Maximiliano-Alexander"), "MAXIMILIAN");
        assert_eq!(normalise(" ben-7k2q "), Some("BEN-7K2Q".into()));
        assert_eq!(normalise("a b"), None);
        assert_eq!(normalise(&"A".repeat(25)), None);
        assert_eq!(normalise("ÄBCD"), None);
    }
}
