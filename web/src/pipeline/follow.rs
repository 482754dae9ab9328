//! The pipeline document shown: opened and followed with the app's one
//! document hook, its news turned into the pipeline's actions, and the one
//! way screens write into it. Its last reading is kept on the device
//! (`view_cache`) and shown while the document opens: a big pipeline is on
//! screen before Automerge has loaded it, and what is done meanwhile is
//! written once it has (`document::Doc`).

use std::{cell::RefCell, rc::Rc};

use model::{Pipeline, PipelineDoc};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use super::Action;
use crate::{
    document::{DocEvent, Edit, Followed, Unconfirmed, use_document},
    engine::EngineRef,
    view_cache::ViewCache,
};

/// Opens the pipeline `selected` names on `engine` and follows it: `on`
/// hears how it reads and its changes waiting, `on_error` what went wrong
/// (and `None` once a change is written). Returns the callback a screen
/// writes changes with; nothing is written while `read_only`, nor before
/// the document is open.
#[hook]
pub fn use_pipeline(
    engine: Option<EngineRef>,
    account: Option<String>,
    selected: Option<String>,
    read_only: bool,
    on: Callback<Action>,
    on_error: Callback<Option<String>>,
) -> Callback<Edit> {
    // The last reading, while the document opens.
    {
        let on = on.clone();
        use_effect_with(
            (account.clone(), selected.clone()),
            move |(account, selected)| {
                if let (Some(account), Some(doc_id)) = (account.clone(), selected.clone()) {
                    spawn_local(async move {
                        let Ok(cache) = ViewCache::open(&account).await else {
                            return;
                        };
                        if let Some(pipeline) = cache.get::<Pipeline>(&doc_id).await {
                            on.emit(Action::Cached { doc_id, pipeline });
                        }
                    });
                }
                || ()
            },
        );
    }
    let keeper = use_mut_ref(Keeper::default);
    let followed = {
        let on_error = on_error.clone();
        let on = on.clone();
        Callback::from(move |Followed { doc_id, event }| match event {
            DocEvent::Read {
                value: Ok(pipeline),
                pending,
            } => {
                if let Some(account) = &account {
                    keep(&keeper, account, &doc_id, &pipeline);
                }
                on.emit(Action::Read {
                    doc_id,
                    pipeline,
                    pending,
                })
            }
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
            Ok(()) => on_error.emit(None),
            Err(e) => on_error.emit(Some(e.to_string())),
        }
    })
}

/// The reading to keep, and whether a write of the cache is under way:
/// readings come with every change, writes one at a time, the latest last.
#[derive(Default)]
struct Keeper {
    writing: bool,
    next: Option<(String, String, Pipeline)>,
}

/// Keeps `pipeline` as the last reading of `doc_id` in `account`'s cache.
fn keep(keeper: &Rc<RefCell<Keeper>>, account: &str, doc_id: &str, pipeline: &Pipeline) {
    let mut k = keeper.borrow_mut();
    k.next = Some((account.to_owned(), doc_id.to_owned(), pipeline.clone()));
    if k.writing {
        return;
    }
    k.writing = true;
    let keeper = keeper.clone();
    spawn_local(async move {
        loop {
            let Some((account, doc_id, pipeline)) = keeper.borrow_mut().next.take() else {
                keeper.borrow_mut().writing = false;
                return;
            };
            if let Ok(cache) = ViewCache::open(&account).await {
                cache.put(&doc_id, &pipeline).await;
            }
        }
    });
}
