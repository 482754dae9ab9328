//! The leaderboards (`#leaderboard`, under the Tier tab): where the
//! partner ranks this month, quarter or year (or the last one, frozen),
//! by deals approved, revenue per currency or training modules completed,
//! across the programme or within their team. The server ranks
//! (`rules::rank`: by score, then by who got there first) and writes each
//! partner's `standings` document; this screen reads it from the device,
//! offline too, and shows the top and the partner's neighbours.

use std::rc::Rc;

use model::{Board, Standings, Timestamp};
use web_common::show;
use yew::prelude::*;

use crate::{
    document::{DocEvent, Document, Followed, use_document},
    engine::EngineRef,
    page,
};

/// The module's page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Page {
    Board,
}

impl page::Page for Page {
    fn parse(name: &str) -> Option<Page> {
        (name == "leaderboard").then_some(Page::Board)
    }

    fn name(&self) -> String {
        "leaderboard".to_owned()
    }

    fn title(&self) -> &'static str {
        "Leaderboard"
    }
}

/// The standings as the screens read them: the server's JSON view, typed.
#[derive(Clone, PartialEq)]
pub struct Read {
    pub computed_at: Timestamp,
    pub standings: Standings,
}

impl Document for Read {
    const KIND: engine_protocol::DocKind = engine_protocol::DocKind::Standings;
    fn from_reading(reading: engine_protocol::Reading) -> Option<Self> {
        match reading {
            engine_protocol::Reading::Standings { computed_at, body } => Some(Read {
                computed_at,
                standings: serde_json::from_value(body).ok()?,
            }),
            _ => None,
        }
    }
}

#[derive(Properties, PartialEq)]
pub struct Props {
    pub engine: Option<EngineRef>,
    pub doc_id: Option<String>,
    pub me: AttrValue,
}

/// What the partner picked: span, which period, metric (with currency),
/// scope.
#[derive(Clone, PartialEq)]
struct Choice {
    span: &'static str,
    which: &'static str,
    metric: String,
    scope: &'static str,
}

fn metric_label(board: &Board) -> String {
    match (board.metric.as_str(), &board.currency) {
        ("deals", _) => "Deals approved".to_owned(),
        ("training", _) => "Training modules".to_owned(),
        ("revenue", Some(c)) => format!("Revenue ({c})"),
        (other, _) => other.to_owned(),
    }
}

fn metric_key(board: &Board) -> String {
    match &board.currency {
        Some(c) => format!("{}.{c}", board.metric),
        None => board.metric.clone(),
    }
}

