//! The pipeline screen: the new-lead button (or form, or a read-only
//! notice for a team member's pipeline), the search, filters and sort
//! (`tools`), the follow-ups due, the leads by stage with their totals per
//! currency, the archived leads, and the offer to undo the last move.
//!
//! A wide screen shows the stages side by side, a card dragged from one to
//! another; a phone shows a strip of stage tabs and one stage's cards, a
//! card swiped one stage on or back (`gesture`). A search or filter on a
//! phone lists every stage that has a match, one under the other.

use std::{collections::BTreeMap, rc::Rc};

use model::{AccountView, Currency, Lead, LeadId, Money, PipelineEdit, Stage};
use wasm_bindgen::JsCast;
use web_common::{
    api::Me,
    forms::{self, CURRENCIES},
    show,
};
use web_sys::{HtmlElement, HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::{
    Action, Moved, Page, State,
    filter::{Filter, Sort},
    gesture::{Hand, Held, Hold, announce},
    lead_card::LeadCard,
    lead_form::LeadForm,
    stage_label,
};
use crate::{clock, layout::use_wide, page::Page as _};

/// What the board keeps between renders, from [`use_board`].
pub struct BoardHooks {
    wide: bool,
    held: Hold,
}

/// The board's hooks, called by the app whatever its screen (hooks are
/// called unconditionally): the layout, the hand that carries cards, and
/// where focus goes after a move made on the board, `moved`: to the card
/// where it landed or, when it left the stage a phone shows, to the offer to
/// undo; back to the card when the offer goes (or, when the card is not on
/// screen, to the stage's tab). Back to "+ New lead" as the new-lead form
/// (`form_open`) closes, and to a lead's card on coming back from its page
/// (`lead_shown`: the lead whose page is on screen).
#[hook]
pub fn use_board(moved: Option<Moved>, form_open: bool, lead_shown: Option<LeadId>) -> BoardHooks {
    let wide = use_wide();
    let held = use_mut_ref(Held::default);
    let was_open = use_mut_ref(|| false);
    let was_shown = use_mut_ref(|| None::<LeadId>);
    use_effect_with(lead_shown, move |shown| {
        if let (None, Some(lead)) = (shown, was_shown.replace(shown.clone())) {
            focus_first(&[&card_selector(&lead)]);
        }
        || ()
    });
    use_effect_with(form_open, move |open| {
        if was_open.replace(*open) && !*open {
            let button = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.get_element_by_id("new-lead"))
                .and_then(|el| el.dyn_into::<HtmlElement>().ok());
            if let Some(button) = button {
                let _ = button.focus();
            }
        }
        || ()
    });
    let last = use_mut_ref(|| None::<LeadId>);
    use_effect_with(moved, move |moved| {
        let lead = match moved {
            Some(m) => Some(m.lead.clone()),
            None => last.borrow().clone(),
        };
        if let Some(lead) = lead {
            let card = card_selector(&lead);
            if moved.is_some() {
                focus_first(&[&card, ".toast button.undo"]);
            } else {
                focus_first(&[&card, "[role=tab][aria-selected=true]", "#new-lead"]);
            }
        }
        *last.borrow_mut() = moved.as_ref().map(|m| m.lead.clone());
        || ()
    });
    BoardHooks { wide, held }
}

fn card_selector(lead: &LeadId) -> String {
    format!("article.lead[data-lead=\"{lead}\"]")
}

/// Focuses the first element on the page that one of `selectors` finds.
fn focus_first(selectors: &[&str]) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let found = selectors
        .iter()
        .find_map(|s| document.query_selector(s).ok().flatten());
    if let Some(el) = found.and_then(|el| el.dyn_into::<HtmlElement>().ok()) {
        let _ = el.focus();
    }
}

