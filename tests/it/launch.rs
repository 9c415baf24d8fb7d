//! EHR and standalone launches end to end against the strict fake EHR, with each client
//! authentication method.

use reqwest::StatusCode;
use serde_json::Value;
use smart_launch_doctor::practice::{Faults, STANDALONE_PATIENT};

use crate::support::{
    Auth, Setup, TRICKY_SECRET, TestApp, diagnosis_ids, error_ids, evidence, location,
};

async fn ehr_launch_succeeds(auth: Auth) -> (TestApp, Value) {
    let app = TestApp::start(Setup::new(auth)).await;
    let resp = app.open_ehr_launch().await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let json = app.launch_to_result(resp).await;
    assert_eq!(json["outcome"], "success", "{json:#}");
    assert_eq!(json["step"], "fhir");
    assert_eq!(json["kind"], "ehr");
    assert_eq!(json["token_response"]["patient"], "patient-123");
    assert_eq!(json["token_response"]["encounter"], "encounter-9");
    app.assert_no_violations();
    assert_eq!(app.ehr.ehr.exchanged_codes(), 1);
    (app, json)
}

async fn standalone_launch_succeeds(auth: Auth) -> (TestApp, Value) {
    let app = TestApp::start(Setup::new(auth)).await;
    let resp = app.get("/standalone/app").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let authorize = location(&resp);
    assert!(
        !authorize.contains("launch="),
        "standalone sends no launch parameter: {authorize}"
    );
    let json = app.launch_to_result(resp).await;
    assert_eq!(json["outcome"], "success", "{json:#}");
    assert_eq!(json["kind"], "standalone");
    assert_eq!(json["token_response"]["patient"], STANDALONE_PATIENT);
    app.assert_no_violations();
    (app, json)
}

fn header<'a>(
    r: &'a smart_launch_doctor::practice::RecordedRequest,
    name: &str,
) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn ehr_launch_with_public_client_succeeds_with_patient_and_encounter() {
    let (app, json) = ehr_launch_succeeds(Auth::None).await;
    let req = app.token_request();
    assert!(
        header(&req, "authorization").is_none(),
        "a public client sends no Authorization"
    );
    assert!(req.body.contains("client_id=test-app"));
    let authorize =
        url::Url::parse(json["authorize_url"].as_str().expect("authorize_url")).unwrap();
    let q: std::collections::HashMap<String, String> =
        authorize.query_pairs().into_owned().collect();
    assert_eq!(q["aud"], app.ehr.fhir_base());
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["redirect_uri"], app.url("/callback"));
    let ids = diagnosis_ids(&json);
    assert!(
        ids.contains(&"launch.insecure_iss".to_string()),
        "http iss warns: {ids:?}"
    );
    assert!(
        !ids.contains(&"token.no_id_token".to_string()),
        "openid granted, id_token present: {ids:?}"
    );
}

#[tokio::test]
async fn ehr_launch_with_client_secret_basic_succeeds() {
    let (app, _) = ehr_launch_succeeds(Auth::Basic).await;
    let req = app.token_request();
    assert!(header(&req, "authorization").is_some_and(|h| h.starts_with("Basic ")));
    assert!(
        !req.body.contains("client_secret"),
        "Basic only: no secret in the body"
    );
}

#[tokio::test]
async fn ehr_launch_with_client_secret_post_succeeds() {
    let (app, _) = ehr_launch_succeeds(Auth::Post).await;
    assert!(header(&app.token_request(), "authorization").is_none());
}

#[tokio::test]
async fn standalone_launch_with_public_client_succeeds() {
    let (_, json) = standalone_launch_succeeds(Auth::None).await;
    // Plain http is flagged on both launch kinds alike (the EHR launch test checks its own).
    let ids = diagnosis_ids(&json);
    assert!(ids.contains(&"launch.insecure_iss".to_string()), "{ids:?}");
}

#[tokio::test]
async fn standalone_launch_with_client_secret_basic_form_encodes_a_secret_with_reserved_characters()
{
    let (app, _) = standalone_launch_succeeds(Auth::Basic).await;
    let req = app.token_request();
    let auth = header(&req, "authorization").expect("Basic header");
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth.trim_start_matches("Basic "))
        .expect("base64");
    let decoded = String::from_utf8(decoded).expect("utf8");
    assert_eq!(
        decoded, "test-app:s3%3Acr%25t%2B+x",
        "RFC 6749 §2.3.1 encoding of {TRICKY_SECRET:?}"
    );
}

