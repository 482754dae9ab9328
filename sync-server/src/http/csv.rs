//! CSV as the back-office downloads it (payout runs, reports, a channel's
//! export): one way to write a field and one way to send a file.

use axum::{
    http::header,
    response::{IntoResponse, Response},
};

/// A CSV field, quoted when it must be; text with a leading `=`, `+`, `-`,
/// `@`, tab or carriage return is defused so a spreadsheet never runs it
/// as a formula (a negative number is left alone).
pub fn field(value: &str) -> String {
    let number = value
        .strip_prefix('-')
        .unwrap_or(value)
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.')
        && !value.is_empty();
    let value = if !number && value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// One line of fields, each written by [`field`].
pub fn line<S: AsRef<str>>(fields: impl IntoIterator<Item = S>) -> String {
    fields
        .into_iter()
        .map(|f| field(f.as_ref()))
        .collect::<Vec<_>>()
        .join(",")
        + "\n"
}

/// `csv` downloaded as `<name>.csv` (`name` is the server's own, never
/// what a request said).
pub fn attachment(name: &str, csv: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        csv,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(field("-12.50"), "-12.50");
        assert_eq!(field("-cmd"), "'-cmd");
        assert_eq!(field(""), "");
        assert_eq!(field("\t=1+1"), "'\t=1+1");
        assert_eq!(field("\r=1+1"), "\"'\r=1+1\"");
        assert_eq!(line(["a", "b,c", "@x"]), "a,\"b,c\",'@x\n");
    }
}
