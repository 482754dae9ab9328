//! The pipeline: a partner's leads by stage, kept in their pipeline
//! document, written on the device first and synced when a connection
//! exists. A team leader also sees the team's pipelines, read-only.
//!
//! `state` is what the app's reducer keeps of it (the document shown, as
//! read, its changes the server has not confirmed, whether the new-lead
//! form is open), `follow` opens the document shown and writes changes into
//! it (`use_pipeline`), `board` is the board's screen and `lead_page` a
//! lead's; their parts: `filter`, `gesture` (drag, swipe and keyboard
//! moves), `lead_card`, `lead_form` (new and edit),
//! `stage_moves`, `follow_up`, `activity_log`, `conflict_marks`,
//! `deal_note`; `switch` is the header's choice among the pipelines the
//! account sees.

mod activity_log;
mod board;
mod conflict_marks;
mod deal_note;
mod filter;
mod follow;
mod follow_up;
mod gesture;
mod lead_card;
mod lead_form;
mod lead_page;
mod stage_moves;
mod state;
mod switch;

use model::LeadId;
use web_common::show::stage_label;

pub use board::{board, use_board};
pub use follow::use_pipeline;
pub use lead_page::{LeadPage, no_such_lead};
pub use state::{Action, Moved, State};
pub use switch::switch;

/// The pipeline's pages: the board, `#pipeline`, and a lead's own page,
/// `#lead-<id>` (a lead id is made of characters a hash holds as they are).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Page {
    Board,
    Lead(LeadId),
}

impl crate::page::Page for Page {
    fn parse(name: &str) -> Option<Page> {
        match name {
            "pipeline" => Some(Page::Board),
            _ => LeadId::parse(name.strip_prefix("lead-")?)
                .ok()
                .map(Page::Lead),
        }
    }

    fn name(&self) -> String {
        match self {
            Page::Board => "pipeline".to_owned(),
            Page::Lead(id) => format!("lead-{id}"),
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Page::Board => "Pipeline",
            Page::Lead(_) => "Lead",
        }
    }
}
