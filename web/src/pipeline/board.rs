//! The pipeline screen: the new-lead button (or form, or a read-only
//! notice for a team member's pipeline) and the leads by stage.

use model::{AccountView, Lead, Stage};
use web_common::api::Me;
use yew::prelude::*;

use super::{State, lead_card::LeadCard, new_lead::NewLead, stage_label};
use crate::document::Edit;

/// The pipeline screen for `me`, showing `state`; `view` is the partner's
/// account view (the deals on lead cards), `on_form` opens or closes the
/// new-lead form and `edit` writes a change into the pipeline shown.
pub fn board(
    me: &Me,
    state: &State,
    read_only: bool,
    view: Option<&AccountView>,
    on_form: &Callback<bool>,
    edit: &Callback<Edit>,
) -> Html {
    let Some(doc_id) = &state.selected else {
        return html! { <p class="hint">{ "This account has no pipeline to show here." }</p> };
    };
    if state.missing {
        return html! { <p class="hint">{ "This pipeline has not been downloaded to this device yet. It will appear once you are online." }</p> };
    }
    let Some(pipeline) = &state.pipeline else {
        return html! { <p class="hint">{ "Opening pipeline…" }</p> };
    };
    let owner = me
        .document(doc_id)
        .map(|d| d.partner_name.clone())
        .unwrap_or_default();
    let open_form = on_form.reform(|_: MouseEvent| true);
    html! {
        <main>
            if read_only {
                <p class="read-only">{ format!("{owner}'s pipeline, read-only.") }</p>
            } else if state.form_open {
                <NewLead edit={edit.clone()} on_close={on_form.reform(|()| false)} />
            } else {
                <button id="new-lead" class="primary" onclick={open_form}>{ "+ New lead" }</button>
            }
            { for Stage::ALL.iter().map(|stage| {
                let leads: Vec<Lead> = pipeline.in_stage(*stage).cloned().collect();
                html! {
                    <section class="stage" data-stage={stage.as_str()}>
                        <h2>{ stage_label(*stage) }<span class="count">{ leads.len() }</span></h2>
                        { for leads.into_iter().map(|lead| {
                            // Deals are in the partner's own account view only.
                            let deal = view.filter(|_| !read_only).and_then(|v| v.deal(&lead.id)).cloned();
                            html! {
                                <LeadCard key={lead.id.to_string()} lead={lead.clone()} read_only={read_only} edit={edit.clone()} deal={deal} />
                            }
                        }) }
                    </section>
                }
            }) }
        </main>
    }
}
