//! The server's module graph, checked: dependencies go one way, from the
//! composition root down to the platform, as `docs/architecture.md`
//! ("Layers") states. A module that imports one of a higher layer, or two
//! files of one folder that import each other (directly or round a
//! longer loop), fail here with the file and the import named.
//!
//! Reads the sources as text: an import is `crate::<module>` (in a path or
//! a `use crate::{...}` group) and, inside a folder, `super::<file>`.
//! Comments are skipped.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

/// The server's top-level modules, lowest first: each may import only
/// those before it. A new product module is added to this list, above
/// the modules it builds on and below `seed`.
const LAYERS: &[&str] = &[
    "events",
    "platform",
    "http",
    "accounts",
    "notifications",
    "pipeline",
    "training",
    "chat",
    "referrals",
    "money",
    "shop",
    "resources",
    "account_view",
    "team",
    "leaderboards",
    // The composition root: knows every module.
    "seed",
    "state",
    "startup",
];

/// The crate root: its items (`lock`, the re-exported `start`) may be
/// used by any module.
const ROOT: &str = "lib";

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its comments (line comments, doc comments;
/// block comments are not used in this crate).
fn code(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            // `//` inside a string literal (a URL) is rare enough here to
            // ignore: it can only hide an import, never invent one.
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The names a file imports from the crate's root: `crate::a::b` gives
/// `[a, b]`; a `use crate::{a::{x, y}, b}` group gives `[a, x]`, `[b]`...
/// only the first two segments matter here.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let end = matching_brace(group);
            for item in split_top_level(&group[..end]) {
                paths.push(segments(&item));
            }
            rest = &group[end..];
        } else {
            paths.push(segments(after));
            rest = after;
        }
    }
    paths
}

/// `super::x` paths: in a folder's file, `x` is a sibling file.
fn super_paths(code: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("super::") {
        let after = &rest[at + "super::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let end = matching_brace(group);
            for item in split_top_level(&group[..end]) {
                names.extend(segments(&item).into_iter().next());
            }
            rest = &group[end..];
        } else {
            names.extend(segments(after).into_iter().next());
            rest = after;
        }
    }
    names
}

fn matching_brace(s: &str) -> usize {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return i,
            '}' => depth -= 1,
            _ => {}
        }
    }
    s.len()
}

fn split_top_level(s: &str) -> Vec<String> {
    let mut items = vec![String::new()];
    let mut depth = 0;
    for c in s.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(String::new());
                continue;
            }
            _ => {}
        }
        items.last_mut().unwrap().push(c);
    }
    items.retain(|i| !i.trim().is_empty());
    items
}

/// `a::b::{c, d}` → `[a, b]`; `a::b` → `[a, b]`; `a` → `[a]`.
fn segments(path: &str) -> Vec<String> {
    path.trim()
        .split("::")
        .map(|s| {
            s.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .take_while(|s| !s.is_empty())
        .take(2)
        .collect()
}

/// One file of the graph: its top-level module and, in a folder, its
/// name there (`platform/guard.rs` → `("platform", Some("guard"))`).
fn place(src: &Path, file: &Path) -> (String, Option<String>) {
    let relative = file.strip_prefix(src).unwrap();
    let parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    match parts.as_slice() {
        [one] => (one.clone(), None),
        [folder, file, ..] => (folder.clone(), (file != "mod").then(|| file.clone())),
        [] => unreachable!(),
    }
}

/// Edges between top-level modules (with the file that makes each) and,
/// per folder, between its files.
struct Graph {
    modules: BTreeMap<(String, String), BTreeSet<String>>,
    files: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    /// Files that import through a glob of the crate root, whose imports
    /// this check cannot see.
    globs: BTreeSet<String>,
}

/// The items the crate root re-exports (`pub use startup::{start, ..}` in
/// `lib.rs`), by the module they come from: importing `crate::start` is
/// importing `startup`.
fn root_reexports(src: &Path) -> BTreeMap<String, String> {
    let lib = code(&fs::read_to_string(src.join("lib.rs")).unwrap_or_default());
    let mut items = BTreeMap::new();
    for statement in lib.split(';') {
        let Some(path) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, rest)) = path.split_once("::") else {
            continue;
        };
        let names = rest.trim_start_matches('{').trim_end_matches('}');
        for name in names.split(',') {
            let name = name.trim().rsplit("::").next().unwrap_or("").trim();
            if !name.is_empty() {
                items.insert(name.to_owned(), module.trim().to_owned());
            }
        }
    }
    items
}

