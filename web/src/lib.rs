//! The partner PWA.
//!
//! Everything a partner edits is written to a local Automerge document first
//! and shown at once, by the sync engine (`web-engine`, a wasm module of
//! its own in a dedicated worker: samod, IndexedDB), which syncs it with the
//! server over `/sync` whenever a connection exists. This module is the
//! screens: a Yew app with its state in one reducer, which asks the engine
//! for documents and sends it changes as data (`engine-protocol`).
//!
//! Three layers, each importing only from those below it:
//! - `shell`: the app (session, sync engine, router by hash, header and
//!   sync badge); it composes the product modules, the one part that knows
//!   them all.
//! - product modules, a folder each: `dashboard` (the home: tier, the
//!   first-run checklist, follow-ups due, figures, the latest notices),
//!   `profile` (what the programme needs to know of the person),
//!   `pipeline` (leads by stage, in the
//!   partner's pipeline document), `earnings` (money and tier, read from the
//!   account view the server writes), `notifications` (the inbox the
//!   server writes, the bell, push on this device). They import neither each other nor
//!   the shell.
//! - the platform, which knows no product module: `engine` (the worker, as
//!   the screens see it), `document` (follow a document and write into it),
//!   `view_cache` (the last readings, kept), `clock`, `page` (how a module
//!   names its pages), `focus` and `layout` (where focus goes, which layout
//!   the screen has), `share` (the share sheet, the clipboard).
//!
//! The server's JSON API, the sign-in form and how figures read are shared
//! with the back-office (a bundle of its own, for admins) in `web-common`.
//! The view cache is public for the browser tests in `tests/`.

mod clock;
mod document;
mod engine;
mod focus;
mod layout;
mod offline_files;
mod page;
mod picture;
mod share;
mod text_search;
pub mod view_cache;

mod chat;
mod dashboard;
mod earnings;
mod leaderboard;
mod notifications;
mod pipeline;
mod profile;
mod referrals;
mod resources;
mod team;
mod training;

mod shell;

use wasm_bindgen::prelude::*;

#[wasm_bindgen(start)]
pub fn start() {
    // No panic hook: the bundles are built so that a panic traps at once,
    // with no message to show (crates/xtask/src/web.rs, `wasm_release`).
    clock::mark("app-start");
    if let Some(window) = web_sys::window() {
        // The app shell works offline once the service worker has cached it.
        let _ = window.navigator().service_worker().register("/sw.js");
    }
    yew::Renderer::<shell::App>::new().render();
}

#[cfg(test)]
mod tests {
    use std::{fs, path::Path};

    /// The first segment of every path this source names from `crate::`,
    /// grouped imports (`crate::{a, b::c}`) included.
    fn crate_paths(source: &str) -> Vec<String> {
        let segment = |path: &str| {
            path.trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
        };
        let mut found = Vec::new();
        for (at, _) in source.match_indices("crate::") {
            let rest = &source[at + "crate::".len()..];
            let Some(group) = rest.strip_prefix('{') else {
                let end = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                found.push(rest[..end].to_owned());
                continue;
            };
            // The group's items at its own depth, nested groups left out.
            let (mut depth, mut item) = (0, String::new());
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => found.push(segment(&std::mem::take(&mut item))),
                    c if depth == 0 => item.push(c),
                    _ => {}
                }
            }
            found.push(segment(&item));
        }
        found.retain(|s| !s.is_empty());
        found
    }

    fn sources(dir: &Path) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                found.extend(sources(&path));
            } else if path.extension().is_some_and(|e| e == "rs") {
                let source = fs::read_to_string(&path).unwrap();
                found.push((path.display().to_string(), source));
            }
        }
        found
    }

    /// The layers of the crate's documentation, checked: a product module
    /// (a folder other than the shell) names neither another module nor the
    /// shell; the platform (the files beside `lib.rs`) names no module.
    #[test]
    fn nothing_imports_upward_or_sideways() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut folders = Vec::new();
        let mut platform = Vec::new();
        for entry in fs::read_dir(&src).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                folders.push(name);
            } else if name != "lib" {
                platform.push(path);
            }
        }
        assert!(folders.iter().any(|f| f == "shell") && folders.len() > 2);
        let mut wrong = Vec::new();
        for folder in folders.iter().filter(|f| *f != "shell") {
            for (file, source) in sources(&src.join(folder)) {
                assert!(!source.contains("super::super"), "{file}");
                for named in crate_paths(&source) {
                    if folders.contains(&named) && named != *folder {
                        wrong.push(format!("{file} names crate::{named}"));
                    }
                }
            }
        }
        for file in platform {
            let source = fs::read_to_string(&file).unwrap();
            for named in crate_paths(&source) {
                if folders.contains(&named) {
                    wrong.push(format!("{} names crate::{named}", file.display()));
                }
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn paths_are_read_from_grouped_imports() {
        let source = "use crate::{clock, document::{Edit, Doc}, engine as e};\n\
                      let x = crate::pipeline::stage_label(s);";
        assert_eq!(
            crate_paths(source),
            ["clock", "document", "engine", "pipeline"]
        );
    }
}
