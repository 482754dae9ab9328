//! The view cache in a real IndexedDB: a reading kept is read back as kept,
//! per account; what does not read as the type asked for reads as nothing.

use model::{
    Currency, Heads, LeadDraft, LeadId, Money, PartnerId, Pipeline, PipelineEdit, Timestamp,
};
use wasm_bindgen_test::wasm_bindgen_test;
use web::view_cache::ViewCache;

fn pipeline() -> Pipeline {
    let mut pipeline = Pipeline {
        partner_id: PartnerId::parse("p-cache").unwrap(),
        leads: Vec::new(),
        unreadable: vec!["from-a-newer-app".into()],
        heads: Heads(vec!["ab".repeat(32)]),
    };
    let draft = LeadDraft::parse(
        "Ada Obi",
        "Obi Health",
        "",
        "",
        Money::new(120_000, Currency::parse("USD").unwrap()),
        "é, \"quotes\" and\nnew lines",
    )
    .unwrap();
    let add = PipelineEdit::AddLead {
        id: LeadId::parse("l1").unwrap(),
        draft,
    };
    pipeline.shown_with(&add, Timestamp(1));
    assert_eq!(pipeline.leads.len(), 1);
    pipeline
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
