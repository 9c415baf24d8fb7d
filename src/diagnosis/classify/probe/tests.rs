use super::*;

const CODE_FIRST_BODY: &str = r#"{"error":"invalid_client","error_description":"Invalid token (supplied as code parameter in the POST body). jwt malformed"}"#;

#[test]
fn verdicts_follow_the_error_code() {
    assert_eq!(
        invalid_code(400, r#"{"error":"invalid_grant"}"#),
        Verdict::Accepted
    );
    assert_eq!(
        invalid_code(401, r#"{"error":"invalid_client"}"#),
        Verdict::Rejected
    );
    assert_eq!(
        invalid_code(
            400,
            r#"{"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}"#
        ),
        Verdict::Rejected
    );
    assert_eq!(invalid_code(500, "<html>"), Verdict::Inconclusive);
    assert_eq!(invalid_code(401, ""), Verdict::Rejected);
    assert_eq!(
        invalid_code(400, r#"{"error":"invalid_request"}"#),
        Verdict::Inconclusive
    );
    assert_eq!(
        client_credentials(200, r#"{"access_token":"x"}"#),
        Verdict::Accepted
    );
    assert_eq!(
        client_credentials(400, r#"{"error":"unsupported_grant_type"}"#),
        Verdict::Inconclusive
    );
}

#[test]
fn invalid_client_about_the_code_is_inconclusive_with_the_reason() {
    let r = read_invalid_code(401, CODE_FIRST_BODY);
    assert_eq!(r.verdict, Verdict::Inconclusive);
    assert!(r.note.as_deref().unwrap_or("").contains(CODE_FIRST));
    let d = inconclusive_because("invalid-code probe", Some(401), CODE_FIRST_BODY, CODE_FIRST);
    assert_eq!(d.id(), "check.probe_inconclusive");
    assert_eq!(d.severity(), crate::diagnosis::Severity::Warn);
    assert!(d.summary.contains(CODE_FIRST));
    // "decode" is not "code".
    assert_eq!(
        invalid_code(
            401,
            r#"{"error":"invalid_client","error_description":"could not decode client credentials"}"#
        ),
        Verdict::Rejected
    );
}

#[test]
fn epic_null_description_is_read_as_empty() {
    assert_eq!(
        invalid_code(
            400,
            r#"{"error":"invalid_client","error_description":null}"#
        ),
        Verdict::Rejected
    );
}

#[test]
fn client_credentials_errors_that_follow_authentication_are_accepted() {
    for body in [
        r#"{"error":"invalid_scope","error_description":"Requested scope is not allowed"}"#,
        r#"{"error":"unauthorized_client","error_description":"The client is not authorized to use the requested grant type."}"#,
    ] {
        let r = read_client_credentials(401, body);
        assert_eq!(r.verdict, Verdict::Accepted, "{body}");
        assert!(r.note.as_deref().unwrap_or("").contains("authenticated"));
    }
    assert_eq!(
        client_credentials(401, r#"{"error":"invalid_client"}"#),
        Verdict::Rejected
    );
    assert_eq!(
        client_credentials(
            401,
            r#"{"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}"#
        ),
        Verdict::Rejected
    );
    assert_eq!(
        client_credentials(400, r#"{"error":"invalid_request"}"#),
        Verdict::Inconclusive
    );
    // A refusal of the grant in words, under another code, follows authentication too.
    for body in [
        r#"{"error":"invalid_grant","error_description":"client_credentials grant is not enabled for this client"}"#,
        r#"{"error":"unsupported_grant_type","error_description":"The client is not authorized to use this grant type"}"#,
    ] {
        let r = read_client_credentials(400, body);
        assert_eq!(r.verdict, Verdict::Accepted, "{body}");
        assert!(r.note.as_deref().unwrap_or("").contains("authenticated"));
    }
    assert_eq!(
        client_credentials(400, r#"{"error":"unsupported_grant_type"}"#),
        Verdict::Inconclusive
    );
    // Keycloak, a confidential client that sent no secret: not authenticated at all.
    assert_eq!(
        client_credentials(
            401,
            r#"{"error":"unauthorized_client","error_description":"Client secret not provided in request"}"#
        ),
        Verdict::Rejected
    );
}

#[test]
fn the_named_other_method_is_found() {
    let basic = r#"{"error":"invalid_request","error_description":"Basic authentication is required for confidential clients"}"#;
    assert_eq!(
        names_other_method(AuthMethod::ClientSecretPost, basic),
        Some(AuthMethod::ClientSecretBasic)
    );
    assert_eq!(
        names_other_method(AuthMethod::ClientSecretBasic, basic),
        None
    );
    let post =
        r#"{"error":"invalid_client","error_description":"Only client_secret_post is supported"}"#;
    assert_eq!(
        names_other_method(AuthMethod::ClientSecretBasic, post),
        Some(AuthMethod::ClientSecretPost)
    );
    assert_eq!(
        names_other_method(AuthMethod::ClientSecretBasic, CODE_FIRST_BODY),
        None
    );
    assert_eq!(
        names_other_method(AuthMethod::ClientSecretPost, CODE_FIRST_BODY),
        None
    );
}

#[test]
fn the_summary_reconciles_both_probes() {
    let code = Reading {
        verdict: Verdict::Inconclusive,
        note: Some(CODE_FIRST.into()),
    };
    let cc = read_client_credentials(200, r#"{"access_token":"x"}"#);
    let line = summary(&code, Some(&cc));
    assert!(
        line.starts_with("Credentials accepted: invalid-code probe: inconclusive"),
        "{line}"
    );
    assert!(
        line.contains(CODE_FIRST)
            && line.contains("client_credentials probe: credentials accepted")
    );
    let rejected = read_invalid_code(401, r#"{"error":"invalid_client"}"#);
    assert!(summary(&rejected, None).starts_with("Credentials rejected"));
}

#[test]
fn one_probe_s_verdict_is_said_once() {
    let accepted = read_invalid_code(400, r#"{"error":"invalid_grant"}"#);
    let line = summary(&accepted, None);
    assert_eq!(line, "Credentials accepted (invalid-code probe).");
    let rejected = read_invalid_code(401, r#"{"error":"invalid_client"}"#);
    let line = summary(&rejected, None);
    assert_eq!(line.to_lowercase().matches("rejected").count(), 1, "{line}");
}
