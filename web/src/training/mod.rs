//! Training: the published tracks (each a catalog document the server
//! writes, kept on the device), the partner's own training record (a
//! document written here: lessons done, quizzes submitted), and the pages
//! that show them: the catalog with a search over what is on the device,
//! a track with its modules to download for offline use, a lesson (text,
//! video, PDF, image), a quiz. Practice quizzes are graded here; an exam
//! is written into the record and graded by the server when it syncs
//! (the device never has its answers), its result coming back in the
//! account view.

mod catalog;
mod markup;
mod page;
mod team;

use std::{collections::BTreeMap, rc::Rc};

use engine_protocol::{DocKind, DocNews, Reading};
use model::{Training, TrainingEdit};
use wasm_bindgen::JsCast;
use web_common::api::Published;
use yew::prelude::*;

use crate::{
    document::{DocEvent, Followed, use_document},
    engine::EngineRef,
    offline_files as files,
};

/// The cache downloaded modules' files are kept in (`static/sw.js` answers
/// `/blobs/` from it).
const FILES: &str = "training-files-v1";

pub use page::{Input, view};

/// The module's pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Page {
    /// `#training`: every track, by channel, and the search.
    Catalog,
    /// `#training-<track>`: its modules, to download and take.
    Track(String),
    /// `#lesson-<track>_<lesson>`.
    Lesson(String, String),
    /// `#quiz-<track>_<quiz>`.
    Quiz(String, String),
}

/// A track id as the server allows it: `a-z`, `0-9` and `-` (no `_`,
/// which separates it from what follows in a hash).
fn track_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 40
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn pair(rest: &str) -> Option<(String, String)> {
    let (track, item) = rest.split_once('_')?;
    (track_id(track) && model::valid_id(item)).then(|| (track.to_owned(), item.to_owned()))
}

impl crate::page::Page for Page {
    fn parse(name: &str) -> Option<Page> {
        if name == "training" {
            return Some(Page::Catalog);
        }
        if let Some(track) = name.strip_prefix("training-") {
            return track_id(track).then(|| Page::Track(track.to_owned()));
        }
        if let Some(rest) = name.strip_prefix("lesson-") {
            return pair(rest).map(|(t, l)| Page::Lesson(t, l));
        }
        if let Some(rest) = name.strip_prefix("quiz-") {
            return pair(rest).map(|(t, q)| Page::Quiz(t, q));
        }
        None
    }

    fn name(&self) -> String {
        match self {
            Page::Catalog => "training".to_owned(),
            Page::Track(t) => format!("training-{t}"),
            Page::Lesson(t, l) => format!("lesson-{t}_{l}"),
            Page::Quiz(t, q) => format!("quiz-{t}_{q}"),
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Page::Quiz(..) => "Quiz",
            _ => "Training",
        }
    }
}

/// The module's part of the app's state: the tracks and the record
/// outlive a page (the tier and the dashboard count modules done).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct State {
    /// Published tracks, by catalog document.
    pub catalogs: BTreeMap<String, Rc<Published>>,
    pub record: Option<Rc<Training>>,
    /// Changes to the record the server has not confirmed.
    pub pending: usize,
}

pub enum Action {
    Catalog {
        doc_id: String,
        published: Published,
    },
    Record {
        record: Training,
        pending: usize,
    },
    Pending(usize),
    /// A change made here, shown before the record has taken it.
    Shown(TrainingEdit),
}

impl State {
    pub fn reduce(&mut self, action: Action) {
        match action {
            Action::Catalog { doc_id, published } => {
                self.catalogs.insert(doc_id, Rc::new(published));
            }
            Action::Record { record, pending } => {
                self.record = Some(Rc::new(record));
                self.pending = pending;
            }
            Action::Pending(pending) => self.pending = pending,
            Action::Shown(edit) => {
                let mut record = self.record.as_deref().cloned().unwrap_or_default();
                record.shown_with(&edit);
                self.record = Some(Rc::new(record));
            }
        }
    }

    /// The tracks, in a stable order.
    pub fn tracks(&self) -> Vec<&Published> {
        let mut tracks: Vec<&Published> = self.catalogs.values().map(|p| &**p).collect();
        tracks.sort_by(|a, b| a.track.id.cmp(&b.track.id));
        tracks
    }

    pub fn track(&self, id: &str) -> Option<&Published> {
        self.catalogs
            .values()
            .map(|p| &**p)
            .find(|p| p.track.id == id)
    }
}

