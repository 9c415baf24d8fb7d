//! The claims of an id_token whose signature verified, checked as OpenID Connect Core 1.0
//! §3.1.3.7 says: `iss` exactly the issuer (item 2), `aud` this client and no audience it does
//! not trust (item 3), `azp` present with several audiences and then this client (items 4–5, as
//! Core 1.0 incorporating errata set 1 words them), `exp` and `iat` within the leeway
//! (items 9–10).

use serde_json::Value;

use super::super::Diagnosis;

/// `iss`, `aud`, `azp`, `exp` and `iat` of a token whose signature verified. The only trusted
/// audience is `client_id` itself.
pub fn claims(
    claims: &Value,
    issuer: &str,
    client_id: &str,
    now: i64,
    leeway: i64,
) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
    if iss != issuer {
        out.push(if differs_by_trailing_slash(iss, issuer) {
            issuer_trailing_slash(
                "The id_token's iss differs from the issuer discovery named by a trailing slash; OpenID Connect requires them identical.",
            )
            .with("iss in the token", iss)
            .with("Issuer expected", issuer)
        } else {
            Diagnosis::new(
                id!("id_token.wrong_issuer"),
                "The id_token's iss is not the issuer discovery named.",
            )
            .with("iss in the token", iss)
            .with("Issuer expected", issuer)
        });
    }
    out.extend(audience(claims, client_id));
    out.extend(times(claims, now, leeway));
    out
}

