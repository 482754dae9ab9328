//! Reports: the server's report views, one at a time as a table, each
//! downloadable as CSV.

use yew::prelude::*;

use super::{Ctx, parts::picker};
use web_common::api::{self, ApiError, Table};

pub const NAME: &str = "reports";
pub const TITLE: &str = "Reports";

#[derive(Clone, Debug, PartialEq)]
pub struct Answers {
    /// The reports there are, by the name the API uses.
    pub names: Vec<String>,
    /// The one chosen, once one is.
    pub table: Option<Table>,
}

pub async fn fetch(choice: &str) -> Result<Answers, ApiError> {
    if choice.is_empty() {
        let names = api::get("/api/admin/reports").await?;
        return Ok(Answers { names, table: None });
    }
    let table = format!("/api/admin/reports/{choice}");
    let (names, table) = futures::try_join!(api::get("/api/admin/reports"), api::get(&table))?;
    Ok(Answers {
        names,
        table: Some(table),
    })
}

pub fn view(Answers { names, table }: &Answers, ctx: &Ctx) -> Html {
    let options = names
        .iter()
        .map(|n| (n.clone(), n.replace('_', " ")))
        .collect();
    let cell = |v: &Option<String>| html! { <td>{ v.clone().unwrap_or_default() }</td> };
    html! {
        <>
            <label class="move">{ "Report" }{ picker("report-pick", options, ctx.choice, ctx) }</label>
            if let Some(t) = table {
                <a class="button" href={format!("/api/admin/reports/{}?format=csv", ctx.choice)} download="">{ "Download CSV" }</a>
                <div class="scroll card">
                    <table id="report-table">
                        <thead><tr>{ for t.columns.iter().map(|c| html! { <th>{ c }</th> }) }</tr></thead>
                        <tbody>{ for t.rows.iter().map(|r| html! { <tr>{ for r.iter().map(cell) }</tr> }) }</tbody>
                    </table>
                </div>
            }
        </>
    }
}
