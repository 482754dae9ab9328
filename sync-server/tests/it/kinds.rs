//! Document kinds are spelled once, `sync::DocKind`: the schema's CHECK on
//! `documents.kind` must allow exactly those (a kind the code knows and
//! the database refuses would fail at the first insert; one the database
//! allows and the code does not would make a document nobody can read),
//! and the `kind` field `model` writes into a document is its registry
//! kind's word.

use std::path::Path;

use sync::DocKind;

/// The kinds the latest `documents_kind_known` constraint in `schema/`
/// allows, in the order written.
fn schema_kinds() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    let mut latest = None;
    for file in files {
        let sql = std::fs::read_to_string(&file).unwrap();
        let mut rest = sql.as_str();
        while let Some(at) = rest.find("documents_kind_known") {
            rest = &rest[at..];
            let list = rest
                .find("kind IN (")
                .map(|i| &rest[i + "kind IN (".len()..])
                .and_then(|l| l.split_once(')'))
                .map(|(inside, _)| inside);
            if let Some(inside) = list {
                latest = Some(
                    inside
                        .split(',')
                        .map(|w| w.trim().trim_matches('\'').to_owned())
                        .collect::<Vec<_>>(),
                );
            }
            rest = &rest["documents_kind_known".len()..];
        }
    }
    latest.expect("schema/ constrains documents.kind")
}

#[test]
fn the_schema_allows_exactly_the_kinds_the_code_knows() {
    let code: Vec<&str> = DocKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(schema_kinds(), code);
    for kind in DocKind::ALL {
        assert_eq!(DocKind::parse(kind.as_str()).unwrap(), kind);
    }
}

#[test]
fn documents_name_their_registry_kind() {
    assert_eq!(model::PIPELINE_KIND, DocKind::Pipeline.as_str());
    assert_eq!(model::ACCOUNT_VIEW_KIND, DocKind::AccountView.as_str());
    assert_eq!(model::CHANNEL_KIND, DocKind::Channel.as_str());
    assert_eq!(model::MESSAGES_KIND, DocKind::Messages.as_str());
    assert_eq!(model::INBOX_KIND, DocKind::Inbox.as_str());
}
