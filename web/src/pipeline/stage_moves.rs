//! Moving a lead: one button per stage, each named with the lead ("Move Ada
//! Ng to Qualified"), so a move is always an explicit action, never an
//! arrow key on a select. "Won" asks first: it submits a deal for approval
//! at the lead's amount, and asks for the amount when the lead has none.
//!
//! An approved deal is paid on: its lead stays won here. A device that did
//! not know may have moved it anyway (the server keeps the deal); then only
//! the way back is offered.

use model::{DealOutcome, DealPricing, Lead, PipelineEdit, Stage};
use web_common::{
    pricing::{expected_earnings, rate_of},
    show,
};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::{Moved, lead_form::sentence, stage_label};
use crate::focus::use_focus_swap;

/// What the stage buttons keep between renders: whether "won" is being
/// confirmed, and where focus goes. A hook, not a component of its own:
/// every Yew component type costs the bundle its own copy of Yew's
/// component machinery (about 10 KB), so the pipeline's parts are plain
/// functions over state their page or card keeps.
pub struct Moves {
    confirming: UseStateHandle<bool>,
    amount: NodeRef,
    confirm_ref: NodeRef,
    won_button: NodeRef,
    error: UseStateHandle<Option<String>>,
}

impl Moves {
    /// Opens the question whether to mark the lead won, as the "Won"
    /// button does (for a card dropped or swiped onto "won").
    pub fn asker(&self) -> impl Fn() + 'static {
        let confirming = self.confirming.clone();
        move || confirming.set(true)
    }
}

#[hook]
pub fn use_moves() -> Moves {
    let moves = Moves {
        confirming: use_state(|| false),
        amount: use_node_ref(),
        confirm_ref: use_node_ref(),
        won_button: use_node_ref(),
        error: use_state(|| None::<String>),
    };
    // Into the question as it opens, back to "Won" as it closes.
    use_focus_swap(
        *moves.confirming,
        moves.confirm_ref.clone(),
        moves.won_button.clone(),
    );
    moves
}

/// The stage buttons of `lead`, with `moves` from [`use_moves`];
/// `pricing`, from the partner's account view, says what marking it won
/// would earn.
pub fn stage_moves(
    lead: &Lead,
    read_only: bool,
    edit: &Callback<PipelineEdit>,
    deal: Option<&DealOutcome>,
    pricing: Option<&DealPricing>,
    on_moved: &Callback<Moved>,
    moves: &Moves,
) -> Html {
    let Moves {
        confirming,
        amount,
        confirm_ref,
        won_button,
        error,
    } = moves;
    let settled = deal.is_some_and(DealOutcome::holds_stage);
    let move_to = |to: Stage| {
        let (id, edit, confirming) = (lead.id.clone(), edit.clone(), confirming.clone());
        let moved = moved_to(lead, on_moved);
        Callback::from(move |_: MouseEvent| {
            if to == Stage::Won {
                return confirming.set(true);
            }
            edit.emit(PipelineEdit::Move { id: id.clone(), to });
            moved(to);
        })
    };
    let on_confirm = {
        let (lead, edit, confirming, amount, error) = (
            lead.clone(),
            edit.clone(),
            confirming.clone(),
            amount.clone(),
            error.clone(),
        );
        let moved = moved_to(&lead, on_moved);
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let value = match amount.cast::<HtmlInputElement>() {
                Some(field) => match show::typed_amount(&field.value(), lead.value.currency) {
                    Ok(value) if value.minor > 0 => value,
                    Ok(_) => return error.set(Some("A won deal needs its amount.".to_owned())),
                    Err(e) => return error.set(Some(sentence(&e.to_string()))),
                },
                None => lead.value,
            };
            edit.emit(PipelineEdit::MarkWon {
                id: lead.id.clone(),
                value,
            });
            moved(Stage::Won);
            error.set(None);
            confirming.set(false);
        })
    };
    let cancel = {
        let (confirming, error) = (confirming.clone(), error.clone());
        Callback::from(move |_: MouseEvent| {
            error.set(None);
            confirming.set(false);
        })
    };
    let on_key = {
        let confirming = confirming.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                // Taken here: the stage buttons around stay open.
                e.prevent_default();
                confirming.set(false);
            }
        })
    };
    let name = &lead.contact_name;
    html! {
        <section class="card stage-moves" aria-label={format!("Stage of {name}")}>
            <h3>{ "Stage" }</h3>
            <div class="stage-buttons" role="group" aria-label={format!("Move {name} to")}>
                { for Stage::ALL.iter().map(|stage| {
                    let here = *stage == lead.stage;
                    // Held by an approved deal: only "Won" is open (the
                    // way back, when another device moved it away).
                    let held = settled && *stage != Stage::Won;
                    let r = if *stage == Stage::Won { won_button.clone() } else { NodeRef::default() };
                    html! {
                        <button type="button" ref={r}
                            class={classes!("stage-button", here.then_some("here"))}
                            data-stage={stage.as_str()}
                            aria-pressed={if here { "true" } else { "false" }}
                            aria-label={format!("Move {name} to {}", stage_label(*stage))}
                            // The stage it is in stays focusable: focus is
                            // on it right after a move.
                            aria-disabled={here.then_some("true")}
                            disabled={read_only || held}
                            onclick={if here { Callback::noop() } else { move_to(*stage) }}>
                            { stage_label(*stage) }
                        </button>
                    }
                }) }
            </div>
            if settled {
                <p class="hint">{ "The deal was approved: this lead stays won." }</p>
            }
            if **confirming {
                <form class="confirm-won" ref={confirm_ref.clone()} tabindex="-1" onsubmit={on_confirm} onkeydown={on_key} novalidate=true
                    aria-label={format!("Mark {name} won")}>
                    if lead.value.minor > 0 {
                        <p>{ format!("Mark {name} won? A deal of {} goes to approval.", show::amount(lead.value)) }</p>
                        if let Some((pricing, earns)) = pricing.and_then(|p| Some((p, expected_earnings(lead.value, p)?))) {
                            <p class="preview">
                                { format!("At your current rate ({}, {}) it earns you ", rate_of(pricing), show::tier_name(&pricing.tier)) }
                                <strong class="earns" data-minor={earns.minor.to_string()}>{ show::amount(earns) }</strong>
                                { " once approved." }
                            </p>
                        }
                    } else {
                        <label>{ format!("Deal amount ({})", lead.value.currency) }
                            <input name="amount" inputmode="decimal" ref={amount.clone()} />
                        </label>
                        <p class="hint">{ "A won lead goes to approval at this amount; your commission is a share of it." }</p>
                    }
                    if let Some(e) = &**error { <p class="error" role="alert">{ e }</p> }
                    <div class="row">
                        <button type="button" onclick={cancel}>{ "Cancel" }</button>
                        <button type="submit" class="primary">{ "Mark won" }</button>
                    </div>
                </form>
            }
        </section>
    }
}

/// Tells `on_moved` that `lead` went to a stage (from the one it is in).
fn moved_to(lead: &Lead, on_moved: &Callback<Moved>) -> impl Fn(Stage) + 'static {
    let (id, name, from, on_moved) = (
        lead.id.clone(),
        lead.contact_name.clone(),
        lead.stage,
        on_moved.clone(),
    );
    move |to| {
        on_moved.emit(Moved {
            lead: id.clone(),
            name: name.clone(),
            from,
            to,
        })
    }
}