fn score(board: &Board, score: i64) -> String {
    match &board.currency {
        Some(c) => show::money(score, c),
        None => show::count(u64::try_from(score).unwrap_or(0)),
    }
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn period_label(board: &Board) -> String {
    period_name(&board.span, &board.period)
}

#[function_component(LeaderboardPage)]
pub fn leaderboard_page(props: &Props) -> Html {
    let reading = use_state(|| None::<Result<Rc<Read>, String>>);
    let choice = use_state(|| Choice {
        span: "month",
        which: "current",
        metric: "deals".to_owned(),
        scope: "programme",
    });
    let on = {
        let reading = reading.clone();
        Callback::from(move |followed: Followed<Read>| match followed.event {
            DocEvent::Read { value, .. } => reading.set(Some(value.map(Rc::new))),
            DocEvent::Failed(e) => reading.set(Some(Err(e))),
            _ => {}
        })
    };
    use_document::<Read>(props.engine.clone(), props.doc_id.clone(), on);
    if props.doc_id.is_none() {
        return html! {
            <main id="leaderboard" class="card"><p>{ "The leaderboards rank partners: this account has no place on them." }</p></main>
        };
    }
    let read = match &*reading {
        None => {
            return html! { <main id="leaderboard"><p class="hint" role="status">{ "Opening the leaderboards…" }</p></main> };
        }
        Some(Err(e)) => {
            return html! { <main id="leaderboard" class="card"><p role="alert">{ format!("The leaderboards do not read: {e}") }</p></main> };
        }
        Some(Ok(read)) => read.clone(),
    };
    let c = (*choice).clone();
    let boards = &read.standings.boards;
    // The metrics of this period and scope, in a steady order.
    let mut metrics: Vec<(String, String)> = boards
        .values()
        .filter(|b| b.span == c.span && b.scope == c.scope)
        .filter(|b| (b.closed) == (c.which == "previous"))
        .map(|b| (metric_key(b), metric_label(b)))
        .collect();
    metrics.sort();
    metrics.dedup();
    let has_team = boards.values().any(|b| b.scope == "team");
    let board = boards
        .values()
        .find(|b| {
            b.span == c.span
                && b.scope == c.scope
                && b.closed == (c.which == "previous")
                && metric_key(b) == c.metric
        })
        .cloned();
    let pick = |f: fn(&mut Choice, &str), value: &'static str| {
        let choice = choice.clone();
        Callback::from(move |_: MouseEvent| {
            let mut next = (*choice).clone();
            f(&mut next, value);
            choice.set(next);
        })
    };
    let on_metric = {
        let choice = choice.clone();
        Callback::from(move |e: Event| {
            let value = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            let mut next = (*choice).clone();
            next.metric = value;
            choice.set(next);
        })
    };
    let toggle = |label: &'static str, pressed: bool, onclick: Callback<MouseEvent>| {
        html! { <button type="button" class="toggle" aria-pressed={pressed.to_string()} {onclick}>{ label }</button> }
    };
    html! {
        <main id="leaderboard" class="card">
            <div class="board-controls">
                <div class="segmented" role="group" aria-label="Period">
                    { toggle("Month", c.span == "month", pick(|c, v| c.span = span_of(v), "month")) }
                    { toggle("Quarter", c.span == "quarter", pick(|c, v| c.span = span_of(v), "quarter")) }
                    { toggle("Year", c.span == "year", pick(|c, v| c.span = span_of(v), "year")) }
                </div>
                <div class="segmented" role="group" aria-label="Which period">
                    { toggle("This one", c.which == "current", pick(|c, _| c.which = "current", "")) }
                    { toggle("The last one", c.which == "previous", pick(|c, _| c.which = "previous", "")) }
                </div>
                if has_team {
                    <div class="segmented" role="group" aria-label="Who">
                        { toggle("Everyone", c.scope == "programme", pick(|c, _| c.scope = "programme", "")) }
                        { toggle("My team", c.scope == "team", pick(|c, _| c.scope = "team", "")) }
                    </div>
                }
                <label class="board-metric">{ "Ranked by" }
                    <select id="board-metric" onchange={on_metric}>
                        { for metrics.iter().map(|(key, label)| html! {
                            <option value={key.clone()} selected={*key == c.metric}>{ label }</option>
                        }) }
                    </select>
                </label>
            </div>
            { match board {
                Some(board) => board_view(&board, &props.me),
                None => html! { <p>{ "Nobody is ranked on this board." }</p> },
            } }
            { challenges(&read.standings) }
            { achievements(&read.standings) }
            <p class="hint">{ "Ties go to whoever got there first. A period closes at midnight in the programme's time zone; a closed period's board never changes." }</p>
            <p class="hint as-of" data-computed-at={read.computed_at.0.to_string()}>
                { format!("As of {}", show::when(read.computed_at.0)) }
            </p>
        </main>
    }
}

/// The active challenges, each with the partner's progress this period.
fn challenges(standings: &Standings) -> Html {
    if standings.challenges.is_empty() {
        return Html::default();
    }
    let mut all: Vec<(&String, &model::ChallengeProgress)> = standings.challenges.iter().collect();
    all.sort_by(|a, b| a.1.title.cmp(&b.1.title).then(a.0.cmp(b.0)));
    html! {
        <section id="challenges" aria-labelledby="challenges-title">
            <h2 id="challenges-title">{ "Challenges" }</h2>
            <ul class="plain challenge-list">
                { for all.into_iter().map(|(id, c)| {
                    let unit = |n: i64| challenge_unit(c, n);
                    let what = match c.metric.as_str() {
                        "deals" => "deals approved",
                        "training" => "modules completed",
                        _ => "revenue",
                    };
                    let goal = match c.operator.as_str() {
                        "more_than" => format!("More than {} {what}", unit(c.target)),
                        _ => format!("At least {} {what}", unit(c.target)),
                    };
                    let reward = match (c.bonus_minor, &c.bonus_currency) {
                        (Some(minor), Some(cur)) => format!("Bonus of {}", show::money(minor, cur)),
                        _ => "A badge".to_owned(),
                    };
                    let shown = c.score.clamp(0, c.target);
                    html! {
                        <li class={classes!("challenge", c.met.then_some("met"))} data-challenge={id.clone()}>
                            <div class="lead-head">
                                <span class="who">{ &c.title }</span>
                                <span class="hint">{ if c.met { "Met".to_owned() } else { format!("{} of {}", unit(c.score), unit(c.target)) } }</span>
                            </div>
                            <progress max={c.target.to_string()} value={shown.to_string()}
                                aria-label={format!("{}: {} of {}", c.title, unit(c.score), unit(c.target))}></progress>
                            <span class="hint">{ format!("{goal} in {} · {reward}", period_name(&c.span, &c.period)) }</span>
                            if !c.description.is_empty() { <p class="hint">{ &c.description }</p> }
                        </li>
                    }
                }) }
            </ul>
        </section>
    }
}

