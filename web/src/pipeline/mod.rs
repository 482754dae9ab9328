//! The pipeline: a partner's leads by stage, kept in their pipeline
//! document, written on the device first and synced when a connection
//! exists. A team leader also sees the team's pipelines, read-only.
//!
//! `state` is what the app's reducer keeps of it (the document shown, as
//! read, its changes the server has not confirmed, whether the new-lead
//! form is open), `follow` opens the document shown and writes changes into
//! it (`use_pipeline`), `board` is the screen, `lead_card`, `new_lead` and
//! `deal_note` its parts, `switch` the header's choice among the pipelines
//! the account sees.

mod board;
mod deal_note;
mod follow;
mod lead_card;
mod new_lead;
mod state;
mod switch;

use model::Stage;

pub use board::board;
pub use follow::use_pipeline;
pub use state::{Action, State};
pub use switch::switch;

/// The pipeline's one page, `#pipeline`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    Board,
}

impl crate::page::Page for Page {
    fn parse(name: &str) -> Option<Page> {
        (name == "pipeline").then_some(Page::Board)
    }

    fn name(self) -> String {
        "pipeline".to_owned()
    }

    fn title(self) -> &'static str {
        "Pipeline"
    }
}

fn stage_label(stage: Stage) -> &'static str {
    match stage {
        Stage::New => "New",
        Stage::Contacted => "Contacted",
        Stage::Qualified => "Qualified",
        Stage::Proposal => "Proposal",
        Stage::Won => "Won",
        Stage::Lost => "Lost",
    }
}
