//! Pages the server writes itself, for people who are not in the app: a
//! certificate's verification, the client storefront. Plain HTML and one
//! shared stylesheet (`/page.css`: the security policy allows no inline
//! style), readable on a phone first, with 44 px targets.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};

/// Text made safe to put in an element or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page: `title` (text), `head` and `body` (HTML the caller
/// escaped), never cached as is (it may change with the data).
pub fn page(status: StatusCode, title: &str, head: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><link rel=\"stylesheet\" href=\"/page.css?v={STYLE_VERSION}\">{head}</head>\
         <body>{body}</body></html>",
        escape(title)
    );
    let mut response = (status, Html(html)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Moves with every change of [`STYLE`], so a page never reads an old one.
const STYLE_VERSION: &str = "5";

/// `GET /page.css`.
pub async fn stylesheet() -> Response {
    let mut response = ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}

const STYLE: &str = "\
*{box-sizing:border-box}\
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1b1f24;background:#fff}\
main{margin:0 auto;max-width:64rem;padding:1rem}\
h1{font-size:1.4rem;margin:.5rem 0 1rem}h2{font-size:1.15rem}\
a{color:#0b57d0}\
a.button,button{display:inline-flex;align-items:center;justify-content:center;min-height:44px;\
min-width:44px;padding:0 1rem;border-radius:8px;border:1px solid #0b57d0;background:#0b57d0;\
color:#fff;font:inherit;font-weight:600;text-decoration:none;cursor:pointer}\
button.quiet,a.quiet{background:#fff;color:#0b57d0}\
:focus-visible{outline:3px solid #b35c00;outline-offset:2px}\
label{display:block;font-weight:600;margin-top:.75rem}\
input,select{font:inherit;min-height:44px;width:100%;padding:.4rem .6rem;border:1px solid #6b7280;\
border-radius:6px;margin-top:.25rem}\
input[type=number]{width:6rem}\
dt{font-weight:600;margin-top:.75rem}dd{margin:0}\
.ok{background:#e6f4ea;border-left:4px solid #1e7e34;padding:.75rem}\
.no{background:#fdecea;border-left:4px solid #b3261e;padding:.75rem}\
.fine{font-size:.9rem;color:#4a5261}\
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}\
.bar{display:flex;align-items:center;justify-content:space-between;gap:1rem;padding:.5rem 1rem;\
border-bottom:1px solid #e3e6ea;max-width:64rem;margin:0 auto}\
.bar a{min-height:44px;display:inline-flex;align-items:center;font-weight:600}\
.grid{display:grid;gap:1rem;grid-template-columns:1fr;list-style:none;padding:0;margin:0}\
.card{border:1px solid #e3e6ea;border-radius:10px;overflow:hidden;display:flex;flex-direction:column}\
.card img,.product img{width:100%;height:auto;aspect-ratio:4/3;object-fit:cover;background:#f3f4f6;display:block}\
.card div{padding:.75rem;display:flex;flex-direction:column;gap:.25rem;flex:1}\
.card a.name{font-weight:600;font-size:1.05rem;min-height:44px;display:flex;align-items:center}\
.price{font-weight:700;font-variant-numeric:tabular-nums}\
.product{display:grid;gap:1rem}\
table{width:100%;border-collapse:collapse}th,td{text-align:left;padding:.5rem .25rem;\
border-bottom:1px solid #e3e6ea;vertical-align:middle}td.num,th.num{text-align:right;\
font-variant-numeric:tabular-nums}\
td a{display:inline-flex;align-items:center;min-height:44px}\
.no ul{margin:0;padding-left:1.1rem}.no li a{min-height:44px;display:inline-flex;align-items:center}\
fieldset{border:1px solid #e3e6ea;border-radius:8px;margin:1rem 0 0}\
legend{font-weight:600;padding:0 .25rem}\
label.star{display:inline-flex;align-items:center;gap:.35rem;min-height:44px;min-width:44px;margin:0;font-weight:600}\
label.star input{width:auto;min-height:0;margin:0}\
.row{display:flex;gap:.5rem;align-items:flex-end;flex-wrap:wrap}\
.row label{margin-top:0}\
form.inline{display:inline}\
@media(min-width:40rem){.grid{grid-template-columns:repeat(2,1fr)}}\
@media(min-width:60rem){.grid{grid-template-columns:repeat(3,1fr)}.product{grid-template-columns:1fr 1fr}\
main.narrow{max-width:40rem}}\
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            escape("<a href=\"x\" onclick='y'>&</a>"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }
}
