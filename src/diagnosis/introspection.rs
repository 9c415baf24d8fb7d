//! RFC 7662 introspection of the new access token, compared with the token response: the
//! answer must say `active` with `scope`, `client_id` and `exp`, and agree with what the token
//! response granted (`scope`, `client_id`, `patient`, `encounter`, `exp`). Pure functions.

use serde_json::{Map, Value};

use super::conformance::Check;

/// What the token response and the registration say, to compare the introspection with.
pub struct Expected<'a> {
    pub token: &'a Map<String, Value>,
    /// The granted scope (the requested one when the token response has none).
    pub granted: &'a str,
    pub client_id: &'a str,
    /// When the token response arrived (Unix seconds): `exp` should be that plus `expires_in`.
    pub received_at: i64,
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

/// The two introspection checks: required fields, agreement with the token response.
pub fn checks(status: u16, answer: Option<&Value>, e: &Expected) -> Vec<Check> {
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
    fn an_inactive_token_or_an_error_fails() {
        let token = Map::new();
        let c = checks(200, Some(&json!({"active": false})), &expected(&token));
        assert!(c.iter().all(|c| !c.passed));
        let c = checks(401, None, &expected(&token));
        assert_eq!(c.len(), 1);
        assert!(!c[0].passed);
    }
}
