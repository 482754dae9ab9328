//! `portal-field`, the partner's field client: the documents the app syncs,
//! kept in SQLite on a laptop for days without a network, and synced with
//! the server over the same samod protocol when there is one.

pub mod engine;
pub mod local;
pub mod session;
pub mod sign_in;
pub mod store;

/// `text` as a terminal may show it: control characters (which could move
/// the cursor or recolour the screen; a lead's text is anyone's) as
/// spaces, at most `max` characters.
pub fn shown(text: &str, max: usize) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect()
}
