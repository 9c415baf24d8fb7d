//! The token endpoint's answers: the code exchange (fields, cache headers, context types,
//! `fhirContext`, patient and id_token when granted) and refreshes.

use http::HeaderMap;
use serde_json::{Map, Value};

use super::Check;
use crate::smart::LaunchKind;

fn header_has(headers: &HeaderMap, name: http::HeaderName, word: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .unwrap_or("")
            .split(',')
            .any(|d| d.trim().eq_ignore_ascii_case(word))
    })
}

fn header_text(headers: &HeaderMap, name: http::HeaderName) -> String {
    let all: Vec<&str> = headers
        .get_all(name.clone())
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if all.is_empty() {
        format!("{name}: (absent)")
    } else {
        format!("{name}: {}", all.join(", "))
    }
}

/// The cache headers RFC 6749 §5.1 requires on every token answer.
fn cache_checks(headers: &HeaderMap) -> (bool, bool) {
    (
        header_has(headers, http::header::CACHE_CONTROL, "no-store"),
        header_has(headers, http::header::PRAGMA, "no-cache"),
    )
}

/// What the code exchange's answer shows. `granted` is the granted scope (the requested one
/// when the answer has none).
pub fn token(
    headers: &HeaderMap,
    body: &Map<String, Value>,
    granted: &str,
    kind: LaunchKind,
) -> Vec<Check> {
    let mut out = Vec::new();
    let access = body.get("access_token").and_then(Value::as_str);
    out.push(Check::from_entry(
        id!("server.token_access_token"),
        access.is_some_and(|a| !a.trim().is_empty()),
        match access {
            Some(a) if !a.trim().is_empty() => format!("access_token: {} chars", a.len()),
            Some(_) => "access_token is blank".into(),
            None => "access_token is absent or not a string".into(),
        },
    ));
    let ty = body.get("token_type").and_then(Value::as_str);
    out.push(Check::from_entry(
        id!("server.token_type"),
        ty.is_some_and(|t| t.eq_ignore_ascii_case("bearer")),
        format!("token_type: {}", ty.unwrap_or("(absent)")),
    ));
    let expires = body.get("expires_in");
    out.push(
        Check::from_entry(
            id!("server.token_expires_in"),
            expires.is_some_and(|e| e.as_u64().is_some()),
            match expires {
                Some(e) => format!("expires_in: {e}"),
                None => "expires_in is absent".into(),
            },
        )
        .warning(),
    );
    let scope = body.get("scope").and_then(Value::as_str);
    out.push(Check::from_entry(
        id!("server.token_scope"),
        scope.is_some(),
        match scope {
            Some(s) => format!("scope: {s}"),
            None => "scope is absent".into(),
        },
    ));
    let (no_store, no_cache) = cache_checks(headers);
    out.push(Check::from_entry(
        id!("server.token_no_store"),
        no_store,
        header_text(headers, http::header::CACHE_CONTROL),
    ));
    // RFC 6749 §5.1 and Inferno require Pragma; OAuth 2.1 drops it (RFC 9111 deprecates the
    // header), and certified servers such as oidc-provider 9 no longer send it: a warning.
    out.push(
        Check::from_entry(
            id!("server.token_pragma"),
            no_cache,
            header_text(headers, http::header::PRAGMA),
        )
        .warning(),
    );
    out.push(context_types(body));
    if let Some(items) = body.get("fhirContext") {
        out.push(super::super::launch_context::fhir_context_check(items));
    }
    let scopes: Vec<&str> = granted.split_whitespace().collect();
    let patient_launch = scopes.contains(&"launch/patient")
        || (kind == LaunchKind::Ehr
            && scopes.contains(&"launch")
            && scopes.iter().any(|s| s.starts_with("patient/")));
    if patient_launch {
        let patient = body.get("patient").and_then(Value::as_str);
        out.push(Check::from_entry(
            id!("server.token_patient"),
            patient.is_some_and(|p| !p.is_empty()),
            match patient {
                Some(p) => format!("patient: {p}"),
                None => "patient is absent".into(),
            },
        ));
    }
    if scopes.contains(&"openid") {
        out.push(Check::from_entry(
            id!("server.token_id_token"),
            body.get("id_token").and_then(Value::as_str).is_some(),
            if body.contains_key("id_token") {
                "id_token returned"
            } else {
                "openid granted; id_token absent"
            },
        ));
    }
    out
}

/// `patient`, `encounter`, `intent`, `tenant`, `smart_style_url` strings;
/// `need_patient_banner` a boolean.
fn context_types(body: &Map<String, Value>) -> Check {
    let wrong: Vec<String> = [
        "patient",
        "encounter",
        "intent",
        "tenant",
        "smart_style_url",
    ]
    .into_iter()
    .filter(|k| body.get(*k).is_some_and(|v| !v.is_string()))
    .map(|k| format!("{k} is not a string"))
    .chain(
        body.get("need_patient_banner")
            .filter(|v| !v.is_boolean())
            .map(|_| "need_patient_banner is not a boolean".to_string()),
    )
    .collect();
    let present: Vec<&str> = [
        "patient",
        "encounter",
        "intent",
        "tenant",
        "smart_style_url",
        "need_patient_banner",
        "fhirContext",
    ]
    .into_iter()
    .filter(|k| body.contains_key(*k))
    .collect();
    Check::from_entry(
        id!("server.token_context_types"),
        wrong.is_empty(),
        if wrong.is_empty() {
            format!("context fields: {}", present.join(", "))
        } else {
            wrong.join("; ")
        },
    )
}

/// What a refresh answer shows: cache headers, fields, scope within the original.
pub fn refresh(headers: &HeaderMap, body: &Map<String, Value>, original: &str) -> Vec<Check> {
    let (no_store, _) = cache_checks(headers);
    let missing: Vec<&str> = ["access_token", "token_type", "expires_in", "scope"]
        .into_iter()
        .filter(|k| !body.contains_key(*k))
        .collect();
    let granted = body.get("scope").and_then(Value::as_str).unwrap_or("");
    let original: Vec<&str> = original.split_whitespace().collect();
    let wider: Vec<&str> = granted
        .split_whitespace()
        .filter(|s| !super::super::scopes::covered(&original, s))
        .collect();
    vec![
        Check::from_entry(
            id!("server.refresh_no_store"),
            no_store,
            header_text(headers, http::header::CACHE_CONTROL),
        ),
        Check::from_entry(
            id!("server.refresh_fields"),
            missing.is_empty(),
            if missing.is_empty() {
                "access_token, token_type, expires_in, scope present".to_string()
            } else {
                format!("missing: {}", missing.join(", "))
            },
        ),
        Check::from_entry(
            id!("server.refresh_scope_subset"),
            wider.is_empty(),
            if wider.is_empty() {
                format!("scope: {granted}")
            } else {
                format!("beyond the original: {}", wider.join(" "))
            },
        ),
    ]
}