#[tokio::test]
async fn standalone_launch_with_client_secret_post_succeeds() {
    let (app, _) = standalone_launch_succeeds(Auth::Post).await;
    let req = app.token_request();
    assert!(
        req.body.contains("client_secret=s3%3Acr%25t%2B+x"),
        "{}",
        req.body
    );
}

#[tokio::test]
async fn unregistered_iss_is_refused_without_any_outbound_request() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let other = format!("{}other/fhir", app.ehr.origin);
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("iss", &other)
        .append_pair("launch", "x")
        .finish();
    let (status, json) = app.get_json(&format!("/launch?{q}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(diagnosis_ids(&json), ["launch.iss_not_registered"]);
    assert_eq!(
        evidence(
            &json,
            "launch.iss_not_registered",
            "Registered on the same host"
        )
        .as_deref(),
        Some(app.ehr.fhir_base().as_str())
    );
    assert!(
        app.ehr.ehr.requests().is_empty(),
        "no request reached the server: {:?}",
        app.ehr.ehr.requests()
    );
}

#[tokio::test]
async fn launch_parameter_problems_have_their_ids() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let fhir = app.ehr.fhir_base();
    let cases = [
        ("/launch".to_string(), "launch.missing_iss"),
        ("/launch?launch=abc".to_string(), "launch.missing_iss"),
        (
            "/launch?iss=not%20a%20url&launch=x".to_string(),
            "launch.invalid_iss",
        ),
        (
            format!("/launch?iss={fhir}&iss={fhir}&launch=x"),
            "launch.invalid_iss",
        ),
        (format!("/launch?iss={fhir}"), "launch.missing_launch"),
    ];
    for (path, id) in cases {
        let (status, json) = app.get_json(&path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(diagnosis_ids(&json), [id], "{path}");
    }
    let page = app.get("/launch").await;
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(
        page.text().await.unwrap().contains("launch.missing_iss"),
        "the HTML page names the id"
    );
    assert!(app.ehr.ehr.requests().is_empty());
}

#[tokio::test]
async fn trailing_slash_on_iss_matches_the_registration() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let launch = app.ehr.ehr.new_launch("patient-123", None);
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("iss", &format!("{}/", app.ehr.fhir_base()))
        .append_pair("launch", &launch)
        .finish();
    let json = app
        .launch_to_result(app.get(&format!("/launch?{q}")).await)
        .await;
    assert_eq!(json["outcome"], "success", "{json:#}");
    app.assert_no_violations();
}

#[tokio::test]
async fn capability_statement_is_the_fallback_when_well_known_is_missing() {
    let faults = Faults {
        no_well_known: true,
        ..Faults::default()
    };
    let app = TestApp::with_faults(Auth::None, faults).await;
    let json = app.launch_to_result(app.open_ehr_launch().await).await;
    assert_eq!(json["outcome"], "success", "{json:#}");
    assert!(diagnosis_ids(&json).contains(&"discovery.legacy_metadata".to_string()));
    assert_eq!(
        json["endpoints"]["source"],
        "CapabilityStatement (metadata)"
    );
    let paths: Vec<String> = app
        .ehr
        .ehr
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert!(
        paths.iter().any(|p| p.ends_with("/fhir/metadata")),
        "{paths:?}"
    );
    app.assert_no_violations();
}

#[tokio::test]
async fn discovery_is_cached_per_issuer() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    for _ in 0..2 {
        let json = app.launch_to_result(app.open_ehr_launch().await).await;
        assert_eq!(json["outcome"], "success");
    }
    let fetches = app
        .ehr
        .ehr
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("smart-configuration"))
        .count();
    assert_eq!(fetches, 1, "one discovery fetch for two launches");
}

#[tokio::test]
async fn unreachable_server_is_diagnosed_on_the_result_page() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let setup = Setup {
        iss_override: Some(format!("http://127.0.0.1:{port}/fhir")),
        ..Setup::new(Auth::None)
    };
    let app = TestApp::start(setup).await;
    let resp = app.get("/standalone/app").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, json) = app.get_json(&location(&resp)).await;
    assert_eq!(json["outcome"], "error");
    assert_eq!(json["step"], "discovery");
    assert_eq!(error_ids(&json), ["net.connect"]);
}
