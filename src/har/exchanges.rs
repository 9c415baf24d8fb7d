//! Which entries of a HAR are SMART exchanges, and what each one is.

use super::{Entry, Har};

/// What one entry is in a SMART launch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `{base}/.well-known/smart-configuration` or `{base}/metadata`.
    Discovery,
    /// The app's own launch URL: `?iss=…&launch=…` (an EHR launch).
    Launch,
    /// The authorization request (`response_type=code`), GET or POST.
    Authorize,
    /// The authorization server sending the browser back (`code` or `error`).
    Callback,
    /// A token request: `grant_type` authorization_code, refresh_token or client_credentials.
    Token,
    /// RFC 7662 introspection.
    Introspection,
    /// A FHIR request with an access token.
    Fhir,
}

/// One SMART exchange: the entry's index and what it is.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub index: usize,
    pub kind: Kind,
    /// Decoded parameters: the query, or the form body (token, introspection, authorize POST).
    pub params: Vec<(String, String)>,
}

impl Exchange {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `url` without query and fragment.
pub fn base(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => url.split(['?', '#']).next().unwrap_or("").to_string(),
    }
}

/// The FHIR base a discovery URL belongs to.
pub fn discovery_base(url: &str) -> Option<String> {
    let b = base(url);
    b.strip_suffix("/.well-known/smart-configuration")
        .or_else(|| b.strip_suffix("/metadata"))
        .map(str::to_string)
}

fn has(params: &[(String, String)], name: &str) -> bool {
    params.iter().any(|(k, _)| k == name)
}

/// Every SMART exchange of `har`, in the order of the file (browsers write it by start time).
pub fn find(har: &Har) -> Vec<Exchange> {
    let entries = &har.log.entries;
    // Where the browser is sent back to: every authorize request's redirect_uri.
    let redirect_uris: Vec<String> = entries
        .iter()
        .filter_map(|e| {
            let q = params_of(e);
            (q.iter().any(|(k, v)| k == "response_type" && v == "code"))
                .then(|| q.into_iter().find(|(k, _)| k == "redirect_uri"))
                .flatten()
                .map(|(_, v)| base(&v))
        })
        .collect();
    let mut out = Vec::new();
    for (index, e) in entries.iter().enumerate() {
        let params = params_of(e);
        if let Some(kind) = kind_of(e, &params, &redirect_uris) {
            out.push(Exchange {
                index,
                kind,
                params,
            });
        }
    }
    out
}

/// The query, or for a form POST the form body.
fn params_of(e: &Entry) -> Vec<(String, String)> {
    let r = &e.request;
    if r.method.eq_ignore_ascii_case("POST") && r.post_data.is_some() {
        let mut form = r.form();
        if !form.is_empty() {
            form.extend(r.query());
            return form;
        }
    }
    r.query()
}

fn kind_of(e: &Entry, p: &[(String, String)], redirect_uris: &[String]) -> Option<Kind> {
    let r = &e.request;
    let url_base = base(&r.url);
    let post = r.method.eq_ignore_ascii_case("POST");
    if url_base.ends_with("/.well-known/smart-configuration")
        || (url_base.ends_with("/metadata") && r.method.eq_ignore_ascii_case("GET"))
    {
        return Some(Kind::Discovery);
    }
    if p.iter().any(|(k, v)| k == "response_type" && v == "code") {
        return Some(Kind::Authorize);
    }
    if post && has(p, "grant_type") {
        return Some(Kind::Token);
    }
    if post && has(p, "token") && url_base.contains("introspect") {
        return Some(Kind::Introspection);
    }
    if (has(p, "code") || has(p, "error")) && (redirect_uris.contains(&url_base) || has(p, "state"))
    {
        return Some(Kind::Callback);
    }
    if has(p, "iss") && has(p, "launch") {
        return Some(Kind::Launch);
    }
    let bearer = r
        .header("authorization")
        .is_some_and(|a| a.len() > 7 && a[..7].eq_ignore_ascii_case("bearer "));
    if bearer || has(p, "access_token") {
        return Some(Kind::Fhir);
    }
    None
}
