//! Redaction of what an exchange records: form fields, URLs, headers and JSON bodies.

use super::*;

/// The marker for a secret member `name`: tokens keep a plain fingerprint, the rest a keyed one.
pub(super) fn marker_for(name: &str, value: &str) -> String {
    if TOKEN_FIELDS.contains(&name) {
        token_marker(value)
    } else {
        marker(value)
    }
}

pub(super) fn is_secret_field(name: &str) -> bool {
    SECRET_FIELDS.contains(&name)
}

/// A JWT's signature becomes a marker; its header and claims stay readable (no secret there).
pub(super) fn redact_jws(token: &str) -> String {
    match token.rsplit_once('.') {
        Some((signed, sig)) if signed.contains('.') => format!("{signed}.{}", marker(sig)),
        _ => marker(token),
    }
}

/// Redacts the secret members of an `application/x-www-form-urlencoded` text: the token request
/// body or the callback query, where `code` is the authorization code (a secret).
pub fn redact_form(text: &str) -> String {
    redact_form_in(text, true)
}

pub(super) fn redact_form_in(text: &str, code_is_secret: bool) -> String {
    url::form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| {
            let v = if k == "client_assertion" {
                redact_jws(&v)
            } else if is_secret_field(&k) || (code_is_secret && k == "code") {
                marker_for(&k, &v)
            } else {
                v.into_owned()
            };
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Redacts secret query parameters of a callback URL (`code` included); other URLs come back
/// unchanged.
pub fn redact_url(raw: &str) -> String {
    redact_url_in(raw, true)
}

/// Redacts secret query parameters of an outbound request URL (discovery, FHIR reads): `code`
/// there is a FHIR search parameter and stays.
pub fn redact_request_url(raw: &str) -> String {
    redact_url_in(raw, false)
}

pub(super) fn redact_url_in(raw: &str, code_is_secret: bool) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            let userinfo = !url.username().is_empty() || url.password().is_some();
            if url.query().is_none() && !userinfo {
                return raw.to_string();
            }
            if url.query().is_some() {
                let q = redact_form_in(url.query().unwrap_or(""), code_is_secret);
                url.set_query(Some(&q));
            }
            if userinfo {
                let _ = url.set_username("");
                let _ = url.set_password(None);
            }
            url.to_string()
        }
        Err(_) => raw.to_string(),
    }
}

/// Redacts a header value when the header carries credentials.
pub fn redact_header(name: &str, value: &str) -> String {
    match name.to_ascii_lowercase().as_str() {
        "authorization" | "proxy-authorization" => match value.split_once(' ') {
            Some((scheme, cred)) if scheme.eq_ignore_ascii_case("bearer") => {
                format!("{scheme} {}", token_marker(cred))
            }
            Some((scheme, cred)) => format!("{scheme} {}", marker(cred)),
            None => marker(value),
        },
        "cookie" | "set-cookie" => marker(value),
        _ => value.to_string(),
    }
}

/// Redacts token members of a JSON body, at any depth (`code` members stay: in JSON they are
/// FHIR codes); a form body is redacted as a token request; other text is only capped.
///
/// What is kept is at most [`BODY_CAP`] bytes *after* pretty-printing and redaction, with a note
/// saying how many bytes were cut: JSON is printed straight from the parser and stops growing
/// at the cap (see [`crate::smart::bounded`]), so a deeply nested body costs no more than its length.
pub fn redact_body(body: &str) -> String {
    let redact = |name: &str, value: &str| is_secret_field(name).then(|| marker_for(name, value));
    if let Some(pretty) = crate::smart::bounded::pretty_body(body, BODY_CAP, Some(&redact)) {
        return pretty;
    }
    if looks_like_form(body) {
        cap(&redact_form(body))
    } else {
        cap(body)
    }
}

/// Replaces secret members of a JSON value with markers, in place.
pub fn redact_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                match val {
                    serde_json::Value::String(s) if is_secret_field(k) => {
                        *val = serde_json::Value::String(marker_for(k, s));
                    }
                    _ => redact_json(val),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

pub(super) fn looks_like_form(body: &str) -> bool {
    !body.is_empty()
        && !body.contains(char::is_whitespace)
        && body.contains('=')
        && !body.starts_with('<')
}

pub(super) fn cap(body: &str) -> String {
    crate::smart::bounded::cap_text(body, BODY_CAP)
}

/// Claim and member names whose values are secrets whatever their value (compared without case,
/// `-` and `_`): `client_secret`, `clientSecret`, `api-key`, …
pub(super) const SECRET_NAME_PARTS: &[&str] = &[
    "secret",
    "password",
    "passwd",
    "passphrase",
    "privatekey",
    "apikey",
    "credential",
];

/// Whether a claim or member named `name` holds a secret by its name alone.
pub fn is_secret_name(name: &str) -> bool {
    let n: String = name
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    n == "pwd" || SECRET_NAME_PARTS.iter().any(|p| n.contains(p))
}
