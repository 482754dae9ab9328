//! Which kind each document is, remembered: a document's kind is set when
//! it is registered (`documents.kind`) and never changes, so once read it
//! is known for good. The composition root uses it to hand each stored
//! document to the one projection of its kind, rather than to every
//! projection, each of which would ask the database whether it is theirs
//! (four lookups, and four workers woken, for every chunk written).

use std::{collections::HashMap, sync::Mutex};

use sqlx::PgPool;
use sync::DocKind;

/// Kinds remembered at most; past it the memory starts again (a document
/// asked about again is looked up once more). Ids of a hundred thousand
/// documents are a few MiB.
const REMEMBERED: usize = 100_000;

pub struct DocKinds {
    pool: PgPool,
    known: Mutex<HashMap<String, DocKind>>,
}

impl DocKinds {
    pub fn new(pool: PgPool) -> DocKinds {
        DocKinds {
            pool,
            known: Mutex::new(HashMap::new()),
        }
    }

    /// The kind of `doc_id`; `None` when it is not registered (yet: one
    /// may be stored before its registration commits, so that is not
    /// remembered) or the database cannot say now.
    pub async fn of(&self, doc_id: &str) -> Option<DocKind> {
        if let Some(kind) = self.lock().get(doc_id) {
            return Some(*kind);
        }
        let kind: String = match sqlx::query_scalar("SELECT kind FROM documents WHERE doc_id = $1")
            .bind(doc_id)
            .fetch_optional(&self.pool)
            .await
        {
            Ok(Some(kind)) => kind,
            Ok(None) => return None,
            Err(error) => {
                tracing::warn!(%error, doc_id, "a document's kind cannot be read");
                return None;
            }
        };
        let kind = DocKind::parse(&kind).ok()?;
        let mut known = self.lock();
        if known.len() >= REMEMBERED {
            known.clear();
        }
        known.insert(doc_id.to_owned(), kind);
        Some(kind)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, DocKind>> {
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
