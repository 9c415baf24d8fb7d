//! RFC 7662 introspection of the new access token, compared with the token response: the
//! answer must say `active` with `scope`, `client_id` and `exp`, and agree with what the token
//! response granted (`scope`, `client_id`, `patient`, `encounter`, `exp`). An endpoint that
//! refuses the app is named as such (`introspection.refused`), and an inactive answer for a token
//! whose lifetime had passed is what RFC 7662 §2.2 asks for. Pure functions.

use serde_json::{Map, Value};

use super::Diagnosis;
use super::conformance::Check;

/// What the token response and the registration say, to compare the introspection with.
pub struct Expected<'a> {
    pub token: &'a Map<String, Value>,
    /// The granted scope (the requested one when the token response has none).
    pub granted: &'a str,
    pub client_id: &'a str,
    /// When the token response arrived (Unix seconds): `exp` should be that plus `expires_in`.
    pub received_at: i64,
    /// When the introspection answered (Unix seconds).
    pub now: i64,
}

impl Expected<'_> {
    /// Seconds of the token's lifetime left now; `None` without `expires_in`.
    fn left(&self) -> Option<i64> {
        let expires_in = self.token.get("expires_in")?.as_i64()?;
        Some(self.received_at + expires_in - self.now)
    }
}

/// Seconds `exp` may differ from the token response's `expires_in` (clock skew, latency).
const EXP_LEEWAY: i64 = 120;

fn scope_set(s: &str) -> Vec<&str> {
    let mut v: Vec<&str> = s.split_whitespace().collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The fields that differ, as `name: introspection X, token response Y`.
pub fn differences(answer: &Value, e: &Expected) -> Vec<String> {
    let mut out = Vec::new();
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => "(absent)".into(),
    };
    if answer.get("active") != Some(&Value::Bool(true)) {
        out.push(format!(
            "active: introspection {}, expected true",
            text(answer.get("active"))
        ));
        return out;
    }
    if let Some(s) = answer.get("scope").and_then(Value::as_str)
        && scope_set(s) != scope_set(e.granted)
    {
        out.push(format!(
            "scope: introspection {s:?}, token response {:?}",
            e.granted
        ));
    }
    if let Some(c) = answer.get("client_id").and_then(Value::as_str)
        && c != e.client_id
    {
        out.push(format!(
            "client_id: introspection {c:?}, registration {:?}",
            e.client_id
        ));
    }
    for key in ["patient", "encounter"] {
        let (a, t) = (answer.get(key), e.token.get(key));
        if (a.is_some() || t.is_some()) && a != t {
            out.push(format!(
                "{key}: introspection {}, token response {}",
                text(a),
                text(t)
            ));
        }
    }
    if let (Some(exp), Some(expires_in)) = (
        answer.get("exp").and_then(Value::as_i64),
        e.token.get("expires_in").and_then(Value::as_i64),
    ) {
        let expected = e.received_at + expires_in;
        if (exp - expected).abs() > EXP_LEEWAY {
            out.push(format!(
                "exp: introspection {exp}, token response about {expected} (received + expires_in)"
            ));
        }
    }
    out
}

