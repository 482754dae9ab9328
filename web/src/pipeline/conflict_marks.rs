//! "Also changed on your other device": a field of the lead two devices set
//! while apart. The document shows one value (the same on every device);
//! the mark names the other and lets the partner keep either. Keeping one
//! writes it once more, over both, and the mark goes everywhere.

use model::{Conflict, ConflictValue, Lead, LeadField, PipelineEdit, Stage};
use web_common::show;
use yew::prelude::*;

use super::stage_label;

/// How a value of a field reads.
fn shown(value: &ConflictValue) -> String {
    match value {
        ConflictValue::Text(_, text) if text.is_empty() => "(empty)".to_owned(),
        ConflictValue::Text(_, text) => text.clone(),
        ConflictValue::Value(money) => show::amount(*money),
        ConflictValue::Stage(stage) => stage_label(*stage).to_owned(),
    }
}

/// The marks of `lead`'s conflicts; nothing when it has none. Keeping a
/// value follows the rules the rest of the page does: a lead held in "won"
/// by an approved deal keeps its stage (`stage_held`), a decided deal's
/// amount stays (`amount_locked`), and "won" is reached only through the
/// stage buttons, which ask first.
pub fn conflict_marks(
    lead: &Lead,
    read_only: bool,
    stage_held: bool,
    amount_locked: bool,
    edit: &Callback<PipelineEdit>,
) -> Html {
    if lead.conflicts.is_empty() {
        return Html::default();
    }
    html! {
        <section class="card conflicts" aria-label={format!("Changed on two devices: {}", lead.contact_name)}>
            <h3>{ "Changed on two devices" }</h3>
            { for lead.conflicts.iter().map(|c| {
                let locked = match c.field {
                    LeadField::Stage => stage_held,
                    LeadField::Value => amount_locked,
                    _ => false,
                };
                mark(lead, c, read_only, locked, edit)
            }) }
        </section>
    }
}

fn mark(
    lead: &Lead,
    conflict: &Conflict,
    read_only: bool,
    locked: bool,
    edit: &Callback<PipelineEdit>,
) -> Html {
    let label = conflict.field.label();
    let here = lead.value_of(conflict.field);
    let keep = |value: ConflictValue| {
        let (id, edit) = (lead.id.clone(), edit.clone());
        Callback::from(move |_: MouseEvent| {
            edit.emit(PipelineEdit::Settle {
                id: id.clone(),
                keep: value.clone(),
            })
        })
    };
    let others: Vec<String> = conflict.others.iter().map(shown).collect();
    html! {
        <div class="conflict-mark" data-field={conflict.field.key()} role="note">
            <p>
                { format!("The {label} shows {}; ", shown(&here)) }
                <strong>{ format!("also changed on your other device: {}", others.join(", ")) }</strong>
            </p>
            if !read_only {
                <div class="row">
                    <button type="button" onclick={keep(here.clone())}
                        aria-label={format!("Keep {} as the {label} of {}", shown(&here), lead.contact_name)}>
                        { format!("Keep {}", shown(&here)) }
                    </button>
                    { for conflict.others.iter().filter(|other| !locked && **other != ConflictValue::Stage(Stage::Won)).map(|other| html! {
                        <button type="button" onclick={keep(other.clone())}
                            aria-label={format!("Use {} as the {label} of {}", shown(other), lead.contact_name)}>
                            { format!("Use {}", shown(other)) }
                        </button>
                    }) }
                </div>
                if locked {
                    <p class="hint">{ "The deal was decided: this stays as it is." }</p>
                } else if conflict.others.contains(&ConflictValue::Stage(Stage::Won)) {
                    <p class="hint">{ "To mark it won, use the Won button under Stage." }</p>
                }
            }
        </div>
    }
}
