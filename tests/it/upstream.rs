//! The outbound client against broken upstreams: each failure ends in a diagnosis within the
//! timeout, never a panic or a 500.

use axum::Router;
use axum::http::header;
use axum::routing::get;
use reqwest::StatusCode;

use crate::support::upstream::{blackhole, serve};
use crate::support::{Auth, Setup, TestApp, diagnosis_ids, error_ids, evidence, location};

async fn standalone_result(iss: String) -> serde_json::Value {
    let app = TestApp::start(Setup {
        iss_override: Some(iss),
        ..Setup::new(Auth::None)
    })
    .await;
    let resp = app.get("/standalone/app").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (status, json) = app.get_json(&location(&resp)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["outcome"], "error");
    assert_eq!(json["step"], "discovery");
    json
}

#[tokio::test]
async fn server_that_never_answers_is_net_timeout() {
    let port = blackhole().await;
    let started = std::time::Instant::now();
    let json = standalone_result(format!("http://127.0.0.1:{port}/fhir")).await;
    assert_eq!(error_ids(&json), ["net.timeout"]);
    assert!(
        started.elapsed().as_secs() < 10,
        "bounded by the configured timeout"
    );
}

#[tokio::test]
async fn tls_handshake_against_a_plain_listener_is_net_tls() {
    let origin = serve(Router::new().route("/", get(|| async { "plain" }))).await;
    let json = standalone_result(origin.replace("http://", "https://") + "/fhir").await;
    assert_eq!(diagnosis_ids(&json), ["net.tls"], "{json:#}");
}

#[tokio::test]
async fn huge_body_is_net_too_large() {
    let big = "x".repeat(2 * 1024 * 1024);
    let origin = serve(Router::new().route(
        "/fhir/.well-known/smart-configuration",
        get(move || async move { big.clone() }),
    ))
    .await;
    let json = standalone_result(format!("{origin}/fhir")).await;
    assert_eq!(error_ids(&json), ["net.too_large"]);
}

#[tokio::test]
async fn html_portal_page_is_discovery_not_json() {
    let page = || async {
        (
            [(header::CONTENT_TYPE, "text/html")],
            "<html><title>Sign in</title></html>",
        )
    };
    let origin = serve(
        Router::new()
            .route("/fhir/.well-known/smart-configuration", get(page))
            .route("/fhir/metadata", get(page)),
    )
    .await;
    let json = standalone_result(format!("{origin}/fhir")).await;
    assert_eq!(error_ids(&json), ["discovery.not_json"]);
    let first = evidence(
        &json,
        "discovery.not_json",
        "SMART configuration: first bytes",
    )
    .unwrap();
    assert!(first.starts_with("<html>"), "{first}");
}

#[tokio::test]
async fn missing_endpoints_everywhere_is_discovery_not_found() {
    let origin = serve(Router::new()).await;
    let json = standalone_result(format!("{origin}/fhir")).await;
    assert_eq!(error_ids(&json), ["discovery.not_found"]);
    let tried = evidence(&json, "discovery.not_found", "CapabilityStatement").unwrap();
    assert!(tried.ends_with("/fhir/metadata → 404 "), "{tried}");
}

#[tokio::test]
async fn redirecting_discovery_is_net_redirected_with_its_location() {
    let moved = || async {
        (
            StatusCode::MOVED_PERMANENTLY,
            [(
                header::LOCATION,
                "https://new.example/fhir/.well-known/smart-configuration",
            )],
        )
    };
    let origin = serve(
        Router::new()
            .route("/fhir/.well-known/smart-configuration", get(moved))
            .route("/fhir/metadata", get(moved)),
    )
    .await;
    let json = standalone_result(format!("{origin}/fhir")).await;
    assert_eq!(error_ids(&json), ["net.redirected"]);
    assert_eq!(
        evidence(&json, "net.redirected", "Location").as_deref(),
        Some("https://new.example/fhir/.well-known/smart-configuration")
    );
}
