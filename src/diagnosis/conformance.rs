//! The server scorecard: each assertion of the SMART App Launch 2.2 IG (and the Inferno test kit)
//! that a real launch can observe, evaluated from the evidence the flow recorded (discovery
//! document and its content type, token response headers and body, id_token header and claims,
//! refresh and introspection answers). Pure functions; a failed check is also a warn diagnosis.

use http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Diagnosis;
use super::catalog::Entry;
use crate::smart::LaunchKind;
use crate::smart::discovery::{Discovered, Source};

/// How much a failed check weighs: `required` by the IG, or a `warning` where Inferno is
/// stricter than the IG (`expires_in` required, RS256 only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Required,
    Warning,
}

/// One evaluated assertion: `{"id": "server.…", "passed", "detail", "rule", "level"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub id: String,
    pub passed: bool,
    pub detail: String,
    /// The rule's link (the catalogue entry's first rule).
    pub rule: String,
    pub level: Level,
}

impl Check {
    pub(crate) fn from_entry(
        entry: &'static Entry,
        passed: bool,
        detail: impl Into<String>,
    ) -> Self {
        Check {
            id: entry.id.to_string(),
            passed,
            detail: detail.into(),
            rule: entry.spec.first().map(|s| s.1).unwrap_or_default().into(),
            level: Level::Required,
        }
    }

    fn warning(mut self) -> Self {
        self.level = Level::Warning;
        self
    }

    /// The catalogue title (what the check is about).
    pub fn title(&self) -> &'static str {
        super::catalog::entry(&self.id).title
    }
}

/// Older findings that already name what a check finds: when one of them is among a launch's
/// diagnoses, the failed check stays on the scorecard but is not said twice.
const SAID_BY: &[(&str, &str)] = &[
    ("server.discovery_endpoints", "discovery.legacy_metadata"),
    ("server.discovery_endpoints", "discovery.incomplete"),
    ("server.discovery_capabilities", "discovery.incomplete"),
    ("server.discovery_grant_types", "discovery.incomplete"),
    (
        "server.discovery_pkce_supported",
        "discovery.pkce_not_advertised",
    ),
    (
        "server.discovery_pkce_plain",
        "discovery.pkce_not_advertised",
    ),
    ("server.token_no_store", "token.cache_headers"),
    ("server.refresh_scope_subset", "refresh.scope_widened"),
];

/// The failed checks as warn diagnoses (catalogue ids `server.*`), each with its detail,
/// except those an older finding in `already` names.
pub fn diagnoses_besides(checks: &[Check], already: &[Diagnosis]) -> Vec<Diagnosis> {
    let said = |id: &str| {
        SAID_BY
            .iter()
            .any(|(c, by)| *c == id && already.iter().any(|d| d.id() == *by))
    };
    checks
        .iter()
        .filter(|c| !c.passed && !said(&c.id))
        .map(|c| Diagnosis::new(super::catalog::entry(&c.id), c.detail.clone()))
        .collect()
}

/// The failed checks as warn diagnoses (catalogue ids `server.*`), each with its detail.
pub fn diagnoses(checks: &[Check]) -> Vec<Diagnosis> {
    diagnoses_besides(checks, &[])
}

fn strings(doc: &Value, key: &str) -> Option<Vec<String>> {
    let a = doc.get(key)?.as_array()?;
    a.iter().map(|v| v.as_str().map(str::to_string)).collect()
}