/// Follows the catalogs `catalogs` and the record `record_doc` on
/// `engine`, telling `on` how they read; gives the callback that writes a
/// change into the record (shown at once, written by the engine).
#[hook]
pub fn use_training(
    engine: Option<EngineRef>,
    catalogs: Vec<String>,
    record_doc: Option<String>,
    on: Callback<Action>,
) -> Callback<TrainingEdit> {
    {
        let on = on.clone();
        use_effect_with((engine.clone(), catalogs), move |(engine, catalogs)| {
            let mut follows = Vec::new();
            if let Some(EngineRef(engine)) = engine {
                for doc_id in catalogs {
                    let on = on.clone();
                    let id = doc_id.clone();
                    let hear: Rc<dyn Fn(DocNews)> = Rc::new(move |news| {
                        if let DocNews::Read {
                            reading: Ok(reading),
                            ..
                        } = news
                            && let Reading::Catalog(catalog) = *reading
                        {
                            match serde_json::from_str::<Published>(&catalog.manifest) {
                                Ok(published) => on.emit(Action::Catalog {
                                    doc_id: id.clone(),
                                    published,
                                }),
                                Err(e) => {
                                    web_sys::console::warn_1(&format!("catalog {id}: {e}").into())
                                }
                            }
                        }
                    });
                    follows.push(engine.follow(doc_id, DocKind::Catalog, hear));
                }
            }
            let engine = engine.clone();
            move || {
                if let Some(EngineRef(engine)) = engine {
                    for id in follows {
                        engine.unfollow(id);
                    }
                }
            }
        });
    }
    let on_record = {
        let on = on.clone();
        Callback::from(move |followed: Followed<Training>| match followed.event {
            DocEvent::Read {
                value: Ok(record),
                pending,
            } => on.emit(Action::Record { record, pending }),
            DocEvent::Pending(pending) => on.emit(Action::Pending(pending)),
            DocEvent::Read { value: Err(e), .. } | DocEvent::Refused(e) | DocEvent::Failed(e) => {
                web_sys::console::warn_1(&format!("training record: {e}").into())
            }
            DocEvent::Missing | DocEvent::Written | DocEvent::Queued => {}
        })
    };
    let doc = use_document(engine, record_doc, on_record);
    Callback::from(move |edit: TrainingEdit| {
        on.emit(Action::Shown(edit.clone()));
        doc.change(edit);
    })
}

/// Downloads the files of `assigned` (modules assigned and not done,
/// by track and module) by themselves, once the catalogs name them, when
/// the browser says the connection is Wi-Fi ([`files::unmetered`]); a
/// module on the device already costs nothing.
#[hook]
pub fn use_assigned_downloads(state: &State, assigned: Vec<(String, String)>) {
    let wanted: Vec<(String, u64)> = assigned
        .iter()
        .filter_map(|(track, module)| {
            let published = state.track(track)?;
            let module = published.track.modules.iter().find(|m| m.id == *module)?;
            Some(catalog::files(module))
        })
        .flatten()
        .collect();
    // The connection changing (the phone joins Wi-Fi) looks again.
    let changes = use_state(|| 0u32);
    {
        let (changes, seen) = (
            changes.clone(),
            std::rc::Rc::new(std::cell::Cell::new(0u32)),
        );
        use_effect_with((), move |_| {
            let target = web_sys::window()
                .and_then(|w| js_sys::Reflect::get(&w.navigator(), &"connection".into()).ok())
                .and_then(|c| c.dyn_into::<web_sys::EventTarget>().ok());
            let listener = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || {
                seen.set(seen.get() + 1);
                changes.set(seen.get());
            });
            if let Some(target) = &target {
                let _ = target
                    .add_event_listener_with_callback("change", listener.as_ref().unchecked_ref());
            }
            move || {
                if let Some(target) = &target {
                    let _ = target.remove_event_listener_with_callback(
                        "change",
                        listener.as_ref().unchecked_ref(),
                    );
                }
            }
        });
    }
    use_effect_with((wanted, *changes), |(wanted, _)| {
        if !wanted.is_empty() && files::unmetered() {
            let wanted = wanted.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match files::download(FILES, &wanted, |_| {}).await {
                    Ok(()) => {
                        files::persist().await;
                    }
                    Err(e) => web_sys::console::warn_1(
                        &format!("assigned training not downloaded: {e}").into(),
                    ),
                }
            });
        }
        || ()
    });
}

#[cfg(test)]
mod tests {
    use crate::page::Page as _;

    use super::*;

    #[test]
    fn pages_are_addressed_by_the_hash() {
        for (page, name) in [
            (Page::Catalog, "training"),
            (Page::Track("selling-101".into()), "training-selling-101"),
            (
                Page::Lesson("selling-101".into(), "why_it_works".into()),
                "lesson-selling-101_why_it_works",
            ),
            (
                Page::Quiz("t".into(), "final-exam".into()),
                "quiz-t_final-exam",
            ),
        ] {
            assert_eq!(page.name(), name);
            assert_eq!(Page::parse(name), Some(page));
        }
        for bad in [
            "training-",
            "training-A",
            "lesson-t",
            "lesson-_x",
            "quiz-t_",
            "quiz-t_X",
        ] {
            assert_eq!(Page::parse(bad), None, "{bad}");
        }
    }
}
