//! A pasted answer: an HTTP status line with headers and a body, a bare body, or an authorize
//! redirect URL. Redacted before anything reads it (tokens, codes, secrets, Basic and Bearer
//! credentials, cookies, client assertions, passwords in URLs; each in every spelling the gate
//! knows: raw, base64, percent- and form-encoded, JSON-escaped), then taken apart. Pure.

use serde_json::Value;

use crate::smart::transcript::{self, Gate};

/// The most bytes a paste may have (a token error is a few hundred; a page a few thousand).
pub const MAX_PASTE_BYTES: usize = 64 * 1024;

/// A pasted answer taken apart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pasted {
    /// From the status line; `None` for a bare body or a URL.
    pub status: Option<u16>,
    /// Header lines after the status line, names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The query of an authorize redirect (`error=…&error_description=…`), decoded.
    pub redirect: Option<Vec<(String, String)>>,
}

impl Pasted {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.redirect
            .as_ref()?
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Query or form parameters that are secrets in a paste (`code` included: a pasted redirect
/// carries the authorization code).
const SECRET_PARAMS: &[&str] = &[
    "code",
    "client_secret",
    "code_verifier",
    "client_assertion",
    "refresh_token",
    "access_token",
    "id_token",
    "password",
    "assertion",
    "token",
    "state",
];

fn is_secret_param(name: &str) -> bool {
    SECRET_PARAMS.contains(&name) || transcript::is_secret_name(name)
}

fn is_credential_header(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie"
    )
}

/// Every secret value the paste shows, so the gate removes each wherever and however spelled.
fn collect(paste: &str, out: &mut Vec<String>) {
    for line in paste.lines() {
        if let Some((name, value)) = line.split_once(':')
            && is_credential_header(name.trim())
        {
            let value = value.trim();
            out.push(value.to_string());
            if let Some((_, cred)) = value.split_once(' ') {
                out.push(cred.trim().to_string());
                basic_parts(cred.trim(), out);
            }
        }
    }
    for word in paste.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>')) {
        if let Ok(url) = url::Url::parse(word) {
            if let Some(p) = url.password() {
                out.push(p.to_string());
                out.push(form_decode(p));
            }
            form_secrets(url.query().unwrap_or(""), out);
            form_secrets(url.fragment().unwrap_or(""), out);
        } else if word.contains('=') {
            form_secrets(word.trim_start_matches('?'), out);
        }
        for part in word.split(|c: char| !(c.is_ascii_alphanumeric() || "-_.=+/%".contains(c))) {
            if looks_like_jwt(part) {
                out.push(part.to_string());
            }
        }
    }
    if let Some(v) = json_in(paste) {
        json_secrets(&v, out);
    }
}

fn form_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("s={s}").as_bytes())
        .map(|(_, v)| v.into_owned())
        .collect()
}

/// `base64(id:secret)` of a Basic header: the secret, raw and form-decoded.
fn basic_parts(cred: &str, out: &mut Vec<String>) {
    use base64::Engine as _;
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(cred) else {
        return;
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return;
    };
    if let Some((_, secret)) = text.split_once(':') {
        out.push(secret.to_string());
        out.push(form_decode(secret));
    }
}

fn form_secrets(form: &str, out: &mut Vec<String>) {
    for (k, v) in url::form_urlencoded::parse(form.as_bytes()) {
        if is_secret_param(&k) && !v.is_empty() {
            out.push(v.into_owned());
        }
    }
}

fn looks_like_jwt(s: &str) -> bool {
    s.len() > 20 && s.starts_with("eyJ") && s.matches('.').count() >= 2
}

fn json_secrets(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                match val {
                    Value::String(s)
                        if SECRET_PARAMS[1..].contains(&k.as_str())
                            || transcript::is_secret_name(k) =>
                    {
                        out.push(s.clone())
                    }
                    _ => json_secrets(val, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| json_secrets(i, out)),
        _ => {}
    }
}

/// The JSON document of the paste (its body), if it has one.
fn json_in(paste: &str) -> Option<Value> {
    let start = paste.find('{')?;
    serde_json::from_str(paste[start..].trim()).ok()
}

/// The paste with every secret replaced by a marker: what is shown, logged or kept.
pub fn redact(paste: &str) -> String {
    let mut found = Vec::new();
    collect(paste, &mut found);
    found.retain(|s| !s.trim().is_empty());
    let gate = Gate::new(found.iter().map(String::as_str));
    let lines: Vec<String> = paste
        .lines()
        .map(|line| match line.split_once(':') {
            Some((name, value)) if is_credential_header(name.trim()) => format!(
                "{name}: {}",
                transcript::redact_header(name.trim(), value.trim())
            ),
            _ => line.to_string(),
        })
        .collect();
    let mut out = gate.scrub(&lines.join("\n"));
    // Values shorter than the gate scrubs inside text: replaced where they stand whole.
    for s in found.iter().filter(|s| s.chars().count() < 6) {
        for (open, close) in [("=", "&"), ("=", ""), ("\"", "\"")] {
            let whole = format!("{open}{s}{close}");
            if close.is_empty() {
                if out.ends_with(&whole) {
                    let cut = out.len() - s.len();
                    out.replace_range(cut.., &transcript::marker(s));
                }
            } else {
                out = out.replace(&whole, &format!("{open}{}{close}", transcript::marker(s)));
            }
        }
    }
    out
}