/// What discovery shows: content type, endpoints, capabilities, grant types, PKCE methods,
/// OpenID Connect members.
pub fn discovery(d: &Discovered) -> Vec<Check> {
    if d.source == Source::CapabilityStatement {
        return vec![Check::from_entry(
            id!("server.discovery_endpoints"),
            false,
            "No .well-known/smart-configuration: the endpoints came from the CapabilityStatement.",
        )];
    }
    let empty = Value::Object(Map::new());
    let doc = d.document.as_ref().unwrap_or(&empty);
    let mut out = Vec::new();
    let media = d.content_type.split(';').next().unwrap_or("").trim();
    out.push(Check::from_entry(
        id!("server.discovery_content_type"),
        media.eq_ignore_ascii_case("application/json"),
        format!(
            "Content-Type: {}",
            if d.content_type.is_empty() {
                "(none)"
            } else {
                &d.content_type
            }
        ),
    ));
    out.push(Check::from_entry(
        id!("server.discovery_endpoints"),
        d.resolved.is_empty(),
        if d.resolved.is_empty() {
            format!(
                "authorization_endpoint {}, token_endpoint {}",
                d.authorization_endpoint, d.token_endpoint
            )
        } else {
            format!("Relative URLs: {}", d.resolved.join("; "))
        },
    ));
    let caps = strings(doc, "capabilities");
    out.push(Check::from_entry(
        id!("server.discovery_capabilities"),
        caps.is_some(),
        match (&caps, doc.get("capabilities")) {
            (Some(c), _) => format!("capabilities: {}", c.join(", ")),
            (None, None) => "capabilities is absent".into(),
            (None, Some(v)) => format!("capabilities is not an array of strings: {v}"),
        },
    ));
    let grants = strings(doc, "grant_types_supported");
    out.push(Check::from_entry(
        id!("server.discovery_grant_types"),
        grants
            .as_ref()
            .is_some_and(|g| g.iter().any(|x| x == "authorization_code")),
        match &grants {
            Some(g) => format!("grant_types_supported: {}", g.join(", ")),
            None => "grant_types_supported is absent".into(),
        },
    ));
    let pkce = strings(doc, "code_challenge_methods_supported").unwrap_or_default();
    let shown = format!("code_challenge_methods_supported: {pkce:?}");
    out.push(Check::from_entry(
        id!("server.discovery_pkce_supported"),
        pkce.iter().any(|m| m == "S256"),
        shown.clone(),
    ));
    out.push(Check::from_entry(
        id!("server.discovery_pkce_plain"),
        !pkce.iter().any(|m| m == "plain"),
        shown,
    ));
    if caps
        .as_ref()
        .is_some_and(|c| c.iter().any(|x| x == "sso-openid-connect"))
    {
        let missing: Vec<&str> = ["issuer", "jwks_uri"]
            .into_iter()
            .filter(|k| doc.get(*k).and_then(Value::as_str).is_none())
            .collect();
        out.push(Check::from_entry(
            id!("server.discovery_openid"),
            missing.is_empty(),
            if missing.is_empty() {
                "sso-openid-connect with issuer and jwks_uri".to_string()
            } else {
                format!("sso-openid-connect listed; missing: {}", missing.join(", "))
            },
        ));
    }
    out
}

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
        out.push(super::launch_context::fhir_context_check(items));
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

/// What the id_token shows: `alg` RS256 (Inferno; a warning), `kid` (needed when the JWKS has
/// several keys, so a verified token without one passes), `sub`, and `fhirUser` with the type
/// its read returned.
pub fn id_token(
    header: &Value,
    claims: &Value,
    verified: bool,
    fhir_user_read: Option<&str>,
) -> Vec<Check> {
    let mut out = Vec::new();
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    out.push(
        Check::from_entry(
            id!("server.id_token_alg"),
            alg == "RS256",
            format!("alg: {alg}"),
        )
        .warning(),
    );
    let kid = header.get("kid").and_then(Value::as_str);
    out.push(Check::from_entry(
        id!("server.id_token_kid"),
        kid.is_some() || verified,
        match kid {
            Some(k) => format!("kid: {k}"),
            None if verified => "no kid; the JWKS has one suitable key".into(),
            None => "no kid, and the token could not be matched to one key".into(),
        },
    ));
    let sub = claims.get("sub").and_then(Value::as_str);
    out.push(Check::from_entry(
        id!("server.id_token_sub"),
        sub.is_some_and(|s| !s.is_empty() && s.chars().count() <= 255),
        match sub {
            Some(s) => format!("sub: {} chars", s.chars().count()),
            None => "sub is absent".into(),
        },
    ));
    if let Some(user) = claims.get("fhirUser").and_then(Value::as_str) {
        let ty = user
            .trim_end_matches('/')
            .rsplit('/')
            .nth(1)
            .unwrap_or_default();
        let allowed = ["Patient", "Practitioner", "RelatedPerson", "Person"].contains(&ty);
        let read_ok = fhir_user_read == Some(ty);
        out.push(Check::from_entry(
            id!("server.fhir_user"),
            allowed && read_ok,
            match fhir_user_read {
                Some(read) => format!("fhirUser {user}: a {ty}; the read returned a {read}"),
                None => format!("fhirUser {user}: a {ty}; not read"),
            },
        ));
    }
    out
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
        .filter(|s| !super::scopes::covered(&original, s))
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

#[cfg(test)]
#[path = "conformance_tests.rs"]
mod tests;
