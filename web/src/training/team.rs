//! A team leader's part of a track's page: assigning one of its modules to
//! members of their team by a day, and where each member stands with what
//! was assigned. Both ask the server (`/api/team/training/assignments`),
//! so they need a connection, and say so without one; what members see of
//! an assignment (their dashboard) is on their devices.

use std::rc::Rc;

use wasm_bindgen_futures::spawn_local;
use web_common::{
    api::{self, AssignmentStatus, NewAssignment, Published, TeamMember},
    forms::form,
    show,
};
use yew::prelude::*;

const PATH: &str = "/api/team/training/assignments";

#[derive(Properties, PartialEq)]
pub struct Props {
    pub published: Rc<Published>,
    pub team: Rc<Vec<TeamMember>>,
}

#[function_component(TeamPanel)]
pub fn team_panel(props: &Props) -> Html {
    let statuses = use_state(|| None::<Result<Vec<AssignmentStatus>, String>>);
    let outcome = use_state(|| None::<Result<String, String>>);
    let generation = use_state(|| 0u32);
    {
        let statuses = statuses.clone();
        use_effect_with(*generation, move |_| {
            spawn_local(async move {
                statuses.set(Some(
                    api::get::<Vec<AssignmentStatus>>(PATH)
                        .await
                        .map_err(|e| e.to_string()),
                ));
            });
            || ()
        });
    }
    let track = &props.published.track;
    let members: Vec<&TeamMember> = props
        .team
        .iter()
        .filter(|m| m.partner_id.is_some())
        .collect();
    let assign = {
        let (outcome, generation, track_id) =
            (outcome.clone(), generation.clone(), track.id.clone());
        Callback::from(move |e: SubmitEvent| {
            let field = form(&e);
            let data = web_sys::FormData::new_with_form(
                &e.target_unchecked_into::<web_sys::HtmlFormElement>(),
            )
            .ok();
            let partner_ids: Vec<String> = data
                .map(|d| {
                    d.get_all("member")
                        .iter()
                        .filter_map(|v| v.as_string())
                        .collect()
                })
                .unwrap_or_default();
            if partner_ids.is_empty() {
                outcome.set(Some(Err("Choose who does it.".to_owned())));
                return;
            }
            let body = NewAssignment {
                partner_ids,
                track_id: track_id.clone(),
                module_id: field("module"),
                due_on: field("due"),
            };
            let (outcome, generation) = (outcome.clone(), generation.clone());
            spawn_local(async move {
                let json = serde_json::to_string(&body).ok();
                match api::call("POST", PATH, json).await {
                    Ok(_) => {
                        outcome.set(Some(Ok(format!(
                            "Assigned, due {}. They are notified and see it on their dashboard.",
                            show::calendar_day(&body.due_on)
                        ))));
                        generation.set(*generation + 1);
                    }
                    Err(e) => outcome.set(Some(Err(e.to_string()))),
                }
            });
        })
    };
    let mine: Vec<&AssignmentStatus> = match &*statuses {
        Some(Ok(all)) => all.iter().filter(|s| s.track_id == track.id).collect(),
        _ => Vec::new(),
    };
    let due = show::local_day(7);
    html! {
        <section class="card team-panel" aria-labelledby="team-panel-title">
            <h3 id="team-panel-title">{ "Your team" }</h3>
            if members.is_empty() {
                <p class="hint">{ "Nobody is in your team yet." }</p>
            } else {
                <details class="assign">
                    <summary>{ "Assign a module" }</summary>
                    <form id="assign-form" onsubmit={assign}>
                        <label for="assign-module">{ "Module" }</label>
                        <select id="assign-module" name="module">
                            { for track.modules.iter().map(|m| html! { <option value={m.id.clone()}>{ &m.title }</option> }) }
                        </select>
                        <fieldset class="members">
                            <legend>{ "Who" }</legend>
                            { for members.iter().map(|m| html! {
                                <label class="choice">
                                    <input type="checkbox" name="member" value={m.partner_id.clone().unwrap_or_default()} />
                                    { &m.name }
                                </label>
                            }) }
                        </fieldset>
                        <label for="assign-due">{ "Due by" }</label>
                        <input id="assign-due" name="due" type="date" value={due} required=true />
                        <button type="submit" class="primary">{ "Assign" }</button>
                    </form>
                </details>
            }
            { match &*outcome {
                Some(Ok(said)) => html! { <p class="notice" role="status" id="assign-done">{ said }</p> },
                Some(Err(why)) => html! { <p class="error" role="alert">{ why }</p> },
                None => Html::default(),
            } }
            { match &*statuses {
                None => html! { <p class="hint">{ "Loading your team's progress…" }</p> },
                Some(Err(why)) => html! { <p class="hint">{ format!("Your team's progress needs a connection. {why}") }</p> },
                Some(Ok(_)) if mine.is_empty() => html! { <p class="hint">{ "Nothing of this track is assigned to your team." }</p> },
                Some(Ok(_)) => html! {
                    <ul class="plain team-progress">
                        { for mine.iter().map(|s| {
                            let done = s.completed_at.is_some();
                            html! {
                                <li class={classes!("due-item", done.then_some("done"))} data-partner={s.partner_id.clone()} data-module={s.module_id.clone()}>
                                    <strong>{ &s.partner_name }</strong>
                                    <span>{ &s.module_title }</span>
                                    <span class="hint">{ if done {
                                        "done".to_owned()
                                    } else {
                                        format!("{} of {} lessons · due {}", s.lessons_done, s.lessons, show::calendar_day(&s.due_on))
                                    } }</span>
                                </li>
                            }
                        }) }
                    </ul>
                },
            } }
        </section>
    }
}
