//! The rules crate's one test binary: the product's rule table as data
//! (`table`), properties of the arithmetic checked against independent
//! oracles (`properties`), and the configuration (`config`).

mod config;
mod properties;
mod table;

use model::{Currency, Money};

fn usd() -> Currency {
    Currency::parse("USD").unwrap()
}

fn usd_minor(minor: i64) -> Money {
    Money::new(minor, usd())
}