/// The pipeline screen for `me`, showing `state`; `view` is the partner's
/// account view (the deals on lead cards), `on` takes the board's actions
/// (the new-lead form, the filters, moves) and `edit` writes a change into
/// the pipeline shown.
pub fn board(
    me: &Me,
    state: &State,
    read_only: bool,
    view: Option<&AccountView>,
    hooks: &BoardHooks,
    on: &Callback<Action>,
    edit: &Callback<PipelineEdit>,
) -> Html {
    let on_form = &on.reform(Action::Form);
    let on_moved = on.reform(Action::Moved);
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
    let now = clock::now();
    let due = pipeline.follow_ups_due(now);
    let archived: Vec<&Lead> = pipeline.archived().collect();
    let on_board = pipeline.leads.len() - archived.len();
    let shown = state
        .filter
        .apply(pipeline.leads.iter().filter(|l| !l.is_archived()), now);
    let wide = hooks.wide;
    let narrowed = state.filter.narrows();
    // A phone shows one stage at a time, unless a search or filter asks
    // for what matches wherever it is.
    let strip = !wide && !narrowed;
    // The first cards of each stage, unless it was asked for whole or a
    // search or filter narrows the board: drawing 500 cards on a phone
    // takes longer than a partner should wait for the board.
    let by_stage: Vec<(Stage, Vec<&Lead>, usize)> = Stage::ALL
        .iter()
        .map(|stage| {
            let leads: Vec<&Lead> = shown
                .iter()
                .filter(|l| l.stage == *stage)
                .copied()
                .collect();
            let whole = narrowed || state.expanded.contains(stage);
            (*stage, leads, if whole { usize::MAX } else { FIRST_CARDS })
        })
        .collect();
    let drawn_here = |stage: Stage, leads: &[&Lead]| {
        if strip {
            stage == state.shown
        } else {
            wide || !leads.is_empty()
        }
    };
    let drawn: usize = by_stage
        .iter()
        .filter(|(stage, leads, _)| drawn_here(*stage, leads))
        .map(|(_, leads, limit)| leads.len().min(*limit))
        .sum();
    // Deals are in the partner's own account view only.
    let own = view.filter(|_| !read_only);
    let pricing = own.and_then(|v| v.next_deal.clone());
    let on_show = {
        let on = on.clone();
        Callback::from(move |stage: Stage| {
            show_tab(stage, false);
            on.emit(Action::Show(stage));
        })
    };
    let hand = (!read_only).then(|| {
        let held: Vec<LeadId> = own
            .map(|v| {
                v.deals
                    .iter()
                    .filter(|d| d.holds_stage())
                    .map(|d| d.lead_id.clone())
                    .collect()
            })
            .unwrap_or_default();
        let on_drop = drop_to(pipeline, held, on, edit);
        Hand::new(
            &hooks.held,
            wide,
            state.shown,
            &on_drop,
            strip.then_some(&on_show),
        )
    });
    let asking_won = state.asking_won.as_ref();
    let cards = |stage: Stage, leads: &[&Lead], limit: usize| -> Html {
        let more = leads.len().saturating_sub(limit);
        let expand = on.reform(move |_: MouseEvent| Action::Expand(stage));
        html! {
            <>
                { for leads.iter().take(limit).map(|lead| {
                    let deal = own.and_then(|v| v.deal(&lead.id)).cloned();
                    let ask_won = asking_won.filter(|(id, _)| *id == lead.id).map_or(0, |(_, n)| *n);
                    html! {
                        <LeadCard key={lead.id.to_string()} lead={(*lead).clone()} read_only={read_only} edit={edit.clone()} {deal} pricing={pricing.clone()} on_moved={on_moved.clone()} {ask_won} />
                    }
                }) }
                if more > 0 {
                    <button type="button" class="quiet show-more" onclick={expand}>
                        { format!("Show all {} in {}", leads.len(), stage_label(stage)) }
                    </button>
                }
            </>
        }
    };
    let layout = if wide {
        "columns"
    } else if strip {
        "strip"
    } else {
        "list"
    };
    html! {
        <main class="board-page">
            if read_only {
                <p class="read-only">{ format!("{owner}'s pipeline, read-only.") }</p>
            } else if state.form_open {
                <LeadForm edit={new_lead(edit, on)} on_close={on_form.reform(|()| false)} />
            } else {
                <button id="new-lead" class="primary" onclick={open_form}>{ "+ New lead" }</button>
            }
            <BoardTools filter={state.filter.clone()} shown={shown.len()} of={on_board} on={on.clone()} />
            if !due.is_empty() && !narrowed {
                <section class="card due-list" aria-labelledby="due-title">
                    <h2 id="due-title">{ "Follow-ups due" }<span class="count">{ due.len() }</span></h2>
                    <ul>
                        { for due.iter().map(|lead| html! {
                            <li>{ link(lead) }
                                if let Some(f) = &lead.follow_up {
                                    <span class="at">{ show::when(f.at.0) }</span>
                                    if !f.note.is_empty() { <span class="note">{ &f.note }</span> }
                                }
                            </li>
                        }) }
                    </ul>
                </section>
            }
            if strip {
                { stage_tabs(&by_stage, state.shown, &on_show) }
            }
            <div class="stages" data-cards={drawn.to_string()} data-layout={layout}
                onpointerdown={hand.as_ref().map(|h| h.down.clone())}
                onpointermove={hand.as_ref().map(|h| h.moved.clone())}
                onpointerup={hand.as_ref().map(|h| h.up.clone())}
                onpointercancel={hand.as_ref().map(|h| h.cancel.clone())}
                onlostpointercapture={hand.as_ref().map(|h| h.lost.clone())}
                onkeydown={hand.as_ref().map(|h| h.key.clone())}
                onclick={hand.as_ref().map(|h| h.click.clone())}
                onfocusout={hand.as_ref().map(|h| h.blur.clone())}>
                { for by_stage.iter().filter(|(stage, leads, _)| drawn_here(*stage, leads)).map(|(stage, leads, limit)| {
                    let stage = *stage;
                    let totals = totals(leads);
                    if strip {
                        return html! {
                            <section class="stage" key={stage.as_str()} id="stage-panel" role="tabpanel" data-stage={stage.as_str()}
                                aria-labelledby={format!("tab-{stage}")}>
                                if !totals.is_empty() {
                                    <p class="totals">{ format!("{} · {}", stage_label(stage), totals.join(" · ")) }</p>
                                }
                                if leads.is_empty() {
                                    <p class="hint empty">{ format!("No leads in {}.", stage_label(stage)) }</p>
                                } else if !read_only {
                                    <p class="hint swipe-hint">{ "Swipe a card right to move it on, left to move it back." }</p>
                                }
                                { cards(stage, leads, *limit) }
                            </section>
                        };
                    }
                    html! {
                        <section class="stage" key={stage.as_str()} data-stage={stage.as_str()} data-drop={wide.then_some(stage.as_str())}
                            aria-label={stage_label(stage)}>
                            <h2>{ stage_label(stage) }<span class="count">{ leads.len() }</span></h2>
                            if !totals.is_empty() {
                                <p class="totals">{ totals.join(" · ") }</p>
                            }
                            { cards(stage, leads, *limit) }
                        </section>
                    }
                }) }
            </div>
            if !read_only {
                <p id="move-help" class="visually-hidden">{ "Space picks the lead up to move it; then the arrow keys choose a stage." }</p>
                <p id="board-announce" class="visually-hidden" aria-live="assertive"></p>
            }
            if let Some(moved) = state.moved.as_ref().filter(|_| !read_only) {
                { undo(moved, on, edit) }
            }
            if !archived.is_empty() {
                <details class="archived-list">
                    <summary>{ format!("Archived ({})", archived.len()) }</summary>
                    <ul>
                        { for archived.iter().map(|lead| html! { <li>{ link(lead) }</li> }) }
                    </ul>
                </details>
            }
        </main>
    }
}

