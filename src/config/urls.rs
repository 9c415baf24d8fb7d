//! URL rules: the public URL and FHIR bases (no userinfo, no query or fragment).

use url::Url;

use super::{ConfigError, invalid};

pub(super) fn parse_public_url(s: &str) -> Result<Url, ConfigError> {
    let url =
        Url::parse(s).map_err(|e| invalid("public_url", format!("{s:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid("public_url", "must be an http(s) URL with a host"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            "public_url",
            "must be an origin only (scheme, host, port): no path, query or fragment",
        ));
    }
    Ok(url)
}

/// Validates a FHIR base URL the way both the config and the ad-hoc form need it.
/// Returns it without a trailing slash.
/// A FHIR base with a user name or password (`https://user:pass@host/…`) is refused: the app
/// authenticates with its client credentials, and a password in the URL would end up in pages,
/// reports and logs. The message never repeats the URL.
pub fn normalize_iss(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        return Err(
            "is required: the FHIR server's base URL, e.g. https://ehr.example/fhir".into(),
        );
    }
    let url = Url::parse(s.trim()).map_err(|e| match e {
        url::ParseError::RelativeUrlWithoutBase => format!(
            "{:?} is not a full URL: start it with https:// (e.g. https://ehr.example/fhir)",
            without_userinfo(s.trim())
        ),
        e => format!(
            "{:?} is not a usable URL ({e}); e.g. https://ehr.example/fhir",
            without_userinfo(s.trim())
        ),
    })?;
    if !url.username().is_empty() || url.password().is_some() || has_userinfo(s) {
        return Err(USERINFO_REFUSED.into());
    }
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("must be an http(s) URL with a host".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("a FHIR base has no query or fragment".into());
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Why a FHIR base with userinfo is refused.
pub const USERINFO_REFUSED: &str = "a FHIR base must not carry a user name or password (user:password@host): remove them; the app authenticates with its client credentials, never with credentials in the URL";

/// The authority part of a URL-like text (between `://` and the path), if any.
fn authority(s: &str) -> Option<(usize, &str)> {
    let start = s.find("://")? + 3;
    let rest = &s[start..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some((start, &rest[..end]))
}

/// Whether a URL-like text carries userinfo (`user@` or `user:pass@` before the host).
pub fn has_userinfo(s: &str) -> bool {
    authority(s).is_some_and(|(_, a)| a.contains('@'))
}

/// The text with any userinfo of its authority replaced by `[redacted]@`; other text unchanged.
/// For echoing a refused FHIR base.
pub fn without_userinfo(s: &str) -> String {
    match authority(s) {
        Some((start, a)) => match a.rfind('@') {
            Some(at) => format!("{}[redacted]{}", &s[..start], &s[start + at..]),
            None => s.to_string(),
        },
        None => s.to_string(),
    }
}
