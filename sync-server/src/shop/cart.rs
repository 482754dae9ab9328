//! The cart: held by the buyer's browser in a cookie of slugs and
//! quantities (`cart=laptop-stand:2,pos-kit:1`), so browsing and filling
//! it takes no row of ours and survives a server restart. Nothing in it is
//! trusted: it is parsed with bounds, and every price is read from the
//! catalog when the cart is shown and when it is paid.

/// The cart's cookie.
pub const COOKIE: &str = "cart";
/// The chosen currency's cookie.
pub const CURRENCY_COOKIE: &str = "shop_currency";

/// Lines a cart holds.
pub const MAX_LINES: usize = 20;
/// Units of one product in a cart.
pub const MAX_QUANTITY: u32 = 99;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cart {
    /// Slug and quantity, in the order added.
    pub lines: Vec<(String, u32)>,
}

fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 64
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Cart {
    /// The cart a cookie's value holds; what does not read is dropped.
    pub fn parse(value: Option<&str>) -> Cart {
        let mut cart = Cart::default();
        let Some(value) = value.filter(|v| v.len() <= 2_000) else {
            return cart;
        };
        for item in value.split(',') {
            let Some((slug, quantity)) = item.split_once(':') else {
                continue;
            };
            let Ok(quantity) = quantity.parse::<u32>() else {
                continue;
            };
            if valid_slug(slug) && quantity > 0 {
                cart.set(slug, quantity);
            }
        }
        cart
    }

    /// The cookie's value.
    pub fn value(&self) -> String {
        self.lines
            .iter()
            .map(|(slug, q)| format!("{slug}:{q}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Sets a line's quantity (0 removes it), within the bounds; whether
    /// the cart took it (a new line past [`MAX_LINES`] is refused).
    pub fn set(&mut self, slug: &str, quantity: u32) -> bool {
        let quantity = quantity.min(MAX_QUANTITY);
        match self.lines.iter().position(|(s, _)| s == slug) {
            Some(i) if quantity == 0 => {
                self.lines.remove(i);
                true
            }
            Some(i) => {
                self.lines[i].1 = quantity;
                true
            }
            None if quantity == 0 => true,
            None if self.lines.len() >= MAX_LINES || !valid_slug(slug) => false,
            None => {
                self.lines.push((slug.to_owned(), quantity));
                true
            }
        }
    }

    pub fn quantity(&self, slug: &str) -> u32 {
        self.lines
            .iter()
            .find(|(s, _)| s == slug)
            .map_or(0, |(_, q)| *q)
    }

    pub fn units(&self) -> u32 {
        self.lines.iter().map(|(_, q)| q).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hostile_cookie_reads_as_a_bounded_cart() {
        assert_eq!(Cart::parse(None), Cart::default());
        let cart = Cart::parse(Some("a:1,b:2,a:5,C:1,d:0,e:-1,f:x,g,:3,h:1000"));
        assert_eq!(
            cart.lines,
            [("a".into(), 5), ("b".into(), 2), ("h".into(), MAX_QUANTITY)]
        );
        let many: Vec<String> = (0..100).map(|i| format!("p{i}:1")).collect();
        assert_eq!(Cart::parse(Some(&many.join(","))).lines.len(), MAX_LINES);
        assert_eq!(
            Cart::parse(Some(&"a:1,".repeat(1_000))).lines.len(),
            0,
            "too long"
        );
        assert_eq!(Cart::parse(Some(&cart.value())), cart);
    }
}
