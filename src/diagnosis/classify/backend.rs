//! SMART Backend Services rules, checked on what a `client_credentials` run observed: the
//! granted scopes are `system/` scopes, `expires_in` SHOULD be at most 300 seconds, no refresh
//! token, and the token endpoint rejects a bogus `grant_type` (400) and a bogus
//! `client_assertion_type` (400 or 401). Each rule is a named check; a failed one is also a warn
//! diagnosis. Pure: evidence in, checks and diagnoses out.

use serde_json::{Map, Value};

use crate::diagnosis::{Diagnosis, DiagnosisId, excerpt};

/// The Backend Services page of SMART App Launch 2.2, which every check cites.
pub const RULE: &str = "https://hl7.org/fhir/smart-app-launch/STU2.2/backend-services.html";
/// The longest access token lifetime Backend Services recommends, in seconds.
pub const MAX_EXPIRES_IN: i64 = 300;

/// One rule as observed: a scorecard check (`expires_in` ≤ 300 is a SHOULD: a warning).
pub use crate::diagnosis::conformance::Check;

/// What a probe's answer was: its status and the start of its body (no tokens: a probe that
/// got a token is reported by status only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeAnswer {
    pub status: u16,
    pub body: String,
}

fn check(id: DiagnosisId, passed: bool, detail: String) -> (Check, Option<Diagnosis>) {
    let mut c = Check::from_entry(id, passed, detail.clone());
    c.rule = RULE.to_string();
    if id == id!("server.backend_expires_in_long") {
        c = c.warning();
    }
    let d = (!passed).then(|| Diagnosis::new(id, detail));
    (c, d)
}

/// The rules a successful token response can be checked against.
pub fn token_rules(token: &Map<String, Value>) -> Vec<(Check, Option<Diagnosis>)> {
    let mut out = Vec::new();
    let scope = token.get("scope").and_then(Value::as_str);
    let (passed, detail) = match scope {
        None => (false, "the token response has no scope".to_string()),
        Some(s) => {
            let other: Vec<&str> = s
                .split_whitespace()
                .filter(|s| !s.starts_with("system/"))
                .collect();
            if s.split_whitespace().next().is_none() {
                (false, "the granted scope is empty".to_string())
            } else if other.is_empty() {
                (true, format!("granted {s}"))
            } else {
                (
                    false,
                    format!("granted {s}; not system/: {}", other.join(" ")),
                )
            }
        }
    };
    let (c, d) = check(id!("server.backend_scope_not_system"), passed, detail);
    out.push((
        c,
        d.map(|d| d.with("Granted scope", scope.unwrap_or("(absent)"))),
    ));
    let expires = token.get("expires_in");
    let (passed, detail) = match expires.and_then(Value::as_i64) {
        Some(n) if n <= MAX_EXPIRES_IN => (true, format!("expires_in {n} s")),
        Some(n) => (
            false,
            format!(
                "expires_in {n} s is more than the {MAX_EXPIRES_IN} s Backend Services recommends"
            ),
        ),
        None if expires.is_some() => (false, "expires_in is not a whole number".to_string()),
        None => (false, "the token response has no expires_in".to_string()),
    };
    out.push(check(id!("server.backend_expires_in_long"), passed, detail));
    let refresh = token.contains_key("refresh_token");
    out.push(check(
        id!("server.backend_refresh_token"),
        !refresh,
        if refresh {
            "the client_credentials answer carries a refresh_token".to_string()
        } else {
            "no refresh_token, as Backend Services requires".to_string()
        },
    ));
    out
}

fn answer_detail(what: &str, a: &ProbeAnswer) -> String {
    let error = serde_json::from_str::<Value>(&a.body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string));
    match error {
        Some(e) => format!("{what}: {} with error {e:?}", a.status),
        None if a.status == 200 => format!("{what}: 200 (a token was issued)"),
        None => format!("{what}: {} ({})", a.status, excerpt(&a.body, 80)),
    }
}

/// The bogus `grant_type` probe: the server must answer 400.
pub fn bogus_grant_type(a: &ProbeAnswer) -> (Check, Option<Diagnosis>) {
    check(
        id!("server.backend_bogus_grant_accepted"),
        a.status == 400,
        answer_detail("an unknown grant_type was answered", a),
    )
}

/// The bogus `client_assertion_type` probe: the server must answer 400 or 401.
pub fn bogus_assertion_type(a: &ProbeAnswer) -> (Check, Option<Diagnosis>) {
    check(
        id!("server.backend_bogus_assertion_type_accepted"),
        matches!(a.status, 400 | 401),
        answer_detail("an unknown client_assertion_type was answered", a),
    )
}

/// A backend client that authenticates with a client secret: allowed as a non-SMART variant
/// (`client_credentials` with client_secret_basic / client_secret_post), named with a warning.
/// `None` for `private_key_jwt`.
pub fn symmetric_auth(auth: crate::config::AuthMethod) -> Option<Diagnosis> {
    auth.uses_secret().then(|| {
        Diagnosis::new(
            id!("backend.symmetric_client_auth"),
            format!(
                "This backend client authenticates with {} (a client secret); SMART Backend Services requires private_key_jwt (a signed client assertion).",
                auth.as_str()
            ),
        )
        .with("Configured method", auth.as_str())
        .with("Backend Services requires", "private_key_jwt")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_conformant_backend_answer_passes_every_token_rule() {
        let t = map(
            json!({"access_token": "a", "token_type": "bearer", "expires_in": 300, "scope": "system/Patient.rs"}),
        );
        let rules = token_rules(&t);
        assert_eq!(rules.len(), 3);
        assert!(
            rules.iter().all(|(c, d)| c.passed && d.is_none()),
            "{rules:?}"
        );
    }

    #[test]
    fn long_lifetime_refresh_token_and_user_scopes_are_each_named() {
        let t = map(
            json!({"access_token": "a", "expires_in": 3600, "scope": "system/*.read user/*.read", "refresh_token": "r"}),
        );
        let ids: Vec<&str> = token_rules(&t)
            .iter()
            .filter_map(|(_, d)| d.as_ref().map(|d| d.id().as_str()))
            .collect();
        assert_eq!(
            ids,
            [
                "server.backend_scope_not_system",
                "server.backend_expires_in_long",
                "server.backend_refresh_token"
            ]
        );
    }

    #[test]
    fn a_secret_backend_client_is_warned_about_a_key_client_is_not() {
        use crate::config::AuthMethod;
        for m in [AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost] {
            let d = symmetric_auth(m).unwrap();
            assert_eq!(d.id(), "backend.symmetric_client_auth");
            assert!(!d.is_error());
            assert!(d.summary.contains(m.as_str()));
        }
        assert!(symmetric_auth(AuthMethod::PrivateKeyJwt).is_none());
    }

    #[test]
    fn probes_pass_only_with_the_statuses_the_rules_name() {
        let a = |status| ProbeAnswer {
            status,
            body: r#"{"error":"unsupported_grant_type"}"#.into(),
        };
        assert!(bogus_grant_type(&a(400)).0.passed);
        assert!(!bogus_grant_type(&a(401)).0.passed);
        assert!(bogus_assertion_type(&a(401)).0.passed);
        assert!(bogus_assertion_type(&a(400)).0.passed);
        let (c, d) = bogus_assertion_type(&a(200));
        assert!(!c.passed);
        assert_eq!(
            d.map(|d| d.id().as_str()),
            Some("server.backend_bogus_assertion_type_accepted")
        );
    }
}
