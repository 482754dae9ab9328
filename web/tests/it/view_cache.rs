//! The view cache in a real IndexedDB: a reading kept is read back as kept,
//! per account; what does not read as the type asked for reads as nothing.

use model::{Currency, LeadDraft, LeadId, Money, PartnerId, Pipeline, PipelineDoc, Timestamp};
use wasm_bindgen_test::wasm_bindgen_test;
use web::view_cache::ViewCache;

fn pipeline() -> Pipeline {
    let mut doc = automerge::Automerge::new();
    PipelineDoc::init(&mut doc, &PartnerId::parse("p-cache").unwrap()).unwrap();
    let draft = LeadDraft::parse(
        "Ada Obi",
        "Obi Health",
        "",
        "",
        Money::new(120_000, Currency::parse("USD").unwrap()),
        "é, \"quotes\" and\nnew lines",
    )
    .unwrap();
    PipelineDoc::add_lead(
        &mut doc,
        &LeadId::parse("l1").unwrap(),
        &draft,
        Timestamp(1),
    )
    .unwrap();
    PipelineDoc::read(&doc).unwrap()
}

#[wasm_bindgen_test]
async fn a_reading_kept_reads_back_per_account() {
    let account = format!("a-cache-{}", js_sys::Date::now() as u64);
    let cache = ViewCache::open(&account).await.unwrap();
    assert_eq!(
        cache.get::<Pipeline>("doc-1").await,
        None,
        "nothing kept yet"
    );
    let kept = pipeline();
    cache.put("doc-1", &kept).await;
    assert_eq!(cache.get::<Pipeline>("doc-1").await, Some(kept.clone()));

    let other = ViewCache::open(&format!("{account}-other")).await.unwrap();
    assert_eq!(
        other.get::<Pipeline>("doc-1").await,
        None,
        "another account's"
    );

    // A shape this app does not read (an older app's, say) is no reading.
    cache.put("doc-2", &vec![1, 2, 3]).await;
    assert_eq!(cache.get::<Pipeline>("doc-2").await, None);
}
