//! PDFs made on the server (certificates, payout statements): a typst
//! template of this repository (`sync-server/templates/`) laid out with
//! its inputs (`sys.inputs`, plain strings the caller has formatted for
//! the reader), in process, by typst as a library.
//!
//! Reproducible: the fonts are typst's own, embedded in the binary (no
//! system font, no package download), the document's date and identifier
//! come from the caller, so the same inputs make the same bytes, which is
//! what lets a PDF be stored by its hash and made again from frozen data.
//!
//! typst memoizes through a process-wide cache (`comemo`) that only grows
//! unless evicted: every render, failed or not, evicts what is older than
//! a few renders (the typst CLI does the same). Renders run one at a time
//! on the blocking pool, so a burst of them never takes every core.

use std::sync::{Arc, LazyLock};

use chrono::{DateTime, Datelike, Timelike, Utc};
use tokio::sync::Semaphore;
use typst::{
    Library, LibraryExt, World,
    diag::{FileError, FileResult},
    foundations::{Bytes, Datetime, Dict, IntoValue, Smart, Str},
    syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot},
    text::{Font, FontBook},
    utils::LazyHash,
};
use typst_layout::PagedDocument;

/// The fonts, read once from the binary.
static FONTS: LazyLock<(LazyHash<FontBook>, Vec<Font>)> = LazyLock::new(|| {
    let fonts: Vec<Font> = typst_assets::fonts()
        .flat_map(|data| Font::iter(Bytes::new(data)))
        .collect();
    (LazyHash::new(FontBook::from_fonts(&fonts)), fonts)
});

/// One render at a time.
static RENDERS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| Arc::new(Semaphore::new(1)));

struct Template {
    library: LazyHash<Library>,
    main: Source,
    today: Datetime,
}

impl World for Template {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &FONTS.0
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            // Templates import nothing: no file but themselves exists.
            Err(FileError::AccessDenied)
        }
    }

    fn file(&self, _id: FileId) -> FileResult<Bytes> {
        Err(FileError::AccessDenied)
    }

    fn font(&self, index: usize) -> Option<Font> {
        FONTS.1.get(index).cloned()
    }

    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        Some(self.today)
    }
}

fn datetime(at: DateTime<Utc>) -> Option<Datetime> {
    Datetime::from_ymd_hms(
        at.year(),
        at.month() as u8,
        at.day() as u8,
        at.hour() as u8,
        at.minute() as u8,
        at.second() as u8,
    )
}

/// Lays out `template` with `inputs` as of `at` (the document's date),
/// identified by `ident` (stable for the same document), into a PDF.
pub fn render_now(
    template: &str,
    inputs: &[(&str, String)],
    at: DateTime<Utc>,
    ident: &str,
) -> anyhow::Result<Vec<u8>> {
    let inputs: Dict = inputs
        .iter()
        .map(|(k, v)| (Str::from(*k), v.as_str().into_value()))
        .collect();
    let id = RootedPath::new(
        VirtualRoot::Project,
        VirtualPath::new("/main.typ").map_err(|e| anyhow::anyhow!("{e:?}"))?,
    )
    .intern();
    let when = datetime(at).ok_or_else(|| anyhow::anyhow!("{at} is no date typst knows"))?;
    let world = Template {
        library: LazyHash::new(Library::builder().with_inputs(inputs).build()),
        main: Source::new(id, template.to_owned()),
        today: when,
    };
    let compiled = typst::compile::<PagedDocument>(&world).output;
    let result = compiled
        .map_err(|errors| {
            let said: Vec<String> = errors.iter().map(|e| e.message.to_string()).collect();
            anyhow::anyhow!("the template does not lay out: {}", said.join("; "))
        })
        .and_then(|document| {
            let options = typst_pdf::PdfOptions {
                ident: Smart::Custom(ident.to_owned()),
                timestamp: Some(typst_pdf::Timestamp::new_utc(when)),
                ..Default::default()
            };
            typst_pdf::pdf(&document, &options).map_err(|errors| {
                let said: Vec<String> = errors.iter().map(|e| e.message.to_string()).collect();
                anyhow::anyhow!("the PDF is not written: {}", said.join("; "))
            })
        });
    // Whatever happened: typst's cache keeps only the last few renders.
    comemo::evict(10);
    result
}

/// [`render_now`] on the blocking pool, one render at a time.
pub async fn render(
    template: &'static str,
    inputs: Vec<(&'static str, String)>,
    at: DateTime<Utc>,
    ident: String,
) -> anyhow::Result<Vec<u8>> {
    let _turn = RENDERS.clone().acquire_owned().await?;
    tokio::task::spawn_blocking(move || render_now(template, &inputs, at, &ident)).await?
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "#set page(width: 10cm, height: 5cm)\nHello, #sys.inputs.name!";

    #[test]
    fn the_same_inputs_make_the_same_bytes() {
        let at = DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        let one = render_now(TEMPLATE, &[("name", "Ben".into())], at, "x").unwrap();
        let two = render_now(TEMPLATE, &[("name", "Ben".into())], at, "x").unwrap();
        assert!(one.starts_with(b"%PDF-"));
        assert_eq!(one, two);
        let other = render_now(TEMPLATE, &[("name", "Ana".into())], at, "x").unwrap();
        assert_ne!(one, other);
    }

    #[test]
    fn a_template_that_does_not_lay_out_says_why() {
        let at = DateTime::from_timestamp(0, 0).unwrap();
        let error = render_now("#sys.inputs.missing", &[], at, "x").unwrap_err();
        assert!(error.to_string().contains("does not lay out"), "{error}");
        // An input is text, never markup: a name with typst syntax stays a name.
        let pdf = render_now(TEMPLATE, &[("name", "#panic(\"no\")".into())], at, "x").unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
    }
}
