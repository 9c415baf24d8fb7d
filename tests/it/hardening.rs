//! Production hardening: SSRF protection for unregistered FHIR bases, the launch rate limit.

use reqwest::StatusCode;
use smart_launch_doctor::practice::{self, PracticeOptions};

use crate::support::{Auth, CLIENT_ID, Setup, TestApp, diagnosis_ids, location};

/// A second fake EHR nobody registered, and the ad-hoc form pointed at it.
async fn adhoc_to_unregistered(
    extra_toml: &str,
) -> (TestApp, practice::RunningEhr, serde_json::Value) {
    let app = TestApp::start(Setup {
        extra_toml: extra_toml.into(),
        ..Setup::new(Auth::None)
    })
    .await;
    let other = practice::spawn(PracticeOptions {
        clients: vec![],
        faults: Default::default(),
        path_prefix: String::new(),
    })
    .await
    .unwrap();
    let page = app.get("/").await.text().await.unwrap();
    let at = page.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    let csrf = page[at..].split('"').next().unwrap().to_string();
    let iss = other.fhir_base();
    let form = [
        ("csrf", csrf.as_str()),
        ("iss", iss.as_str()),
        ("client_id", CLIENT_ID),
        ("auth", "none"),
        ("scope", "openid"),
    ];
    let resp = app.post_form("/standalone", &form).await;
    let json = if resp.status() == StatusCode::SEE_OTHER {
        let target = location(&resp);
        if target.starts_with("/launches/") {
            app.get_json(&target).await.1
        } else {
            serde_json::Value::Null
        }
    } else {
        // The form shown again: its message and status, as the test sees them.
        serde_json::json!({"status": resp.status().as_u16(), "page": resp.text().await.unwrap()})
    };
    (app, other, json)
}

#[tokio::test]
async fn an_unregistered_fhir_base_on_loopback_is_refused_on_the_form_without_a_request() {
    let (app, other, json) = adhoc_to_unregistered("").await;
    assert_eq!(json["status"], 400, "{json:#}");
    let page = json["page"].as_str().unwrap();
    assert!(
        page.contains("127.0.0.1 is a loopback, private or link-local address"),
        "{page}"
    );
    let (_, launches) = app.get_json("/launches").await;
    assert_eq!(
        launches["launches"],
        serde_json::json!([]),
        "no stored launch"
    );
    assert!(
        other.ehr.requests().is_empty(),
        "nothing reached the private address"
    );
}

#[tokio::test]
async fn allow_private_networks_lets_the_ad_hoc_form_reach_a_local_server() {
    let (_app, other, _) = adhoc_to_unregistered("allow_private_networks = true").await;
    assert!(
        other
            .ehr
            .requests()
            .iter()
            .any(|r| r.path.ends_with("smart-configuration"))
    );
}

#[tokio::test]
async fn launches_over_the_rate_limit_get_429_with_retry_after() {
    let app = TestApp::start(Setup {
        extra_toml: "launch_rate_limit_per_minute = 2".into(),
        ..Setup::new(Auth::None)
    })
    .await;
    for _ in 0..2 {
        assert_eq!(
            app.get("/standalone/app").await.status(),
            StatusCode::SEE_OTHER
        );
    }
    let resp = app
        .get_accepting("/standalone/app", "application/json")
        .await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait));
    assert_eq!(
        app.get("/healthz").await.status(),
        StatusCode::OK,
        "other routes are not limited"
    );
}

#[tokio::test]
async fn every_route_that_starts_outbound_work_is_limited() {
    let app = TestApp::start(Setup {
        extra_toml: "launch_rate_limit_per_minute = 1".into(),
        ..Setup::new(Auth::None)
    })
    .await;
    assert_eq!(
        app.get("/standalone/app").await.status(),
        StatusCode::SEE_OTHER
    );
    let launch = format!("/launch?iss={}&launch=x", app.ehr.fhir_base());
    for path in [launch.as_str(), "/standalone/app", "/check/app"] {
        let status = app.get(path).await.status();
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "GET {path}");
    }
    // Limited before anything else is read: no form, no CSRF token needed to be refused.
    for path in [
        "/standalone",
        "/check",
        "/gallery/works-basic",
        "/backend/app",
    ] {
        let status = app.post_form(path, &[]).await.status();
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "POST {path}");
    }
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(app.get("/launches").await.status(), StatusCode::OK);
}

/// Developer mode: an EHR launch from a FHIR server nobody registered, as a public client.
async fn unregistered_ehr_launch(
    extra_toml: &str,
) -> (TestApp, practice::RunningEhr, serde_json::Value) {
    let app = TestApp::start(Setup {
        extra_toml: extra_toml.into(),
        ..Setup::new(Auth::None)
    })
    .await;
    let other = practice::spawn(PracticeOptions {
        clients: vec![practice::PracticeClient {
            client_id: "smart-launch-doctor".into(),
            auth: practice::ClientAuth::None,
            redirect_uris: vec![app.url("/callback")],
        }],
        faults: Default::default(),
        path_prefix: String::new(),
    })
    .await
    .unwrap();
    let code = other.ehr.new_launch("patient-7", None);
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("iss", &other.fhir_base())
        .append_pair("launch", &code)
        .finish();
    let resp = app.get(&format!("/launch?{q}")).await;
    assert_eq!(
        resp.status(),
        StatusCode::SEE_OTHER,
        "developer mode starts the launch"
    );
    let target = location(&resp);
    let json = if target.starts_with("/launches/") {
        app.get_json(&target).await.1
    } else {
        // Through the unregistered EHR's authorize, back to our callback.
        let at_ehr = app.get(&target).await;
        let callback = app.get(&location(&at_ehr)).await;
        assert_eq!(callback.status(), StatusCode::SEE_OTHER);
        app.get_json(&location(&callback)).await.1
    };
    (app, other, json)
}

#[tokio::test]
async fn developer_mode_launches_an_unregistered_fhir_server_as_a_public_client() {
    let (_app, other, json) =
        unregistered_ehr_launch("allow_unregistered_iss = true\nallow_private_networks = true")
            .await;
    assert_eq!(json["outcome"], "success", "{json:#}");
    assert_eq!(json["token_response"]["patient"], "patient-7");
    assert_eq!(json["registration"]["client_id"], "smart-launch-doctor");
    assert!(
        other.ehr.violations().is_empty(),
        "{:?}",
        other.ehr.violations()
    );
}

#[tokio::test]
async fn developer_mode_still_refuses_private_targets() {
    let (_app, other, json) = unregistered_ehr_launch("allow_unregistered_iss = true").await;
    assert_eq!(
        diagnosis_ids(&json),
        ["net.private_target", "launch.insecure_iss"],
        "{json:#}"
    );
    assert!(other.ehr.requests().is_empty());
}

#[tokio::test]
async fn request_ids_are_made_here_never_taken_from_the_client() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let resp = app
        .browser
        .get(app.url("/no-such-page"))
        .header("accept", "application/json")
        .header("x-request-id", "forged-id")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    let json: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        json["error"]["request_id"],
        id.as_str(),
        "the error page names it"
    );

    let other = app.get("/healthz").await;
    assert_ne!(
        other.headers()["x-request-id"].to_str().unwrap(),
        id,
        "one id per request"
    );
}