/// What landing a card on a stage does: the move the stage buttons make
/// (logged, and offered to undo); for "won", the card's question first; for
/// a lead an approved deal holds (`held`), nothing but saying so.
fn drop_to(
    pipeline: &Rc<model::Pipeline>,
    held: Vec<LeadId>,
    on: &Callback<Action>,
    edit: &Callback<PipelineEdit>,
) -> Callback<(LeadId, Stage)> {
    let (pipeline, on, edit) = (pipeline.clone(), on.clone(), edit.clone());
    Callback::from(move |(id, to): (LeadId, Stage)| {
        let Some(lead) = pipeline.lead(&id) else {
            return;
        };
        let name = lead.contact_name.clone();
        if held.contains(&id) && to != Stage::Won {
            return announce(&format!(
                "The deal for {name} was approved: the lead stays won."
            ));
        }
        if to == Stage::Won {
            return on.emit(Action::AskWon(id));
        }
        let from = lead.stage;
        edit.emit(PipelineEdit::Move { id: id.clone(), to });
        on.emit(Action::Moved(Moved {
            lead: id,
            name,
            from,
            to,
        }));
    })
}

/// The new-lead form's edits: a new lead starts in New, so a phone shows
/// New as it is added, wherever the strip was.
fn new_lead(edit: &Callback<PipelineEdit>, on: &Callback<Action>) -> Callback<PipelineEdit> {
    let (edit, on) = (edit.clone(), on.clone());
    Callback::from(move |change: PipelineEdit| {
        if matches!(change, PipelineEdit::AddLead { .. }) {
            show_tab(Stage::New, false);
            on.emit(Action::Show(Stage::New));
        }
        edit.emit(change);
    })
}

