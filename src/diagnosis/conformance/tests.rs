use super::*;
use crate::smart::LaunchKind;
use http::HeaderMap;
use serde_json::json;

fn discovered(content_type: &str, doc: Value) -> Discovered {
    Discovered {
        iss: "https://h/fhir".into(),
        issuer: None,
        source: Source::WellKnown,
        authorization_endpoint: "https://h/auth".into(),
        token_endpoint: "https://h/token".into(),
        token_endpoint_auth_methods_supported: Vec::new(),
        code_challenge_methods_supported: Vec::new(),
        scopes_supported: None,
        capabilities: Vec::new(),
        absent: Vec::new(),
        resolved: Vec::new(),
        capability_statement: None,
        certificate: None,
        transcript: Vec::new(),
        fetched_at: 0,
        content_type: content_type.into(),
        document: Some(doc),
        oidc_warm: Default::default(),
    }
}

fn failed(checks: &[Check]) -> Vec<&str> {
    checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.id.as_str())
        .collect()
}

#[test]
fn a_conformant_discovery_document_passes_every_check() {
    let doc = json!({"issuer": "https://h/fhir", "jwks_uri": "https://h/jwks",
        "capabilities": ["launch-ehr", "sso-openid-connect"],
        "grant_types_supported": ["authorization_code"],
        "code_challenge_methods_supported": ["S256"]});
    let checks = discovery(&discovered("application/json; charset=utf-8", doc));
    assert_eq!(checks.len(), 7);
    assert!(failed(&checks).is_empty(), "{checks:?}");
}

#[test]
fn a_sloppy_discovery_document_fails_each_deviation_by_name() {
    let doc = json!({"code_challenge_methods_supported": ["S256", "plain"]});
    let checks = discovery(&discovered("text/plain", doc));
    assert_eq!(
        failed(&checks),
        [
            "server.discovery_content_type",
            "server.discovery_capabilities",
            "server.discovery_grant_types",
            "server.discovery_pkce_plain"
        ]
    );
    let ds = diagnoses(&checks);
    assert_eq!(ds.len(), 4);
    assert!(ds.iter().all(|d| !d.is_error()));
}

#[test]
fn token_checks_name_missing_scope_expires_in_and_cache_headers() {
    let body = json!({"access_token": "a", "token_type": "bearer", "patient": "p"});
    let checks = token(
        &HeaderMap::new(),
        body.as_object().unwrap(),
        "launch/patient patient/*.rs",
        LaunchKind::Standalone,
    );
    assert_eq!(
        failed(&checks),
        [
            "server.token_expires_in",
            "server.token_scope",
            "server.token_no_store",
            "server.token_pragma"
        ]
    );
    let expires = checks
        .iter()
        .find(|c| c.id == "server.token_expires_in")
        .unwrap();
    assert_eq!(expires.level, Level::Warning);
}

#[test]
fn a_conformant_token_response_passes() {
    let mut headers = HeaderMap::new();
    headers.insert(http::header::CACHE_CONTROL, "no-store".parse().unwrap());
    headers.insert(http::header::PRAGMA, "no-cache".parse().unwrap());
    let body = json!({"access_token": "a", "token_type": "Bearer", "expires_in": 3600,
        "scope": "openid launch/patient", "patient": "p", "id_token": "x.y.z",
        "need_patient_banner": true, "fhirContext": [{"reference": "Encounter/e"}]});
    let checks = token(
        &headers,
        body.as_object().unwrap(),
        "openid launch/patient",
        LaunchKind::Standalone,
    );
    assert_eq!(checks.len(), 10);
    assert!(failed(&checks).is_empty(), "{checks:?}");
}

