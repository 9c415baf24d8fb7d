//! Upstream chaos: hand-written servers that lie about lengths, trickle, send invalid UTF-8,
//! nest without end, redirect to themselves or garble the token answer. Each launch must end on
//! a result page naming the failure within the configured timeout: never a panic, a 5xx page
//! or a hang.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use smart_launch_doctor::practice::{CannedAnswer, Faults};
use smart_launch_doctor::web::paths;
use tokio::io::AsyncWriteExt;

use crate::support::upstream::{raw, raw_bytes, response};
use crate::support::{Auth, Setup, TestApp, evidence, location};

/// The app's outbound timeout here: short, so the slow cases end quickly.
const TIMEOUT_SECS: u64 = 2;

/// Every launch here ends within this, however the upstream behaves.
const BOUND: Duration = Duration::from_secs(TIMEOUT_SECS + 5);

/// The default `http_max_body_bytes`.
const BODY_CAP: usize = 1024 * 1024;

const WELL_KNOWN: &str = "/fhir/.well-known/smart-configuration";
const JSON_TYPE: (&str, &str) = ("Content-Type", "application/json");

/// A world whose registration's `iss` is `iss` (the fake EHR when `None`), with the short
/// timeout and these faults.
async fn app_for(iss: Option<String>, faults: Faults) -> TestApp {
    TestApp::start(Setup {
        iss_override: iss,
        faults,
        http_timeout_secs: TIMEOUT_SECS,
        // Misbehaving endpoints live on other loopback ports than the registered FHIR base:
        // allowed deliberately, as an on-premises EHR's other hosts would be.
        extra_toml: "allow_private_hosts = [\"127.0.0.1\"]".into(),
        ..Setup::new(Auth::None)
    })
    .await
}

