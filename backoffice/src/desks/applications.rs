//! Applications: people who applied to the programme, waiting first. An
//! admin approves one into a team (the team leader whose invite link they
//! came by is chosen already) or solo, or rejects it with a reason the
//! applicant reads when they try to sign in.

use yew::prelude::*;

use super::{
    Ctx,
    parts::{answer, card, day_of, picker, reason_form},
};
use web_common::{
    api::{self, AccountStatus, ApiError, ApplicationEntry, Approval, Decision, TeamLeader},
    forms::{Change, form},
};

pub const NAME: &str = "applications";
pub const TITLE: &str = "Applications";

/// The applications of the status shown, oldest first, and the teams an
/// approved applicant may join.
#[derive(Clone, Debug, PartialEq)]
pub struct Answers {
    pub applications: Vec<ApplicationEntry>,
    pub teams: Vec<TeamLeader>,
}

/// What the picker offers, in its order (the API's filter and its label).
const SHOWN: [(&str, &str); 4] = [
    ("applied", "Waiting for a decision"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
    ("all", "All"),
];

/// The choice as the API's filter names it; the waiting ones when none is
/// made.
fn shown(choice: &str) -> &str {
    if choice.is_empty() {
        SHOWN[0].0
    } else {
        choice
    }
}

pub async fn fetch(choice: &str) -> Result<Answers, ApiError> {
    let path = format!("/api/admin/applications?status={}", shown(choice));
    let applications = api::get(&path);
    let teams = api::get("/api/admin/teams");
    let (applications, teams) = futures::join!(applications, teams);
    Ok(Answers {
        applications: applications?,
        teams: teams?,
    })
}

pub fn view(answers: &Answers, ctx: &Ctx) -> Html {
    let statuses = SHOWN
        .iter()
        .map(|(value, label)| ((*value).to_owned(), (*label).to_owned()))
        .collect();
    let chosen = shown(ctx.choice);
    html! {
        <>
            <label class="move">{ "Show" }{ picker("application-status", statuses, chosen, ctx) }</label>
            if answers.applications.is_empty() {
                <p class="hint">{ if chosen == SHOWN[0].0 { "Nobody is waiting for a decision." } else { "Nothing here." } }</p>
            }
            { for answers.applications.iter().map(|a| row(a, &answers.teams, ctx)) }
        </>
    }
}

/// A team as the admin chooses it: "Ana Souza (Souza Consulting), 3 partners".
fn team_label(team: &TeamLeader) -> String {
    let members = match team.members {
        1 => "1 partner".to_owned(),
        n => format!("{n} partners"),
    };
    if team.company.is_empty() {
        format!("{}'s team, {members}", team.name)
    } else {
        format!("{}'s team ({}), {members}", team.name, team.company)
    }
}

fn row(application: &ApplicationEntry, teams: &[TeamLeader], ctx: &Ctx) -> Html {
    let id = application.id.clone();
    let invited = application.invited_by.as_ref();
    let team_of = |leader: &str| {
        teams
            .iter()
            .find(|t| t.account_id == leader)
            .map_or_else(|| "a team".to_owned(), |t| format!("{}'s team", t.name))
    };
    let decision = match application.status {
        AccountStatus::Applied if ctx.reasoning_about(&id) => reason_form(
            ctx,
            "applicant",
            "Reject application",
            format!("/api/admin/applications/{id}/reject"),
            None,
            |_| html! { "Application rejected. The applicant reads the reason when they sign in." },
        ),
        AccountStatus::Applied => {
            let approve = {
                let id = id.clone();
                ctx.change.reform(move |e: SubmitEvent| {
                    let team = form(&e)("team");
                    let approval = Approval {
                        team_leader_id: (!team.is_empty()).then_some(team),
                    };
                    Change::new(
                        "POST",
                        format!("/api/admin/applications/{id}/approve"),
                        Some(&approval),
                        |d| {
                            answer(d, |d: Decision| match d.team_leader_id {
                                Some(_) => html! { "Application approved: the partner joins the team and can sign in now." },
                                None => html! { "Application approved: the partner works solo and can sign in now." },
                            })
                        },
                    )
                })
            };
            let field = format!("team-{id}");
            let chosen = invited.map(|t| t.account_id.as_str());
            html! {
                <form class="approve-form" onsubmit={approve}>
                    <label for={field.clone()}>{ "Team" }</label>
                    <select id={field} name="team">
                        <option value="" selected={chosen.is_none()}>{ "No team (solo)" }</option>
                        { for teams.iter().map(|t| html! {
                            <option value={t.account_id.clone()} selected={chosen == Some(t.account_id.as_str())}>{ team_label(t) }</option>
                        }) }
                    </select>
                    <div class="row">
                        <button type="button" class="reject" onclick={ctx.ask_why(&id)}>{ "Reject…" }</button>
                        <button type="submit" class="primary approve">{ "Approve" }</button>
                    </div>
                </form>
            }
        }
        AccountStatus::Approved => html! {
            <p class="notes">{ format!(
                "Approved {}, {}",
                application.decided_at.as_deref().map(day_of).unwrap_or_default(),
                match &application.team_leader_id {
                    Some(leader) => format!("in {}", team_of(leader)),
                    None => "solo".to_owned(),
                },
            ) }</p>
        },
        AccountStatus::Rejected => html! {
            <p class="notes">{ format!(
                "Rejected {}: {}",
                application.decided_at.as_deref().map(day_of).unwrap_or_default(),
                application.reject_reason.as_deref().unwrap_or_default(),
            ) }</p>
        },
    };
    card(
        id.clone(),
        application.email.clone(),
        application.name.clone(),
        String::new(),
        html! {
            <>
                <div class="company">{ format!(
                    "{}{} · applied {}",
                    if application.company.is_empty() { String::new() } else { format!("{} · ", application.company) },
                    application.email,
                    day_of(&application.created_at),
                ) }</div>
                if let Some(leader) = invited {
                    <p class="hint invited">{ format!("Came by {}'s invite link", leader.name) }</p>
                }
                { decision }
            </>
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teams_read_as_their_leader_and_size() {
        let team = |company: &str, members| TeamLeader {
            account_id: "a-ana".to_owned(),
            name: "Ana Souza".to_owned(),
            company: company.to_owned(),
            members,
        };
        assert_eq!(
            team_label(&team("Souza Consulting", 1)),
            "Ana Souza's team (Souza Consulting), 1 partner"
        );
        assert_eq!(team_label(&team("", 0)), "Ana Souza's team, 0 partners");
    }

    #[test]
    fn the_waiting_ones_show_first() {
        assert_eq!(shown(""), "applied");
        assert_eq!(shown("rejected"), "rejected");
    }
}
