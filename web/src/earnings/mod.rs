//! The partner's money and tier, as the server decided them: balances,
//! recent lines, statements (each printable on its own page), the payout
//! method, tier progress.
//!
//! Everything here is read from the partner's account view
//! (`model::AccountViewDoc`): a document the server writes and the device
//! syncs like any other, so these screens work offline and say how old
//! their figures are ("as of"). The app never computes a balance: it shows
//! the server's. The one thing written from here is the payout method,
//! which goes to the server directly (online only) and is never kept on
//! the device.
//!
//! `pages` picks the page's screen: `summary` (balances, statements,
//! recent lines, with `line_item` and `payout_form`), `statement`, `tier`;
//! `not_here` when the view is not on the device; `as_of` says how old the
//! figures are.

mod as_of;
mod line_item;
mod not_here;
mod pages;
mod payout_form;
mod statement;
mod summary;
mod tier;

pub use pages::earnings;

/// A training module not completed yet, as the tier screen links it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleToDo {
    pub title: String,
    /// Its track, by title.
    pub track: String,
    /// Its track's page, as the location's hash.
    pub hash: String,
}

/// The module's pages: `#earnings`, `#tier`, `#statement-12`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    Earnings,
    Tier,
    Statement(i64),
}

impl crate::page::Page for Page {
    fn parse(name: &str) -> Option<Page> {
        match name {
            "earnings" => Some(Page::Earnings),
            "tier" => Some(Page::Tier),
            _ => name
                .strip_prefix("statement-")?
                .parse()
                .ok()
                .map(Page::Statement),
        }
    }

    fn name(&self) -> String {
        match *self {
            Page::Earnings => "earnings".to_owned(),
            Page::Tier => "tier".to_owned(),
            Page::Statement(id) => format!("statement-{id}"),
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Page::Earnings => "Earnings",
            Page::Tier => "Tier progress",
            Page::Statement(_) => "Statement",
        }
    }
}
