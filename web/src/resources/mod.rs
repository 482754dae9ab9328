//! The resources library (`#resources`): what the company publishes for
//! partners to use with clients (flyers, brochures, brand files, videos),
//! by category, searched on the device, previewed, downloaded, shared as
//! files, and saved for offline use. A template comes as the partner's own
//! copy (their name, company and a referral link of theirs with its QR
//! code), made by the server. The library's list is kept on the device, so
//! it reads offline "as of"; a saved resource's files are kept whole in
//! the Cache Storage (`resources-v1`), which the service worker answers
//! from, so they open, download and share with no network. What the
//! partner does with them is recorded here and sent later ([`events`]).

mod events;

use std::collections::BTreeMap;

use wasm_bindgen_futures::spawn_local;
use web_common::{
    api::{self, Library, ResourceEntry},
    show,
};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::{engine, offline_files as files, share, text_search::Query};

/// The cache saved resources are kept in (`static/sw.js` answers the
/// library's files from it).
const CACHE: &str = "resources-v1";

/// The module's page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Page {
    Library,
}

impl crate::page::Page for Page {
    fn parse(name: &str) -> Option<Page> {
        (name == "resources").then_some(Page::Library)
    }

    fn name(&self) -> String {
        "resources".to_owned()
    }

    fn title(&self) -> &'static str {
        "Resources"
    }
}

/// Where the library's last list is kept, with when it was read.
fn list_key(account: &str) -> String {
    format!("resources:{account}")
}

/// Where the resources saved on the device are listed: each one's id and
/// the addresses its files are kept under.
fn saved_key(account: &str) -> String {
    format!("resources-saved:{account}")
}

type Saved = BTreeMap<String, Vec<String>>;

fn load_saved(account: &str) -> Saved {
    engine::local_get(&saved_key(account))
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

fn keep_saved(account: &str, saved: &Saved) {
    if let Ok(json) = serde_json::to_string(saved) {
        engine::local_set(&saved_key(account), &json);
    }
}

/// What a resource is kept offline as: the file as published, or for a
/// template the partner's copies (the PNG to show and share, the PDF to
/// print), with the size where it is known.
fn offline_files(entry: &ResourceEntry) -> Vec<(String, u64)> {
    match &entry.cobranded {
        Some(copies) => vec![(copies.png.clone(), 0), (copies.pdf.clone(), 0)],
        None => vec![(entry.file.clone(), entry.bytes.max(0) as u64)],
    }
}

fn urls(files: &[(String, u64)]) -> Vec<String> {
    files.iter().map(|(url, _)| url.clone()).collect()
}

fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        "image/svg+xml" => "svg",
        "application/pdf" => "pdf",
        "video/mp4" => "mp4",
        _ => "bin",
    }
}

fn kind_name(kind: &str) -> &'static str {
    match kind {
        "template" => "Your copy",
        "pdf" => "PDF",
        "video" => "Video",
        "image" => "Image",
        _ => "File",
    }
}

/// Sends what the device recorded whenever the app is online, on every
/// screen: use recorded offline reaches the server without the library
/// being opened again.
#[hook]
pub fn use_event_sender(account: Option<String>, online: bool) {
    use_effect_with((account, online), |(account, online)| {
        if let (Some(account), true) = (account, online) {
            events::send(account.clone());
        }
    });
}

#[derive(Properties, PartialEq)]
pub struct LibraryProps {
    pub account_id: AttrValue,
    pub online: bool,
}