/// A phone's stages: a strip of tabs, each with its count, one selected;
/// the arrow keys go along it (the tabs pattern), and each tab takes a card
/// carried by keyboard.
fn stage_tabs(
    by_stage: &[(Stage, Vec<&Lead>, usize)],
    shown: Stage,
    on_show: &Callback<Stage>,
) -> Html {
    let on_key = {
        let on_show = on_show.clone();
        Callback::from(move |e: KeyboardEvent| {
            let to = match e.key().as_str() {
                "ArrowRight" => shown.step(1),
                "ArrowLeft" => shown.step(-1),
                "Home" => Some(Stage::New),
                "End" => Some(Stage::Lost),
                _ => None,
            };
            if let Some(to) = to {
                e.prevent_default();
                on_show.emit(to);
                show_tab(to, true);
            }
        })
    };
    html! {
        <div class="stage-tabs" role="tablist" aria-label="Stages" onkeydown={on_key}>
            { for by_stage.iter().map(|(stage, leads, _)| {
                let stage = *stage;
                let here = stage == shown;
                let pick = on_show.reform(move |_: MouseEvent| stage);
                html! {
                    <button type="button" role="tab" class="stage-tab" id={format!("tab-{stage}")} data-stage={stage.as_str()} data-drop={stage.as_str()}
                        aria-selected={if here { "true" } else { "false" }} aria-controls={here.then_some("stage-panel")}
                        tabindex={if here { "0" } else { "-1" }} onclick={pick}>
                        { stage_label(stage) }<span class="count">{ leads.len() }</span>
                    </button>
                }
            }) }
        </div>
    }
}

/// Scrolls the strip so that `stage`'s tab is in its middle, and focuses it
/// when asked (the arrow keys move focus with the selection).
fn show_tab(stage: Stage, focus: bool) {
    let Some(tab) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(&format!("tab-{stage}")))
        .and_then(|t| t.dyn_into::<HtmlElement>().ok())
    else {
        return;
    };
    if let Some(strip) = tab.parent_element() {
        let middle = tab.offset_left() - (strip.client_width() - tab.offset_width()) / 2;
        strip.set_scroll_left(middle.max(0));
    }
    if focus {
        let _ = tab.focus();
    }
}

