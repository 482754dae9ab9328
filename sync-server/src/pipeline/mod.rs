//! The pipeline: partners' leads, projected from their pipeline documents
//! into `leads` rows, and won leads filed as deals.

pub mod documents;
pub mod projection;