/// Whether `a` and `b` differ, but only by trailing slashes.
pub fn differs_by_trailing_slash(a: &str, b: &str) -> bool {
    a != b && a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// `id_token.issuer_trailing_slash` with this summary (the token's `iss`, or the OpenID
/// configuration's `issuer`).
pub fn issuer_trailing_slash(summary: &str) -> Diagnosis {
    Diagnosis::new(id!("id_token.issuer_trailing_slash"), summary)
}

/// The audiences `aud` names: one string, or each member of an array (a member that is not a
/// string as its JSON text, which is never a client id).
fn audiences(aud: Option<&Value>) -> Vec<String> {
    match aud {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// `aud` must contain `client_id` and nothing else untrusted; with several audiences `azp` must be
/// present; a present `azp` must be `client_id`.
fn audience(claims: &Value, client_id: &str) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    let aud = claims.get("aud");
    let aud_text = aud.map(Value::to_string).unwrap_or_default();
    let auds = audiences(aud);
    if !auds.iter().any(|a| a == client_id) {
        out.push(
            Diagnosis::new(
                id!("id_token.wrong_audience"),
                "The id_token's aud does not contain this app's client id.",
            )
            .with("aud in the token", &aud_text)
            .with("client_id", client_id),
        );
    } else {
        let untrusted: Vec<&str> = auds
            .iter()
            .map(String::as_str)
            .filter(|a| *a != client_id)
            .collect();
        if !untrusted.is_empty() {
            out.push(
                Diagnosis::new(
                    id!("id_token.untrusted_audience"),
                    "The id_token's aud also names audiences this app does not trust, so it is rejected.",
                )
                .with("aud in the token", &aud_text)
                .with("Audiences not trusted", untrusted.join(", "))
                .with("client_id", client_id),
            );
        }
    }
    let several = matches!(aud, Some(Value::Array(a)) if a.len() > 1);
    let azp = claims.get("azp");
    let summary = match azp {
        None if several => {
            Some("The id_token has several audiences but no azp (authorized party).")
        }
        Some(v) if v.as_str() != Some(client_id) => {
            Some("The id_token's azp (authorized party) is not this app's client id.")
        }
        _ => None,
    };
    if let Some(summary) = summary {
        out.push(
            Diagnosis::new(id!("id_token.azp_mismatch"), summary)
                .with(
                    "azp in the token",
                    azp.map_or_else(|| "absent".into(), Value::to_string),
                )
                .with("aud in the token", &aud_text)
                .with("client_id", client_id),
        );
    }
    out
}

/// `exp` must be present and not past, `iat` not in the future, each within `leeway`.
fn times(claims: &Value, now: i64, leeway: i64) -> Option<Diagnosis> {
    let exp = claims.get("exp").and_then(Value::as_i64);
    let iat = claims.get("iat").and_then(Value::as_i64);
    let expired = exp.is_none_or(|e| e + leeway < now);
    let future = iat.is_some_and(|i| i - leeway > now);
    if !(expired || future) {
        return None;
    }
    let summary = if future {
        "The id_token was issued in the future (iat)."
    } else {
        "The id_token has expired (exp) or has no exp."
    };
    Some(
        Diagnosis::new(id!("id_token.expired"), summary)
            .with(
                "exp",
                exp.map(|e| format!("{e} ({} s from now)", e - now))
                    .unwrap_or_else(|| "absent".into()),
            )
            .with(
                "iat",
                iat.map(|i| format!("{i} ({} s from now)", i - now))
                    .unwrap_or_else(|| "absent".into()),
            )
            .with("Leeway", format!("{leeway} s")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ids(c: Value) -> Vec<&'static str> {
        claims(&c, "https://ehr/fhir", "app", 1500, 60)
            .into_iter()
            .map(|d| d.id().as_str())
            .collect()
    }

    #[test]
    fn a_token_for_this_app_from_this_issuer_passes() {
        let ok = json!({"iss": "https://ehr/fhir", "aud": "app", "exp": 2000, "iat": 1000});
        assert!(ids(ok).is_empty());
        let one = json!({"iss": "https://ehr/fhir", "aud": ["app"], "exp": 2000});
        assert!(ids(one).is_empty(), "one audience in an array needs no azp");
        let azp = json!({"iss": "https://ehr/fhir", "aud": "app", "azp": "app", "exp": 2000});
        assert!(ids(azp).is_empty());
        assert!(
            ids(json!({"iss": "https://ehr/fhir", "aud": "app", "exp": 1450})).is_empty(),
            "within leeway"
        );
    }

    #[test]
    fn iss_must_equal_the_issuer_exactly() {
        assert_eq!(
            ids(json!({"iss": "https://other", "aud": "app", "exp": 2000})),
            ["id_token.wrong_issuer"]
        );
        assert_eq!(
            ids(json!({"iss": "https://ehr/fhir/", "aud": "app", "exp": 2000})),
            ["id_token.issuer_trailing_slash"]
        );
        let published_with_slash = claims(
            &json!({"iss": "https://ehr/fhir", "aud": "app", "exp": 2000}),
            "https://ehr/fhir/",
            "app",
            1500,
            60,
        );
        assert_eq!(
            published_with_slash[0].id(),
            "id_token.issuer_trailing_slash"
        );
        assert!(!differs_by_trailing_slash("https://a/", "https://a/"));
        assert!(!differs_by_trailing_slash("https://a/x", "https://a/"));
    }

    #[test]
    fn aud_must_name_this_app_and_no_untrusted_audience() {
        assert_eq!(
            ids(json!({"iss": "https://ehr/fhir", "aud": "other", "exp": 2000})),
            ["id_token.wrong_audience"]
        );
        assert_eq!(
            ids(
                json!({"iss": "https://ehr/fhir", "aud": ["app", "other"], "azp": "app", "exp": 2000})
            ),
            ["id_token.untrusted_audience"]
        );
        assert_eq!(
            ids(json!({"iss": "https://ehr/fhir", "aud": ["app", 7], "azp": "app", "exp": 2000})),
            ["id_token.untrusted_audience"],
            "a member that is not a string is not trusted"
        );
    }

    #[test]
    fn azp_is_required_with_several_audiences_and_must_be_this_app() {
        assert_eq!(
            ids(json!({"iss": "https://ehr/fhir", "aud": ["app", "other"], "exp": 2000})),
            ["id_token.untrusted_audience", "id_token.azp_mismatch"]
        );
        assert_eq!(
            ids(json!({"iss": "https://ehr/fhir", "aud": ["app", "app"], "exp": 2000})),
            ["id_token.azp_mismatch"],
            "several audiences, even repeated, need azp"
        );
        assert_eq!(
            ids(json!({"iss": "https://ehr/fhir", "aud": "app", "azp": "other", "exp": 2000})),
            ["id_token.azp_mismatch"]
        );
    }

    #[test]
    fn exp_and_iat_are_checked_with_leeway() {
        assert_eq!(
            ids(json!({"iss": "https://ehr/fhir", "aud": "app", "exp": 1400})),
            ["id_token.expired"]
        );
        assert_eq!(
            ids(json!({"iss": "https://ehr/fhir", "aud": "app", "exp": 2000, "iat": 1600})),
            ["id_token.expired"]
        );
        assert_eq!(
            ids(json!({"iss": "https://ehr/fhir", "aud": "app"})),
            ["id_token.expired"],
            "no exp"
        );
    }
}
