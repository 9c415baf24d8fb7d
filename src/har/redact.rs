//! Redaction of an uploaded HAR before anything is kept or shown: every secret it carries
//! (client secrets, codes, verifiers, assertions, tokens, cookies, Authorization headers,
//! passwords, launch and state values) is collected into a [`Gate`] that scrubs every output in
//! any encoding; the redacted copy keeps only the SMART exchanges, with those values as
//! markers, FHIR resource bodies dropped and patient ids masked in URLs and token answers.

use serde_json::Value;

use super::cases::{basic_pair, basic_raw};
use super::exchanges::{Exchange, Kind};
use super::{Content, Har, NameValue, PostData};
use crate::diagnosis::launch_context::known_type;
use crate::diagnosis::transcript::{Gate, is_secret_name, marker, redact_json, token_marker};

/// Parameter and member names whose values are secrets (or opaque values tied to a launch).
const SECRET_PARAMS: &[&str] = &[
    "client_secret",
    "code",
    "code_verifier",
    "client_assertion",
    "assertion",
    "refresh_token",
    "access_token",
    "id_token",
    "token",
    "password",
    "state",
    "nonce",
    "launch",
    "session_state",
    "device_code",
    "subject_token",
];

/// Members and parameters naming a patient (or an encounter of one).
const PATIENT_PARAMS: &[&str] = &["patient", "subject", "encounter", "_id", "identifier"];

fn secret_param(name: &str) -> bool {
    SECRET_PARAMS.contains(&name) || is_secret_name(name)
}

fn secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie" | "dpop"
    ) || n.contains("token")
        || n.contains("api-key")
        || n.contains("apikey")
        || n.contains("session")
        || is_secret_name(&n)
}

/// A gate that knows every secret `har` carries.
pub fn gate(har: &Har) -> Gate {
    let mut values: Vec<String> = Vec::new();
    let mut basics: Vec<(String, String)> = Vec::new();
    for e in &har.log.entries {
        let r = &e.request;
        let mut params = r.query();
        params.extend(r.form());
        if let Some(loc) = e.response.location()
            && let Ok(u) = url::Url::parse(loc)
        {
            params.extend(u.query_pairs().into_owned());
        }
        for (k, v) in params {
            if secret_param(&k) || PATIENT_PARAMS.contains(&k.as_str()) {
                values.push(v);
            }
        }
        for h in r.headers.iter().chain(&e.response.headers) {
            if !secret_header(&h.name) {
                continue;
            }
            let v = h.value.trim();
            values.push(v.to_string());
            if let Some((_, cred)) = v.split_once(' ') {
                values.push(cred.trim().to_string());
            }
            if let Some((id, secret)) = basic_raw(v) {
                values.push(secret.clone());
                basics.push((id, secret));
            }
            if let Some((id, secret)) = basic_pair(v) {
                values.push(secret.clone());
                basics.push((id, secret));
            }
            // Cookies: each value (and the whole header).
            for c in v.split(';') {
                if let Some((_, cv)) = c.split_once('=') {
                    values.push(cv.trim().to_string());
                }
            }
        }
        if let Ok(json) = serde_json::from_str::<Value>(&e.response.body()) {
            secret_members(&json, &mut values, 0);
        }
        if let Some(text) = r.post_data.as_ref().and_then(|p| p.text.as_deref())
            && let Ok(json) = serde_json::from_str::<Value>(text)
        {
            secret_members(&json, &mut values, 0);
        }
    }
    let mut gate = Gate::new(values.iter().map(String::as_str));
    for (id, secret) in &basics {
        gate.add_basic(id, secret);
    }
    gate
}

fn secret_members(v: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > 32 {
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                match val {
                    Value::String(s) if secret_param(k) || PATIENT_PARAMS.contains(&k.as_str()) => {
                        out.push(s.clone())
                    }
                    _ => secret_members(val, out, depth + 1),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| secret_members(i, out, depth + 1)),
        _ => {}
    }
}

/// A URL fit to show: secret and patient parameters as markers, the id after a FHIR resource
/// type in the path (`Patient/123`) masked, user name and password dropped.
pub fn url(raw: &str) -> String {
    let Ok(mut u) = url::Url::parse(raw) else {
        return "(not a URL)".into();
    };
    let _ = u.set_username("");
    let _ = u.set_password(None);
    let segments: Vec<String> = u
        .path_segments()
        .map(|s| s.map(str::to_string).collect())
        .unwrap_or_default();
    if !segments.is_empty() {
        let masked: Vec<String> = segments
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let after_type = i > 0 && known_type(&segments[i - 1]);
                if after_type && !s.starts_with('$') && !s.starts_with('_') {
                    marker(s)
                } else {
                    s.clone()
                }
            })
            .collect();
        u.set_path(&masked.join("/"));
    }
    if let Some(q) = u.query().map(str::to_string) {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .map(|(k, v)| {
                let v = if secret_param(&k) {
                    param_marker(&k, &v)
                } else if PATIENT_PARAMS.contains(&k.as_str()) {
                    marker(&v)
                } else {
                    v
                };
                (k, v)
            })
            .collect();
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        u.set_query(Some(&q));
    }
    u.set_fragment(None);
    u.to_string()
}

