//! Document shapes of the partner portal and their typed reads and writes over
//! Automerge.
//!
//! Every piece of data a partner edits lives in an Automerge document that is
//! merged, not overwritten, when replicas meet. This crate is the only place
//! that knows how those documents are laid out; the server, the browser and the
//! tests go through it. It does no IO and knows nothing of samod, sqlx or
//! web-sys, so the same code runs on the server, in wasm and in tests.
//!
//! Values that cross the boundary are parsed into domain types
//! ([`Money`], [`Stage`], [`PartnerId`], ...) so invalid states do not construct.

mod account_view;
mod amount;
mod catalog;
mod chat;
mod inbox;
#[cfg(feature = "doc")]
pub mod json_doc;
mod pipeline;
#[cfg(feature = "qr")]
pub mod qr;
#[cfg(feature = "doc")]
mod read;
mod referrals;
mod standings;
mod team;
mod training;
mod values;

#[cfg(feature = "doc")]
pub use account_view::AccountViewDoc;
pub use account_view::{
    ACCOUNT_VIEW_KIND, AccountView, Assignment, Balance, DealOutcome, DealPricing, DealStatus,
    EarningLine, ExamOutcome, LineStatus, ModuleDone, ProgressComponent, RECENT_LINES, Statement,
    TierProgress,
};
pub use amount::NumberFormat;
pub use chat::{
    Bucket, CHANNEL_KIND, ChannelForm, ChannelIndex, ChatEdit, ChatFile, ChatMessage,
    FILE_TYPES as CHAT_FILE_TYPES, MESSAGES_KIND, Member, Messages, READS_KIND, Reaction, Reads,
    ReadsEdit, Thumb, Voice, check_body as check_chat_body, check_file as check_chat_file,
    limits as chat_limits, mentioned, mentions, month_of, period_order, valid_file_id,
    valid_message_id,
};
#[cfg(feature = "doc")]
pub use chat::{ChannelIndexDoc, MessagesDoc, ReadsDoc, actor_for, author_of};
#[cfg(feature = "doc")]
pub use inbox::InboxDoc;
pub use inbox::{INBOX_KIND, INBOX_SIZE, Inbox, Notice};

#[cfg(feature = "doc")]
pub use catalog::CatalogDoc;
pub use catalog::{CATALOG_KIND, Catalog, MAX_MANIFEST_BYTES};
#[cfg(feature = "doc")]
pub use pipeline::PipelineDoc;
pub use pipeline::{
    Activity, Conflict, ConflictValue, FollowUp, Lead, LeadDraft, LeadField, LogKind,
    PIPELINE_KIND, Pipeline, PipelineEdit, SCHEMA_VERSION, limits,
};
pub use referrals::{
    CODE_ALPHABET, REFERRALS_KIND, ReferralLink, Referrals, ReferralsEdit,
    check_label as check_link_label, limits as referral_limits, new_code as new_referral_code,
    nonce_of as referral_nonce_of, valid_code as valid_referral_code,
    valid_nonce as valid_referral_nonce,
};
#[cfg(feature = "doc")]
pub use referrals::{ReferralsDoc, code_for as referral_code_for};
pub use standings::{
    ACHIEVEMENTS, Achievement, AchievementBonus, BOARD_NEIGHBOURS, BOARD_TOP, Board,
    ChallengeProgress, Entry as BoardEntry, Place, STANDINGS_KIND, Standings, board_id,
    excerpt as board_excerpt,
};
pub use team::{
    INVITEES, Invitee, MEMBER_DEALS, MemberDeal, MemberFigures, MissedOverrides, OVERRIDE_LINES,
    OverrideLine, OverrideReview, StageTotal, TEAM_KIND, TeamPeriod, TeamView,
};
#[cfg(feature = "doc")]
pub use training::TrainingDoc;
pub use training::{
    Attempt, Completion, TRAINING_KIND, Training, TrainingEdit, limits as training_limits, valid_id,
};
pub use values::{Currency, Heads, LeadId, Money, PartnerId, Quoted, Stage, Timestamp};

/// A document's kind as `{:?}` of the `Option` would say it (see [`Quoted`]).
fn kind_named(found: &Option<String>) -> String {
    match found {
        Some(kind) => format!("Some({})", Quoted(kind)),
        None => "None".to_owned(),
    }
}

/// What can go wrong reading or writing a document.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ModelError {
    #[error(
        "document is not a {expected} document (kind is {})",
        kind_named(found)
    )]
    WrongKind {
        expected: &'static str,
        found: Option<String>,
    },
    #[error("document schema version {0} is newer than this app understands")]
    UnsupportedSchema(u64),
    #[error("field `{field}` is missing or has the wrong type")]
    BadField { field: &'static str },
    #[error("no lead with id {0}")]
    NoSuchLead(String),
    #[error("a lead with id {0} already exists")]
    DuplicateLead(String),
    #[error("{what} {why}")]
    Invalid { what: &'static str, why: String },
    #[error("automerge: {0}")]
    Automerge(String),
}

#[cfg(feature = "doc")]
impl From<automerge::AutomergeError> for ModelError {
    fn from(e: automerge::AutomergeError) -> Self {
        ModelError::Automerge(e.to_string())
    }
}
