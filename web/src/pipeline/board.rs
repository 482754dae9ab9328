//! The pipeline screen: the new-lead button (or form, or a read-only
//! notice for a team member's pipeline), the search, filters and sort
//! (`tools`), the follow-ups due, the leads by stage with their totals per
//! currency, the archived leads, and the offer to undo the last move. On a
//! phone the stages stack; on a wide screen they stand side by side.

use std::collections::BTreeMap;

use model::{AccountView, Currency, Lead, Money, PipelineDoc, Stage};
use wasm_bindgen::JsCast;
use web_common::{
    api::Me,
    forms::{self, CURRENCIES},
    show,
};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::{
    Action, Moved, Page, State,
    filter::{Filter, Sort},
    lead_card::LeadCard,
    lead_form::LeadForm,
    stage_label,
};
use crate::{clock, document::Edit, page::Page as _};

/// The pipeline screen for `me`, showing `state`; `view` is the partner's
/// account view (the deals on lead cards), `on` takes the board's actions
/// (the new-lead form, the filters, moves) and `edit` writes a change into
/// the pipeline shown.
pub fn board(
    me: &Me,
    state: &State,
    read_only: bool,
    view: Option<&AccountView>,
    on: &Callback<Action>,
    edit: &Callback<Edit>,
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
            let whole = state.filter.narrows() || state.expanded.contains(stage);
            (*stage, leads, if whole { usize::MAX } else { FIRST_CARDS })
        })
        .collect();
    let drawn: usize = by_stage
        .iter()
        .map(|(_, leads, limit)| leads.len().min(*limit))
        .sum();
    html! {
        <main class="board-page">
            if read_only {
                <p class="read-only">{ format!("{owner}'s pipeline, read-only.") }</p>
            } else if state.form_open {
                <LeadForm edit={edit.clone()} on_close={on_form.reform(|()| false)} />
            } else {
                <button id="new-lead" class="primary" onclick={open_form}>{ "+ New lead" }</button>
            }
            <BoardTools filter={state.filter.clone()} shown={shown.len()} of={on_board} on={on.clone()} />
            if !due.is_empty() && !state.filter.narrows() {
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
            <div class="stages" data-cards={drawn.to_string()}>
                { for by_stage.into_iter().map(|(stage, leads, limit)| {
                    let totals = totals(&leads);
                    let more = leads.len().saturating_sub(limit);
                    let expand = on.reform(move |_: MouseEvent| Action::Expand(stage));
                    html! {
                        <section class="stage" data-stage={stage.as_str()} aria-label={stage_label(stage)}>
                            <h2>{ stage_label(stage) }<span class="count">{ leads.len() }</span></h2>
                            if !totals.is_empty() {
                                <p class="totals">{ totals.join(" · ") }</p>
                            }
                            { for leads.iter().take(limit).map(|lead| {
                                // Deals are in the partner's own account view only.
                                let own = view.filter(|_| !read_only);
                                let deal = own.and_then(|v| v.deal(&lead.id)).cloned();
                                let pricing = own.and_then(|v| v.next_deal.clone());
                                html! {
                                    <LeadCard key={lead.id.to_string()} lead={(*lead).clone()} read_only={read_only} edit={edit.clone()} {deal} {pricing} on_moved={on_moved.clone()} />
                                }
                            }) }
                            if more > 0 {
                                <button type="button" class="quiet show-more" onclick={expand}>
                                    { format!("Show all {} in {}", leads.len(), stage_label(stage)) }
                                </button>
                            }
                        </section>
                    }
                }) }
            </div>
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

/// How many cards of a stage are drawn until the stage is asked for whole.
const FIRST_CARDS: usize = 30;

/// "Moved Ada Obi to Qualified. Undo": the last move made here, to take
/// back (a move back, logged as any move) or dismiss.
fn undo(moved: &Moved, on: &Callback<Action>, edit: &Callback<Edit>) -> Html {
    let back = {
        let (moved, on, edit) = (moved.clone(), on.clone(), edit.clone());
        Callback::from(move |_: MouseEvent| {
            let (id, from) = (moved.lead.clone(), moved.from);
            edit.emit(Box::new(move |doc| {
                PipelineDoc::move_lead(doc, &id, from, clock::now())
            }));
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
    let (query, min) = (use_node_ref(), use_node_ref());
    let open = use_state(|| {
        props.filter.due_only
            || props.filter.currency.is_some()
            || !props.filter.min_value.is_empty()
    });
    {
        let (query, min, filter) = (query.clone(), min.clone(), props.filter.clone());
        use_effect_with((), move |_| {
            forms::fill(&query, &filter.query);
            forms::fill(&min, &filter.min_value);
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
        let (on, sort, query, min) = (
            props.on.clone(),
            props.filter.sort,
            query.clone(),
            min.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            forms::fill(&query, "");
            forms::fill(&min, "");
            on.emit(Action::Narrow(Filter {
                sort,
                ..Filter::default()
            }));
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
                    <label>{ "Sort" }
                        <select id="sort" onchange={change(|f, v| f.sort = Sort::parse(&v).unwrap_or_default())}>
                            { for Sort::ALL.iter().map(|s| html! {
                                <option value={s.as_str()} selected={*s == f.sort}>{ s.label() }</option>
                            }) }
                        </select>
                    </label>
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