/// What the partner achieved, the most recent first.
fn achievements(standings: &Standings) -> Html {
    let mut all: Vec<&model::Achievement> = standings.achievements.values().collect();
    if all.is_empty() {
        return Html::default();
    }
    all.sort_by_key(|a| std::cmp::Reverse(a.achieved_at));
    html! {
        <section id="achievements" aria-labelledby="achievements-title">
            <h2 id="achievements-title">{ format!("Achievements ({})", all.len()) }</h2>
            <ul class="plain achievement-list">
                { for all.into_iter().map(achievement) }
            </ul>
        </section>
    }
}

/// One achievement: the challenge, when, and its bonus's fate.
fn achievement(a: &model::Achievement) -> Html {
    let bonus = a.bonus.as_ref().map(|b| {
        let amount = show::money(b.amount_minor, &b.currency);
        match (b.status.as_str(), &b.reason) {
            ("approved", _) => format!("Bonus of {amount}: in your earnings"),
            ("rejected", Some(why)) => format!("Bonus of {amount}: not approved ({why})"),
            ("rejected", None) => format!("Bonus of {amount}: not approved"),
            _ => format!("Bonus of {amount}: waiting for approval"),
        }
    });
    html! {
        <li class="achievement" data-bonus={a.bonus.as_ref().map(|b| b.status.clone())}>
            <span class="medal" aria-hidden="true">{ "★" }</span>
            <span class="who">{ &a.title }</span>
            <span class="hint">{ format!("{} · {}", period_key_name(&a.period), show::day(a.achieved_at as f64)) }</span>
            if let Some(bonus) = bonus { <span class="hint bonus">{ bonus }</span> }
        </li>
    }
}

/// Achievements shown outside the leaderboard (the dashboard, the Tier
/// screen): the latest few.
const HIGHLIGHTED: usize = 3;

/// The partner's standing at a glance, for the dashboard and the Tier
/// screen: their rank this month, their latest achievements, or the
/// challenge nearest to being met. It reads the same `standings`
/// document as the leaderboard, from the device, offline too.
#[derive(Properties, PartialEq)]
pub struct HighlightsProps {
    pub engine: Option<EngineRef>,
    pub doc_id: Option<String>,
    /// Inside another screen's card (the Tier screen, which links the
    /// leaderboard itself): a part of it, headed one level down, and no
    /// link of its own.
    #[prop_or(false)]
    pub nested: bool,
}

#[function_component(Highlights)]
pub fn highlights(props: &HighlightsProps) -> Html {
    let reading = use_state(|| None::<Rc<Read>>);
    let on = {
        let reading = reading.clone();
        Callback::from(move |followed: Followed<Read>| {
            if let DocEvent::Read {
                value: Ok(value), ..
            } = followed.event
            {
                reading.set(Some(Rc::new(value)));
            }
        })
    };
    use_document::<Read>(props.engine.clone(), props.doc_id.clone(), on);
    // Nothing to say until there is something: the dashboard is not the
    // place for "opening".
    let Some(read) = (*reading).clone() else {
        return Html::default();
    };
    let standings = &read.standings;
    let month = standings
        .boards
        .values()
        .find(|b| b.span == "month" && !b.closed && b.scope == "programme" && b.metric == "deals");
    let rank = month.and_then(|b| b.me.as_ref().map(|p| (b, p)));
    let mut held: Vec<&model::Achievement> = standings.achievements.values().collect();
    held.sort_by_key(|a| std::cmp::Reverse(a.achieved_at));
    // The challenge nearest to being met, by the share of its target done.
    let nearest = standings
        .challenges
        .values()
        .filter(|c| !c.met && c.target > 0)
        .max_by_key(|c| {
            (
                c.score.clamp(0, c.target) * 1000 / c.target,
                std::cmp::Reverse(c.title.clone()),
            )
        });
    if rank.is_none() && held.is_empty() && nearest.is_none() {
        return Html::default();
    }
    html! {
        <section class="card highlights" aria-labelledby="highlights-title">
            if props.nested {
                <h3 id="highlights-title">{ "Achievements" }</h3>
            } else {
                <h2 id="highlights-title">{ "Achievements" }</h2>
            }
            if let Some((board, place)) = rank {
                <p class="board-me">{ format!("{} of {} in deals approved this month · top {}%",
                    ordinal(place.rank), board.ranked, place.top_percent) }</p>
            }
            if held.is_empty() {
                <p class="hint">{ "None yet: meet a challenge to earn one." }</p>
            } else {
                <ul class="plain achievement-list">
                    { for held.iter().take(HIGHLIGHTED).map(|a| achievement(a)) }
                </ul>
                if held.len() > HIGHLIGHTED {
                    <p class="hint">{ format!("and {} more", held.len() - HIGHLIGHTED) }</p>
                }
            }
            if let Some(c) = nearest {
                <p class="hint next-challenge">{ format!("Next: {}, {} of {}", c.title, challenge_unit(c, c.score), challenge_unit(c, c.target)) }</p>
            }
            if !props.nested { <p><a class="more" href="#leaderboard">{ "Leaderboards and challenges" }</a></p> }
        </section>
    }
}