#[test]
fn id_token_checks_grade_rs256_as_a_warning_and_read_fhir_user_back() {
    let header = json!({"alg": "RS384", "kid": "k"});
    let claims = json!({"sub": "u", "fhirUser": "https://h/fhir/PractitionerRole/1"});
    let checks = id_token(&header, &claims, true, Some("PractitionerRole"));
    assert_eq!(failed(&checks), ["server.id_token_alg", "server.fhir_user"]);
    let ok = id_token(
        &json!({"alg": "RS256"}),
        &json!({"sub": "u", "fhirUser": "Practitioner/1"}),
        true,
        Some("Practitioner"),
    );
    assert!(failed(&ok).is_empty(), "{ok:?}");
}

#[test]
fn a_fhir_user_the_app_did_not_read_is_judged_by_its_type_only() {
    let claims = |u: &str| json!({"sub": "u", "fhirUser": u});
    let header = json!({"alg": "RS256", "kid": "k"});
    let unread = id_token(&header, &claims("Practitioner/1"), false, None);
    assert!(
        !unread.iter().any(|c| c.id == "server.fhir_user"),
        "not evaluated: {unread:?}"
    );
    let wrong = id_token(&header, &claims("Device/1"), false, None);
    assert_eq!(failed(&wrong), ["server.fhir_user"]);
}

#[test]
fn refresh_checks_name_a_widened_scope() {
    let body = json!({"access_token": "a", "token_type": "Bearer", "expires_in": 1,
        "scope": "patient/*.rs user/*.*"});
    let checks = refresh(
        &HeaderMap::new(),
        body.as_object().unwrap(),
        "patient/*.read",
    );
    assert_eq!(
        failed(&checks),
        ["server.refresh_no_store", "server.refresh_scope_subset"]
    );
}

/// The claims checks fail exactly when the launch's id_token finding fires, by the same rules.
#[test]
fn id_token_claims_checks_fail_with_the_findings_that_reject_the_token() {
    use crate::smart::id_token::{IdTokenFailure, SignedClaims};
    let signed = |claims: Value| {
        Ok(SignedClaims {
            claims,
            issuer: "https://h/fhir".into(),
            client_id: "app".into(),
            now: 1500,
            leeway: 60,
        })
    };
    let good = json!({"iss": "https://h/fhir", "aud": "app", "exp": 2000, "iat": 1000});
    let checks = id_token_claims(&signed(good.clone()));
    let ids: Vec<&str> = checks.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "server.id_token_iss",
            "server.id_token_aud",
            "server.id_token_azp"
        ]
    );
    assert!(failed(&checks).is_empty(), "{checks:?}");
    let mut slash = good.clone();
    slash["iss"] = json!("https://h/fhir/");
    let checks = id_token_claims(&signed(slash));
    assert_eq!(failed(&checks), ["server.id_token_iss"]);
    assert!(checks[0].detail.contains("trailing slash"), "{checks:?}");
    let mut extra = good.clone();
    extra["aud"] = json!(["app", "other"]);
    assert_eq!(
        failed(&id_token_claims(&signed(extra))),
        ["server.id_token_aud", "server.id_token_azp"]
    );
    let mut azp = good;
    azp["azp"] = json!("other");
    assert_eq!(
        failed(&id_token_claims(&signed(azp))),
        ["server.id_token_azp"]
    );
    // A configuration naming another issuer fails the issuer; the rest could not be judged.
    let config = id_token_claims(&Err(IdTokenFailure::ConfigIssuer {
        url: "https://h/fhir/.well-known/openid-configuration".into(),
        published: Some("https://h/fhir/".into()),
        expected: "https://h/fhir".into(),
    }));
    assert_eq!(
        failed(&config),
        [
            "server.id_token_iss",
            "server.id_token_aud",
            "server.id_token_azp"
        ]
    );
    assert!(config[0].failed() && config[1].is_not_tested() && config[2].is_not_tested());
    let unsigned = id_token_claims(&Err(IdTokenFailure::Malformed));
    assert!(unsigned.iter().all(Check::is_not_tested), "{unsigned:?}");
    // The launch's own error says a failed claims check: it is not repeated as a warning.
    let found = vec![Diagnosis::new(id!("id_token.issuer_trailing_slash"), "x")];
    assert!(diagnoses_besides(&config, &found).is_empty());
}
