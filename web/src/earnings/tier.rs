//! The Tier progress screen: the partner's tier, how far the next one is,
//! and each component of the progress in its own unit.

use model::{AccountView, ProgressComponent};
use web_common::show::{rate, tier_name};
use yew::prelude::*;

use super::{ModuleToDo, as_of::as_of};

/// The tier screen; `to_do` are the training modules still to complete,
/// each a link to its track.
pub fn tier(view: &AccountView, to_do: &[ModuleToDo], highlights: Html) -> Html {
    let p = &view.progress;
    let next = match &p.next_tier {
        Some(next) => format!(
            "{} of the way to {}",
            tenths(p.per_mille.into()),
            tier_name(next)
        ),
        None => "Top tier: nothing above it.".to_owned(),
    };
    html! {
        <main id="tier" class="card" data-tier={view.tier.clone()} data-per-mille={p.per_mille.to_string()}>
            <h2>{ tier_name(&view.tier) }</h2>
            <p class="hint">{ format!("Approved deals in the current window: {}", view.deals_in_window) }</p>
            <progress max="1000" value={p.per_mille.to_string()}></progress>
            <p>{ next }</p>
            <ul class="plain">
                { for p.components.iter().map(|c| html! {
                    <li class="component" data-component={c.name.clone()}>
                        <div class="lead-head">
                            <span>{ component_name(&c.name) }</span>
                            <span class="hint">{ format!("{} · {} of {} points", component_figure(c), c.points, c.max_points) }</span>
                        </div>
                        <progress max={c.max_points.to_string()} value={c.points.to_string()}></progress>
                        if c.name == "training" && c.counted < c.target && !to_do.is_empty() {
                            <details class="to-do">
                                <summary>{ format!("Modules to complete ({})", to_do.len()) }</summary>
                                <ul class="plain">
                                    { for to_do.iter().map(|m| html! {
                                        <li><a href={m.hash.clone()}>{ &m.title }<span class="hint">{ format!(" · {}", m.track) }</span></a></li>
                                    }) }
                                </ul>
                            </details>
                        }
                    </li>
                }) }
            </ul>
            { highlights }
            <p><a class="button" href="#leaderboard">{ "Leaderboards, challenges and achievements" }</a></p>
            { as_of(view.computed_at) }
        </main>
    }
}

/// Tenths of a percent (per mille) as a percentage: 425 → "42.5%".
fn tenths(per_mille: u32) -> String {
    rate(per_mille * 10)
}

fn component_name(name: &str) -> &str {
    match name {
        "deals" => "Deals approved",
        "training" => "Training completed",
        "support" => "Support engagement",
        "satisfaction" => "Customer satisfaction",
        other => other,
    }
}

/// How far a component is, in its own unit: satisfaction is an average
/// rating out of 5 kept in hundredths.
fn component_figure(c: &ProgressComponent) -> String {
    let centi = |n: u32| format!("{}.{:02}", n / 100, n % 100);
    match c.name.as_str() {
        "deals" => format!("{} of {} deals", c.counted, c.target),
        "training" => format!("{} of {} modules", c.counted, c.target),
        "support" => format!("{} of {} engagements", c.counted, c.target),
        "satisfaction" => format!(
            "rated {} of {} (out of 5)",
            centi(c.counted),
            centi(c.target)
        ),
        _ => format!("{} of {}", c.counted, c.target),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_components_read_in_their_own_units() {
        let c = |name: &str, counted, target| ProgressComponent {
            name: name.into(),
            counted,
            target,
            points: 0,
            max_points: 150,
        };
        assert_eq!(component_figure(&c("deals", 1, 3)), "1 of 3 deals");
        assert_eq!(component_figure(&c("training", 0, 10)), "0 of 10 modules");
        assert_eq!(
            component_figure(&c("satisfaction", 405, 450)),
            "rated 4.05 of 4.50 (out of 5)"
        );
    }

    #[test]
    fn progress_reads_as_a_percentage() {
        assert_eq!(tenths(425), "42.5%");
        assert_eq!(tenths(1000), "100%");
    }
}