fn graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    sources(src, &mut files);
    files.sort();
    let mut graph = Graph {
        modules: BTreeMap::new(),
        files: BTreeMap::new(),
        globs: BTreeSet::new(),
    };
    let reexports = root_reexports(src);
    // The top-level modules; any other `crate::x` is an item of the root.
    let modules: BTreeSet<String> = files.iter().map(|f| place(src, f).0).collect();
    for file in files {
        let (module, inner) = place(src, &file);
        if module == "main" {
            continue;
        }
        let mut text = code(&fs::read_to_string(&file).unwrap());
        let shown = file.strip_prefix(src).unwrap().display().to_string();
        if inner.is_some() {
            // In a folder's file, `super::super` is the crate root.
            text = text.replace("super::super::", "crate::");
        }
        if text.contains("crate::*") {
            graph.globs.insert(shown.clone());
        }
        let mut paths = crate_paths(&text);
        let at_root = file.parent() == Some(src);
        if inner.is_none() {
            // In a folder's `mod.rs`, `super` is the crate root; in a
            // top-level file too, outside its inline test module, where
            // `super::x` names the file's own items (never a module).
            let folder_mod = !at_root;
            for name in super_paths(&text) {
                if folder_mod || modules.contains(&name) {
                    paths.push(vec![name]);
                }
            }
        }
        for mut path in paths {
            let Some(first) = path.first().cloned() else {
                continue;
            };
            if let Some(module) = reexports.get(&first) {
                path = vec![module.clone()];
            }
            let target = &path[0];
            if !modules.contains(target) || target == ROOT {
                continue;
            }
            if target != &module {
                graph
                    .modules
                    .entry((module.clone(), target.clone()))
                    .or_default()
                    .insert(shown.clone());
            } else if let (Some(from), Some(to)) = (&inner, path.get(1))
                && from != to
            {
                graph
                    .files
                    .entry(module.clone())
                    .or_default()
                    .entry(from.clone())
                    .or_default()
                    .insert(to.clone());
            }
        }
        if let Some(from) = &inner {
            // `super::x` in a folder's file: its sibling `x` (when one
            // exists; `super::*` in a test module is the file itself).
            let folder = file.parent().unwrap();
            for to in super_paths(&text) {
                if &to != from && folder.join(format!("{to}.rs")).exists() {
                    graph
                        .files
                        .entry(module.clone())
                        .or_default()
                        .entry(from.clone())
                        .or_default()
                        .insert(to);
                }
            }
        }
    }
    graph
}

/// A loop among `edges`, if any, as the files round it.
fn a_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

/// What is wrong with `graph` against [`LAYERS`], in words.
fn violations(graph: &Graph) -> Vec<String> {
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut wrong = Vec::new();
    let mut seen = BTreeSet::new();
    for ((from, to), files) in &graph.modules {
        for module in [from, to] {
            if rank(module).is_none() && seen.insert(module.clone()) {
                wrong.push(format!(
                    "module `{module}` has no layer: add it to LAYERS in tests/it/layout.rs \
                     and to \"Layers\" in docs/architecture.md"
                ));
            }
        }
        if let (Some(f), Some(t)) = (rank(from), rank(to))
            && t >= f
        {
            wrong.push(format!(
                "`{from}` imports `{to}`, a module of its own or a higher layer ({})",
                files.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    for file in &graph.globs {
        wrong.push(format!(
            "{file} imports `crate::*`: name what it imports, so its layer can be checked"
        ));
    }
    for (folder, edges) in &graph.files {
        if let Some(cycle) = a_cycle(edges) {
            wrong.push(format!(
                "files of `{folder}/` import each other: {}",
                cycle.join(" -> ")
            ));
        }
    }
    wrong
}

#[test]
fn the_server_imports_only_downward() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph(&src);
    // The graph, for whoever wants to see it: `cargo test -p sync-server
    // --test it layout -- --nocapture`.
    for ((from, to), files) in &graph.modules {
        println!("{from} -> {to}  ({})", files.len());
    }
    let wrong = violations(&graph);
    assert!(
        wrong.is_empty(),
        "the module graph is wrong:\n{}",
        wrong.join("\n")
    );
    // The check sees imports: the platform is imported, and by more than
    // one module (a parser that found nothing would pass everything).
    let importers_of_platform = graph
        .modules
        .keys()
        .filter(|(_, to)| to == "platform")
        .count();
    assert!(importers_of_platform >= 3, "{:?}", graph.modules.keys());
}

#[test]
fn upward_imports_and_loops_are_caught() {
    let dir = std::env::temp_dir().join(format!("layout-{}", std::process::id()));
    let write = |path: &str, text: &str| {
        let file = dir.join(path);
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(file, text).unwrap();
    };
    write("platform/mod.rs", "pub mod a;\npub mod b;\n");
    // Upward, in a group, past a comment that must not count.
    write(
        "platform/a.rs",
        "// crate::startup is only named here\nuse crate::{events::X, money::ledger::{self, Y}};\nuse super::b;\n",
    );
    write("platform/b.rs", "fn f() { super::a::g() }\n");
    write("money/mod.rs", "use crate::platform::a;\n");
    write("gadgets.rs", "use crate::platform;\n");
    // The root's re-export of `startup`, a `super` from a folder's
    // `mod.rs` and a `super::super` from a folder's file: all upward.
    write("lib.rs", "pub use startup::{Server, start};\n");
    write("startup.rs", "");
    write("events.rs", "fn f() { crate::start() }\n");
    write("http/mod.rs", "use super::money::x;\n");
    write("http/a.rs", "use super::super::startup;\nuse crate::*;\n");
    let wrong = violations(&graph(&dir));
    fs::remove_dir_all(&dir).unwrap();
    let text = wrong.join("\n");
    assert!(text.contains("`platform` imports `money`"), "{text}");
    assert!(!text.contains("`platform` imports `events`"), "{text}");
    assert!(!text.contains("`platform` imports `startup`"), "{text}");
    assert!(
        text.contains("files of `platform/` import each other"),
        "{text}"
    );
    assert!(text.contains("module `gadgets` has no layer"), "{text}");
    assert!(!text.contains("`money` imports `platform`"), "{text}");
    assert!(text.contains("`events` imports `startup`"), "{text}");
    assert!(text.contains("`http` imports `money`"), "{text}");
    assert!(text.contains("`http` imports `startup`"), "{text}");
    assert!(text.contains("http/a.rs imports `crate::*`"), "{text}");
}
