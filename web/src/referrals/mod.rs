//! A partner's referral links (`#links`): one per campaign, made here,
//! offline too, each shared by the device's share sheet or copied, or
//! shown as a QR code drawn on the device. A link is the partner's
//! `referrals` document's (the engine writes it: the code is the partner's
//! and a nonce's hash, `model::referral_code_for`), so it exists at once;
//! the server confirms it when the document syncs. What each link brought
//! (clicks, orders, revenue, commission), the partner's coupon and the
//! orders attributed to them are the server's (`GET /api/referrals`),
//! asked for online and kept on the device, so they read offline "as of".

mod qr;

use model::{Currency, Money, Referrals, ReferralsEdit, Timestamp};
use wasm_bindgen_futures::spawn_local;
use web_common::{
    api::{self, MyReferrals},
    show,
};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::{
    document::{DocEvent, Followed, use_document},
    engine::{self, EngineRef},
    share,
};

/// The module's page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Page {
    Links,
}

impl crate::page::Page for Page {
    fn parse(name: &str) -> Option<Page> {
        (name == "links").then_some(Page::Links)
    }

    fn name(&self) -> String {
        "links".to_owned()
    }

    fn title(&self) -> &'static str {
        "Referral links"
    }
}

/// Where the figures are kept on the device, per account.
fn kept_key(account: &str) -> String {
    format!("referrals:{account}")
}

/// Where the dashboard reads whether the partner has a link.
pub fn made_key(account: &str) -> String {
    format!("referral-links:{account}")
}

/// The address a code makes, on this app's origin.
fn address(code: &str) -> String {
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    format!("{origin}/r/{code}")
}

fn nonce() -> String {
    let mut bytes = [0u8; 8];
    if getrandom03::fill(&mut bytes).is_err() {
        // No CSPRNG: the clock and a counter still differ per link (the
        // code's bond to the partner is the hash, not the nonce's secrecy).
        bytes = (js_sys::Date::now() as u64 ^ (js_sys::Math::random() * 1e15) as u64).to_le_bytes();
    }
    model::referral_nonce_of(u64::from_le_bytes(bytes))
}

fn money(minor: i64, currency: &str) -> String {
    match Currency::parse(currency) {
        Ok(c) => show::amount(Money::new(minor, c)),
        Err(_) => format!("{minor} {currency}"),
    }
}

#[derive(Properties, PartialEq)]
pub struct LinksProps {
    pub engine: Option<EngineRef>,
    pub doc_id: Option<String>,
    pub account_id: AttrValue,
    pub online: bool,
    /// The partner's tier as the account view says ("starter", ...).
    pub tier: Option<AttrValue>,
}

