//! A person's profile page (`#profile`): name, company, phone, country
//! and currency, what the programme needs to know of them. Saving needs a
//! connection; what was typed stays in the form until it is saved, and
//! each field's error is said at the field. Countries and currencies are
//! codes (ISO 3166-1 alpha-2, ISO 4217) named in the reader's language by
//! the browser (`Intl.DisplayNames`), so the bundle carries no names.

mod photo;

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::spawn_local;
use web_common::{
    api::{self, Me, Profile},
    forms::{self, CURRENCIES},
};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

/// The module's page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Page {
    Edit,
}

impl crate::page::Page for Page {
    fn parse(name: &str) -> Option<Page> {
        (name == "profile").then_some(Page::Edit)
    }

    fn name(&self) -> String {
        "profile".to_owned()
    }

    fn title(&self) -> &'static str {
        "Profile"
    }
}

/// ISO 3166-1 alpha-2: the officially assigned codes.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// `code` named in the reader's language (`type`: region or currency);
/// the code itself where the browser cannot name it.
fn display_name(kind: &str, code: &str) -> String {
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"type".into(), &kind.into());
    let languages = js_sys::Array::new();
    if let Some(language) = web_sys::window().and_then(|w| w.navigator().language()) {
        languages.push(&language.into());
    }
    let names = js_sys::Reflect::get(&js_sys::global(), &"Intl".into())
        .and_then(|intl| js_sys::Reflect::get(&intl, &"DisplayNames".into()))
        .ok()
        .filter(|c| c.is_function())
        .and_then(|c| {
            js_sys::Reflect::construct(
                c.unchecked_ref::<js_sys::Function>(),
                &js_sys::Array::of2(&languages, &options),
            )
            .ok()
        });
    names
        .and_then(|names| {
            let of = js_sys::Reflect::get(&names, &"of".into()).ok()?;
            let of: &js_sys::Function = of.unchecked_ref();
            of.call1(&names, &JsValue::from_str(code)).ok()?.as_string()
        })
        .unwrap_or_else(|| code.to_owned())
}

#[derive(Properties, PartialEq)]
pub struct ProfileProps {
    pub me: std::rc::Rc<Me>,
    /// Saved: the app asks who is signed in again, to show it.
    pub on_saved: Callback<()>,
}

/// Which field a server's message is about (it names it first).
fn field_of(message: &str) -> Option<&'static str> {
    let first = message.split([' ', ':']).next()?.to_ascii_lowercase();
    ["name", "company", "phone", "country", "currency"]
        .into_iter()
        .find(|f| *f == first)
}

