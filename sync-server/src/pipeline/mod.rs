//! The pipeline: partners' leads, projected from their pipeline documents
//! into `leads` rows, won leads filed as deals, and follow-ups due
//! notified (`reminders`).

pub mod documents;
pub mod projection;
pub mod reminders;
