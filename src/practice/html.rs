//! The few HTML pages of the practice EHR (login, the EHR's own page, error pages), written by
//! hand: plain, accessible markup, no script and no inline style (the app's Content Security
//! Policy forbids both), styled by the app's stylesheet. Every piece of text that is not a
//! literal of this module goes through [`escape`].

use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;

use super::wire;

/// The app's stylesheet; absolute, not under the prefix: the app serves it.
const STYLESHEET: &str = "/static/style.css";

/// Escapes text for HTML content and double- or single-quoted attribute values.
pub(super) fn escape(text: &str) -> String {
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

/// A whole page: `title` is escaped here; `main` is markup built with [`escape`].
pub(super) fn page(title: &str, main: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} — Practice EHR</title>\
         <link rel=\"stylesheet\" href=\"{STYLESHEET}\"></head>\n\
         <body><main>\n{main}\n</main></body></html>\n",
        title = escape(title),
    )
}

/// A page answer, never cached: login pages carry single-use ids.
pub(super) fn respond(status: StatusCode, title: &str, main: &str) -> Response {
    let mut response = (status, Html(page(title, main))).into_response();
    response.headers_mut().extend(
        wire::no_store_headers()
            .into_iter()
            .map(|(name, value)| (name, http::HeaderValue::from_static(value))),
    );
    response
}

/// An error page: a heading and paragraphs of plain text, all escaped.
pub(super) fn error(status: StatusCode, title: &str, paragraphs: &[&str]) -> Response {
    let body: String = paragraphs
        .iter()
        .map(|p| format!("<p>{}</p>", escape(p)))
        .collect();
    respond(status, title, &format!("<h1>{}</h1>{body}", escape(title)))
}
