use super::*;
use crate::config::{AuthMethod, Secret};
use crate::smart::LaunchKind;
use std::time::SystemTime;

const SEED_BODY: &str = r#"{"error":"invalid_client","error_uri":"https://authorization.cerner.com/errors/urn%3Acerner%3Aerror%3Aauthorization-server%3Aoauth2%3Atoken%3Ainvalid-client-credentials/instances/14c93355-be14-47c0-9f4a-132ef6124fe5?client=unknown&tenant=ec2458f2-1e24-41c8-b71b-0e701af7583d"}"#;

pub(super) fn ctx(secret: Option<&Secret>) -> TokenContext<'_> {
    TokenContext {
        token_endpoint: "https://ehr.example/token",
        client_id: "app",
        auth: if secret.is_some() {
            AuthMethod::ClientSecretBasic
        } else {
            AuthMethod::None
        },
        secret,
        requested_scope: "launch openid fhirUser patient/*.read offline_access",
        kind: LaunchKind::Ehr,
        now: SystemTime::now(),
        auth_methods_supported: &[],
        sent: None,
        client_known: true,
    }
}

pub(super) fn ev<'a>(d: &'a Diagnosis, label: &str) -> &'a str {
    d.evidence
        .iter()
        .find(|e| e.label == label)
        .map(|e| e.value.as_str())
        .unwrap_or("")
}

#[test]
fn seed_case_is_unknown_client_with_tenant_and_correlation_id() {
    let secret = Secret::new("a:b%c+d e");
    let headers = http::HeaderMap::new();
    let answer = TokenAnswer {
        status: 401,
        headers: &headers,
        body: SEED_BODY,
    };
    let ds = token_failure(&answer, &ctx(Some(&secret)));
    assert_eq!(ds[0].id(), "token.unknown_client");
    assert_eq!(ev(&ds[0], "Tenant"), "ec2458f2-1e24-41c8-b71b-0e701af7583d");
    assert_eq!(
        ev(&ds[0], "Correlation id (quote it to support)"),
        "14c93355-be14-47c0-9f4a-132ef6124fe5"
    );
    assert_eq!(ev(&ds[0], "Client as the server identified it"), "unknown");
    assert!(ev(&ds[0], "Secret encoding").contains("space"));
    let all = serde_json::to_string(&ds).unwrap();
    assert!(!all.contains("a:b%c+d e"), "the secret never appears");
}

#[test]
fn plain_invalid_client_is_bad_client_credentials() {
    let headers = http::HeaderMap::new();
    let answer = TokenAnswer {
        status: 401,
        headers: &headers,
        body: r#"{"error":"invalid_client"}"#,
    };
    let secret = Secret::new("s3cret");
    assert_eq!(
        token_failure(&answer, &ctx(Some(&secret)))[0].id(),
        "token.bad_client_credentials"
    );
}

#[test]
fn bare_invalid_client_without_a_secret_is_a_client_type_question_not_a_wrong_secret() {
    // django-oauth-toolkit, a public app registered as confidential there: 401, this body.
    let headers = http::HeaderMap::new();
    let answer = TokenAnswer {
        status: 401,
        headers: &headers,
        body: r#"{"error": "invalid_client"}"#,
    };
    // After an authorize step that issued a code: the server knows the id.
    let d = &token_failure(&answer, &ctx(None))[0];
    assert_eq!(d.id(), "token.client_type_mismatch");
    assert!(
        d.summary.contains("No secret is configured"),
        "{}",
        d.summary
    );
    // A probe (no authorize step): unknown id or confidential, the id is the likelier reading.
    let probe = TokenContext {
        client_known: false,
        ..ctx(None)
    };
    let d = &token_failure(&answer, &probe)[0];
    assert_eq!(d.id(), "token.unknown_client");
    assert!(
        d.causes()[1].contains("registered as confidential"),
        "{:?}",
        d.causes()
    );
}

