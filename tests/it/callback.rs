//! `/callback`: state checks (single use, this browser's), errors from the authorization step.

use reqwest::StatusCode;
use smart_launch_doctor::practice::Faults;

use crate::support::{Auth, Setup, TestApp, browser, diagnosis_ids, location};

#[tokio::test]
async fn replayed_callback_shows_callback_state_reused_and_exchanges_nothing_more() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let (callback, first) = app.through_authorize(app.open_ehr_launch().await).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let result = location(&first);
    let (status, json) = app.get_json(&callback).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(diagnosis_ids(&json), ["callback.state_reused"]);
    assert_eq!(app.ehr.ehr.exchanged_codes(), 1);
    let tokens = app
        .ehr
        .ehr
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/token"))
        .count();
    assert_eq!(tokens, 1, "the replay sent no second token request");
    let (_, still) = app.get_json(&result).await;
    assert_eq!(still["outcome"], "success", "the first result is intact");
}

#[tokio::test]
async fn access_denied_at_authorize_is_diagnosed_and_no_token_is_requested() {
    let faults = Faults {
        deny_authorization: true,
        ..Faults::default()
    };
    let app = TestApp::with_faults(Auth::None, faults).await;
    let json = app.launch_to_result(app.open_ehr_launch().await).await;
    assert_eq!(json["outcome"], "error");
    assert_eq!(json["step"], "authorize");
    assert!(diagnosis_ids(&json).contains(&"authorize.access_denied".to_string()));
    assert!(
        !app.ehr
            .ehr
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/token"))
    );
}

#[tokio::test]
async fn callback_without_session_cookie_is_callback_no_session() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let launch = app.open_ehr_launch().await;
    let ehr_resp = app.get(&location(&launch)).await;
    let callback = location(&ehr_resp);
    // Another browser: no cookie, as when the cookie was dropped.
    let resp = browser()
        .get(&callback)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let json: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(diagnosis_ids(&json), ["callback.no_session"]);
    // The real browser can still finish: the foreign attempt consumed nothing.
    let ok = app.get(&callback).await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn state_problems_are_told_apart() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let (status, json) = app.get_json("/callback?code=abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(diagnosis_ids(&json), ["callback.missing_state"]);

    // Reading the home page makes no session: still no session cookie.
    app.get("/").await;
    let (_, json) = app.get_json("/callback?code=abc&state=nope").await;
    assert_eq!(diagnosis_ids(&json), ["callback.no_session"]);

    // A session whose only launch has finished: no launch in progress.
    let done = app.open_ehr_launch().await;
    app.launch_to_result(done).await;
    let (_, json) = app.get_json("/callback?code=abc&state=nope").await;
    assert_eq!(diagnosis_ids(&json), ["callback.unknown_state"]);

    // A launch in progress, a different state.
    let launch = app.open_ehr_launch().await;
    assert_eq!(launch.status(), StatusCode::SEE_OTHER);
    let (_, json) = app.get_json("/callback?code=abc&state=forged").await;
    assert_eq!(diagnosis_ids(&json), ["callback.state_mismatch"]);
}

#[tokio::test]
async fn callback_without_code_or_error_is_callback_missing_code() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let launch = app.open_ehr_launch().await;
    let ehr_resp = app.get(&location(&launch)).await;
    let mut callback = url::Url::parse(&location(&ehr_resp)).unwrap();
    let state: String = callback
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    callback
        .query_pairs_mut()
        .clear()
        .append_pair("state", &state);
    let resp = app.get(callback.as_str()).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, json) = app.get_json(&location(&resp)).await;
    assert_eq!(json["step"], "callback");
    assert_eq!(
        diagnosis_ids(&json),
        ["callback.missing_code", "launch.insecure_iss"]
    );
}

#[tokio::test]
async fn session_id_is_cycled_after_the_token_exchange_and_cookie_is_lax() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let launch = app.open_ehr_launch().await;
    let set_cookie = launch
        .headers()
        .get("set-cookie")
        .expect("session cookie")
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        set_cookie.contains("SameSite=Lax") && set_cookie.contains("HttpOnly"),
        "{set_cookie}"
    );
    assert!(
        !set_cookie.contains("Secure"),
        "no Secure on an http public_url"
    );
    let (_, callback) = app.through_authorize(launch).await;
    let cycled = callback
        .headers()
        .get("set-cookie")
        .expect("new cookie")
        .to_str()
        .unwrap()
        .to_string();
    let id = |c: &str| c.split(';').next().unwrap().to_string();
    assert_ne!(id(&set_cookie), id(&cycled), "the session id changed");
}
