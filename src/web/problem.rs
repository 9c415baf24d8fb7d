//! Errors become pages in one place. A handler returns a [`Problem`]; the [`render`] middleware
//! turns it into an HTML page or, for `Accept: application/json`, into
//! `{"error": {"status", "title", "message", "request_id", "diagnoses": [...]}}`.

use askama::Template;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use super::middleware::current_request_id;
use super::views::ErrorPage;
use crate::diagnosis::Diagnosis;

/// What a 503 tells clients to wait before retrying (`Retry-After`): the store's probe notices
/// a recovery within a second.
pub const RETRY_AFTER_SECONDS: u64 = 5;

/// A failure to show: status, a headline, what to do, and the diagnoses behind it.
#[derive(Clone, Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub title: String,
    pub message: String,
    pub diagnoses: Vec<Diagnosis>,
    /// Links the user may want next, as (label, href).
    pub links: Vec<(String, String)>,
    /// Form fields in error, as (field, message): the JSON twin of a form shown again.
    pub fields: Vec<(String, String)>,
    /// The store that failed ("session" or "launch"), for the metrics.
    pub failed_store: Option<&'static str>,
    /// Not an alarm: nothing went wrong for the user (e.g. Back to a callback that already
    /// finished). The page is in neutral colours, its diagnoses behind a disclosure.
    pub notice: bool,
}

impl Problem {
    /// A problem named by one diagnosis; the title is the diagnosis title.
    pub fn diagnosed(status: StatusCode, d: Diagnosis) -> Self {
        Problem {
            status,
            title: d.title().to_string(),
            message: d.plain().to_string(),
            diagnoses: vec![d],
            links: Vec::new(),
            fields: Vec::new(),
            failed_store: None,
            notice: false,
        }
    }

    /// A problem that needs no catalogue id (a 404, a form error).
    pub fn plain(status: StatusCode, title: &str, message: impl Into<String>) -> Self {
        Problem {
            status,
            title: title.to_string(),
            message: message.into(),
            diagnoses: Vec::new(),
            links: Vec::new(),
            fields: Vec::new(),
            failed_store: None,
            notice: false,
        }
    }

    /// No registration has this id.
    pub fn unknown_registration(id: &str) -> Self {
        Problem::plain(
            StatusCode::NOT_FOUND,
            "Unknown registration",
            format!("No registration has the id {id:?}."),
        )
        .link("Home", super::paths::HOME)
    }

    /// Changes each diagnosis (e.g. to add evidence).
    pub fn map_diagnoses(mut self, f: impl Fn(Diagnosis) -> Diagnosis) -> Self {
        self.diagnoses = self.diagnoses.into_iter().map(f).collect();
        self
    }

    pub fn link(mut self, label: &str, href: impl Into<String>) -> Self {
        self.links.push((label.to_string(), href.into()));
        self
    }

    /// The session store failed: nothing was half-written, the user may retry.
    pub fn session_store(e: &tower_sessions::session::Error) -> Self {
        tracing::error!(error = %e, "session store failed");
        Problem::session_store_unavailable()
    }

    fn session_store_unavailable() -> Self {
        let mut p = Problem::diagnosed(
            StatusCode::SERVICE_UNAVAILABLE,
            Diagnosis::new(
                id!("session.store_unavailable"),
                "The session store did not answer; nothing was saved.",
            ),
        );
        p.failed_store = Some("session");
        p
    }

    /// A form that could not be read: 413 when it was too large, else its own status (400/415).
    pub fn unreadable_form(e: axum::extract::rejection::FormRejection) -> Self {
        let status = e.status();
        let title = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "Form too large"
        } else {
            "Unreadable form"
        };
        Problem::plain(status, title, e.body_text())
    }

    /// The launch store failed.
    pub fn store(e: &crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "launch store failed");
        let mut p = Problem::diagnosed(
            StatusCode::SERVICE_UNAVAILABLE,
            Diagnosis::new(
                id!("session.store_unavailable"),
                "The launch store did not answer.",
            ),
        );
        p.failed_store = Some("launch");
        p
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut resp = self.status.into_response();
        resp.extensions_mut().insert(self);
        resp
    }
}

/// Whether the client asked for JSON rather than a page.
pub fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(accepts_json)
}

/// Whether an `Accept` value prefers JSON to HTML, q-values honoured (RFC 9110 §12.5.1): the
/// most specific range that matches each type gives its weight; HTML wins ties.
pub fn accepts_json(accept: &str) -> bool {
    let ranges: Vec<(&str, f32)> = accept
        .split(',')
        .filter_map(|part| {
            let mut it = part.split(';');
            let range = it.next()?.trim();
            let q = it
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (!range.is_empty()).then_some((range, q))
        })
        .collect();
    let weight = |ty: &str, family: &str| {
        ranges
            .iter()
            .find(|(r, _)| r.eq_ignore_ascii_case(ty))
            .or_else(|| ranges.iter().find(|(r, _)| r.eq_ignore_ascii_case(family)))
            .or_else(|| ranges.iter().find(|(r, _)| *r == "*/*"))
            .map(|(_, q)| *q)
            .unwrap_or(0.0)
    };
    let json = weight("application/json", "application/*");
    json > 0.0 && json > weight("text/html", "text/*")
}