fn param_marker(name: &str, value: &str) -> String {
    if matches!(
        name,
        "access_token" | "refresh_token" | "id_token" | "token"
    ) {
        token_marker(value)
    } else {
        marker(value)
    }
}

fn form(text: &str) -> String {
    url::form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| {
            let v = if secret_param(&k) || PATIENT_PARAMS.contains(&k.as_ref()) {
                param_marker(&k, &v)
            } else {
                v.into_owned()
            };
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn headers(hs: &[NameValue]) -> Vec<NameValue> {
    hs.iter()
        .filter(|h| !h.name.starts_with(':') || h.name == ":path")
        .map(|h| {
            let value = if h.name.eq_ignore_ascii_case("location") || h.name == ":path" {
                if h.value.starts_with('/') {
                    h.value.split('?').next().unwrap_or("").to_string()
                } else {
                    url(&h.value)
                }
            } else if h.name.eq_ignore_ascii_case("referer") {
                url(&h.value)
            } else if secret_header(&h.name) {
                match h.value.split_once(' ') {
                    Some((scheme, cred)) if !h.name.to_ascii_lowercase().contains("cookie") => {
                        format!("{scheme} {}", marker(cred))
                    }
                    _ => marker(&h.value),
                }
            } else {
                h.value.clone()
            };
            NameValue {
                name: h.name.clone(),
                value,
            }
        })
        .collect()
}

/// Patient data in a token answer: `patient`, `encounter`, `fhirContext` references.
fn token_body(body: &str) -> Option<String> {
    let mut v: Value = serde_json::from_str(body).ok()?;
    redact_json(&mut v);
    if let Value::Object(m) = &mut v {
        for k in ["patient", "encounter"] {
            if let Some(Value::String(s)) = m.get(k).cloned() {
                m.insert(k.into(), Value::String(marker(&s)));
            }
        }
        if m.contains_key("fhirContext") {
            m.insert(
                "fhirContext".into(),
                Value::String("[redacted: launch context references]".into()),
            );
        }
    }
    serde_json::to_string_pretty(&v).ok()
}

/// The redacted copy of `har`: only its SMART exchanges (`exchanges`), every value `gate`
/// knows scrubbed, FHIR resource bodies dropped.
pub fn har(har: &Har, exchanges: &[Exchange], gate: &Gate) -> Value {
    let mut out = Har::default();
    out.log.version = "1.2".into();
    out.log.creator.name = "smart-launch-doctor".into();
    out.log.creator.version = env!("CARGO_PKG_VERSION").into();
    out.log.comment = Some(format!(
        "Redacted by smart-launch-doctor: the {} SMART exchanges of {} entries; secrets, codes, tokens, cookies, state, launch and patient data are markers ([redacted: N chars, hmac …]); FHIR resource bodies are left out.",
        exchanges.len(),
        har.log.entries.len()
    ));
    for x in exchanges {
        let Some(e) = har.log.entries.get(x.index) else {
            continue;
        };
        let mut e = e.clone();
        e.pageref = None;
        e.request.url = url(&e.request.url);
        e.request.query_string = url::Url::parse(&e.request.url)
            .map(|u| {
                u.query_pairs()
                    .map(|(k, v)| NameValue {
                        name: k.into_owned(),
                        value: v.into_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        e.request.headers = headers(&e.request.headers);
        e.request.cookies.clear();
        e.request.post_data = e.request.post_data.take().map(|p| {
            let text = p.text.as_deref().map(|t| {
                if let Ok(mut v) = serde_json::from_str::<Value>(t) {
                    redact_json(&mut v);
                    serde_json::to_string(&v).unwrap_or_default()
                } else {
                    form(t)
                }
            });
            let text =
                text.or_else(|| (!p.params.is_empty()).then(|| form(&form_of_params(&p.params))));
            PostData {
                mime_type: p.mime_type,
                text,
                params: Vec::new(),
            }
        });
        e.response.headers = headers(&e.response.headers);
        e.response.cookies.clear();
        e.response.redirect_url = if e.response.redirect_url.is_empty() {
            String::new()
        } else {
            url(&e.response.redirect_url)
        };
        let body = e.response.body();
        let text = match x.kind {
            Kind::Fhir | Kind::Introspection if (200..300).contains(&e.response.status) => None,
            Kind::Token => {
                token_body(&body).or(Some(crate::diagnosis::transcript::redact_body(&body)))
            }
            _ if body.is_empty() => None,
            _ => Some(crate::diagnosis::transcript::redact_body(&body)),
        };
        let comment = (text.is_none() && !body.is_empty()).then(|| {
            format!(
                "[redacted: a FHIR resource or introspection answer, {} bytes]",
                body.len()
            )
        });
        e.response.content = Content {
            size: e.response.content.size,
            mime_type: e.response.content.mime_type.clone(),
            text,
            encoding: None,
            comment,
        };
        out.log.entries.push(e);
    }
    let mut v = serde_json::to_value(&out).unwrap_or(Value::Null);
    gate.scrub_json(&mut v);
    v
}

fn form_of_params(params: &[super::Param]) -> String {
    params
        .iter()
        .map(|p| format!("{}={}", p.name, p.value.as_deref().unwrap_or("")))
        .collect::<Vec<_>>()
        .join("&")
}