#[function_component(LinksPage)]
pub fn links_page(props: &LinksProps) -> Html {
    let reading = use_state(|| None::<Referrals>);
    // The label's error (said at the field) and what a share or a copy did
    // (said politely, apart).
    let said = use_state(|| None::<String>);
    let told = use_state(|| None::<String>);
    let figures = use_state(|| {
        engine::local_get(&kept_key(&props.account_id))
            .and_then(|json| serde_json::from_str::<(f64, MyReferrals)>(&json).ok())
    });
    let open_qr = use_state(|| None::<String>);
    let on = {
        let (reading, said, account) = (reading.clone(), said.clone(), props.account_id.clone());
        Callback::from(move |followed: Followed<Referrals>| match followed.event {
            DocEvent::Read {
                value: Ok(links), ..
            } => {
                if !links.links.is_empty() {
                    engine::local_set(&made_key(&account), &links.links.len().to_string());
                }
                reading.set(Some(links));
            }
            DocEvent::Read { value: Err(e), .. } | DocEvent::Failed(e) | DocEvent::Refused(e) => {
                said.set(Some(e))
            }
            _ => {}
        })
    };
    let doc = use_document::<Referrals>(props.engine.clone(), props.doc_id.clone(), on);
    // The server's figures, asked for online: as the page opens, as links
    // come, and every 5 s while it is open (a click or an order elsewhere
    // shows without a reload; one small GET).
    let links_count = reading.as_ref().map_or(0, |r| r.links.len());
    let tick = use_state(|| 0u64);
    {
        let (figures, account, tick) = (figures.clone(), props.account_id.clone(), tick.clone());
        use_effect_with((props.online, links_count, *tick), move |(online, _, _)| {
            // The answer's wait for the next turn ends with the page: a
            // page gone, or offline, asks no more.
            let live = std::rc::Rc::new(std::cell::Cell::new(true));
            if *online {
                let live = live.clone();
                spawn_local(async move {
                    if let Ok(answer) = api::call("GET", "/api/referrals", None).await
                        && let Ok(mine) = serde_json::from_value::<MyReferrals>(answer)
                    {
                        let kept = (js_sys::Date::now(), mine);
                        if let Ok(json) = serde_json::to_string(&kept) {
                            engine::local_set(&kept_key(&account), &json);
                        }
                        figures.set(Some(kept));
                    }
                    gloo_timers::future::TimeoutFuture::new(5_000).await;
                    if live.get() {
                        tick.set(js_sys::Date::now() as u64);
                    }
                });
            }
            move || live.set(false)
        });
    }
    let label_ref = use_node_ref();
    let make = {
        let (doc, said, label_ref) = (doc.clone(), said.clone(), label_ref.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(input) = label_ref.cast::<HtmlInputElement>() else {
                return;
            };
            match model::check_link_label(&input.value()) {
                Ok(label) => {
                    doc.change(ReferralsEdit::Create {
                        nonce: nonce(),
                        label,
                        at: Timestamp(js_sys::Date::now() as i64),
                    });
                    input.set_value("");
                    said.set(None);
                }
                Err(e) => {
                    said.set(Some(format!("Name the link: the {e}.")));
                    let _ = input.focus();
                }
            }
        })
    };
    let server = figures.as_ref().map(|(_, f)| f);
    // The links made on devices, newest first, then those the server made
    // for the partner (the one in each co-branded copy of a resource),
    // which no device wrote: (code, label).
    let mut links: Vec<(String, String)> = reading
        .as_ref()
        .map(|r| {
            r.links
                .iter()
                .rev()
                .map(|l| (l.code.clone(), l.label.clone()))
                .collect()
        })
        .unwrap_or_default();
    for made in server.map(|f| f.links.as_slice()).unwrap_or_default() {
        if !links.iter().any(|(code, _)| *code == made.code) {
            links.push((made.code.clone(), made.label.clone()));
        }
    }
    let starter = props.tier.as_deref() == Some("starter");
    html! {
        <section class="links-page">
            <h1>{ "Referral links" }</h1>
            <p class="hint">{ "Give each campaign its own link: a client who opens it and buys in the shop is yours, and so is their order's referral commission." }</p>
            if starter {
                <p class="note" role="note">{ "Orders through your links are recorded now; their referral commission starts when you reach Active." }</p>
            }
            <form class="card link-form" onsubmit={make}>
                <label for="link-label">{ "A new link for" }</label>
                <div class="link-make">
                    <input id="link-label" ref={label_ref} maxlength="80" placeholder="e.g. Spring fair, newsletter" autocomplete="off"
                        aria-invalid={said.is_some().then_some("true")}
                        aria-describedby={said.is_some().then_some("link-label-error")} />
                    <button type="submit" class="primary">{ "Make link" }</button>
                </div>
                if let Some(said) = &*said { <p id="link-label-error" class="field-error" role="alert">{ said }</p> }
            </form>
            <p class="hint" role="status">{ told.as_deref().unwrap_or("") }</p>
            if let Some(coupon) = server.and_then(|f| f.coupon.clone()) {
                <p class="card coupon">{ "Your partner code: " }<strong>{ coupon }</strong>
                    <span class="hint">{ " A client buying on another device types it at checkout." }</span></p>
            }
            if links.is_empty() {
                <p class="hint">{ "No links yet." }</p>
            }
            <ul class="link-list">
                { for links.iter().map(|(code, label)| {
                    let url = address(code);
                    let confirmed = server.and_then(|f| f.links.iter().find(|l| l.code == *code));
                    let refused = server.and_then(|f| f.refused.iter().find(|l| l.code == *code));
                    let status = match (confirmed, refused) {
                        (_, Some(r)) => r.reason.clone(),
                        (Some(_), None) => "Live".to_owned(),
                        (None, None) if props.online => "Confirming…".to_owned(),
                        (None, None) => "Made on this device: it goes live when you are back online.".to_owned(),
                    };
                    let share_it = {
                        let (url, told) = (url.clone(), told.clone());
                        let title = label.clone();
                        Callback::from(move |_| {
                            let (url, told, title) = (url.clone(), told.clone(), title.clone());
                            spawn_local(async move {
                                if let Some(said) = share::share(&title, &url).await {
                                    told.set(Some(said.to_owned()));
                                }
                            });
                        })
                    };
                    let copy_it = {
                        let (url, told) = (url.clone(), told.clone());
                        Callback::from(move |_| {
                            let (url, told) = (url.clone(), told.clone());
                            spawn_local(async move { told.set(Some(share::copy(&url).await.to_owned())) });
                        })
                    };
                    let shown = open_qr.as_deref() == Some(code.as_str());
                    let toggle_qr = {
                        let (open_qr, code) = (open_qr.clone(), code.clone());
                        Callback::from(move |_| open_qr.set((!shown).then(|| code.clone())))
                    };
                    html! {
                        <li class="card link" data-code={code.clone()}>
                            <h2>{ label }</h2>
                            <p class={classes!("link-status", confirmed.is_some().then_some("live"))} aria-live="polite">{ status }</p>
                            <input class="link-url" readonly=true value={url.clone()} aria-label={format!("Address of {label}")} />
                            <div class="link-actions">
                                <button class="primary" onclick={share_it} aria-label={format!("Share {label}")}>{ "Share" }</button>
                                <button onclick={copy_it} aria-label={format!("Copy {label}")}>{ "Copy" }</button>
                                <button aria-expanded={shown.to_string()} onclick={toggle_qr} aria-label={format!("QR code of {label}")}>{ "QR code" }</button>
                            </div>
                            if shown { { qr::code(&url, &format!("QR code of {label}")) } }
                            if let Some(f) = confirmed {
                                <dl class="link-figures">
                                    <div><dt>{ "Clicks" }</dt><dd>{ f.clicks }</dd></div>
                                    <div><dt>{ "Orders" }</dt><dd>{ f.orders }</dd></div>
                                    { for f.amounts.iter().map(|a| html! {
                                        <>
                                            <div><dt>{ "Revenue" }</dt><dd>{ money(a.revenue_minor, &a.currency) }</dd></div>
                                            <div><dt>{ "Commission" }</dt><dd>{ money(a.commission_minor, &a.currency) }</dd></div>
                                        </>
                                    }) }
                                </dl>
                            }
                        </li>
                    }
                }) }
            </ul>
            if let Some((at, f)) = figures.as_ref().filter(|(_, f)| !f.orders.is_empty()) {
                <section class="card link-orders" aria-labelledby="link-orders-title">
                    <h2 id="link-orders-title">{ "Orders from your links" }</h2>
                    <ul>
                        { for f.orders.iter().map(|o| html! {
                            <li>
                                <strong>{ money(o.amount_minor, &o.currency) }</strong>
                                { " · " }{ show::when(js_sys::Date::parse(&o.recorded_at) as i64) }
                                if o.refunded_at.is_some() { { " · refunded" } }
                                <br />
                                <span class="hint">{ match o.commission_minor {
                                    Some(c) => format!("Commission {}: {}", money(c, &o.currency), o.why),
                                    None => format!("No commission: {}", o.why),
                                } }</span>
                            </li>
                        }) }
                    </ul>
                    <p class="as-of hint">{ format!("As of {}", show::when(*at as i64)) }</p>
                </section>
            }
        </section>
    }
}
