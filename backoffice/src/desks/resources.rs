//! The resources library: publishing a file into a category (uploaded
//! first, resumably, as a lesson's file is), what is published, and what
//! partners did with each resource and what its co-branded copies
//! brought, per partner.

use model::{Currency, Money};
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

use super::{
    Ctx,
    upload::{self, Progress},
};
use web_common::{
    api::{self, ApiError, Library, NewResource, PublishedResource, ResourceFigures},
    forms::Sent,
    show::{self, file_size},
};

pub const NAME: &str = "resources";
pub const TITLE: &str = "Resources";

#[derive(Clone, Debug, PartialEq)]
pub struct Answers {
    pub library: Library,
    pub figures: Vec<ResourceFigures>,
}

pub async fn fetch(_choice: &str) -> Result<Answers, ApiError> {
    let (library, figures) = futures::try_join!(
        api::get("/api/resources"),
        api::get("/api/admin/resources/analytics"),
    )?;
    Ok(Answers { library, figures })
}

/// What the library takes, as the file picker offers it.
const ACCEPT: &str = "image/png,image/jpeg,image/webp,image/svg+xml,application/pdf,video/mp4";

fn kind_word(kind: &str) -> &'static str {
    match kind {
        "template" => "Template",
        "pdf" => "PDF",
        "video" => "Video",
        _ => "Image",
    }
}

