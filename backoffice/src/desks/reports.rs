//! Reports: the server's report views, one at a time as a table a person
//! reads (named columns, amounts in their currency, months and moments as
//! the reader writes them, sortable by any column), each downloadable as
//! CSV exactly as the view has it, for BI tools.
//!
//! The views follow a few conventions, which say how a column reads:
//! `<what>_minor` is an amount in the minor units of the row's `currency`;
//! `<what>_at` a moment; `month` and `cohort` a calendar month
//! (`2026-12`); `<what>_percent` a percentage; `<what>_id` an id; other
//! columns numbers or text as their values are.

use std::cmp::Ordering;

use yew::prelude::*;

use super::{Ctx, parts::picker};
use web_common::{
    api::{self, ApiError, Table},
    show,
};

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

/// A report's name as a title: "partner revenue share" → "Partner revenue share".
fn title_of(name: &str) -> String {
    let words = name.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// How a column's values read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Minor units of the currency in the column at this index.
    Money(usize),
    Moment,
    Month,
    Percent,
    Count,
    Text,
}

/// Each column's heading and kind, from its name.
fn columns(names: &[String]) -> Vec<(String, Kind)> {
    let currency = names.iter().position(|c| c == "currency");
    names
        .iter()
        .map(|name| {
            let (heading, kind) = if let Some(what) = name.strip_suffix("_minor") {
                (what.to_owned(), currency.map_or(Kind::Count, Kind::Money))
            } else if let Some(what) = name.strip_suffix("_at") {
                (what.to_owned(), Kind::Moment)
            } else if let Some(what) = name.strip_suffix("_percent") {
                (format!("{what} %"), Kind::Percent)
            } else if name == "month" || name == "cohort" {
                (name.clone(), Kind::Month)
            } else if name.ends_with("_id") || name == "currency" || name.ends_with("_name") {
                (name.trim_end_matches("_name").to_owned(), Kind::Text)
            } else {
                (name.clone(), Kind::Count)
            };
            (
                title_of(
                    &heading
                        .replace("_3m", " (3 months)")
                        .replace("_6m", " (6 months)"),
                ),
                kind,
            )
        })
        .collect()
}

/// A value as the reader reads it.
fn shown(kind: Kind, value: Option<&str>, row: &[Option<String>]) -> String {
    let Some(value) = value else {
        return "—".to_owned();
    };
    match kind {
        Kind::Money(at) => match (value.parse::<i64>(), row.get(at).and_then(|c| c.as_deref())) {
            (Ok(minor), Some(currency)) => show::money(minor, currency),
            _ => value.to_owned(),
        },
        Kind::Moment => {
            let ms = js_sys::Date::parse(value);
            if ms.is_nan() {
                value.to_owned()
            } else {
                show::when(ms as i64)
            }
        }
        Kind::Month => month(value),
        Kind::Percent => match decimal(value) {
            Some(_) => format!("{value}%"),
            None => value.to_owned(),
        },
        Kind::Count => value
            .parse::<u64>()
            .map_or_else(|_| value.to_owned(), show::count),
        Kind::Text => value.to_owned(),
    }
}

/// `2026-12` as the reader names a month ("Dec 2026").
fn month(value: &str) -> String {
    let Some((year, month)) = value.split_once('-') else {
        return value.to_owned();
    };
    let (Ok(year), Ok(month)) = (year.parse::<u32>(), month.parse::<u32>()) else {
        return value.to_owned();
    };
    let date = js_sys::Date::new_with_year_month_day(year, month as i32 - 1, 1);
    let options = js_sys::Object::new();
    for (key, value) in [("year", "numeric"), ("month", "short")] {
        let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
    }
    let language = web_sys::window()
        .and_then(|w| w.navigator().language())
        .unwrap_or_else(|| "en".to_owned());
    date.to_locale_date_string(&language, &options).into()
}

/// A decimal as the views write them (`-12`, `33.3`), in thousandths: an
/// integer compare, and no float parser in the bundle.
fn decimal(text: &str) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty()
        || fraction.len() > 3
        || !(whole.bytes().chain(fraction.bytes())).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i128 = whole.parse().ok()?;
    let fraction: i128 = format!("{fraction:0<3}").parse().ok()?;
    let value = whole.checked_mul(1000)?.checked_add(fraction)?;
    Some(if negative { -value } else { value })
}

