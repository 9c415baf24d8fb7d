//! Every route answers a page or its JSON twin, with the right status, whatever the method.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::{Auth, Setup, TestApp, diagnosis_ids, evidence};

async fn json_of(resp: reqwest::Response) -> Value {
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(ct.starts_with("application/json"), "content-type {ct}");
    resp.json().await.unwrap()
}

#[tokio::test]
async fn home_and_unknown_pages_have_json_twins() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let home = json_of(app.get("/?format=json").await).await;
    assert_eq!(home["registrations"][0]["id"], "app");
    assert_eq!(home["redirect_uri"], app.url("/callback"));
    let weighed = app
        .get_accepting("/", "text/html;q=0, application/json")
        .await;
    assert_eq!(json_of(weighed).await["registrations"][0]["id"], "app");
    let browserish = app
        .get_accepting("/", "text/html,application/xhtml+xml,*/*;q=0.8")
        .await;
    assert!(browserish.text().await.unwrap().contains("<html"));
    let missing = app.get("/launches/xyz?format=json").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(json_of(missing).await["error"]["title"], "No such launch");
}

#[tokio::test]
async fn a_wrong_method_gets_405_with_a_page_and_head_starts_no_launch() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    for (method, path) in [
        (Method::POST, "/launch"),
        (Method::DELETE, "/callback"),
        (Method::PUT, "/launches"),
    ] {
        let resp = app
            .browser
            .request(method.clone(), app.url(path))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert!(resp.headers().get("allow").is_some(), "{method} {path}");
        assert_eq!(json_of(resp).await["error"]["title"], "Method not allowed");
    }
    let before = app.ehr.ehr.requests().len();
    let head = app
        .browser
        .head(app.url("/standalone/app"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(app.ehr.ehr.requests().len(), before, "HEAD fetched nothing");
    let list = json_of(app.get("/launches?format=json").await).await;
    assert_eq!(list["launches"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn callback_edge_cases_say_what_arrived() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let (status, json) = app.get_json("/callback?code=c&state=x&state=y").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(diagnosis_ids(&json), ["callback.missing_state"]);
    let summary = json["error"]["diagnoses"][0]["summary"].as_str().unwrap();
    assert!(summary.contains("2 state values"), "{summary}");

    let (_, json) = app
        .get_json("/callback?error=access_denied&error_description=User+said+no&state=unknown")
        .await;
    let id = &diagnosis_ids(&json)[0];
    assert_eq!(
        evidence(&json, id, "error received").as_deref(),
        Some("access_denied"),
        "{json:#}"
    );
    assert_eq!(
        evidence(&json, id, "error_description received").as_deref(),
        Some("User said no")
    );
}
