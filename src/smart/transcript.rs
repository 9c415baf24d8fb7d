//! The transcript: every outbound exchange of a launch, timed and redacted.
//!
//! Redaction happens when an exchange is recorded, so nothing downstream (pages, JSON, logs) can
//! show a secret by accident. A redacted value becomes a marker with its length and a short
//! SHA-256 fingerprint, so two people can tell whether they used the same secret without
//! revealing it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Form fields, query parameters and JSON members whose values are secrets.
const SECRET_FIELDS: &[&str] = &[
    "client_secret",
    "code",
    "code_verifier",
    "client_assertion",
    "refresh_token",
    "access_token",
    "id_token",
    "password",
    "assertion",
];

/// Bodies kept in a transcript are cut at this many bytes.
pub const BODY_CAP: usize = 16 * 1024;

/// One outbound request and what came back (or why nothing did).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// The launch step it belongs to: `discovery`, `token`, …
    pub step: String,
    pub method: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    pub request_body: Option<String>,
    pub status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
    pub duration_ms: u64,
    /// The network or TLS failure, when there was no response.
    pub error: Option<String>,
    /// Made for an earlier launch and served from the cache (discovery documents).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
}

/// Shortens upstream text for evidence: at most `max` characters, control characters removed.
pub fn excerpt(text: &str, max: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect();
    let clean = clean.trim();
    if clean.chars().count() <= max {
        clean.to_string()
    } else {
        let cut: String = clean.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// A short, stable fingerprint: the first 8 hex digits of SHA-256.
pub fn fingerprint(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// The marker that stands in for a secret value.
pub fn marker(value: &str) -> String {
    format!(
        "[redacted: {} chars, sha256 {}]",
        value.chars().count(),
        fingerprint(value)
    )
}

fn is_secret_field(name: &str) -> bool {
    SECRET_FIELDS.contains(&name)
}

/// A JWT's signature becomes a marker; its header and claims stay readable (no secret there).
fn redact_jws(token: &str) -> String {
    match token.rsplit_once('.') {
        Some((signed, sig)) if signed.contains('.') => format!("{signed}.{}", marker(sig)),
        _ => marker(token),
    }
}

/// Redacts the secret members of an `application/x-www-form-urlencoded` text (or a URL query).
pub fn redact_form(text: &str) -> String {
    url::form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| {
            let v = if k == "client_assertion" {
                redact_jws(&v)
            } else if is_secret_field(&k) {
                marker(&v)
            } else {
                v.into_owned()
            };
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Redacts secret query parameters of a URL; other URLs come back unchanged.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) if url.query().is_some() => {
            let q = redact_form(url.query().unwrap_or(""));
            url.set_query(Some(&q));
            url.to_string()
        }
        _ => raw.to_string(),
    }
}

/// Redacts a header value when the header carries credentials.
pub fn redact_header(name: &str, value: &str) -> String {
    match name.to_ascii_lowercase().as_str() {
        "authorization" | "proxy-authorization" => match value.split_once(' ') {
            Some((scheme, cred)) => format!("{scheme} {}", marker(cred)),
            None => marker(value),
        },
        "cookie" | "set-cookie" => marker(value),
        _ => value.to_string(),
    }
}

/// Redacts token members of a JSON body, at any depth; non-JSON text is only capped.
pub fn redact_body(body: &str) -> String {
    let capped = cap(body);
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(mut v) => {
            redact_json(&mut v);
            serde_json::to_string_pretty(&v).unwrap_or(capped)
        }
        Err(_) if looks_like_form(body) => redact_form(body),
        Err(_) => capped,
    }
}

/// Replaces secret members of a JSON value with markers, in place.
pub fn redact_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                match val {
                    serde_json::Value::String(s) if is_secret_field(k) => {
                        *val = serde_json::Value::String(marker(s));
                    }
                    _ => redact_json(val),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

fn looks_like_form(body: &str) -> bool {
    !body.is_empty()
        && !body.contains(char::is_whitespace)
        && body.contains('=')
        && !body.starts_with('<')
}

fn cap(body: &str) -> String {
    if body.len() <= BODY_CAP {
        return body.to_string();
    }
    let mut end = BODY_CAP;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} bytes in all]", &body[..end], body.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_secrets_become_markers_and_other_fields_stay() {
        let out =
            redact_form("grant_type=authorization_code&code=abc123&code_verifier=v&client_id=app");
        assert!(out.contains("grant_type=authorization_code"));
        assert!(out.contains("client_id=app"));
        assert!(!out.contains("abc123"));
        assert!(out.contains(&marker("abc123")));
    }

    #[test]
    fn client_assertion_keeps_header_and_claims_but_not_the_signature() {
        let out = redact_form("client_assertion=aGVhZA.Y2xhaW1z.c2lnbmF0dXJl&x=1");
        assert!(
            out.starts_with("client_assertion=aGVhZA.Y2xhaW1z.[redacted: 12 chars"),
            "{out}"
        );
        assert!(!out.contains("c2lnbmF0dXJl"));
    }

    #[test]
    fn basic_header_keeps_its_scheme_only() {
        let out = redact_header("Authorization", "Basic Y2xpZW50OnNlY3JldA==");
        assert!(out.starts_with("Basic [redacted: 20 chars"));
        assert!(!out.contains("Y2xp"));
    }

    #[test]
    fn json_tokens_are_redacted_at_any_depth() {
        let out = redact_body(
            r#"{"access_token":"AT1","nested":{"refresh_token":"RT1"},"patient":"p1"}"#,
        );
        assert!(!out.contains("AT1") && !out.contains("RT1"));
        assert!(out.contains("p1"));
    }

    #[test]
    fn url_query_code_is_redacted() {
        let out = redact_url("https://app/cb?code=SECRETCODE&state=s1");
        assert!(!out.contains("SECRETCODE"));
        assert!(out.contains("state=s1"));
    }

    #[test]
    fn fingerprints_tell_values_apart() {
        assert_eq!(fingerprint("a"), fingerprint("a"));
        assert_ne!(fingerprint("a"), fingerprint("b"));
        assert_eq!(fingerprint("a").len(), 8);
    }
}