/// How many cards of a stage are drawn until the stage is asked for whole.
const FIRST_CARDS: usize = 30;

/// "Moved Ada Obi to Qualified. Undo": the last move made here, to take
/// back (a move back, logged as any move) or dismiss.
fn undo(moved: &Moved, on: &Callback<Action>, edit: &Callback<PipelineEdit>) -> Html {
    let back = {
        let (moved, on, edit) = (moved.clone(), on.clone(), edit.clone());
        Callback::from(move |_: MouseEvent| {
            edit.emit(PipelineEdit::Move {
                id: moved.lead.clone(),
                to: moved.from,
            });
            on.emit(Action::Undone);
        })
    };
    let dismiss = on.reform(|_: MouseEvent| Action::Undone);
    html! {
        <div class="toast" role="status">
            <span>{ format!("Moved {} to {}.", moved.name, stage_label(moved.to)) }</span>
            <button type="button" class="undo" onclick={back}
                aria-label={format!("Undo: move {} back to {}", moved.name, stage_label(moved.from))}>{ "Undo" }</button>
            <button type="button" class="quiet" onclick={dismiss} aria-label="Dismiss">{ "✕" }</button>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct ToolsProps {
    filter: Filter,
    /// How many leads pass, of how many on the board.
    shown: usize,
    of: usize,
    on: Callback<Action>,
}

/// The search, the filters and the sort. Its fields are filled from the
/// state as it mounts (never rendered with `value=`: see `forms::fill`),
/// and every change replaces the whole filter.
#[function_component(BoardTools)]
fn board_tools(props: &ToolsProps) -> Html {
    let (query, min, max) = (use_node_ref(), use_node_ref(), use_node_ref());
    let open = use_state(|| props.filter.filters());
    {
        let (query, min, max, filter) = (
            query.clone(),
            min.clone(),
            max.clone(),
            props.filter.clone(),
        );
        use_effect_with((), move |_| {
            forms::fill(&query, &filter.query);
            forms::fill(&min, &filter.min_value);
            forms::fill(&max, &filter.max_value);
            || ()
        });
    }
    let change = |f: fn(&mut Filter, String)| {
        let (filter, on) = (props.filter.clone(), props.on.clone());
        Callback::from(move |e: Event| {
            let value = e
                .target()
                .and_then(|t| {
                    t.dyn_ref::<HtmlInputElement>()
                        .map(|i| {
                            if i.type_() == "checkbox" {
                                i.checked().to_string()
                            } else {
                                i.value()
                            }
                        })
                        .or_else(|| t.dyn_ref::<HtmlSelectElement>().map(|s| s.value()))
                })
                .unwrap_or_default();
            let mut next = filter.clone();
            next.format = show::number_format();
            f(&mut next, value);
            on.emit(Action::Narrow(next));
        })
    };
    let on_query = {
        let (filter, on) = (props.filter.clone(), props.on.clone());
        Callback::from(move |e: InputEvent| {
            let value = e.target_unchecked_into::<HtmlInputElement>().value();
            on.emit(Action::Narrow(Filter {
                query: value,
                ..filter.clone()
            }));
        })
    };
    let clear = {
        let (on, sort, query, min, max) = (
            props.on.clone(),
            props.filter.sort,
            query.clone(),
            min.clone(),
            max.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            for field in [&query, &min, &max] {
                forms::fill(field, "");
            }
            on.emit(Action::Narrow(Filter {
                sort,
                ..Filter::default()
            }));
            // "Show all" goes with what it cleared: focus to the search.
            crate::focus::focus(&query);
        })
    };
    let toggle = {
        let open = open.clone();
        Callback::from(move |_: MouseEvent| open.set(!*open))
    };
    let f = &props.filter;
    html! {
        <section class="tools" aria-label="Search and filters">
            <div class="tool-row">
                <input type="search" id="lead-search" ref={query} placeholder="Search name, company, email, notes"
                    aria-label="Search leads" oninput={on_query} />
                <button type="button" class="quiet" id="filters-toggle" onclick={toggle}
                    aria-expanded={if *open { "true" } else { "false" }}>{ "Filters" }</button>
            </div>
            if *open {
                <div class="filters">
                    <label class="check"><input type="checkbox" id="due-only" checked={f.due_only}
                        onchange={change(|f, v| f.due_only = v == "true")} />{ "Follow-up due" }</label>
                    <label>{ "Stage" }
                        <select id="stage-filter" onchange={change(|f, v| f.stage = Stage::parse(&v).ok())}>
                            <option value="" selected={f.stage.is_none()}>{ "Any" }</option>
                            { for Stage::ALL.iter().map(|s| html! {
                                <option value={s.as_str()} selected={f.stage == Some(*s)}>{ stage_label(*s) }</option>
                            }) }
                        </select>
                    </label>
                    <label>{ "Currency" }
                        <select id="currency-filter" onchange={change(|f, v| f.currency = Currency::parse(&v).ok())}>
                            <option value="" selected={f.currency.is_none()}>{ "Any" }</option>
                            { for CURRENCIES.iter().map(|c| html! {
                                <option value={*c} selected={f.currency.is_some_and(|x| x.as_str() == *c)}>{ *c }</option>
                            }) }
                        </select>
                    </label>
                    <label>{ "At least" }
                        <input id="min-value" inputmode="decimal" ref={min} placeholder="0" onchange={change(|f, v| f.min_value = v)} />
                    </label>
                    <label>{ "At most" }
                        <input id="max-value" inputmode="decimal" ref={max} placeholder="Any" onchange={change(|f, v| f.max_value = v)} />
                    </label>
                    <label>{ "Sort" }
                        <select id="sort" onchange={change(|f, v| f.sort = Sort::parse(&v).unwrap_or_default())}>
                            { for Sort::ALL.iter().map(|s| html! {
                                <option value={s.as_str()} selected={*s == f.sort}>{ s.label() }</option>
                            }) }
                        </select>
                    </label>
                    // One element whatever it holds: Yew matches unkeyed
                    // children from the end, so a list growing here would
                    // hand the fields above to each other, typed values
                    // and all.
                    <div class="filter-errors" role="alert">
                        { for f.bound_errors().into_iter().map(|e| html! { <p class="error">{ e }</p> }) }
                    </div>
                </div>
            }
            if f.narrows() {
                <p class="narrowed" role="status">
                    { format!("Showing {} of {} leads. ", props.shown, props.of) }
                    <button type="button" class="quiet" id="clear-filters" onclick={clear}>{ "Show all" }</button>
                </p>
            }
        </section>
    }
}

fn link(lead: &Lead) -> Html {
    let href = format!("#{}", Page::Lead(lead.id.clone()).name());
    let company = (!lead.company.is_empty()).then(|| format!(" · {}", lead.company));
    html! { <a href={href}>{ &lead.contact_name }{ company }</a> }
}

/// What `leads` add up to, one sum per currency, in code order: amounts in
/// different currencies are never added together.
fn totals(leads: &[&Lead]) -> Vec<String> {
    let mut sums: BTreeMap<&str, (Currency, i64)> = BTreeMap::new();
    for lead in leads {
        let entry = sums
            .entry(lead.value.currency.as_str())
            .or_insert((lead.value.currency, 0));
        entry.1 = entry.1.saturating_add(lead.value.minor);
    }
    sums.values()
        .filter(|(_, minor)| *minor != 0)
        .map(|(currency, minor)| show::amount(Money::new(*minor, *currency)))
        .collect()
}
