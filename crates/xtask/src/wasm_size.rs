//! `cargo xtask wasm-size`: what the partner app's two wasm modules (the
//! screens, the sync engine) are made of, by crate.
//!
//! The shipped wasm has no names, so the bindgen output (which has them) is
//! optimised again as the build does, keeping its name section
//! (`wasm-opt -Oz --debuginfo`), and every function body is counted
//! against the crate its name starts with: for `<T as Trait>::f` the crate
//! of `T`, so a generic from `core` or `alloc` instantiated for automerge's
//! types counts as core's or alloc's. Data segments are counted apart.
//! The sizes are raw bytes of the optimised module; brotli shrinks them all
//! roughly alike (to about a third).

use std::{collections::HashMap, fs, path::Path, process::Command};

use anyhow::{Context, Result};
use wasmparser::{KnownCustom, Name, Parser, Payload};

use crate::exec;

/// How many crates the report names.
const SHOWN: usize = 15;

pub fn report(root: &Path) -> Result<()> {
    crate::web::build(root)?;
    let mut out = String::new();
    for (krate, what) in [
        ("web", "the partner app's screens"),
        ("web-engine", "the partner app's sync engine"),
    ] {
        let named = root.join(format!("target/wasm/named-{krate}.wasm"));
        exec(
            Command::new(root.join("web/node_modules/.bin/wasm-opt"))
                .args(["-Oz", "--debuginfo"])
                .arg(root.join(format!("target/wasm/bindgen/{krate}/app_bg.wasm")))
                .arg("-o")
                .arg(&named),
        )?;
        let bytes = fs::read(&named).with_context(|| format!("reading {}", named.display()))?;
        let sizes = by_crate(&bytes)?;
        let total: usize = sizes.iter().map(|(_, n)| n).sum();
        out += &format!("{what}: wasm by crate (raw bytes, {total} B counted)\n");
        for (name, n) in sizes.iter().take(SHOWN) {
            out += &format!(
                "{n:>9} B {:>5.1}%  {name}\n",
                100.0 * *n as f64 / total as f64
            );
        }
    }
    print!("{out}");
    fs::write(root.join("target/wasm/size-by-crate.txt"), out)?;
    Ok(())
}

/// Bytes of function bodies per crate, and of data segments, largest first.
fn by_crate(wasm: &[u8]) -> Result<Vec<(String, usize)>> {
    let mut imported = 0u32;
    let mut bodies = Vec::new();
    let mut names = HashMap::new();
    let mut data = 0usize;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::ImportSection(imports) => {
                for import in imports.into_imports() {
                    if matches!(import?.ty, wasmparser::TypeRef::Func(_)) {
                        imported += 1;
                    }
                }
            }
            Payload::CodeSectionEntry(body) => bodies.push(body.range().len()),
            Payload::DataSection(segments) => {
                for segment in segments {
                    data += segment?.data.len();
                }
            }
            Payload::CustomSection(section) => {
                if let KnownCustom::Name(reader) = section.as_known() {
                    for name in reader {
                        if let Name::Function(map) = name? {
                            for naming in map {
                                let naming = naming?;
                                names.insert(naming.index, naming.name.to_owned());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let mut sizes: HashMap<String, usize> = HashMap::new();
    for (i, size) in bodies.into_iter().enumerate() {
        let name = names
            .get(&(imported + i as u32))
            .map(|n| crate_of(&rustc_demangle::demangle(n).to_string()))
            .unwrap_or_else(|| "(unnamed)".to_owned());
        *sizes.entry(name).or_default() += size;
    }
    sizes.insert("(data segments)".to_owned(), data);
    let mut sizes: Vec<_> = sizes.into_iter().collect();
    sizes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(sizes)
}

/// The crate a demangled function name belongs to: the first path segment,
/// or for `<T as Trait>::f` and `<T>::f` that of `T`.
fn crate_of(name: &str) -> String {
    let name = name.trim_start_matches(['<', '&', '*']);
    let name = name
        .strip_prefix("mut ")
        .or_else(|| name.strip_prefix("const "))
        .or_else(|| name.strip_prefix("dyn "))
        .unwrap_or(name)
        .trim_start_matches(['<', '&', '*', '(', '[']);
    let end = name
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(name.len());
    match &name[..end] {
        "" => "(other)".to_owned(),
        krate => krate.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::crate_of;

    #[test]
    fn names_are_counted_against_the_crate_of_their_type() {
        for (name, krate) in [
            ("samod::Inner::handle_event", "samod"),
            ("<automerge::OpSet>::load", "automerge"),
            (
                "<&mut serde_json::de::Deserializer<R> as serde::Deserializer>::deserialize_seq",
                "serde_json",
            ),
            ("core::ptr::drop_in_place<web::shell::App>", "core"),
            ("<[T] as core::fmt::Debug>::fmt", "T"),
            ("<*const u8 as core::fmt::Pointer>::fmt", "u8"),
            ("hashbrown::raw::RawTable<T>::reserve_rehash", "hashbrown"),
            ("__wbindgen_malloc", "__wbindgen_malloc"),
            ("", "(other)"),
        ] {
            assert_eq!(crate_of(name), krate, "{name}");
        }
    }
}
