//! A lead's card on the board: who (a link to the lead's page), how much,
//! the company, a due follow-up, a mark when two devices changed it while
//! apart, the deal it became once marked won, and one explicit "Move"
//! action that opens the stage buttons (`stage_moves`).

use model::{DealOutcome, DealPricing, DealStatus, Lead, PipelineEdit};
use web_common::show;
use yew::prelude::*;

use super::{
    Moved, Page,
    deal_note::deal_note,
    stage_moves::{stage_moves, use_moves},
};
use crate::{clock, page::Page as _};

#[derive(Properties, PartialEq)]
pub struct LeadProps {
    pub lead: Lead,
    pub read_only: bool,
    pub edit: Callback<PipelineEdit>,
    /// What the back-office made of it, once marked won.
    pub deal: Option<DealOutcome>,
    /// How a deal approved now is priced (the partner's own pipeline only).
    pub pricing: Option<DealPricing>,
    /// Hears the moves made from the card.
    pub on_moved: Callback<Moved>,
    /// Counts the times the card was dropped or swiped onto "won": each
    /// change of the count while the card is drawn opens its question.
    #[prop_or_default]
    pub ask_won: u32,
}

#[function_component(LeadCard)]
pub fn lead_card(props: &LeadProps) -> Html {
    let lead = &props.lead;
    let moving = use_state(|| false);
    let moves = use_moves();
    {
        // Asked when the count changes, not as the card is drawn: a card
        // drawn again (in its new column, on turning back to its stage)
        // with the count it had does not ask again.
        let (moving, ask) = (moving.clone(), moves.asker());
        let seen = use_mut_ref(|| props.ask_won);
        use_effect_with(props.ask_won, move |times| {
            if seen.replace(*times) != *times && *times > 0 {
                moving.set(true);
                ask();
            }
            || ()
        });
    }
    let toggle = {
        let moving = moving.clone();
        Callback::from(move |_: MouseEvent| moving.set(!*moving))
    };
    // Escape closes the stage buttons, back to "Move" (the question about
    // "won" takes its own Escape first).
    let opener = use_node_ref();
    let on_key = {
        let (moving, opener) = (moving.clone(), opener.clone());
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" && !e.default_prevented() && *moving {
                e.prevent_default();
                moving.set(false);
                crate::focus::focus(&opener);
            }
        })
    };
    let name = &lead.contact_name;
    let href = format!("#{}", Page::Lead(lead.id.clone()).name());
    let now = clock::now();
    html! {
        <article class="lead" data-lead={lead.id.to_string()} data-stage={lead.stage.as_str()} data-name={name.clone()}
            data-held={props.deal.as_ref().is_some_and(|d| d.holds_stage()).then_some("")}
            tabindex={(!props.read_only).then_some("0")} aria-describedby={(!props.read_only).then_some("move-help")}
            aria-label={format!("{name}, {}", show::amount(lead.value))}>
            <div class="lead-head">
                <a class="contact" href={href} draggable="false">{ name }</a>
                <span class="value">{ show::amount(lead.value) }</span>
            </div>
            if !lead.company.is_empty() { <div class="company">{ &lead.company }</div> }
            if let Some(f) = &lead.follow_up {
                <p class={classes!("due", (f.at <= now).then_some("overdue"))}>
                    { if f.at <= now { "Follow-up due " } else { "Follow up " } }{ show::when(f.at.0) }
                </p>
            }
            if !lead.conflicts.is_empty() {
                <p class="conflict-badge">{ "Changed on two devices: open to choose" }</p>
            }
            if !lead.notes.is_empty() { <p class="notes">{ &lead.notes }</p> }
            // A withdrawn deal (the lead left "won" before approval) is
            // history, on the lead's page; the card shows what stands.
            if let Some(deal) = props.deal.as_ref().filter(|d| d.status != DealStatus::Withdrawn) { { deal_note(deal) } }
            if !props.read_only {
                <button type="button" class="quiet move-open" ref={opener} onclick={toggle}
                    aria-expanded={if *moving { "true" } else { "false" }}
                    aria-label={if *moving { format!("Close moving {name}") } else { format!("Move {name}") }}>
                    { if *moving { "Close" } else { "Move" } }
                </button>
                if *moving {
                    <div class="moving" onkeydown={on_key}>
                    { stage_moves(lead, false, &props.edit, props.deal.as_ref(), props.pricing.as_ref(), &props.on_moved, &moves) }
                    </div>
                }
            }
        </article>
    }
}
