//! The pipeline document shown: opened and followed with the app's one
//! document hook, its news turned into the pipeline's actions, and the one
//! way screens write into it.

use model::PipelineDoc;
use yew::prelude::*;

use super::Action;
use crate::{
    document::{DocEvent, Edit, Followed, Unconfirmed, use_document},
    engine::EngineRef,
};

/// Opens the pipeline `selected` names on `engine` and follows it: `on`
/// hears how it reads and its changes waiting, `on_error` what went wrong
/// (and `None` once a change is written). Returns the callback a screen
/// writes changes with; nothing is written while `read_only`, nor before
/// the document is open.
#[hook]
pub fn use_pipeline(
    engine: Option<EngineRef>,
    selected: Option<String>,
    read_only: bool,
    on: Callback<Action>,
    on_error: Callback<Option<String>>,
) -> Callback<Edit> {
    let followed = {
        let on_error = on_error.clone();
        Callback::from(move |Followed { doc_id, event }| match event {
            DocEvent::Read {
                value: Ok(pipeline),
                pending,
            } => on.emit(Action::Read {
                doc_id,
                pipeline,
                pending,
            }),
            DocEvent::Read { value: Err(e), .. } => {
                on_error.emit(Some(format!("cannot read pipeline: {e}")))
            }
            DocEvent::Pending(pending) => on.emit(Action::Pending { doc_id, pending }),
            DocEvent::Missing => on.emit(Action::Missing { doc_id }),
            DocEvent::Failed(e) => on_error.emit(Some(e)),
        })
    };
    let doc = use_document(
        engine,
        selected,
        PipelineDoc::read,
        Unconfirmed::Counted,
        followed,
    );
    Callback::from(move |edit: Edit| {
        if read_only {
            return;
        }
        match doc.change(edit) {
            Some(Ok(())) => on_error.emit(None),
            Some(Err(e)) => on_error.emit(Some(e.to_string())),
            None => {}
        }
    })
}