#[function_component(ProfilePage)]
pub fn profile_page(props: &ProfileProps) -> Html {
    let name = use_node_ref();
    let company = use_node_ref();
    let phone = use_node_ref();
    let country = use_node_ref();
    let currency = use_node_ref();
    let busy = use_state(|| false);
    // (field, message) of what is wrong, or a message for the whole form.
    let problem = use_state(|| None::<(Option<&'static str>, String)>);
    let saved = use_state(|| false);
    {
        let refs = (
            name.clone(),
            company.clone(),
            phone.clone(),
            country.clone(),
            currency.clone(),
        );
        let me = props.me.clone();
        use_effect_with((), move |_| {
            forms::fill(&refs.0, &me.name);
            forms::fill(&refs.1, &me.company);
            forms::fill(&refs.2, &me.phone);
            for (field, value) in [(&refs.3, &me.country), (&refs.4, &me.currency)] {
                if let Some(select) = field.cast::<HtmlSelectElement>() {
                    select.set_value(value.as_deref().unwrap_or_default());
                }
            }
            || ()
        });
    }
    let submit = {
        let refs = (
            name.clone(),
            company.clone(),
            phone.clone(),
            country.clone(),
            currency.clone(),
        );
        let (busy, problem, saved, on_saved) = (
            busy.clone(),
            problem.clone(),
            saved.clone(),
            props.on_saved.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if *busy {
                return;
            }
            let text = |r: &NodeRef| {
                r.cast::<HtmlInputElement>()
                    .map(|i| i.value())
                    .unwrap_or_default()
            };
            let chosen = |r: &NodeRef| {
                r.cast::<HtmlSelectElement>()
                    .map(|s| s.value())
                    .filter(|v| !v.is_empty())
            };
            let profile = Profile {
                name: text(&refs.0),
                company: text(&refs.1),
                phone: text(&refs.2),
                country: chosen(&refs.3),
                currency: chosen(&refs.4),
            };
            // Said here first, as the server would, with focus on the field.
            let digits = profile.phone.chars().filter(char::is_ascii_digit).count();
            let wrong = if profile.name.trim().is_empty() {
                Some(("name", &refs.0, "Enter your name."))
            } else if !profile.phone.trim().is_empty()
                && (!(6..=20).contains(&digits)
                    || !profile
                        .phone
                        .trim()
                        .chars()
                        .all(|c| c.is_ascii_digit() || " +-().".contains(c)))
            {
                Some((
                    "phone",
                    &refs.2,
                    "Enter a phone number of 6 to 20 digits (spaces, +, -, ( ) and . may separate them).",
                ))
            } else {
                None
            };
            if let Some((field, input, why)) = wrong {
                if let Some(input) = input.cast::<HtmlInputElement>() {
                    let _ = input.focus();
                }
                return problem.set(Some((Some(field), why.to_owned())));
            }
            busy.set(true);
            saved.set(false);
            problem.set(None);
            let (busy, problem, saved, on_saved) = (
                busy.clone(),
                problem.clone(),
                saved.clone(),
                on_saved.clone(),
            );
            spawn_local(async move {
                let body = serde_json::to_string(&profile).ok();
                match api::call("PUT", "/api/me/profile", body).await {
                    Ok(_) => {
                        saved.set(true);
                        on_saved.emit(());
                    }
                    Err(api::ApiError::Refused(why)) => {
                        let why = why.trim_end_matches('.');
                        problem.set(Some((field_of(why), format!("{why}."))))
                    }
                    Err(api::ApiError::Unreachable { .. }) => problem.set(Some((
                        None,
                        "Saving needs a connection. What you typed stays here; save again once you are online.".to_owned(),
                    ))),
                    Err(other) => problem.set(Some((None, other.to_string()))),
                }
                busy.set(false);
            });
        })
    };
    let error_at = |field: &'static str| match &*problem {
        Some((Some(f), why)) if *f == field => html! {
            <p class="error field-error" id={format!("profile-{field}-error")} role="alert">{ why }</p>
        },
        _ => Html::default(),
    };
    let invalid = |field: &'static str| {
        matches!(&*problem, Some((Some(f), _)) if *f == field).then_some("true")
    };
    let mut countries: Vec<(String, &str)> = COUNTRIES
        .split(' ')
        .map(|code| (display_name("region", code), code))
        .collect();
    countries.sort();
    html! {
        <main id="profile">
            <form id="profile-form" class="card profile-form" onsubmit={submit} novalidate=true>
                <p class="hint">{ "What the partner team needs to reach you and to pay you in your currency." }</p>
                <photo::Photo name={props.me.name.clone()} has_photo={props.me.has_photo} on_saved={props.on_saved.clone()} />
                <label>{ "Full name" }
                    <input ref={name} name="name" autocomplete="name" maxlength="200" required=true aria-invalid={invalid("name")} />
                </label>
                { error_at("name") }
                <label>{ "Company" }
                    <input ref={company} name="company" autocomplete="organization" maxlength="200" aria-invalid={invalid("company")} />
                </label>
                { error_at("company") }
                <label>{ "Phone" }
                    <input ref={phone} name="phone" type="tel" inputmode="tel" autocomplete="tel" maxlength="32" aria-invalid={invalid("phone")} />
                </label>
                { error_at("phone") }
                <label>{ "Country" }
                    <select ref={country} name="country" aria-invalid={invalid("country")}>
                        <option value="">{ "Choose…" }</option>
                        { for countries.iter().map(|(label, code)| html! { <option value={*code}>{ label }</option> }) }
                    </select>
                </label>
                { error_at("country") }
                <label>{ "Currency you are paid in" }
                    <select ref={currency} name="currency" aria-invalid={invalid("currency")}>
                        <option value="">{ "Choose…" }</option>
                        { for CURRENCIES.iter().map(|code| html! {
                            <option value={*code}>{ format!("{} ({code})", display_name("currency", code)) }</option>
                        }) }
                    </select>
                </label>
                { error_at("currency") }
                if let Some((None, why)) = &*problem { <p class="error" role="alert">{ why }</p> }
                if *saved { <p class="notice" role="status">{ "Saved." }</p> }
                <button type="submit" class="primary" disabled={*busy}>{ if *busy { "Saving…" } else { "Save" } }</button>
            </form>
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_country_list_is_every_assigned_code_once() {
        let codes: Vec<&str> = COUNTRIES.split(' ').collect();
        assert_eq!(codes.len(), 249);
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), codes.len());
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
        );
    }

    #[test]
    fn server_messages_name_their_field() {
        assert_eq!(field_of("phone must be 6 to 20 digits"), Some("phone"));
        assert_eq!(
            field_of("country must be a two-letter code"),
            Some("country")
        );
        assert_eq!(field_of("the body is not JSON"), None);
    }
}