fn amounts(figures: &[&ResourceFigures]) -> String {
    let mut by_currency: Vec<(String, i64)> = Vec::new();
    for f in figures {
        for a in &f.revenue {
            match by_currency.iter_mut().find(|(c, _)| *c == a.currency) {
                Some((_, sum)) => *sum += a.revenue_minor,
                None => by_currency.push((a.currency.clone(), a.revenue_minor)),
            }
        }
    }
    if by_currency.is_empty() {
        return "–".to_owned();
    }
    by_currency
        .iter()
        .map(|(c, minor)| match Currency::parse(c) {
            Ok(currency) => show::amount(Money::new(*minor, currency)),
            Err(_) => format!("{minor} {c}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn view(Answers { library, figures }: &Answers, ctx: &Ctx) -> Html {
    let categories: Vec<AttrValue> = library
        .categories
        .iter()
        .map(|c| AttrValue::from(c.name.clone()))
        .collect();
    let figures_of = |id: &str| -> Vec<&ResourceFigures> {
        figures.iter().filter(|f| f.resource_id == id).collect()
    };
    html! {
        <>
        <PublishForm {categories} report={ctx.report.clone()} />
        <h2 class="section">{ "The library" }</h2>
        if library.categories.is_empty() { <p class="hint">{ "Nothing published yet." }</p> }
        { for library.categories.iter().map(|c| html! {
            <section class="resource-desk" aria-labelledby={format!("category-{}", c.id)}>
                <h3 id={format!("category-{}", c.id)}>{ &c.name }</h3>
                <div class="scroll card"><table class="use-table">
                    <thead><tr>
                        <th scope="col">{ "Resource" }</th><th scope="col" class="num">{ "Views" }</th><th scope="col" class="num">{ "Downloads" }</th>
                        <th scope="col" class="num">{ "Shares" }</th><th scope="col" class="num">{ "Copies" }</th><th scope="col" class="num">{ "Clicks" }</th>
                        <th scope="col" class="num">{ "Orders" }</th><th scope="col" class="num">{ "Revenue" }</th>
                    </tr></thead>
                    <tbody>
                    { for c.resources.iter().map(|r| {
                        let f = figures_of(&r.id);
                        let sum = |pick: fn(&ResourceFigures) -> i64| f.iter().map(|x| pick(x)).sum::<i64>();
                        html! {
                            <tr data-id={r.id.clone()}>
                                <th scope="row"><a href={r.file.clone()} target="_blank" rel="noopener">{ &r.title }</a>
                                    <span class="notes">{ format!(" {} · {}", kind_word(&r.kind), file_size(r.bytes.max(0) as u64)) }</span></th>
                                <td class="num">{ sum(|x| x.views) }</td><td class="num">{ sum(|x| x.downloads) }</td><td class="num">{ sum(|x| x.shares) }</td>
                                <td class="num">{ sum(|x| x.cobrands) }</td><td class="num">{ sum(|x| x.clicks) }</td><td class="num">{ sum(|x| x.orders) }</td>
                                <td class="num">{ amounts(&f) }</td>
                            </tr>
                        }
                    }) }
                    </tbody>
                </table></div>
            </section>
        }) }
        <h2 class="section">{ "Use by partner" }</h2>
        if figures.is_empty() { <p class="hint">{ "No partner has used a resource yet." }</p> }
        else {
            <div class="scroll card"><table class="use-table" id="resource-use">
                <thead><tr>
                    <th scope="col">{ "Resource" }</th><th scope="col">{ "Partner" }</th><th scope="col" class="num">{ "Views" }</th>
                    <th scope="col" class="num">{ "Downloads" }</th><th scope="col" class="num">{ "Shares" }</th><th scope="col" class="num">{ "Copies" }</th>
                    <th scope="col" class="num">{ "Clicks" }</th><th scope="col" class="num">{ "Orders" }</th><th scope="col" class="num">{ "Revenue" }</th>
                </tr></thead>
                <tbody>
                { for figures.iter().map(|f| html! {
                    <tr>
                        <th scope="row">{ &f.title }</th><td>{ &f.partner_name }</td>
                        <td class="num">{ f.views }</td><td class="num">{ f.downloads }</td><td class="num">{ f.shares }</td><td class="num">{ f.cobrands }</td>
                        <td class="num">{ f.clicks }</td><td class="num">{ f.orders }</td><td class="num">{ amounts(&[f]) }</td>
                    </tr>
                }) }
                </tbody>
            </table></div>
        }
        </>
    }
}

#[derive(Properties, PartialEq)]
struct PublishProps {
    categories: Vec<AttrValue>,
    report: Callback<Sent<Html>>,
}

/// The form: a file, its title, description and category; the upload's
/// progress, said to screen readers too; what is wrong, at the form.
#[function_component(PublishForm)]
fn publish_form(props: &PublishProps) -> Html {
    let progress = use_state(|| None::<Progress>);
    let busy = matches!(
        *progress,
        Some(Progress::Hashing { .. } | Progress::Sending { .. } | Progress::Waiting { .. })
    );
    let (file_ref, title_ref, description_ref, category_ref) = (
        use_node_ref(),
        use_node_ref(),
        use_node_ref(),
        use_node_ref(),
    );
    let submit = {
        let (progress, report) = (progress.clone(), props.report.clone());
        let refs = (
            file_ref.clone(),
            title_ref.clone(),
            description_ref.clone(),
            category_ref.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let value = |r: &NodeRef| {
                r.cast::<HtmlInputElement>()
                    .map(|i| i.value())
                    .unwrap_or_default()
            };
            let file = refs
                .0
                .cast::<HtmlInputElement>()
                .and_then(|i| i.files())
                .and_then(|f| f.get(0));
            let (title, category) = (value(&refs.1), value(&refs.3));
            let description = refs
                .2
                .cast::<HtmlTextAreaElement>()
                .map(|t| t.value())
                .unwrap_or_default();
            let Some(file) = file else {
                progress.set(Some(Progress::Failed(
                    "Choose a file to publish.".to_owned(),
                )));
                return;
            };
            if title.trim().is_empty() || category.trim().is_empty() {
                progress.set(Some(Progress::Failed(
                    "Give it a title and a category.".to_owned(),
                )));
                return;
            }
            if !ACCEPT.split(',').any(|t| t == file.type_()) {
                progress.set(Some(Progress::Failed(format!(
                    "{} is not something the library takes: PNG, JPEG or WebP images, PDFs, MP4 videos and SVG templates.",
                    file.name()
                ))));
                return;
            }
            let (progress, report, refs) = (progress.clone(), report.clone(), refs.clone());
            spawn_local(async move {
                let at = js_sys::Date::now();
                let report_progress = {
                    let progress = progress.clone();
                    move |p: Progress| progress.set(Some(p))
                };
                let sent = match upload::send(&file, &report_progress).await {
                    Ok(sent) => sent,
                    Err(why) => return progress.set(Some(Progress::Failed(why))),
                };
                let new = NewResource {
                    category,
                    title,
                    description,
                    sha256: sent.sha256,
                    file_name: file.name(),
                };
                let body = serde_json::to_string(&new).ok();
                match api::call("POST", "/api/admin/resources", body).await {
                    Ok(answer) => {
                        progress.set(None);
                        for r in [&refs.0, &refs.1, &refs.3] {
                            if let Some(input) = r.cast::<HtmlInputElement>() {
                                input.set_value("");
                            }
                        }
                        if let Some(t) = refs.2.cast::<HtmlTextAreaElement>() {
                            t.set_value("");
                        }
                        let published = serde_json::from_value::<PublishedResource>(answer).ok();
                        report.emit(Sent {
                            outcome: Ok(html! { match published {
                                Some(p) if p.kind == "template" => format!("Published “{}”: each partner gets a copy with their name and link.", new.title),
                                _ => format!("Published “{}”.", new.title),
                            } }),
                            at,
                        });
                    }
                    Err(e @ ApiError::SignedOut) => {
                        progress.set(None);
                        report.emit(Sent {
                            outcome: Err(e),
                            at,
                        });
                    }
                    Err(e) => progress.set(Some(Progress::Failed(e.to_string()))),
                }
            });
        })
    };
    let failed = match &*progress {
        Some(Progress::Failed(why)) => Some(why.clone()),
        _ => None,
    };
    html! {
        <form id="resource-form" class="card" onsubmit={submit} aria-describedby={failed.is_some().then_some("resource-form-error")}>
            <h2>{ "Publish a resource" }</h2>
            <label>{ "File" }
                <input type="file" ref={file_ref} accept={ACCEPT} required=true />
            </label>
            <p class="hint">{ "An SVG is a template: it may name {{partner_name}}, {{company}}, {{link}} and {{qr}}, which each partner's copy fills with their name, company and a referral link of theirs." }</p>
            <label>{ "Title" }<input ref={title_ref} maxlength="120" required=true /></label>
            <label>{ "Description" }<textarea ref={description_ref} maxlength="1000" rows="3" /></label>
            <label>{ "Category" }
                <input ref={category_ref} list="resource-categories" maxlength="60" required=true
                    placeholder="An existing one, or a new name" />
            </label>
            <datalist id="resource-categories">
                { for props.categories.iter().map(|c| html! { <option value={c.clone()} /> }) }
            </datalist>
            if let Some((done, of)) = progress.as_ref().and_then(Progress::fraction) {
                <progress max={of.to_string()} value={done.to_string()} aria-label="Upload" />
            }
            <p class="hint" role="status">{ progress.as_ref().filter(|_| busy).map(Progress::words).unwrap_or_default() }</p>
            if let Some(why) = failed {
                <p id="resource-form-error" class="error" role="alert">{ why }</p>
            }
            <button type="submit" class="primary" disabled={busy}>{ if busy { "Publishing…" } else { "Publish" } }</button>
        </form>
    }
}
