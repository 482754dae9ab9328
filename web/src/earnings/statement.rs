//! A printable statement: what it paid, line by line, and its total; and
//! the same as a PDF the server lays out (kept on the device once opened,
//! by the service worker, so it opens offline too).

use model::{AccountView, EarningLine, Money};
use web_common::show::{self, day};
use yew::prelude::*;

/// Statement `id` of the account view, as far as the device holds it.
pub fn statement(view: &AccountView, id: i64) -> Html {
    let Some(s) = view.statements.iter().find(|s| s.id == id) else {
        return html! { <p class="hint">{ "This statement is not on this device." }</p> };
    };
    let amount = |minor, currency| show::amount(Money::new(minor, currency));
    let (lines, complete) = statement_lines(view, s);
    html! {
        <main id="statement" class="card statement" data-statement={id.to_string()}>
            <h2>{ format!("Statement {} · {}", s.period, s.currency) }</h2>
            <p class="hint">{ format!("Partner {} · paid {} · statement #{id}", view.partner_id.as_str(), day(s.run_at.0 as f64)) }</p>
            <table>
                <thead><tr><th>{ "Date" }</th><th>{ "Line" }</th><th class="num">{ "Amount" }</th></tr></thead>
                <tbody>
                    { for lines.iter().map(|l| html! {
                        <tr data-line={l.id.to_string()}>
                            <td>{ day(l.accrued_at.0 as f64) }</td>
                            <td>{ &l.explanation }</td>
                            <td class="num">{ amount(l.amount_minor, l.currency) }</td>
                        </tr>
                    }) }
                </tbody>
                <tfoot><tr><th colspan="2">{ "Total" }</th><th class="num" id="statement-total" data-minor={s.total_minor.to_string()}>{ amount(s.total_minor, s.currency) }</th></tr></tfoot>
            </table>
            if !complete {
                <p class="hint">{ "Older lines of this statement are no longer kept on this device; the total is the server's." }</p>
            }
            <div class="row no-print">
                <a class="button" href="#earnings">{ "Back" }</a>
                <a class="button" id="statement-pdf" href={format!("/statements/{}/statement.pdf", s.id)} target="_blank" rel="noopener" download={format!("statement-{}.pdf", s.id)}>{ "PDF" }</a>
                <button class="primary" onclick={Callback::from(|_| { let _ = web_sys::window().map(|w| w.print()); })}>{ "Print" }</button>
            </div>
        </main>
    }
}

/// The lines a statement paid, as far as the device holds them (the view
/// keeps the most recent lines only), and whether they are all there. The
/// server says which statement paid each line and how many lines each
/// statement paid, so nothing here is inferred from dates.
fn statement_lines<'a>(
    view: &'a AccountView,
    statement: &model::Statement,
) -> (Vec<&'a EarningLine>, bool) {
    let lines: Vec<&EarningLine> = view
        .lines
        .iter()
        .filter(|l| l.statement_id == Some(statement.id))
        .collect();
    let complete = lines.len() == statement.line_count as usize;
    (lines, complete)
}

#[cfg(test)]
mod tests {
    use model::{
        Balance, Currency, LeadId, LineStatus, PartnerId, Statement, TierProgress, Timestamp,
    };

    use super::*;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    fn line(id: i64, minor: i64, available_at: i64, paid_by: Option<i64>) -> EarningLine {
        EarningLine {
            id,
            kind: "base".into(),
            amount_minor: minor,
            currency: usd(),
            rate_bps: Some(2000),
            tier: Some("starter".into()),
            deal_id: Some(id),
            lead_id: Some(LeadId::parse("ben-1").unwrap()),
            accrued_at: Timestamp(available_at),
            available_at: Timestamp(available_at),
            status: match paid_by {
                Some(_) => LineStatus::Paid,
                None if available_at < 45 => LineStatus::Available,
                None => LineStatus::Pending,
            },
            statement_id: paid_by,
            explanation: String::new(),
        }
    }

    fn statement(id: i64, total: i64, run_at: i64, line_count: u32) -> Statement {
        Statement {
            id,
            period: "2025-06".into(),
            currency: usd(),
            total_minor: total,
            run_at: Timestamp(run_at),
            line_count,
        }
    }

    fn view(lines: Vec<EarningLine>, statements: Vec<Statement>) -> AccountView {
        AccountView {
            partner_id: PartnerId::parse("p-ben").unwrap(),
            computed_at: Timestamp(0),
            tier: "starter".into(),
            deals_in_window: 0,
            next_deal: None,
            progress: TierProgress {
                per_mille: 0,
                next_tier: None,
                components: Vec::new(),
            },
            balances: vec![Balance {
                currency: usd(),
                pending_minor: 0,
                available_minor: 0,
                paid_minor: 0,
            }],
            lines,
            deals: Vec::new(),
            statements,
            modules_done: Vec::new(),
            exams: Vec::new(),
            assignments: Vec::new(),
        }
        .sorted()
    }

    #[test]
    fn a_statement_lists_the_lines_it_paid() {
        // Line 1 was available before statement 7's run but was paid by
        // statement 8 (the balance was below the minimum, say): dates alone
        // would put it on the wrong statement.
        let view = view(
            vec![
                line(1, 100, 10, Some(8)),
                line(2, 200, 20, Some(7)),
                line(3, 300, 30, Some(8)),
                line(4, 400, 40, None),
                line(5, 500, 50, None),
            ],
            vec![statement(7, 200, 25, 1), statement(8, 400, 35, 2)],
        );
        let ids = |view: &AccountView, id| {
            let s = view.statements.iter().find(|s| s.id == id).unwrap();
            let (lines, complete) = statement_lines(view, s);
            (lines.iter().map(|l| l.id).collect::<Vec<_>>(), complete)
        };
        assert_eq!(ids(&view, 7), (vec![2], true));
        assert_eq!(ids(&view, 8), (vec![3, 1], true));

        // The device lost line 1 (beyond the recent lines): not complete.
        let mut partial = view.clone();
        partial.lines.retain(|l| l.id != 1);
        assert_eq!(ids(&partial, 8), (vec![3], false));
        assert_eq!(ids(&partial, 7), (vec![2], true));
    }
}