/// Takes a (redacted) paste apart: a URL, a status line with headers and body, or a body.
pub fn parse(paste: &str) -> Pasted {
    let normalised = paste.replace("\r\n", "\n");
    let mut text = normalised.trim_start_matches('\u{feff}').trim();
    // A request pasted with its answer: the answer is what is explained.
    if !text.starts_with("HTTP/")
        && let Some(at) = text.find("\nHTTP/")
    {
        text = text[at + 1..].trim();
    }
    let first = text.lines().next().unwrap_or("").trim();
    // Checked on the part before the query: redaction puts markers (with spaces) in the query.
    let target = first.split(['?', '#']).next().unwrap_or("");
    if !target.contains(' ') && (target.contains("://") || first.starts_with('?')) {
        let query = match url::Url::parse(first) {
            Ok(u) => [u.query().unwrap_or(""), u.fragment().unwrap_or("")].join("&"),
            Err(_) => first.trim_start_matches('?').to_string(),
        };
        let params = url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        return Pasted {
            redirect: Some(params),
            ..Pasted::default()
        };
    }
    let mut p = Pasted::default();
    let rest = if first.starts_with("HTTP/") {
        p.status = first
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .filter(|s| (100..600).contains(s));
        let mut lines = text.lines().skip(1);
        let mut consumed = first.len();
        for line in lines.by_ref() {
            consumed += line.len() + 1;
            let Some((name, value)) = line.split_once(':').filter(|_| !line.trim().is_empty())
            else {
                break;
            };
            p.headers
                .push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        text.get(consumed.min(text.len())..).unwrap_or("")
    } else {
        text
    };
    p.body = rest.trim().to_string();
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_line_headers_and_body_are_taken_apart() {
        let p = parse(
            "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json;charset=UTF-8\r\nWWW-Authenticate: Basic realm=\"x\"\r\n\r\n{\"error\":\"invalid_client\"}\n",
        );
        assert_eq!(p.status, Some(401));
        assert_eq!(p.header("www-authenticate"), Some("Basic realm=\"x\""));
        assert_eq!(p.body, "{\"error\":\"invalid_client\"}");
        let bare = parse("{\"error\":\"invalid_grant\"}");
        assert_eq!((bare.status, bare.body.len()), (None, 25));
        let url = parse(
            "https://app.example/callback?error=invalid_scope&error_description=Bad%20scope&state=x",
        );
        assert_eq!(url.param("error_description"), Some("Bad scope"));
        // A redirect is redacted before it is parsed: its state marker holds spaces.
        let url = parse(&redact(
            "https://app.example/callback?error=access_denied&state=abcdefgh12345678",
        ));
        assert_eq!(url.param("error"), Some("access_denied"));
        // A request pasted before its answer: the answer is read.
        let both = parse(
            "POST /token HTTP/1.1\nHost: ehr.example\n\ngrant_type=authorization_code&redirect_uri=x\n\nHTTP/1.1 200 OK\nContent-Type: application/json\n\n{\"token_type\":\"Bearer\"}",
        );
        assert_eq!(both.status, Some(200));
        assert_eq!(both.body, "{\"token_type\":\"Bearer\"}");
    }

    #[test]
    fn secrets_in_a_paste_are_redacted_in_every_spelling() {
        use base64::Engine as _;
        let secret = "s3cr%t+value";
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("my-app:{secret}"));
        let jwt = "eyJhbGciOiJSUzM4NCJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlc2lnbmF0dXJl";
        let paste = format!(
            "POST /token\nAuthorization: Basic {basic}\nCookie: sid=abcdef123456\n\ngrant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&client_secret={}&client_assertion={jwt}\nhttps://user:hunter2pass@ehr.example/cb?code=Zq9Yk3mPcode&state=st4te1234\n{{\"access_token\":\"tok-123456789\",\"error\":\"invalid_client\",\"note\":\"{secret} again, and {}\"}}",
            url::form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>(),
            base64::engine::general_purpose::STANDARD.encode(secret),
        );
        let out = redact(&paste);
        for s in [
            secret,
            basic.as_str(),
            "abcdef123456",
            "SplxlOBeZQQYbYS6WxSbIA",
            "c2lnbmF0dXJlc2lnbmF0dXJl",
            "hunter2pass",
            "Zq9Yk3mPcode",
            "tok-123456789",
            "st4te1234",
            "s3cr%25t%2Bvalue",
            &base64::engine::general_purpose::STANDARD.encode(secret),
        ] {
            assert!(!out.contains(s), "{s} left in {out}");
        }
        assert!(out.contains("invalid_client"), "{out}");
    }
}
