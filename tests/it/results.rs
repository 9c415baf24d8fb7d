//! Result pages: visible only to their browser, tokens masked unless revealed, JSON twin.

use reqwest::StatusCode;

use crate::support::{Auth, Setup, TestApp, browser, location};

#[tokio::test]
async fn result_is_visible_only_to_the_browser_that_launched() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let (_, cb) = app.through_authorize(app.open_ehr_launch().await).await;
    let result = app.url(&location(&cb));
    assert_eq!(app.get(&result).await.status(), StatusCode::OK);
    let other = browser().get(&result).send().await.unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn tokens_are_masked_unless_revealed() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let (_, cb) = app.through_authorize(app.open_ehr_launch().await).await;
    let result = location(&cb);
    let (_, revealed) = app.get_json(&format!("{result}?reveal=tokens")).await;
    let token = revealed["token_response"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!token.starts_with("[redacted"));
    let (_, masked) = app.get_json(&result).await;
    assert!(
        masked["token_response"]["access_token"]
            .as_str()
            .unwrap()
            .starts_with("[redacted:")
    );
    let page = app.get(&result).await.text().await.unwrap();
    assert!(!page.contains(&token), "the page hides the token");
    assert!(page.contains("Reveal tokens"));
    assert!(page.contains("patient-123"), "context is shown");
    let shown = app
        .get(&format!("{result}?reveal=tokens"))
        .await
        .text()
        .await
        .unwrap();
    assert!(shown.contains(&token), "revealed on request");
    let linked: serde_json::Value = app
        .get(&format!("{result}?format=json"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        linked["token_response"]["access_token"]
            .as_str()
            .unwrap()
            .starts_with("[redacted:"),
        "the JSON link is redacted"
    );
}

#[tokio::test]
async fn launches_list_shows_this_browsers_launches() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    app.launch_to_result(app.open_ehr_launch().await).await;
    let (_, json) = app.get_json("/launches").await;
    assert_eq!(json["launches"].as_array().unwrap().len(), 1);
    assert_eq!(json["launches"][0]["outcome"], "success");
    let (_, other) = {
        let r = browser()
            .get(app.url("/launches"))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        (r.status(), r.json::<serde_json::Value>().await.unwrap())
    };
    assert_eq!(other["launches"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn healthz_answers_without_a_session() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let resp = app.get("/healthz").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn unknown_routes_and_registrations_are_404_pages_with_security_headers() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    for path in ["/nope", "/standalone/nope", "/launches/nope"] {
        let resp = app.get(path).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        let csp = resp
            .headers()
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"));
        assert_eq!(
            resp.headers().get("referrer-policy").unwrap(),
            "no-referrer"
        );
    }
}

#[tokio::test]
async fn a_second_launch_shows_the_cached_discovery_documents_marked_as_cached() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let discovery = |json: &serde_json::Value| -> Vec<(String, bool)> {
        json["transcript"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["step"] == "discovery")
            .map(|x| {
                (
                    x["url"].as_str().unwrap().to_string(),
                    x["cached"].as_bool().unwrap_or(false),
                )
            })
            .collect()
    };
    let first = discovery(&app.standalone_result().await);
    assert!(
        first
            .iter()
            .any(|(u, _)| u.ends_with("/.well-known/smart-configuration")),
        "{first:?}"
    );
    assert!(
        first.iter().all(|(_, cached)| !cached),
        "fetched by the first launch"
    );
    let second = discovery(&app.standalone_result().await);
    assert_eq!(
        second.iter().map(|(u, _)| u).collect::<Vec<_>>(),
        first.iter().map(|(u, _)| u).collect::<Vec<_>>(),
        "the same documents are shown"
    );
    assert!(second.iter().all(|(_, cached)| *cached), "{second:?}");
}