/// The ids of the error diagnoses (warnings left out).
fn error_ids(json: &Value) -> Vec<String> {
    json["diagnoses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["severity"] == "error")
        .filter_map(|d| d["id"].as_str().map(str::to_string))
        .collect()
}

/// The result at `path` as JSON, after checking that it says the launch failed at `step` and
/// that the HTML page renders too.
async fn failed_result(app: &TestApp, path: &str, step: &str) -> Value {
    let (status, json) = app.get_json(path).await;
    assert_eq!(status, StatusCode::OK, "{json:#}");
    assert_eq!(json["outcome"], "error", "{json:#}");
    assert_eq!(json["step"], step, "{json:#}");
    let page = app.get(path).await;
    assert_eq!(page.status(), StatusCode::OK, "the HTML result page");
    json
}

/// A standalone launch against `iss` that fails at discovery: its result's JSON twin, once the
/// whole launch is known to have taken less than [`BOUND`].
async fn discovery_failure(iss: String) -> Value {
    let app = app_for(Some(iss), Faults::default()).await;
    let started = Instant::now();
    let resp = app.get(&paths::standalone("app")).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let result = location(&resp);
    assert!(result.starts_with("/launches/"), "{result}");
    let json = failed_result(&app, &result, "discovery").await;
    let took = started.elapsed();
    assert!(took < BOUND, "the launch took {took:?}");
    json
}

/// A standalone launch through the fake EHR whose token endpoint answers `canned`, or is
/// `token_endpoint` instead: the result's JSON twin, once the launch took less than [`BOUND`].
async fn token_failure(canned: Option<CannedAnswer>, token_endpoint: Option<String>) -> Value {
    let faults = Faults {
        token_answer: canned,
        well_known_patch: token_endpoint
            .map(|t| vec![("token_endpoint".to_string(), json!(t))])
            .unwrap_or_default(),
        ..Faults::default()
    };
    let app = app_for(None, faults).await;
    let started = Instant::now();
    let json = app.standalone_result().await;
    let took = started.elapsed();
    assert!(took < BOUND, "the launch took {took:?}");
    let id = json["id"].as_str().expect("launch id");
    let json = failed_result(&app, &paths::launch_result(id), "token").await;
    app.assert_no_violations();
    json
}

/// A server answering every path with `answer`, so the CapabilityStatement fallback cannot
/// rescue discovery: its FHIR base.
async fn everywhere(answer: Vec<u8>) -> String {
    raw_bytes(move |_| answer.clone()).await.0 + "/fhir"
}

/// The discovery evidence `label` (SMART configuration or CapabilityStatement, or their first
/// bytes) of the diagnosis `id`.
fn tried(json: &Value, id: &str, label: &str) -> String {
    evidence(json, id, label).unwrap_or_else(|| panic!("no {label:?} in {json:#}"))
}

// --- Transport ---------------------------------------------------------------------------

#[tokio::test]
async fn body_cut_short_of_its_content_length_is_net_incomplete() {
    let iss = everywhere(response(
        "200 OK",
        &[JSON_TYPE, ("Content-Length", "1000")],
        b"{\"issuer\":",
    ))
    .await;
    let json = discovery_failure(iss).await;
    assert_eq!(error_ids(&json), ["net.incomplete"], "{json:#}");
    let failure = evidence(&json, "net.incomplete", "Failure").unwrap();
    assert!(
        failure.contains("end of file before message length reached"),
        "{failure}"
    );
    assert!(
        evidence(&json, "net.incomplete", "URL")
            .unwrap()
            .ends_with(WELL_KNOWN)
    );
}

#[tokio::test]
async fn body_trickled_one_byte_a_second_is_net_timeout_at_the_configured_timeout() {
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let (origin, _) = raw(move |_, mut s| {
        let sent = counter.clone();
        async move {
            let head = response("200 OK", &[JSON_TYPE, ("Content-Length", "60")], b"");
            if s.write_all(&head).await.is_err() {
                return;
            }
            // A minute of body: a timeout that restarts on every read would never fire.
            for _ in 0..60 {
                if s.write_all(b" ").await.is_err() {
                    return;
                }
                sent.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    })
    .await;
    let started = Instant::now();
    let json = discovery_failure(format!("{origin}/fhir")).await;
    assert!(started.elapsed() >= Duration::from_secs(TIMEOUT_SECS));
    assert_eq!(error_ids(&json), ["net.timeout"], "{json:#}");
    assert_eq!(
        evidence(&json, "net.timeout", "Failure").as_deref(),
        Some("no complete answer within 2 s")
    );
    assert!(
        sent.load(Ordering::Relaxed) >= 2,
        "the body was still arriving when the timeout fired"
    );
}

// --- Discovery bodies --------------------------------------------------------------------

#[tokio::test]
async fn json_typed_discovery_in_invalid_utf8_is_discovery_not_found_showing_the_bytes() {
    // UTF-16LE with a byte-order mark, labelled application/json: 0xFF 0xFE is never UTF-8.
    let mut body = vec![0xff, 0xfe];
    for b in br#"{"authorization_endpoint": "https://ehr.example/authorize"}"# {
        body.extend_from_slice(&[*b, 0]);
    }
    let json = discovery_failure(everywhere(response("200 OK", &[JSON_TYPE], &body)).await).await;
    // discovery.not_json is for a non-JSON Content-Type or an HTML body; this one claims JSON
    // and does not start with '<', so per the catalogue both sources are just unusable.
    assert_eq!(error_ids(&json), ["discovery.not_found"], "{json:#}");
    let id = "discovery.not_found";
    assert!(tried(&json, id, "SMART configuration").ends_with("→ 200 application/json"));
    let first = tried(&json, id, "SMART configuration: first bytes");
    assert!(first.starts_with("\u{fffd}\u{fffd}{ \" a u t h"), "{first}");
    assert!(tried(&json, id, "CapabilityStatement").ends_with("→ 200 application/json"));
}

#[tokio::test]
async fn discovery_nested_a_hundred_thousand_deep_is_discovery_not_found_without_overflow() {
    let body = "[".repeat(100_000) + "]".repeat(100_000).as_str();
    let json =
        discovery_failure(everywhere(response("200 OK", &[JSON_TYPE], body.as_bytes())).await)
            .await;
    // serde_json stops at depth 128, so the document is unparseable rather than fatal.
    assert_eq!(error_ids(&json), ["discovery.not_found"], "{json:#}");
    let id = "discovery.not_found";
    assert!(tried(&json, id, "SMART configuration").ends_with("→ 200 application/json"));
    assert!(tried(&json, id, "SMART configuration: first bytes").starts_with("[[[["));
    assert!(tried(&json, id, "CapabilityStatement").ends_with("→ 200 application/json"));
}

#[tokio::test]
async fn unrelated_json_just_under_the_size_cap_is_discovery_missing_fields() {
    let shell = json!({"resourceType": "Bundle", "padding": ""}).to_string();
    let pad = "x".repeat(BODY_CAP - 1 - shell.len());
    let body = json!({"resourceType": "Bundle", "padding": pad}).to_string();
    assert_eq!(body.len(), BODY_CAP - 1);
    let json =
        discovery_failure(everywhere(response("200 OK", &[JSON_TYPE], body.as_bytes())).await)
            .await;
    assert_eq!(error_ids(&json), ["discovery.missing_fields"], "{json:#}");
    assert_eq!(
        evidence(&json, "discovery.missing_fields", "Missing").as_deref(),
        Some("authorization_endpoint, token_endpoint")
    );
    let first = tried(
        &json,
        "discovery.missing_fields",
        "SMART configuration: first bytes",
    );
    assert!(first.starts_with(r#"{"resourceType":"Bundle""#), "{first}");
}

// --- Redirects ---------------------------------------------------------------------------

#[tokio::test]
async fn redirect_loop_is_net_redirected_with_its_location_and_never_followed() {
    // Every path answers 302 to itself (a relative Location, as RFC 9110 allows).
    let (origin, log) = raw_bytes(|req| {
        response(
            "302 Found",
            &[("Location", &req.path), ("Content-Length", "0")],
            b"",
        )
    })
    .await;
    let json = discovery_failure(format!("{origin}/fhir")).await;
    assert_eq!(error_ids(&json), ["net.redirected"], "{json:#}");
    assert_eq!(
        evidence(&json, "net.redirected", "Location").as_deref(),
        Some(WELL_KNOWN)
    );
    assert_eq!(
        evidence(&json, "net.redirected", "Status").as_deref(),
        Some("302")
    );
    let paths: Vec<String> = log.lock().unwrap().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths.iter().filter(|p| *p == WELL_KNOWN).count(),
        1,
        "asked once, never followed: {paths:?}"
    );
    assert!(paths.len() <= 2, "one request per discovery URL: {paths:?}");
}

#[tokio::test]
async fn redirect_loop_with_an_html_body_is_net_redirected_too() {
    let (origin, _) = raw_bytes(|req| {
        response(
            "302 Found",
            &[("Location", &req.path), ("Content-Type", "text/html")],
            b"<html><head><title>302 Found</title></head><body>Found</body></html>",
        )
    })
    .await;
    let json = discovery_failure(format!("{origin}/fhir")).await;
    assert_eq!(error_ids(&json), ["net.redirected"], "{json:#}");
    assert_eq!(
        evidence(&json, "net.redirected", "Location").as_deref(),
        Some(WELL_KNOWN)
    );
}

// --- Token endpoint ----------------------------------------------------------------------

#[tokio::test]
async fn token_answer_200_in_invalid_utf8_is_token_not_json() {
    let (origin, log) = raw_bytes(|_| {
        response(
            "200 OK",
            &[JSON_TYPE, ("Cache-Control", "no-store")],
            b"\xff\xfe\xfd not a token",
        )
    })
    .await;
    let json = token_failure(None, Some(format!("{origin}/token"))).await;
    assert_eq!(error_ids(&json), ["token.not_json"], "{json:#}");
    let first = evidence(&json, "token.not_json", "Body (first bytes)").unwrap();
    assert_eq!(first, "\u{fffd}\u{fffd}\u{fffd} not a token");
    assert_eq!(
        evidence(&json, "token.not_json", "Content-Type").as_deref(),
        Some("application/json")
    );
    let requests = log.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("POST", "/token")
    );
}

#[tokio::test]
async fn token_answer_200_with_a_numeric_access_token_is_token_malformed_response() {
    let canned = CannedAnswer {
        status: 200,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("cache-control".into(), "no-store".into()),
        ],
        body: r#"{"access_token": 5}"#.into(),
    };
    let json = token_failure(Some(canned), None).await;
    assert_eq!(error_ids(&json), ["token.malformed_response"], "{json:#}");
    assert_eq!(
        evidence(&json, "token.malformed_response", "Missing").as_deref(),
        Some("access_token, token_type")
    );
    assert_eq!(
        evidence(&json, "token.malformed_response", "Fields present").as_deref(),
        Some("access_token")
    );
}
