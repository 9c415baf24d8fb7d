//! Vendor answers at the token endpoint, each with the exact body the vendor sends.

use super::*;
use crate::config::Secret;

fn ids(status: u16, body: &str, auth: AuthMethod, advertised: &[String]) -> Vec<Diagnosis> {
    let secret = Secret::new("s3cret");
    let headers = http::HeaderMap::new();
    let answer = TokenAnswer {
        status,
        headers: &headers,
        body,
    };
    let ctx = TokenContext {
        token_endpoint: "https://ehr.example/token",
        client_id: "app",
        auth,
        secret: auth.uses_secret().then_some(&secret),
        requested_scope: "launch openid patient/*.read",
        kind: LaunchKind::Ehr,
        now: SystemTime::now(),
        auth_methods_supported: advertised,
        sent: None,
        client_known: true,
    };
    token_failure(&answer, &ctx)
}

fn first(status: u16, body: &str, auth: AuthMethod) -> Diagnosis {
    ids(status, body, auth, &[]).remove(0)
}

fn ev<'a>(d: &'a Diagnosis, label: &str) -> &'a str {
    d.evidence
        .iter()
        .find(|e| e.label == label)
        .map(|e| e.value.as_str())
        .unwrap_or("")
}

#[test]
fn post_refused_for_basic_is_auth_method_refused_with_the_advertised_method() {
    let advertised = vec!["client_secret_post".to_string()];
    let body = r#"{"error":"invalid_request","error_description":"Basic authentication is required for confidential clients"}"#;
    let d = ids(401, body, AuthMethod::ClientSecretPost, &advertised).remove(0);
    assert_eq!(d.id(), "token.auth_method_refused");
    assert_eq!(d.severity(), crate::diagnosis::Severity::Error);
    assert!(ev(&d, "Refused method").starts_with("client_secret_post (advertised"));
    assert_eq!(ev(&d, "Method the server names"), "client_secret_basic");
    assert_eq!(d.fixes()[0], "Use client_secret_basic");
    assert!(!d.causes().iter().any(|c| c.contains("Mixed")));
}

#[test]
fn a_post_body_complaint_about_the_code_names_no_method() {
    let body = r#"{"error":"invalid_client","error_description":"Invalid token (supplied as code parameter in the POST body). jwt malformed"}"#;
    // smart-launcher v2 answers a bad code so: the words are about the code, not the client.
    let d = first(401, body, AuthMethod::ClientSecretBasic);
    assert_eq!(d.id(), "token.invalid_grant");
    assert_eq!(ev(&d, "Matched phrase"), "\u{201c}code parameter\u{201d}");
}

#[test]
fn athenahealth_invalid_client_id_is_unknown_client() {
    let body = r#"{"status":"error","statusmessage":"invalid_client","description":"Invalid client_id: 0oa1b2c3d4e5f6g7h8i9"}"#;
    let d = first(401, body, AuthMethod::ClientSecretBasic);
    assert_eq!(d.id(), "token.unknown_client");
    assert_eq!(ev(&d, "error"), "invalid_client");
    assert!(ev(&d, "error_description").starts_with("Invalid client_id"));
}

#[test]
fn athenahealth_client_id_in_the_header_is_client_type_mismatch() {
    let body = r#"{"status":"error","statusmessage":"invalid_request","description":"Client ID is required in the Authorization header for confidential apps"}"#;
    let public = first(400, body, AuthMethod::None);
    assert_eq!(public.id(), "token.client_type_mismatch");
    assert!(public.causes()[0].contains("registered as confidential"));
    let post = first(400, body, AuthMethod::ClientSecretPost);
    assert_eq!(post.id(), "token.client_type_mismatch");
    assert!(post.causes()[0].contains("client_secret_basic"));
}

#[test]
fn epic_invalid_client_with_a_null_description() {
    let body = r#"{"error":"invalid_client","error_description":null}"#;
    let d = first(400, body, AuthMethod::ClientSecretBasic);
    assert_eq!(d.id(), "token.bad_client_credentials");
    assert_eq!(ev(&d, "error_description"), "");
}

