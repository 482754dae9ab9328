//! The catalog over Automerge: written by the server only.

use automerge::{ROOT, ReadDoc, transaction::Transactable};

use super::{CATALOG_KIND, Catalog, MAX_MANIFEST_BYTES};
use crate::{
    ModelError, Timestamp,
    read::{Entries, check_kind},
};

const SCHEMA: u64 = 1;

pub struct CatalogDoc;

impl CatalogDoc {
    /// Makes `doc` hold `catalog`: an empty document becomes a catalog; a
    /// catalog holding the same version is left alone.
    pub fn write(doc: &mut automerge::Automerge, catalog: &Catalog) -> Result<(), ModelError> {
        if doc.keys(ROOT).next().is_some() {
            check_kind(doc, CATALOG_KIND, SCHEMA)?;
            if CatalogDoc::read(doc).is_ok_and(|held| held == *catalog) {
                return Ok(());
            }
        }
        if catalog.manifest.len() > MAX_MANIFEST_BYTES {
            return Err(ModelError::Invalid {
                what: "manifest",
                why: format!("is longer than {MAX_MANIFEST_BYTES} bytes"),
            });
        }
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "schema", SCHEMA)?;
            tx.put(ROOT, "kind", CATALOG_KIND)?;
            tx.put(ROOT, "track_id", catalog.track_id.as_str())?;
            tx.put(ROOT, "version", u64::from(catalog.version))?;
            tx.put(
                ROOT,
                "published_at",
                automerge::ScalarValue::Timestamp(catalog.published_at.0),
            )?;
            tx.put(ROOT, "manifest", catalog.manifest.as_str())?;
            Ok(())
        })
        .map_err(|failure| ModelError::from(failure.error))?;
        Ok(())
    }

    pub fn read(doc: &impl ReadDoc) -> Result<Catalog, ModelError> {
        check_kind(doc, CATALOG_KIND, SCHEMA)?;
        let root = Entries::of(doc, &ROOT);
        let bad = |field| ModelError::BadField { field };
        let manifest = root.str("manifest").ok_or(bad("manifest"))?;
        if manifest.len() > MAX_MANIFEST_BYTES {
            return Err(bad("manifest"));
        }
        Ok(Catalog {
            track_id: root.str("track_id").ok_or(bad("track_id"))?,
            version: root
                .integer("version")
                .and_then(|v| u32::try_from(v).ok())
                .ok_or(bad("version"))?,
            published_at: Timestamp(root.int("published_at").ok_or(bad("published_at"))?),
            manifest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog(version: u32) -> Catalog {
        Catalog {
            track_id: "selling".into(),
            version,
            published_at: Timestamp(1_700_000_000_000),
            manifest: format!("{{\"version\":{version}}}"),
        }
    }

    #[test]
    fn a_catalog_reads_back_and_a_new_version_replaces_it() {
        let mut doc = automerge::Automerge::new();
        CatalogDoc::write(&mut doc, &catalog(1)).unwrap();
        assert_eq!(CatalogDoc::read(&doc).unwrap(), catalog(1));
        let heads = doc.get_heads();
        CatalogDoc::write(&mut doc, &catalog(1)).unwrap();
        assert_eq!(
            doc.get_heads(),
            heads,
            "the same version again wrote something"
        );
        CatalogDoc::write(&mut doc, &catalog(2)).unwrap();
        assert_eq!(CatalogDoc::read(&doc).unwrap(), catalog(2));
    }

    #[test]
    fn another_kind_is_neither_read_nor_overwritten() {
        let mut doc = automerge::Automerge::new();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "kind", "pipeline")?;
            tx.put(ROOT, "schema", 1u64)?;
            Ok(())
        })
        .unwrap();
        assert!(matches!(
            CatalogDoc::write(&mut doc, &catalog(1)),
            Err(ModelError::WrongKind { .. })
        ));
        assert!(CatalogDoc::read(&doc).is_err());
    }
}
