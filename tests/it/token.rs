//! Token exchange failures, diagnosed from what the server answered and what we sent.

use smart_launch_doctor::practice::Faults;

use crate::support::{Auth, Setup, TRICKY_SECRET, TestApp, diagnosis_ids, evidence};

/// The seed case, byte for byte: Oracle Health could not identify the client.
const SEED_BODY: &str = r#"{"error":"invalid_client","error_uri":"https://authorization.cerner.com/errors/urn%3Acerner%3Aerror%3Aauthorization-server%3Aoauth2%3Atoken%3Ainvalid-client-credentials/instances/14c93355-be14-47c0-9f4a-132ef6124fe5?client=unknown&tenant=ec2458f2-1e24-41c8-b71b-0e701af7583d"}"#;

#[tokio::test]
async fn wrong_secret_is_token_bad_client_credentials_and_names_what_we_sent() {
    let setup = Setup {
        app_secret: Some("wrong-secret".into()),
        ..Setup::new(Auth::Basic)
    };
    let app = TestApp::start(setup).await;
    let json = app.launch_to_result(app.open_ehr_launch().await).await;
    assert_eq!(json["outcome"], "error");
    assert_eq!(json["step"], "token");
    assert_eq!(diagnosis_ids(&json)[..1], ["token.bad_client_credentials"]);
    let sent = evidence(&json, "token.bad_client_credentials", "Secret sent").unwrap();
    assert!(sent.starts_with("12 chars, hmac "), "{sent}");
    assert_eq!(
        evidence(&json, "token.bad_client_credentials", "Status").as_deref(),
        Some("401")
    );
    let text = json.to_string();
    assert!(
        !text.contains("wrong-secret") && !text.contains(TRICKY_SECRET),
        "no secret in the JSON"
    );
}

#[tokio::test]
async fn oracle_health_unknown_client_is_token_unknown_client_with_tenant_and_correlation_id() {
    let faults = Faults {
        token_error: Some((401, SEED_BODY.into())),
        ..Faults::default()
    };
    let app = TestApp::with_faults(Auth::Basic, faults).await;
    let json = app.launch_to_result(app.open_ehr_launch().await).await;
    assert_eq!(json["step"], "token");
    let id = "token.unknown_client";
    assert!(diagnosis_ids(&json).contains(&id.to_string()), "{json:#}");
    assert_eq!(
        evidence(&json, id, "Tenant").as_deref(),
        Some("ec2458f2-1e24-41c8-b71b-0e701af7583d")
    );
    assert_eq!(
        evidence(&json, id, "Correlation id (quote it to support)").as_deref(),
        Some("14c93355-be14-47c0-9f4a-132ef6124fe5")
    );
    assert_eq!(
        evidence(&json, id, "Client as the server identified it").as_deref(),
        Some("unknown")
    );
    assert!(
        evidence(&json, id, "Secret encoding")
            .unwrap()
            .contains("form-encoded before Basic")
    );
}

#[tokio::test]
async fn token_endpoint_html_error_page_is_token_http_error() {
    let faults = Faults {
        token_error: Some((
            502,
            "<html><head><title>Bad gateway</title></head></html>".into(),
        )),
        ..Faults::default()
    };
    let app = TestApp::with_faults(Auth::None, faults).await;
    let json = app.launch_to_result(app.open_ehr_launch().await).await;
    assert!(diagnosis_ids(&json).contains(&"token.http_error".to_string()));
    assert_eq!(
        evidence(&json, "token.http_error", "Page title").as_deref(),
        Some("Bad gateway")
    );
}

#[tokio::test]
async fn transcript_records_the_token_exchange_redacted() {
    let app = TestApp::start(Setup::new(Auth::Basic)).await;
    let json = app.launch_to_result(app.open_ehr_launch().await).await;
    let transcript = json["transcript"].as_array().unwrap();
    let token = transcript
        .iter()
        .find(|x| x["step"] == "token")
        .expect("token exchange recorded");
    assert_eq!(token["status"], 200);
    let body = token["request_body"].as_str().unwrap();
    assert!(
        body.contains("code=[redacted:") && body.contains("code_verifier=[redacted:"),
        "{body}"
    );
    let auth = token["request_headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "authorization")
        .unwrap();
    assert!(auth[1].as_str().unwrap().starts_with("Basic [redacted:"));
    let resp = token["response_body"].as_str().unwrap();
    assert!(resp.contains("\"access_token\": \"[redacted:"), "{resp}");
}