/// A challenge's score or target in its unit: a count, or an amount.
fn challenge_unit(c: &model::ChallengeProgress, n: i64) -> String {
    match &c.currency {
        Some(cur) => show::money(n, cur),
        None => show::count(u64::try_from(n).unwrap_or(0)),
    }
}

/// A period named by its key alone: `2026-12` is a month, `2026-Q4` a
/// quarter, `2026` a year.
fn period_key_name(key: &str) -> String {
    let span = if key.contains('Q') || !key.contains('-') {
        "other"
    } else {
        "month"
    };
    period_name(span, key)
}

fn period_name(span: &str, key: &str) -> String {
    if span == "month" {
        show::month(key)
    } else {
        key.replace('-', " ")
    }
}

fn span_of(value: &str) -> &'static str {
    match value {
        "quarter" => "quarter",
        "year" => "year",
        _ => "month",
    }
}

fn board_view(board: &Board, me: &str) -> Html {
    let headline = match &board.me {
        Some(place) => format!(
            "You are {} of {} · top {}%",
            ordinal(place.rank),
            board.ranked,
            place.top_percent
        ),
        None if board.closed => "You were not ranked in this period.".to_owned(),
        None => "You are not ranked yet: score once to join the board.".to_owned(),
    };
    html! {
        <section class="board" data-board={format!("{}-{}-{}", board.span, metric_key(board), board.scope)}
            aria-labelledby="board-title">
            <h2 id="board-title">{ format!("{} · {}{}", metric_label(board), period_label(board), if board.closed { " (closed)" } else { "" }) }</h2>
            <p class="board-me">{ headline }</p>
            <ol class="plain board-lines">
                { for board.entries.iter().map(|e| {
                    let mine = e.partner == me;
                    html! {
                        <>
                            // Lines left out between the top and the
                            // partner's neighbours.
                            if e.gap_before { <li class="board-gap" aria-hidden="true">{ "…" }</li> }
                            <li class={classes!("board-line", mine.then_some("mine"))} data-partner={e.partner.clone()}
                                data-rank={e.rank.to_string()} aria-current={mine.then_some("true")}>
                                <span class="rank">{ ordinal(e.rank) }</span>
                                <span class="who">{ if mine { format!("{} (you)", e.name) } else { e.name.clone() } }</span>
                                <span class="score">{ score(board, e.score) }</span>
                            </li>
                        </>
                    }
                }) }
            </ol>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::Page as _;

    #[test]
    fn ranks_read_as_ordinals() {
        assert_eq!(ordinal(1), "1st");
        assert_eq!(ordinal(2), "2nd");
        assert_eq!(ordinal(3), "3rd");
        assert_eq!(ordinal(4), "4th");
        assert_eq!(ordinal(11), "11th");
        assert_eq!(ordinal(12), "12th");
        assert_eq!(ordinal(21), "21st");
        assert_eq!(ordinal(113), "113th");
    }

    #[test]
    fn the_page_is_addressed_by_the_hash() {
        assert_eq!(Page::parse("leaderboard"), Some(Page::Board));
        assert_eq!(Page::Board.name(), "leaderboard");
        assert_eq!(Page::parse("leaderboards"), None);
    }
}