#[test]
fn keycloak_unauthorized_client_is_read_as_bad_credentials() {
    let headers = http::HeaderMap::new();
    let body = r#"{"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}"#;
    let answer = TokenAnswer {
        status: 401,
        headers: &headers,
        body,
    };
    let secret = Secret::new("s3cret");
    let d = &token_failure(&answer, &ctx(Some(&secret)))[0];
    assert_eq!(d.id(), "token.bad_client_credentials");
    assert_eq!(
        ev(d, "Matched phrase"),
        "\u{201c}Invalid client credentials\u{201d}"
    );
}

#[test]
fn html_error_page_is_http_error_with_its_title() {
    let headers = http::HeaderMap::new();
    let answer = TokenAnswer {
        status: 502,
        headers: &headers,
        body: "<html><title>Bad Gateway</title></html>",
    };
    let d = &token_failure(&answer, &ctx(None))[0];
    assert_eq!(d.id(), "token.http_error");
    assert_eq!(ev(d, "Page title"), "Bad Gateway");
}

#[test]
fn success_without_patient_or_refresh_token_warns() {
    let mut headers = http::HeaderMap::new();
    headers.insert("cache-control", http::HeaderValue::from_static("no-store"));
    let body =
        r#"{"access_token":"x","token_type":"bearer","scope":"launch openid patient/*.read"}"#;
    let answer = TokenAnswer {
        status: 200,
        headers: &headers,
        body,
    };
    let (_, warnings) = token_success(&answer, &ctx(None)).unwrap();
    let ids: Vec<&str> = warnings.iter().map(|w| w.id().as_str()).collect();
    assert_eq!(
        ids,
        [
            "token.scopes_reduced",
            "token.missing_context",
            "token.no_id_token",
        ]
    );
    // offline_access was not granted: scopes_reduced says so, and no refresh token follows.
    assert!(ev(&warnings[0], "Not granted").contains("offline_access"));
}

#[test]
fn success_without_token_type_is_malformed() {
    let headers = http::HeaderMap::new();
    let answer = TokenAnswer {
        status: 200,
        headers: &headers,
        body: r#"{"access_token":"x"}"#,
    };
    assert_eq!(
        token_success(&answer, &ctx(None)).unwrap_err().id(),
        "token.malformed_response"
    );
}

#[test]
fn reserved_characters_are_named() {
    assert_eq!(reserved_chars("abc-._*"), "");
    assert_eq!(reserved_chars("a:b%c+d e"), "space, '%', '+', ':'");
}

#[test]
fn authorize_errors_map_to_their_ids() {
    assert_eq!(
        authorize_error("access_denied", None, None).id(),
        "authorize.access_denied"
    );
    assert_eq!(
        authorize_error("temporarily_unavailable", None, None).id(),
        "authorize.server_error"
    );
    assert_eq!(authorize_error("weird", None, None).id(), "authorize.other");
}

#[test]
fn server_date_far_from_ours_adds_clock_skew() {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "date",
        http::HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
    );
    let answer = TokenAnswer {
        status: 400,
        headers: &headers,
        body: r#"{"error":"invalid_grant"}"#,
    };
    let ds = token_failure(&answer, &ctx(None));
    assert_eq!(ds[0].id(), "token.invalid_grant");
    assert_eq!(ds[1].id(), "token.clock_skew");
}

/// DNS failures cannot be provoked on loopback; the error chain reqwest gives is classified
/// by `classify_chain` (tested in smart::http) and named here.
#[test]
fn dns_failure_is_net_dns_with_the_url() {
    let chain = [
        "error sending request".to_string(),
        "dns error".to_string(),
        "failed to lookup address information: Name or service not known".to_string(),
    ];
    let e = crate::smart::net_error::classify_chain(false, true, &chain, 5);
    let d = net(
        &e,
        "https://ehr.invalid/fhir/.well-known/smart-configuration",
    );
    assert_eq!(d.id(), "net.dns");
    assert_eq!(
        ev(&d, "URL"),
        "https://ehr.invalid/fhir/.well-known/smart-configuration"
    );
}