/// An answer that refuses the app rather than answering about the token: 401/403, or an OAuth
/// error about the client. Returns the detail.
fn refusal(status: u16, answer: Option<&Value>) -> Option<String> {
    let error = answer
        .and_then(|a| a.get("error"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let about_client = matches!(
        error,
        "invalid_client" | "unauthorized_client" | "insufficient_scope" | "access_denied"
    );
    if !(matches!(status, 401 | 403) || about_client) {
        return None;
    }
    Some(if error.is_empty() {
        format!("the introspection endpoint answered {status}: it refused this app")
    } else {
        format!(
            "the introspection endpoint answered {status} with error {error:?}: it refused this app"
        )
    })
}

/// The inactive answer's two checks: RFC 7662 §2.2 requires only `active`, and an inactive
/// answer agrees with the token response only once the token's lifetime has passed.
fn inactive(e: &Expected) -> Vec<Check> {
    let fields = Check::from_entry(
        id!("server.introspection_fields"),
        true,
        "inactive: an inactive answer needs only active (RFC 7662 §2.2)",
    );
    let agreement = match e.left() {
        Some(left) if left <= 0 => Check::from_entry(
            id!("server.introspection_mismatch"),
            true,
            format!(
                "inactive, as expected: the token's lifetime had passed {} s before",
                -left
            ),
        ),
        Some(left) => Check::from_entry(
            id!("server.introspection_mismatch"),
            false,
            format!(
                "active: introspection false, although the token response gave it {left} s more"
            ),
        ),
        None => Check::from_entry(
            id!("server.introspection_mismatch"),
            false,
            "active: introspection false for the token just issued (the token response gave no expires_in)",
        ),
    };
    vec![fields, agreement]
}

/// The two introspection checks: required fields, agreement with the token response; or the
/// refusal, when the endpoint would not answer this app.
pub fn checks(status: u16, answer: Option<&Value>, e: &Expected) -> Vec<Check> {
    if let Some(detail) = refusal(status, answer) {
        return vec![Check::from_entry(
            id!("introspection.refused"),
            false,
            detail,
        )];
    }
    if (200..300).contains(&status)
        && answer.and_then(|a| a.get("active")) == Some(&Value::Bool(false))
    {
        return inactive(e);
    }
    let Some(answer) = answer.filter(|a| a.is_object() && (200..300).contains(&status)) else {
        return vec![Check::from_entry(
            id!("server.introspection_fields"),
            false,
            format!("the introspection endpoint answered {status} without a JSON object"),
        )];
    };
    let missing: Vec<&str> = ["active", "scope", "client_id", "exp"]
        .into_iter()
        .filter(|k| answer.get(*k).is_none())
        .collect();
    let diffs = differences(answer, e);
    vec![
        Check::from_entry(
            id!("server.introspection_fields"),
            missing.is_empty(),
            if missing.is_empty() {
                "active, scope, client_id, exp present".to_string()
            } else {
                format!("missing: {}", missing.join(", "))
            },
        ),
        Check::from_entry(
            id!("server.introspection_mismatch"),
            diffs.is_empty(),
            if diffs.is_empty() {
                "agrees with the token response".to_string()
            } else {
                diffs.join("; ")
            },
        ),
    ]
}

/// Launch context the token response lacks and introspection names is one fact: it goes on
/// `token.missing_context` (whose first cause then is the server, not the clinician), not a
/// second time as `server.introspection_mismatch` (the scorecard check still shows it).
pub fn reconcile(
    diagnoses: &mut Vec<Diagnosis>,
    answer: Option<&Value>,
    token: &Map<String, Value>,
) {
    let Some(answer) = answer.filter(|a| a.get("active") == Some(&Value::Bool(true))) else {
        return;
    };
    let mut folded = Vec::new();
    for key in ["patient", "encounter"] {
        let Some(named) = answer.get(key).and_then(Value::as_str) else {
            continue;
        };
        if token.contains_key(key) {
            continue;
        }
        let missing = diagnoses.iter_mut().find(|d| {
            d.id() == id!("token.missing_context")
                && d.evidence
                    .iter()
                    .any(|e| e.label == "Missing" && e.value == key)
        });
        let Some(d) = missing else { continue };
        let label = format!("{key} named by introspection");
        // Records stored before the reasoner did this were reconciled when they were written.
        if d.evidence.iter().any(|e| e.label == label) {
            folded.push(format!("{key}: "));
            continue;
        }
        d.summary.push_str(&format!(
            " Introspection of the same token names {key} {named}: the server knows the context but left it out of the token response."
        ));
        d.first_causes.insert(
            0,
            format!("The server bound {key} {named} to the token (introspection names it) but omits it from the token response: a server or configuration fault, not a missing selection"),
        );
        d.evidence.push(super::Evidence {
            label,
            value: named.to_string(),
        });
        folded.push(format!("{key}: "));
    }
    if folded.is_empty() {
        return;
    }
    diagnoses.retain_mut(|d| {
        if d.id() != id!("server.introspection_mismatch") {
            return true;
        }
        let rest: Vec<String> = d
            .summary
            .split("; ")
            .filter(|part| !folded.iter().any(|k| part.starts_with(k.as_str())))
            .map(str::to_string)
            .collect();
        d.summary = rest.join("; ");
        !rest.is_empty()
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expected(token: &Map<String, Value>) -> Expected<'_> {
        Expected {
            token,
            granted: "openid patient/*.rs",
            client_id: "app",
            received_at: 1000,
            now: 1001,
        }
    }

    #[test]
    fn an_agreeing_answer_passes_both_checks() {
        let token = json!({"patient": "p1", "expires_in": 3600});
        let token = token.as_object().unwrap();
        let answer = json!({"active": true, "scope": "patient/*.rs openid", "client_id": "app",
            "exp": 4600, "patient": "p1"});
        let c = checks(200, Some(&answer), &expected(token));
        assert!(c.iter().all(|c| c.passed), "{c:?}");
    }

    #[test]
    fn differing_fields_are_named() {
        let token = json!({"patient": "p1", "expires_in": 3600});
        let token = token.as_object().unwrap();
        let answer = json!({"active": true, "scope": "patient/*.rs", "client_id": "other",
            "exp": 99999, "patient": "p2"});
        let c = checks(200, Some(&answer), &expected(token));
        let m = c
            .iter()
            .find(|c| c.id == "server.introspection_mismatch")
            .unwrap();
        assert!(!m.passed);
        for field in ["scope:", "client_id:", "patient:", "exp:"] {
            assert!(m.detail.contains(field), "{field} in {}", m.detail);
        }
    }

    #[test]
    fn an_inactive_answer_needs_only_active_and_agrees_once_the_token_expired() {
        let token = json!({"expires_in": 1});
        let token = token.as_object().unwrap();
        let inactive = json!({"active": false});
        let late = Expected {
            now: 1005,
            ..expected(token)
        };
        let c = checks(200, Some(&inactive), &late);
        assert!(c.iter().all(|c| c.passed), "{c:?}");
        // For a token with time left, inactive disagrees with the token response.
        let long = json!({"expires_in": 3600});
        let c = checks(200, Some(&inactive), &expected(long.as_object().unwrap()));
        let m = c
            .iter()
            .find(|c| c.id == "server.introspection_mismatch")
            .unwrap();
        assert!(
            !m.passed && m.detail.contains("3599 s more"),
            "{}",
            m.detail
        );
        assert!(
            c.iter()
                .find(|c| c.id == "server.introspection_fields")
                .unwrap()
                .passed
        );
    }

    #[test]
    fn an_endpoint_that_refuses_the_app_is_a_refusal_not_missing_fields() {
        let token = Map::new();
        for (status, body) in [
            (401, Some(json!({"error": "invalid_client"}))),
            (403, None),
            (400, Some(json!({"error": "unauthorized_client"}))),
        ] {
            let c = checks(status, body.as_ref(), &expected(&token));
            assert_eq!(c.len(), 1);
            assert_eq!(
                (c[0].id.as_str(), c[0].passed),
                ("introspection.refused", false)
            );
        }
        let c = checks(500, None, &expected(&token));
        assert_eq!(c[0].id, "server.introspection_fields");
    }

    #[test]
    fn a_patient_only_introspection_names_is_one_finding_that_blames_the_server() {
        let token = Map::new();
        let answer = json!({"active": true, "patient": "p1", "scope": "x"});
        let mut ds = vec![
            Diagnosis::new(id!("token.missing_context"), "no patient").with("Missing", "patient"),
            Diagnosis::new(
                id!("server.introspection_mismatch"),
                "patient: introspection p1, token response (absent)",
            ),
        ];
        reconcile(&mut ds, Some(&answer), &token);
        assert_eq!(ds.len(), 1, "{ds:?}");
        assert!(ds[0].causes()[0].contains("introspection names it"));
        assert!(!ds[0].causes()[0].contains("selected"));
        let mut both = vec![
            Diagnosis::new(id!("token.missing_context"), "no patient").with("Missing", "patient"),
            Diagnosis::new(
                id!("server.introspection_mismatch"),
                "scope: introspection \"a\", token response \"b\"; patient: introspection p1, token response (absent)",
            ),
        ];
        reconcile(&mut both, Some(&answer), &token);
        assert_eq!(
            both[1].summary,
            "scope: introspection \"a\", token response \"b\""
        );
        // The reasoner reads every case again: a second pass (or a record reconciled when it
        // was stored) changes nothing.
        let once = format!("{both:?}");
        reconcile(&mut both, Some(&answer), &token);
        assert_eq!(format!("{both:?}"), once);
    }
}
