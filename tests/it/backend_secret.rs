//! Symmetric client_credentials (`backend = true` with client_secret_basic / client_secret_post):
//! the non-SMART variant runs against the fake EHR and the built-in practice EHR with a warning,
//! a wrong secret is named as such, and an authenticated client whose grant is not enabled
//! (MEDITECH's 400 unauthorized_client) is told apart from one that was refused.

use reqwest::StatusCode;
use serde_json::Value;
use smart_launch_doctor::config::PRACTICE_BACKEND_SECRET;
use smart_launch_doctor::practice::Faults;

use crate::support::practice_app::{hidden, serve_practice};
use crate::support::{
    Auth, Setup, TRICKY_SECRET, TestApp, browser, diagnosis_ids, error_ids, location,
};

/// A client_credentials registration with a client secret at the fake EHR.
fn secret_backend(auth: Auth) -> Setup {
    Setup {
        registration_extra: "backend = true",
        scope: Some("system/*.read"),
        ..Setup::new(auth)
    }
}

/// Presses "Run" for `id` and reads the result's JSON twin.
async fn run(b: &reqwest::Client, base: &str, id: &str) -> Value {
    let home = b.get(format!("{base}/")).send().await.unwrap();
    let html = home.text().await.unwrap();
    let csrf = hidden(&html, "csrf");
    let r = b
        .post(format!("{base}/backend/{id}"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    b.get(format!("{base}{}", location(&r)))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn severity(json: &Value, id: &str) -> Option<String> {
    json["diagnoses"]
        .as_array()?
        .iter()
        .find(|d| d["id"] == id)
        .map(|d| d["severity"].as_str().unwrap_or("").to_string())
}

#[tokio::test]
async fn a_secret_backend_client_runs_with_basic_and_post_and_is_warned_about() {
    for auth in [Auth::Basic, Auth::Post] {
        let t = TestApp::start(secret_backend(auth)).await;
        let json = run(&t.browser, &t.base, "app").await;
        assert_eq!(json["kind"], "backend", "{auth:?}");
        assert_eq!(json["outcome"], "success", "{auth:?}: {json:#}");
        assert!(error_ids(&json).is_empty(), "{:?}", diagnosis_ids(&json));
        assert_eq!(
            severity(&json, "backend.symmetric_client_auth").as_deref(),
            Some("warn"),
            "{auth:?}: {json:#}"
        );
        assert_eq!(json["backend"]["read"]["resource_type"], "Bundle");
        // The two assertion probes cannot be sent by a secret client: not tested, never passed.
        let untested: Vec<&Value> = json["backend"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == "not_tested")
            .collect();
        assert_eq!(untested.len(), 2, "{json:#}");
        assert!(
            untested
                .iter()
                .all(|c| c["passed"] == false && c["reason"].is_string())
        );
        // Sent the way the registration says, and never shown anywhere.
        let req = t.token_request();
        let basic = req.headers.iter().any(|(k, _)| k == "authorization");
        assert_eq!(basic, matches!(auth, Auth::Basic), "{auth:?}");
        assert!(req.body.contains("grant_type=client_credentials"));
        let text = json.to_string();
        assert!(!text.contains(TRICKY_SECRET) && !text.contains("s3%3Acr"));
        t.assert_no_violations();
    }
}

#[tokio::test]
async fn the_built_in_secret_backend_registration_works_against_the_practice_ehr() {
    let (base, _) = serve_practice("http_timeout_seconds = 3").await;
    let b = browser();
    let json = run(&b, &base, "practice-backend-secret").await;
    assert_eq!(json["outcome"], "success", "{json:#}");
    assert!(error_ids(&json).is_empty(), "{:?}", diagnosis_ids(&json));
    assert!(diagnosis_ids(&json).contains(&"backend.symmetric_client_auth".to_string()));
    assert!(!json.to_string().contains(PRACTICE_BACKEND_SECRET));
}

#[tokio::test]
async fn a_wrong_secret_is_bad_client_credentials() {
    let t = TestApp::start(Setup {
        app_secret: Some("an old secret".into()),
        ..secret_backend(Auth::Basic)
    })
    .await;
    let json = run(&t.browser, &t.base, "app").await;
    assert_eq!(json["step"], "token", "{json:#}");
    assert_eq!(
        error_ids(&json),
        ["token.bad_client_credentials"],
        "{json:#}"
    );
}

/// MEDITECH Greenfield answers valid credentials for a grant the client is not enabled for with
/// 400 unauthorized_client (a wrong secret gets 401 invalid_client).
fn grant_not_enabled() -> Faults {
    Faults {
        client_credentials_refusal: Some((400, r#"{"error":"unauthorized_client"}"#.into())),
        ..Faults::default()
    }
}

#[tokio::test]
async fn unauthorized_client_is_authenticated_but_grant_not_enabled_in_runs_and_check() {
    let t = TestApp::start(Setup {
        faults: grant_not_enabled(),
        ..secret_backend(Auth::Basic)
    })
    .await;
    let json = run(&t.browser, &t.base, "app").await;
    assert_eq!(
        error_ids(&json),
        ["token.client_credentials_not_enabled"],
        "{json:#}"
    );
    assert!(json.to_string().contains("the client was authenticated"));
    // No token, so no proof read: the page says it was not attempted, not that it found nothing.
    let page = t
        .get(&format!("/launches/{}", json["id"].as_str().unwrap()))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("not attempted: no token was issued"),
        "{page}"
    );
    assert!(!page.contains("no resource"), "{page}");
    let (status, check) = t.get_json("/check/app").await;
    assert_eq!(status, StatusCode::OK);
    let creds = &check["credentials"];
    assert_eq!(creds["client_credentials"], "accepted", "{check:#}");
    assert!(
        creds["summary"].as_str().unwrap().contains("authenticated"),
        "{check:#}"
    );
    let ids = diagnosis_ids(&check);
    assert!(
        ids.contains(&"token.client_credentials_not_enabled".to_string())
            && ids.contains(&"backend.symmetric_client_auth".to_string()),
        "{ids:?}"
    );
    // The same server with a wrong secret: refused, not "authenticated".
    let t = TestApp::start(Setup {
        faults: grant_not_enabled(),
        app_secret: Some("an old secret".into()),
        ..secret_backend(Auth::Basic)
    })
    .await;
    let (_, check) = t.get_json("/check/app").await;
    assert_eq!(check["credentials"]["client_credentials"], "rejected");
    assert!(!diagnosis_ids(&check).contains(&"token.client_credentials_not_enabled".to_string()));
}

#[tokio::test]
async fn gallery_runs_are_labelled_with_their_entry_in_metrics_not_adhoc() {
    let (base, _) = serve_practice("metrics = true\nhttp_timeout_seconds = 3").await;
    let b = browser();
    let csrf = crate::support::practice_app::csrf_of(&b, &base, "/gallery").await;
    let r = b
        .post(format!("{base}/gallery/oracle-system-account"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let text = b
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            "sld_launches_started_total{registration=\"gallery-oracle-system-account\",kind=\"backend\"} 1"
        ),
        "{text}"
    );
    assert!(!text.contains("registration=\"adhoc\""), "{text}");
}

/// Two registrations sharing one key file: our JWKS lists the key once. The same file under a
/// second kid is a self-check finding of ours (`jwks.duplicate_key`), not the server's fault.
#[tokio::test]
async fn our_jwks_lists_a_shared_key_once_and_check_names_a_reused_key() {
    let (path, kid, _) = crate::support::key_file("ES384");
    let reg = |id: &str, kid: &str| {
        format!(
            "[[registration]]\nid = \"{id}\"\niss = \"http://127.0.0.1:1/fhir\"\nclient_id = \"{id}\"\nauth = \"private_key_jwt\"\nprivate_key = {:?}\nkey_id = {kid:?}\nalg = \"ES384\"\nscope = \"system/*.read\"\nbackend = true\n",
            path.display().to_string()
        )
    };
    let addr = "127.0.0.1:9123".parse().unwrap();
    let toml = format!("practice_ehr = false\n{}{}", reg("a", &kid), reg("b", &kid));
    let config = smart_launch_doctor::config::Config::from_toml(&toml, "t", addr).unwrap();
    let state = smart_launch_doctor::AppState::new(config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, smart_launch_doctor::app(state))
            .await
            .ok();
    });
    let jwks: Value = reqwest::get(format!("{base}/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1, "{jwks:#}");
    // The same key under another kid: published once, and named.
    let toml = format!(
        "practice_ehr = false\n{}{}",
        reg("a", &kid),
        reg("b", "other-kid")
    );
    let config = smart_launch_doctor::config::Config::from_toml(&toml, "t", addr).unwrap();
    let reg = config.registration("a").unwrap().clone();
    assert!(reg.auth.key().is_some());
    let core = smart_launch_doctor::state::Core::new(config).unwrap();
    let report = smart_launch_doctor::check::check(&core, &reg, false).await;
    let json = serde_json::to_value(&report).unwrap();
    assert!(
        json.to_string().contains("\"jwks.duplicate_key\""),
        "{json:#}"
    );
}
