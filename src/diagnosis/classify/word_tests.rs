//! Reading answers for their words: vendor error codes, descriptions, scope spellings and FHIR
//! refusals (the helpers are `tests`').

use super::tests::{ctx, ev};
use super::*;

fn oracle_uri(urn: &str) -> String {
    format!(
        "https://authorization.cerner.com/errors/urn%3Acerner%3Aerror%3Aauthorization-server%3A{}/instances/c-1?persona=patient&client=app&tenant=t-1",
        urn.replace(':', "%3A")
    )
}

#[test]
fn authorize_errors_read_their_description_and_vendor_codes() {
    let redirect = authorize_error(
        "invalid_request",
        Some("Invalid redirect_uri parameter"),
        None,
    );
    assert_eq!(redirect.id(), "authorize.redirect_uri_mismatch");
    let entra = authorize_error(
        "invalid_request",
        Some(
            "AADSTS50011: The redirect URI 'http://x/callback' specified in the request does not match the redirect URIs configured for the application",
        ),
        None,
    );
    assert_eq!(entra.id(), "authorize.redirect_uri_mismatch");
    assert_eq!(
        authorize_error("invalid_client", None, None).id(),
        "authorize.unknown_client"
    );
    let persona = authorize_error(
        "access_denied",
        None,
        Some(&oracle_uri("oauth2:grant:client-persona-mismatch")),
    );
    assert_eq!(persona.id(), "authorize.persona_mismatch");
    assert!(
        persona
            .evidence
            .iter()
            .any(|e| e.label == "Persona" && e.value == "patient")
    );
    let oracle_redirect = authorize_error(
        "invalid_request",
        None,
        Some(&oracle_uri("oauth2:grant:invalid-redirect-uri")),
    );
    assert_eq!(oracle_redirect.id(), "authorize.redirect_uri_mismatch");
}

#[test]
fn an_invalid_request_ranks_first_the_cause_its_description_names() {
    let aud = authorize_error("invalid_request", Some("Invalid audience"), None);
    assert_eq!(aud.id(), "authorize.invalid_request");
    assert!(aud.causes()[0].contains("aud"), "{:?}", aud.causes());
    let pkce = authorize_error("invalid_request", Some("code_challenge required"), None);
    assert!(pkce.causes()[0].contains("PKCE"), "{:?}", pkce.causes());
    let plain = authorize_error("invalid_request", None, None);
    assert_eq!(plain.causes(), plain.entry.causes.to_vec());
}

#[test]
fn a_scope_granted_in_v2_spelling_or_by_wildcard_is_not_reported_missing() {
    let mut headers = http::HeaderMap::new();
    headers.insert("cache-control", http::HeaderValue::from_static("no-store"));
    headers.insert("pragma", http::HeaderValue::from_static("no-cache"));
    let granted = |scope: &str| {
        let body = format!(
            r#"{{"access_token":"x","token_type":"bearer","patient":"p","id_token":"a.b.c","refresh_token":"r","scope":"{scope}"}}"#
        );
        let answer = TokenAnswer {
            status: 200,
            headers: &headers,
            body: &body,
        };
        let (_, warnings) = token_success(&answer, &ctx(None)).unwrap();
        warnings.iter().map(|w| w.id().as_str()).collect::<Vec<_>>()
    };
    let all = "launch openid fhirUser offline_access";
    assert!(!granted(&format!("{all} patient/*.rs")).contains(&"token.scopes_reduced"));
    assert!(!granted(&format!("{all} patient/*.*")).contains(&"token.scopes_reduced"));
    assert!(granted(&format!("{all} patient/Patient.rs")).contains(&"token.scopes_reduced"));
}

#[test]
fn authorize_errors_are_read_for_their_words_and_entra_codes() {
    // Entra: scope not on the resource, under error=invalid_client.
    let d = authorize_error(
        "invalid_client",
        Some(
            "AADSTS70011: The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope patient/*.read is not valid.",
        ),
        None,
    );
    assert_eq!(d.id(), "authorize.invalid_scope");
    assert_eq!(
        ev(&d, "What the answer says"),
        lexicon::Meaning::ScopeInvalid.as_str()
    );
    // smart-launcher v2: an invalid_request that names the redirect URI.
    let d = authorize_error(
        "invalid_request",
        Some("Invalid redirect_uri parameter"),
        None,
    );
    assert_eq!(d.id(), "authorize.redirect_uri_mismatch");
    assert_eq!(ev(&d, "Matched phrase"), "\u{201c}redirect_uri\u{201d}");
    // A user's refusal stays one whatever words come with it.
    let d = authorize_error(
        "access_denied",
        Some("The user denied the scope request"),
        None,
    );
    assert_eq!(d.id(), "authorize.access_denied");
    // Unknown words keep the code's id.
    let d = authorize_error("invalid_request", Some("something else entirely"), None);
    assert_eq!(d.id(), "authorize.invalid_request");
}

#[test]
fn fhir_refusals_are_read_for_their_words_and_with_the_clock() {
    let outcome = r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"security","details":{"text":"Token does not contain a patient claim"}}]}"#;
    let d = identity::fhir_read_failed(
        "the patient",
        "https://f/Patient/1",
        403,
        None,
        "application/fhir+json",
        outcome,
    );
    assert_eq!(d.id(), "fhir.token_missing_launch_context");
    assert_eq!(
        ev(&d, "OperationOutcome"),
        "Token does not contain a patient claim"
    );
    let challenge = r#"Bearer error="invalid_token", error_description="The access token expired""#;
    let d = identity::fhir_read_failed(
        "the patient",
        "https://f/Patient/1",
        401,
        Some(challenge),
        "",
        "",
    );
    assert_eq!(d.id(), "fhir.token_expired");
    // A gateway fault and a bare 403: the status decides, the clock ranks.
    let plain = identity::fhir_read_failed(
        "the patient",
        "https://f/Patient/1",
        403,
        None,
        "",
        r#"{"message":"Forbidden"}"#,
    );
    assert_eq!(plain.id(), "fhir.forbidden");
    assert_eq!(
        identity::with_clock(plain.clone(), Some(-5)).id(),
        "fhir.token_expired"
    );
    assert_eq!(
        identity::with_clock(plain, Some(3540)).id(),
        "fhir.forbidden"
    );
    let refused =
        identity::fhir_read_failed("the patient", "https://f/Patient/1", 401, None, "", "");
    let left = identity::with_clock(refused.clone(), Some(3540));
    assert!(
        !left.causes().iter().any(|c| c.contains("expired")),
        "{:?}",
        left.causes()
    );
    assert!(identity::with_clock(refused, None).causes()[0].starts_with("Token expired"));
    let token = serde_json::json!({"access_token": "a", "expires_in": "3600"});
    let token =
        crate::smart::token_response::SmartTokenResponse::parse(token.as_object().unwrap()).ok();
    assert_eq!(identity::lifetime_left(token.as_ref(), 60), Some(3540));
}
