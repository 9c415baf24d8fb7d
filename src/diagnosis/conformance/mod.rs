//! The server scorecard: each assertion of the SMART App Launch 2.2 IG (and the Inferno test kit)
//! that a real launch can observe, evaluated from the evidence the flow recorded (discovery
//! document and its content type, token response headers and body, id_token header and claims,
//! refresh and introspection answers). Pure functions; a failed check is also a warn diagnosis.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Diagnosis;
use super::catalog::{self, DiagnosisId};
use crate::smart::discovery::{Discovered, Source};

/// How much a failed check weighs: `required` by the IG, or a `warning` where Inferno is
/// stricter than the IG (`expires_in` required, RS256 only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    #[default]
    Required,
    Warning,
}

/// What became of a check: `passed`, `failed`, or `not_tested` (it could not run: introspection
/// refused, no refresh token, an earlier step failed, active probes off), never a pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Passed,
    Failed,
    NotTested,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::NotTested => "not tested",
        }
    }
}

/// One evaluated assertion: `{"id": "server.…", "passed", "status", "reason", "detail", "rule",
/// "level"}`. `passed` is false for a check that was not tested.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "CheckWire", into = "CheckWire")]
pub struct Check {
    pub id: DiagnosisId,
    pub passed: bool,
    pub status: Status,
    /// Why a check was not tested.
    pub reason: Option<String>,
    pub detail: String,
    /// The rule's link (the catalogue entry's first rule).
    pub rule: String,
    /// Absent in records stored before levels existed: required.
    pub level: Level,
}

/// [`Check`] as stored and in JSON: records stored before `status` existed read it from `passed`.
#[derive(Clone, Serialize, Deserialize)]
struct CheckWire {
    id: String,
    passed: bool,
    #[serde(default)]
    status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    detail: String,
    rule: String,
    #[serde(default)]
    level: Level,
}

impl From<CheckWire> for Check {
    fn from(w: CheckWire) -> Self {
        let status = w.status.unwrap_or(if w.passed {
            Status::Passed
        } else {
            Status::Failed
        });
        Check {
            // An id this build does not know (stored by another version) reads as `internal.unknown`.
            id: catalog::entry(&w.id).id(),
            passed: status == Status::Passed,
            status,
            reason: w.reason,
            detail: w.detail,
            rule: w.rule,
            level: w.level,
        }
    }
}

impl From<Check> for CheckWire {
    fn from(c: Check) -> Self {
        CheckWire {
            id: c.id.as_str().to_string(),
            passed: c.passed,
            status: Some(c.status),
            reason: c.reason,
            detail: c.detail,
            rule: c.rule,
            level: c.level,
        }
    }
}

impl Check {
    pub(crate) fn from_entry(id: DiagnosisId, passed: bool, detail: impl Into<String>) -> Self {
        Check {
            id,
            passed,
            status: if passed {
                Status::Passed
            } else {
                Status::Failed
            },
            reason: None,
            detail: detail.into(),
            rule: id
                .entry()
                .rules
                .first()
                .map(|s| s.1)
                .unwrap_or_default()
                .into(),
            level: Level::Required,
        }
    }

    /// A check that could not run, with the reason: counted apart, never a pass.
    pub(crate) fn not_tested(id: DiagnosisId, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        let mut c = Check::from_entry(id, false, format!("not tested: {reason}"));
        c.status = Status::NotTested;
        c.reason = Some(reason);
        c
    }

    /// Whether the check ran and failed (a check not tested did not fail).
    pub fn failed(&self) -> bool {
        self.status == Status::Failed
    }

    pub fn is_not_tested(&self) -> bool {
        self.status == Status::NotTested
    }

    pub(crate) fn warning(mut self) -> Self {
        self.level = Level::Warning;
        self
    }

    /// The catalogue title (what the check is about).
    pub fn title(&self) -> &'static str {
        self.id.entry().title
    }
}

/// `{"passed": n, "failed": n, "not_tested": n}` of a scorecard.
pub fn counts(checks: &[Check]) -> Value {
    let n = |s: Status| checks.iter().filter(|c| c.status == s).count();
    serde_json::json!({
        "passed": n(Status::Passed),
        "failed": n(Status::Failed),
        "not_tested": n(Status::NotTested),
    })
}

/// Older findings that already name what a check finds: when one of them is among a launch's
/// diagnoses, the failed check stays on the scorecard but is not said twice.
const SAID_BY: &[(DiagnosisId, DiagnosisId)] = &[
    (
        id!("server.discovery_endpoints"),
        id!("discovery.legacy_metadata"),
    ),
    (
        id!("server.discovery_endpoints"),
        id!("discovery.incomplete"),
    ),
    (
        id!("server.discovery_capabilities"),
        id!("discovery.incomplete"),
    ),
    (
        id!("server.discovery_grant_types"),
        id!("discovery.incomplete"),
    ),
    (
        id!("server.discovery_pkce_supported"),
        id!("discovery.pkce_not_advertised"),
    ),
    (
        id!("server.discovery_pkce_plain"),
        id!("discovery.pkce_not_advertised"),
    ),
    (id!("server.token_no_store"), id!("token.cache_headers")),
    // The id_token rules: the launch's own error names them.
    (id!("server.id_token_iss"), id!("id_token.wrong_issuer")),
    (
        id!("server.id_token_iss"),
        id!("id_token.issuer_trailing_slash"),
    ),
    (
        id!("server.id_token_iss"),
        id!("id_token.config_unavailable"),
    ),
    (id!("server.id_token_aud"), id!("id_token.wrong_audience")),
    (
        id!("server.id_token_aud"),
        id!("id_token.untrusted_audience"),
    ),
    (id!("server.id_token_azp"), id!("id_token.azp_mismatch")),
    (id!("server.token_patient"), id!("token.missing_context")),
    (
        id!("server.refresh_scope_subset"),
        id!("refresh.scope_widened"),
    ),
];

/// Whether diagnosis `d` says what failed check `check` says: it is `check` itself (its warning)
/// or the finding that stands for it (an id_token error stands for `server.id_token_iss`).
pub fn says(check: DiagnosisId, d: DiagnosisId) -> bool {
    check == d || SAID_BY.iter().any(|&(c, by)| c == check && by == d)
}

/// The failed checks as warn diagnoses (catalogue ids `server.*`), each with its detail,
/// except those an older finding in `already` names.
pub fn diagnoses_besides(checks: &[Check], already: &[Diagnosis]) -> Vec<Diagnosis> {
    let said = |id: DiagnosisId| {
        SAID_BY
            .iter()
            .any(|&(c, by)| c == id && already.iter().any(|d| d.id() == by))
    };
    checks
        .iter()
        .filter(|c| c.failed() && !said(c.id))
        .map(|c| Diagnosis::new(c.id, c.detail.clone()))
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

pub mod active;
mod identity;
mod token;

pub use identity::{id_token, id_token_claims};
pub use token::{refresh, token};

#[cfg(test)]
mod tests;