#[test]
fn entra_codes_name_the_failure() {
    let cases = [
        (
            r#"{"error":"invalid_client","error_description":"AADSTS7000222: The provided client secret keys for app '00000000-0000-0000-0000-000000000001' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds. Trace ID: 1 Correlation ID: 2 Timestamp: 2024-01-01 00:00:00Z","error_codes":[7000222],"timestamp":"2024-01-01 00:00:00Z","trace_id":"1","correlation_id":"2","error_uri":"https://login.microsoftonline.com/error?code=7000222"}"#,
            "token.client_secret_expired",
        ),
        (
            r#"{"error":"invalid_client","error_description":"AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'. Trace ID: 1","error_codes":[7000218]}"#,
            "token.client_type_mismatch",
        ),
        (
            r#"{"error":"invalid_client","error_description":"AADSTS700025: Client is public so neither 'client_assertion' nor 'client_secret' should be presented. Trace ID: 1","error_codes":[700025]}"#,
            "token.client_type_mismatch",
        ),
        (
            r#"{"error":"invalid_scope","error_description":"AADSTS70011: The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid.","error_codes":[70011]}"#,
            "token.invalid_scope",
        ),
        (
            r#"{"error":"invalid_grant","error_description":"AADSTS65001: The user or administrator has not consented to use the application with ID '1' named 'app'. Send an interactive authorization request for this user and resource.","error_codes":[65001],"suberror":"consent_required"}"#,
            "token.consent_required",
        ),
        (
            r#"{"error":"invalid_grant","error_description":"AADSTS700005: Provided Authorization Code is intended to use against other tenant, thus rejected.","error_codes":[700005]}"#,
            "token.invalid_tenant",
        ),
    ];
    for (body, id) in cases {
        let d = first(400, body, AuthMethod::ClientSecretPost);
        assert_eq!(d.id(), id, "{body}");
        assert!(d.causes()[0].starts_with("Entra"), "{id}: {:?}", d.causes());
    }
}

fn cerner_body(error: &str, urn: &str) -> String {
    format!(
        r#"{{"error":"{error}","error_uri":"https://authorization.cerner.com/errors/urn%3Acerner%3Aerror%3Aauthorization-server%3A{}/instances/0b1c2d3e?client=app&tenant=ec2458f2-1e24-41c8-b71b-0e701af7583d"}}"#,
        urn.replace(':', "%3A")
    )
}

#[test]
fn oracle_health_urns_name_the_failure() {
    let cases = [
        (
            "invalid_grant",
            "oauth2:token:code-invalid-or-expired",
            "token.invalid_grant",
        ),
        (
            "invalid_client",
            "oauth2:token:terminated-client",
            "token.client_disabled",
        ),
        (
            "unauthorized_client",
            "oauth2:token:unauthorized-client-for-tenant",
            "token.invalid_tenant",
        ),
        (
            "invalid_request",
            "oauth2:token:invalid-tenant",
            "token.invalid_tenant",
        ),
        (
            "invalid_request",
            "oauth2:grant:unknown-tenant",
            "token.invalid_tenant",
        ),
        (
            "invalid_scope",
            "oauth2:token:empty-scopes",
            "token.invalid_scope",
        ),
        (
            "invalid_grant",
            "oauth2:refresh-token:expired",
            "token.invalid_grant",
        ),
        (
            "invalid_grant",
            "oauth2:refresh-token:revoked",
            "token.invalid_grant",
        ),
    ];
    for (error, urn, id) in cases {
        let d = first(400, &cerner_body(error, urn), AuthMethod::ClientSecretBasic);
        assert_eq!(d.id(), id, "{urn}");
        assert!(d.causes()[0].starts_with("Oracle Health"), "{urn}");
        assert_eq!(ev(&d, "Oracle Health error"), urn);
    }
}

#[test]
fn meditech_unauthorized_client_is_token_unauthorized_client() {
    let body = r#"{"error":"unauthorized_client","error_description":"The client is not authorized to use the requested grant type."}"#;
    assert_eq!(
        first(400, body, AuthMethod::ClientSecretBasic).id(),
        "token.unauthorized_client"
    );
}

#[test]
fn athenahealth_invalid_audience_names_aud_first() {
    let body = r#"{"status":"error","statusmessage":"invalid_request","description":"Invalid audience parameter"}"#;
    let d = first(400, body, AuthMethod::None);
    assert_eq!(d.id(), "token.invalid_request");
    assert!(d.causes()[0].contains("aud"), "{:?}", d.causes());
}
