//! The pipeline document shown: opened and followed with the app's one
//! document hook, its news turned into the pipeline's actions, and the one
//! way screens write into it. Its last reading is kept on the device
//! (`view_cache`) and shown while the document opens: a big pipeline is on
//! screen before the engine has loaded it, and what is done meanwhile is
//! written once it has (`document::Doc`).

use std::{cell::RefCell, rc::Rc};

use model::{Pipeline, PipelineEdit};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use super::Action;
use crate::{
    clock,
    document::{DocEvent, Followed, Written, use_document},
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
) -> Callback<PipelineEdit> {
    let keeper = use_mut_ref(Keeper::default);
    // The last reading, while the document opens.
    {
        let (on, keeper) = (on.clone(), keeper.clone());
        use_effect_with(
            (account.clone(), selected.clone()),
            move |(account, selected)| {
                if let (Some(account), Some(doc_id)) = (account.clone(), selected.clone()) {
                    spawn_local(async move {
                        let lookup = {
                            let (keeper, doc_id) = (keeper.clone(), doc_id.clone());
                            Box::pin(async move {
                                match cache_of(&keeper, &account).await {
                                    Some(cache) => cache.get::<Pipeline>(&doc_id).await,
                                    None => None,
                                }
                            })
                        };
                        // The engine waits for this answer (shell/mod.rs):
                        // a database that does not open (another tab
                        // upgrading it) holds up nothing for long.
                        let patience = Box::pin(gloo_timers::future::sleep(CACHE_PATIENCE));
                        match futures::future::select(lookup, patience).await {
                            futures::future::Either::Left((Some(pipeline), _)) => {
                                kept(&keeper, &doc_id, &pipeline.heads);
                                on.emit(Action::Cached { doc_id, pipeline });
                            }
                            futures::future::Either::Left((None, _)) => {
                                on.emit(Action::NothingKept { doc_id })
                            }
                            futures::future::Either::Right((_, lookup)) => {
                                on.emit(Action::NothingKept {
                                    doc_id: doc_id.clone(),
                                });
                                if let Some(pipeline) = lookup.await {
                                    kept(&keeper, &doc_id, &pipeline.heads);
                                    on.emit(Action::Cached { doc_id, pipeline });
                                }
                            }
                        }
                    });
                }
                || ()
            },
        );
    }
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
                // Its last reading is not shown as if it were the document.
                on.emit(Action::Unreadable { doc_id });
                on_error.emit(Some(format!("cannot read pipeline: {e}")))
            }
            DocEvent::Pending(pending) => on.emit(Action::Pending { doc_id, pending }),
            DocEvent::Missing => on.emit(Action::Missing { doc_id }),
            DocEvent::Failed(e) => on_error.emit(Some(e)),
            DocEvent::Refused(e) => {
                on.emit(Action::Answered { written: false });
                on_error.emit(Some(e))
            }
            DocEvent::Written => {
                on.emit(Action::Answered { written: true });
                on_error.emit(None)
            }
            // Written as the document opens; an error shown stays until
            // then, and the badge counts it among the changes waiting.
            DocEvent::Queued => on.emit(Action::Queued),
        })
    };
    let doc = use_document(engine, selected, followed);
    Callback::from(move |edit: PipelineEdit| {
        if read_only {
            return;
        }
        // Shown at once; dated again as it is written (a change that waits
        // for the document to open is written, and dated, as it opens).
        on.emit(Action::Made(edit.clone(), clock::now()));
        match doc.change(edit) {
            // The engine answers (`DocEvent`).
            Written::Sent => {}
            Written::WhenOpen => on.emit(Action::Queued),
        }
    })
}

/// What keeps the pipeline's last reading: readings come with every
/// change, so a reading is written only when its heads differ from the one
/// kept (the reading the cache gave, or the last written), at most every
/// two seconds, the latest last, through one open cache per account.
#[derive(Default)]
struct Keeper {
    cache: Option<(String, ViewCache)>,
    kept: Option<(String, model::Heads)>,
    writing: bool,
    next: Option<(String, String, Pipeline)>,
}

/// How long the last reading may take to come from the device before the
/// app goes on without it.
const CACHE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// Between two writes of the cache.
const KEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// `account`'s cache, opened once and kept open.
async fn cache_of(keeper: &Rc<RefCell<Keeper>>, account: &str) -> Option<ViewCache> {
    let open = keeper
        .borrow()
        .cache
        .as_ref()
        .filter(|(a, _)| a == account)
        .map(|(_, c)| c.clone());
    if open.is_some() {
        return open;
    }
    let cache = ViewCache::open(account).await.ok()?;
    keeper.borrow_mut().cache = Some((account.to_owned(), cache.clone()));
    Some(cache)
}

/// Notes that `doc_id` is kept as `heads` (read back from the cache).
fn kept(keeper: &Rc<RefCell<Keeper>>, doc_id: &str, heads: &model::Heads) {
    keeper.borrow_mut().kept = Some((doc_id.to_owned(), heads.clone()));
}

/// Keeps `pipeline` as the last reading of `doc_id` in `account`'s cache.
fn keep(keeper: &Rc<RefCell<Keeper>>, account: &str, doc_id: &str, pipeline: &Pipeline) {
    let mut k = keeper.borrow_mut();
    let same = k
        .kept
        .as_ref()
        .is_some_and(|(id, heads)| id == doc_id && *heads == pipeline.heads);
    if same {
        return;
    }
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
            if let Some(cache) = cache_of(&keeper, &account).await {
                cache.put(&doc_id, &pipeline).await;
                keeper.borrow_mut().kept = Some((doc_id, pipeline.heads));
            }
            gloo_timers::future::sleep(KEEP_EVERY).await;
        }
    });
}