/// Whether the query asks for the JSON twin (`?format=json`).
pub fn format_json(query: Option<&str>) -> bool {
    // Every request passes here: only a pair whose name is (or may encode) `format` is decoded,
    // so a launch's long, percent-encoded `iss` costs a glance.
    let decoded = |pair: &str| {
        url::form_urlencoded::parse(pair.as_bytes()).any(|(k, v)| k == "format" && v == "json")
    };
    query.unwrap_or("").split('&').any(|pair| {
        let name = pair.split_once('=').map_or(pair, |(k, _)| k);
        if name.contains(['%', '+']) {
            decoded(pair)
        } else {
            name == "format" && decoded(pair)
        }
    })
}

/// Renders any [`Problem`] a handler returned, in the format the client asked for.
/// `?format=json` is turned into `Accept: application/json` first, so every handler (and every
/// error) honours both ways of asking for the JSON twin.
pub async fn render(mut req: Request, next: Next) -> Response {
    if format_json(req.uri().query()) {
        req.headers_mut()
            .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    }
    let json = wants_json(req.headers());
    let request_id = current_request_id(req.extensions());
    let resp = next.run(req).await;
    // Only an answer with no body and no type is ours to fill in: the practice EHR's deliberate
    // 500 (a gallery fault) has its own body and must reach the app as the EHR sent it.
    let bare = resp.headers().get(header::CONTENT_TYPE).is_none()
        && http_body::Body::size_hint(resp.body()).exact() == Some(0);
    let problem = match resp.extensions().get::<Problem>() {
        Some(p) => p.clone(),
        // The session layer writes the session once, after the handler; when the store fails it
        // answers a bare 500, replaced here by the diagnosed page.
        None if bare && resp.status() == StatusCode::INTERNAL_SERVER_ERROR => {
            Problem::session_store_unavailable()
        }
        // The router's own answers carry no body: give them a page (the `Allow` header stays).
        None if bare && resp.status() == StatusCode::METHOD_NOT_ALLOWED => Problem::plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed",
            "This address does not answer that HTTP method.",
        )
        .link("Home", super::paths::HOME),
        None => return resp,
    };
    if problem.status.is_server_error() {
        tracing::warn!(status = problem.status.as_u16(), title = %problem.title, "problem");
    }
    let (mut parts, _) = resp.into_parts();
    parts.status = problem.status;
    // The router measured the empty body it answered; the page replaces it (hyper writes the
    // page's own length).
    parts.headers.remove(header::CONTENT_LENGTH);
    if problem.status == StatusCode::SERVICE_UNAVAILABLE {
        parts
            .headers
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    }
    // Kept for the layers outside (the metrics count failed stores).
    parts.extensions.insert(problem.clone());
    let body = if json {
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let value = serde_json::json!({"error": {
            "status": problem.status.as_u16(),
            "title": problem.title,
            "message": problem.message,
            "request_id": request_id,
            "diagnoses": problem.diagnoses,
            "fields": problem.fields.iter().map(|(f, m)| serde_json::json!({"field": f, "message": m})).collect::<Vec<_>>(),
        }});
        axum::body::Body::from(value.to_string())
    } else {
        let page = ErrorPage {
            title: &problem.title,
            message: &problem.message,
            status: problem.status.as_u16(),
            request_id: &request_id,
            diagnoses: &problem.diagnoses,
            links: &problem.links,
            notice: problem.notice,
        };
        match page.render() {
            Ok(html) => Html(html).into_response().into_body(),
            Err(e) => {
                tracing::error!(error = %e, "error page failed to render");
                axum::body::Body::from(problem.title.clone())
            }
        }
    };
    if !json {
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
    }
    Response::from_parts(parts, body)
}

/// `HEAD` on a route that starts a launch: a launch starts only on `GET`.
pub async fn head_starts_nothing() -> Problem {
    Problem::plain(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed",
        "A HEAD request does not start a launch; open the address with GET.",
    )
}

/// Unknown routes.
pub async fn not_found() -> Problem {
    Problem::plain(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no page at this address.",
    )
    .link("Home", super::paths::HOME)
}

#[cfg(test)]
mod tests {
    use super::{accepts_json, format_json};

    #[test]
    fn the_json_twin_is_asked_for_however_the_query_spells_it() {
        for yes in [
            "format=json",
            "a=1&format=json",
            "iss=https%3A%2F%2Fehr%2Ffhir&format=json",
            "%66ormat=json",
            "format=js%6Fn",
        ] {
            assert!(format_json(Some(yes)), "{yes}");
        }
        for no in [
            "",
            "format=html",
            "formats=json",
            "iss=https%3A%2F%2Fehr%2Ffhir%3Fformat%3Djson&launch=x",
            "x=format=json",
        ] {
            assert!(!format_json(Some(no)), "{no}");
        }
        assert!(!format_json(None));
    }

    #[test]
    fn accept_headers_are_weighed() {
        assert!(accepts_json("application/json"));
        assert!(accepts_json("text/html;q=0, application/json"));
        assert!(accepts_json("text/html;q=0.5, application/json;q=0.9"));
        assert!(!accepts_json("text/html, application/json"));
        assert!(!accepts_json(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(!accepts_json("*/*"));
        assert!(!accepts_json(""));
        assert!(!accepts_json("application/json;q=0"));
        assert!(accepts_json("application/*"));
    }
}
