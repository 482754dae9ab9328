//! A search over texts on the device, offline too: what was typed, split
//! into words, each of which must be somewhere in the texts, case ignored.
//! Training's catalog and the resources library search this way.

pub struct Query {
    words: Vec<String>,
}

impl Query {
    pub fn new(typed: &str) -> Query {
        Query {
            words: typed.split_whitespace().map(str::to_lowercase).collect(),
        }
    }

    /// Nothing typed but spaces.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Whether `texts` hold every word (an empty query holds everywhere).
    pub fn holds(&self, texts: &[&str]) -> bool {
        let all = texts.join(" ").to_lowercase();
        self.words.iter().all(|w| all.contains(w.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_must_be_somewhere_case_ignored() {
        let q = Query::new("  FLYER  qr ");
        assert!(!q.is_empty());
        assert!(q.holds(&["Card terminal flyer", "with a QR code"]));
        assert!(!q.holds(&["Card terminal flyer", "a brochure"]));
        assert!(Query::new("ÉTÉ").holds(&["Campagne d'été"]));
        assert!(Query::new(" ").is_empty());
        assert!(Query::new("").holds(&["anything"]));
    }
}
