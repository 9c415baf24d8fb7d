use std::time::SystemTime;

use super::*;

fn ids(paste: &str, step: Step, auth: AuthMethod) -> Vec<&'static str> {
    explain(paste, step, auth, SystemTime::now())
        .diagnoses
        .iter()
        .map(|d| d.id().as_str())
        .collect()
}

#[test]
fn each_step_reads_its_answer() {
    // smart-launcher v2: a confidential client must use Basic.
    let token = "HTTP/1.1 401 Unauthorized\nContent-Type: application/json\n\n{\"error\":\"invalid_request\",\"error_description\":\"Basic authentication is required for confidential clients\"}";
    assert_eq!(
        ids(token, Step::Token, AuthMethod::ClientSecretPost),
        ["token.auth_method_refused"]
    );
    let redirect = "https://app.example/callback?error=invalid_request&error_description=Invalid+redirect_uri+parameter&state=abc";
    assert_eq!(
        ids(redirect, Step::Authorize, DEFAULT_AUTH),
        ["authorize.redirect_uri_mismatch"]
    );
    assert_eq!(
        ids("{\"error\":\"invalid_grant\"}", Step::Refresh, DEFAULT_AUTH),
        ["refresh.rejected"]
    );
    assert_eq!(
        ids(
            "HTTP/1.1 403 Forbidden\n\n",
            Step::Introspection,
            DEFAULT_AUTH
        ),
        ["introspection.refused"]
    );
    assert!(ids("{\"active\": false}", Step::Introspection, DEFAULT_AUTH).is_empty());
    let oo = r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","diagnostics":"Token does not contain a patient claim"}]}"#;
    assert_eq!(
        ids(oo, Step::Fhir, DEFAULT_AUTH),
        ["fhir.token_missing_launch_context"]
    );
    assert_eq!(
        ids(
            "{\"error\":\"invalid_grant\"}",
            Step::ClientCredentials,
            AuthMethod::PrivateKeyJwt
        ),
        ["token.client_credentials_not_enabled"]
    );
}

#[test]
fn the_matched_phrase_is_evidence_and_no_secret_survives() {
    let paste = "HTTP/1.1 400 Bad Request\nAuthorization: Basic bXktYXBwOnMzY3JldHZhbHVl\n\n{\"error\":\"invalid_client\",\"error_description\":\"could not authenticate the client - its client secret is expired\",\"client_secret\":\"s3cretvalue\"}";
    let e = explain(paste, Step::Token, DEFAULT_AUTH, SystemTime::now());
    assert_eq!(e.diagnoses[0].id(), "token.client_secret_expired");
    let phrase = e.diagnoses[0]
        .evidence
        .iter()
        .find(|ev| ev.label == "Matched phrase")
        .map(|ev| ev.value.clone());
    assert_eq!(phrase.as_deref(), Some("\u{201c}secret is expired\u{201d}"));
    let json = serde_json::to_string(&e.diagnoses).unwrap_or_default();
    for s in ["s3cretvalue", "bXktYXBwOnMzY3JldHZhbHVl"] {
        assert!(!e.redacted.contains(s) && !json.contains(s), "{s}");
    }
}