#[function_component(LibraryPage)]
pub fn library_page(props: &LibraryProps) -> Html {
    let account = props.account_id.to_string();
    let library = use_state(|| {
        engine::local_get(&list_key(&account))
            .and_then(|json| serde_json::from_str::<(f64, Library)>(&json).ok())
    });
    let saved = use_state(|| load_saved(&account));
    let query = use_state(String::new);
    // What an action did or why it did not, said politely apart.
    let told = use_state(|| None::<String>);
    let failed = use_state(|| None::<String>);
    let open = use_state(|| None::<String>);
    let saving = use_state(|| None::<String>);

    // The list, asked for online as the page opens and when the network
    // comes back; kept for offline.
    {
        let (library, failed, account) = (library.clone(), failed.clone(), account.clone());
        use_effect_with(props.online, move |online| {
            if *online {
                spawn_local(async move {
                    let read = api::call("GET", "/api/resources", None)
                        .await
                        .map_err(|e| e.to_string())
                        .and_then(|answer| {
                            // Kept as the server wrote it, and read from
                            // that text as the kept copy is: one reader of
                            // the library, not one per source.
                            let json = format!("[{},{answer}]", js_sys::Date::now());
                            let kept = serde_json::from_str::<(f64, Library)>(&json)
                                .map_err(|e| e.to_string())?;
                            engine::local_set(&list_key(&account), &json);
                            Ok(kept)
                        });
                    match read {
                        Ok(kept) => {
                            failed.set(None);
                            library.set(Some(kept));
                        }
                        Err(e) => failed.set(Some(e)),
                    }
                });
            }
        });
    }
    // What is saved, checked against the device (a browser short of space
    // may have evicted it) and, online, against the library: a file
    // published again, or a copy made with a new name, is saved again in
    // its place; a resource withdrawn is taken off the device.
    {
        let (saved, account) = (saved.clone(), account.clone());
        let as_of = library.as_ref().map(|(at, _)| *at as u64);
        let list = library.as_ref().map(|(_, l)| l.clone());
        let online = props.online;
        use_effect_with(as_of, move |_| {
            spawn_local(async move {
                let mut now = load_saved(&account);
                for (id, kept_urls) in now.clone() {
                    let entry = list.as_ref().and_then(|l| {
                        l.categories
                            .iter()
                            .flat_map(|c| &c.resources)
                            .find(|r| r.id == id)
                            .cloned()
                    });
                    let want = entry.as_ref().map(offline_files);
                    let whole = files::kept(CACHE, &kept_urls)
                        .await
                        .map(|k| k.iter().all(|&k| k))
                        .unwrap_or(false);
                    match want {
                        None if online => {
                            let _ = files::remove(CACHE, &kept_urls).await;
                            now.remove(&id);
                        }
                        // (A download that fails leaves things as they
                        // were: the arms below.)
                        Some(want)
                            if online
                                && (urls(&want) != kept_urls || !whole)
                                && files::download(CACHE, &want, |_| {}).await.is_ok() =>
                        {
                            let stale: Vec<String> = kept_urls
                                .iter()
                                .filter(|u| !want.iter().any(|(w, _)| w == *u))
                                .cloned()
                                .collect();
                            let _ = files::remove(CACHE, &stale).await;
                            now.insert(id, urls(&want));
                        }
                        _ if !whole => {
                            now.remove(&id);
                        }
                        _ => {}
                    }
                }
                keep_saved(&account, &now);
                saved.set(now);
            });
        });
    }

    let on_search = {
        let query = query.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(input) = e.target_dyn_into::<HtmlInputElement>() {
                query.set(input.value());
            }
        })
    };

    let searched = Query::new(&query);
    let online = props.online;
    let card = |entry: &ResourceEntry| -> Html {
        let id = entry.id.clone();
        let is_saved = saved.contains_key(&id);
        let reachable = online || is_saved;
        let files_of = offline_files(entry);
        // What shows it: the partner's copy as a picture, an image as
        // itself, anything else by its kind.
        let picture = match &entry.cobranded {
            Some(copies) => Some(copies.png.clone()),
            None if entry.kind == "image" => Some(entry.file.clone()),
            None => None,
        };
        let opened = open.as_deref() == Some(id.as_str());
        let toggle = {
            let (open, id, account) = (open.clone(), id.clone(), account.clone());
            Callback::from(move |_| {
                if opened {
                    open.set(None);
                } else {
                    events::record(&account, &id, events::Kind::View);
                    open.set(Some(id.clone()));
                }
            })
        };
        // (label, address, what it is, name to share it as); a download
        // is named by the server.
        let downloads: Vec<(&str, String, events::Kind, String)> = match &entry.cobranded {
            Some(copies) => vec![
                (
                    "Download PNG",
                    copies.png.clone(),
                    events::Kind::Cobrand,
                    format!("{id}.png"),
                ),
                (
                    "Download PDF",
                    copies.pdf.clone(),
                    events::Kind::Cobrand,
                    format!("{id}.pdf"),
                ),
            ],
            None => vec![(
                "Download",
                entry.file.clone(),
                events::Kind::Download,
                format!("{id}.{}", extension(&entry.content_type)),
            )],
        };
        let share_it = {
            let (told, account, id, title) = (
                told.clone(),
                account.clone(),
                id.clone(),
                entry.title.clone(),
            );
            let (url, name) = (downloads[0].1.clone(), downloads[0].3.clone());
            Callback::from(move |_| {
                let (told, account, id, title, url, name) = (
                    told.clone(),
                    account.clone(),
                    id.clone(),
                    title.clone(),
                    url.clone(),
                    name.clone(),
                );
                spawn_local(async move {
                    match share::share_file(&title, &url, &name).await {
                        Ok(()) => {
                            events::record(&account, &id, events::Kind::Share);
                            told.set(None);
                        }
                        Err(why) => told.set(Some(why.to_owned())),
                    }
                });
            })
        };
        let save_it = {
            let (saved, saving, told, account, id, title) = (
                saved.clone(),
                saving.clone(),
                told.clone(),
                account.clone(),
                id.clone(),
                entry.title.clone(),
            );
            Callback::from(move |_| {
                let (saved, saving, told, account, id, title, files_of) = (
                    saved.clone(),
                    saving.clone(),
                    told.clone(),
                    account.clone(),
                    id.clone(),
                    title.clone(),
                    files_of.clone(),
                );
                spawn_local(async move {
                    let mut now = load_saved(&account);
                    if let Some(kept) = now.remove(&id) {
                        match files::remove(CACHE, &kept).await {
                            Ok(()) => told.set(Some(format!("{title} is off this device."))),
                            Err(e) => {
                                told.set(Some(format!("{title} could not be removed: {e}.")));
                                return;
                            }
                        }
                    } else {
                        saving.set(Some(id.clone()));
                        files::persist().await;
                        let done = files::download(CACHE, &files_of, |_| {}).await;
                        saving.set(None);
                        match done {
                            Ok(()) => {
                                now.insert(id.clone(), urls(&files_of));
                                told.set(Some(format!(
                                    "{title} is saved: it opens with no network."
                                )));
                            }
                            Err(e) => {
                                told.set(Some(format!("{title} was not saved: {e}.")));
                                return;
                            }
                        }
                    }
                    keep_saved(&account, &now);
                    saved.set(now);
                });
            })
        };
        let busy = saving.as_deref() == Some(id.as_str());
        let size = match (&entry.cobranded, entry.bytes) {
            (Some(_), _) => "your name and link".to_owned(),
            (None, b) => show::file_size(b.max(0) as u64),
        };
        html! {
            <li class="card resource" data-id={id.clone()}>
                <div class="resource-thumb" aria-hidden="true">
                    if let (Some(src), true) = (&picture, reachable) {
                        <img src={src.clone()} alt="" loading="lazy" />
                    } else {
                        <span>{ kind_name(&entry.kind) }</span>
                    }
                </div>
                <div class="resource-body">
                    <h3>{ &entry.title }</h3>
                    <p class="resource-what hint">
                        { format!("{} · {}", kind_name(&entry.kind), size) }
                        if is_saved { <strong class="saved">{ " · Saved on this device" }</strong> }
                    </p>
                    <p class="resource-description">{ &entry.description }</p>
                    if !reachable {
                        <p class="hint">{ "Not saved on this device: it needs the network." }</p>
                    }
                </div>
                if reachable {
                    <div class="resource-actions">
                        // A PDF is not previewed here: a phone opens it
                        // by downloading it.
                        if picture.is_some() || entry.kind == "video" {
                            <button aria-expanded={opened.to_string()} aria-controls={format!("preview-{id}")}
                                onclick={toggle}>
                                { if opened { "Close" } else { "Preview" } }
                                <span class="visually-hidden">{ format!(" {}", entry.title) }</span>
                            </button>
                        }
                        { for downloads.iter().map(|(label, url, kind, _)| {
                            let (account, id, kind) = (account.clone(), id.clone(), *kind);
                            html! {
                                <a class="button" href={url.clone()} download=""
                                    onclick={Callback::from(move |_| events::record(&account, &id, kind))}>
                                    { label }<span class="visually-hidden">{ format!(" {}", entry.title) }</span>
                                </a>
                            }
                        }) }
                        <button onclick={share_it}>
                            { "Share" }<span class="visually-hidden">{ format!(" {}", entry.title) }</span>
                        </button>
                        <button aria-pressed={is_saved.to_string()} onclick={save_it} disabled={busy}>
                            { if busy { "Saving…" } else if is_saved { "Saved offline" } else { "Save offline" } }
                            <span class="visually-hidden">{ format!(" {}", entry.title) }</span>
                        </button>
                    </div>
                }
                if opened {
                    <div id={format!("preview-{id}")} class="resource-preview">
                        if entry.kind == "video" {
                            <video src={entry.file.clone()} controls=true preload="metadata" aria-label={entry.title.clone()} />
                        } else if let Some(src) = &picture {
                            <img src={src.clone()} alt={format!("Preview of {}", entry.title)} />
                        }
                    </div>
                }
            </li>
        }
    };

    let body = match library.as_ref() {
        None => html! {
            <p class="hint" role="status">{ match (&*failed, online) {
                (Some(e), _) => format!("The library could not be read: {e}"),
                (None, true) => "Opening the library…".to_owned(),
                (None, false) => "The library has not been read on this device yet: it needs the network once.".to_owned(),
            } }</p>
        },
        Some((at, list)) => {
            let sections: Vec<Html> = list
                .categories
                .iter()
                .filter_map(|c| {
                    let found: Vec<Html> = c
                        .resources
                        .iter()
                        .filter(|r| searched.holds(&[&r.title, &r.description, &c.name]))
                        .map(card)
                        .collect();
                    (!found.is_empty()).then(|| {
                        html! {
                            <section class="resource-category" aria-labelledby={format!("category-{}", c.id)}>
                                <h2 id={format!("category-{}", c.id)}>{ &c.name }</h2>
                                <ul class="resource-list">{ for found }</ul>
                            </section>
                        }
                    })
                })
                .collect();
            html! {
                <>
                    if !online {
                        <p class="note" role="note">{ format!("Offline: the library as of {}. Saved resources open, download and share; the others need the network.", show::when(*at as i64)) }</p>
                    }
                    if sections.is_empty() {
                        <p class="hint" role="status">{ format!("Nothing in the library matches “{}”.", query.trim()) }</p>
                    }
                    <div class="resource-categories">{ for sections }</div>
                </>
            }
        }
    };

    html! {
        <section class="resources-page">
            <p class="hint">{ "Flyers, brochures and brand files to use with clients. A template comes with your name and a referral link of your own: orders through it are yours." }</p>
            <p class="resources-links"><a href="#links">{ "Your referral links" }</a></p>
            <div class="resource-search">
                <label for="resource-search">{ "Search the library" }</label>
                <input id="resource-search" type="search" value={(*query).clone()} oninput={on_search}
                    autocomplete="off" placeholder="e.g. flyer, brochure, logo" />
            </div>
            <p class="hint" role="status" aria-live="polite">{ told.as_deref().unwrap_or("") }</p>
            { body }
        </section>
    }
}