/// Orders two values of a column: numbers as numbers, a missing value
/// last, the rest as text.
fn compare(kind: Kind, a: Option<&str>, b: Option<&str>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(a), Some(b)) => match kind {
            Kind::Money(_) | Kind::Count | Kind::Percent => match (decimal(a), decimal(b)) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => a.cmp(b),
            },
            _ => a.cmp(b),
        },
    }
}

pub fn view(Answers { names, table }: &Answers, ctx: &Ctx) -> Html {
    let options = names.iter().map(|n| (n.clone(), title_of(n))).collect();
    html! {
        <>
            <label class="move">{ "Report" }{ picker("report-pick", options, ctx.choice, ctx) }</label>
            if let Some(t) = table {
                <a class="button" href={format!("/api/admin/reports/{}?format=csv", ctx.choice)} download="">{ "Download CSV" }</a>
                <ReportTable key={ctx.choice.to_owned()} table={t.clone()} />
            }
        </>
    }
}

#[derive(Properties, PartialEq)]
struct TableProps {
    table: Table,
}

/// The table, sorted by the column last clicked (again: the other way).
#[function_component(ReportTable)]
fn report_table(props: &TableProps) -> Html {
    let sort = use_state(|| None::<(usize, bool)>);
    let cols = columns(&props.table.columns);
    let mut rows: Vec<&Vec<Option<String>>> = props.table.rows.iter().collect();
    if let Some((at, ascending)) = *sort {
        let kind = cols.get(at).map_or(Kind::Text, |c| c.1);
        rows.sort_by(|a, b| {
            let order = compare(
                kind,
                a.get(at).and_then(|v| v.as_deref()),
                b.get(at).and_then(|v| v.as_deref()),
            );
            if ascending { order } else { order.reverse() }
        });
    }
    let numeric = |kind: Kind| matches!(kind, Kind::Money(_) | Kind::Count | Kind::Percent);
    html! {
        <div class="scroll card">
            <table id="report-table">
                <thead><tr>{ for cols.iter().enumerate().map(|(i, (heading, kind))| {
                    let (aria, mark) = match *sort {
                        Some((at, true)) if at == i => (Some("ascending"), " ▲"),
                        Some((at, false)) if at == i => (Some("descending"), " ▼"),
                        _ => (None, ""),
                    };
                    let sort = sort.clone();
                    let onclick = Callback::from(move |_| {
                        let ascending = !matches!(*sort, Some((at, true)) if at == i);
                        sort.set(Some((i, ascending)));
                    });
                    html! {
                        <th scope="col" class={classes!(numeric(*kind).then_some("num"))} aria-sort={aria}>
                            <button class="sort" {onclick}>{ heading }<span aria-hidden="true">{ mark }</span></button>
                        </th>
                    }
                }) }</tr></thead>
                <tbody>{ for rows.iter().map(|r| html! {
                    <tr>{ for cols.iter().enumerate().map(|(i, (_, kind))| html! {
                        <td class={classes!(numeric(*kind).then_some("num"))}>{ shown(*kind, r.get(i).and_then(|v| v.as_deref()), r) }</td>
                    }) }</tr>
                }) }</tbody>
            </table>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn columns_read_by_their_names() {
        let cols = columns(&names(&[
            "month",
            "currency",
            "partner_minor",
            "partner_percent",
            "approved_at",
            "partner_name",
            "deals",
            "retained_3m",
        ]));
        let headings: Vec<&str> = cols.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(
            headings,
            [
                "Month",
                "Currency",
                "Partner",
                "Partner %",
                "Approved",
                "Partner",
                "Deals",
                "Retained (3 months)"
            ]
        );
        assert_eq!(cols[2].1, Kind::Money(1));
        assert_eq!(cols[4].1, Kind::Moment);
        // No currency column: minor units stay a number.
        assert_eq!(columns(&names(&["total_minor"]))[0].1, Kind::Count);
    }

    #[test]
    fn sorting_is_numeric_where_the_values_are_numbers_and_missing_last() {
        assert_eq!(compare(Kind::Count, Some("9"), Some("10")), Ordering::Less);
        assert_eq!(
            compare(Kind::Text, Some("9"), Some("10")),
            Ordering::Greater
        );
        assert_eq!(compare(Kind::Count, None, Some("1")), Ordering::Greater);
        assert_eq!(
            compare(Kind::Percent, Some("33.3"), Some("4.25")),
            Ordering::Greater
        );
        assert_eq!(decimal("-1.5"), Some(-1500));
        assert_eq!(decimal("1e3"), None);
        assert_eq!(title_of("time_to_first_deal"), "Time to first deal");
    }
}
