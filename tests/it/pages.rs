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
    assert_eq!(
        json["error"]["title"], "The callback carries more than one state",
        "the headline names the duplicate, not a missing state"
    );

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

/// Every route of the app (src/web/paths.rs) with a request it can answer, by method and path;
/// the practice EHR (the other side of the wire) and the static assets are not the app's pages.
fn every_route() -> Vec<(Method, String, &'static str)> {
    vec![
        (Method::GET, "/".into(), "home"),
        (
            Method::GET,
            "/launch".into(),
            "EHR launch without iss (400)",
        ),
        (
            Method::GET,
            "/launch?iss=not-a-url&launch=x".into(),
            "bad iss (400)",
        ),
        (
            Method::GET,
            "/standalone/nope".into(),
            "unknown registration (404)",
        ),
        (
            Method::POST,
            "/standalone".into(),
            "ad-hoc form without token (403)",
        ),
        (
            Method::GET,
            "/callback".into(),
            "callback without state (400)",
        ),
        (
            Method::GET,
            "/callback?state=x&state=y".into(),
            "duplicated state",
        ),
        (Method::GET, "/launches".into(), "launches"),
        (Method::GET, "/launches/xyz".into(), "unknown launch (404)"),
        (
            Method::GET,
            "/launches/xyz/report.json".into(),
            "report of unknown launch",
        ),
        (
            Method::GET,
            "/launches/xyz/report.md".into(),
            "report of unknown launch",
        ),
        (
            Method::POST,
            "/launches/xyz/refresh".into(),
            "refresh of unknown launch",
        ),
        (Method::GET, "/.well-known/jwks.json".into(), "jwks"),
        (Method::GET, "/healthz".into(), "healthz"),
        (Method::GET, "/check/app".into(), "check"),
        (
            Method::GET,
            "/check/nope".into(),
            "check of unknown registration",
        ),
        (Method::POST, "/check".into(), "ad-hoc check without token"),
        (
            Method::GET,
            "/gallery".into(),
            "gallery (practice EHR off here)",
        ),
        (Method::POST, "/gallery/works-basic".into(), "gallery run"),
        (
            Method::GET,
            "/gallery/works-basic".into(),
            "gallery run by GET (405)",
        ),
        (Method::GET, "/no/such/page".into(), "404"),
        (Method::DELETE, "/launch".into(), "405"),
        (
            Method::HEAD,
            "/standalone/app".into(),
            "HEAD starts nothing",
        ),
    ]
}

#[tokio::test]
async fn every_route_answers_json_to_accept_and_to_format_json_errors_included() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let mut seen = Vec::new();
    for (method, path, what) in every_route() {
        let sep = if path.contains('?') { '&' } else { '?' };
        for (url, accept) in [
            (path.clone(), "application/json"),
            (
                format!("{path}{sep}format=json"),
                "text/html;q=0.5, */*;q=0.1",
            ),
        ] {
            let resp = app
                .browser
                .request(method.clone(), app.url(&url))
                .header("accept", accept)
                .send()
                .await
                .unwrap();
            let status = resp.status();
            let ct = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let short = &url[..url.len().min(60)];
            assert!(
                ct.starts_with("application/json"),
                "{what}: {method} {short} answered {status} {ct}"
            );
            let body = resp.bytes().await.unwrap();
            if method == Method::HEAD {
                assert!(body.is_empty());
                continue;
            }
            let json: Value = serde_json::from_slice(&body)
                .unwrap_or_else(|e| panic!("{what}: {method} {short}: {e}"));
            if status.is_client_error() || status.is_server_error() {
                assert_eq!(json["error"]["status"], status.as_u16(), "{what}: {json}");
                assert!(
                    !json["error"]["message"].as_str().unwrap_or("").is_empty(),
                    "{what}: {json}"
                );
            }
            seen.push(status.as_u16());
        }
    }
    for status in [200, 400, 404, 405, 415] {
        assert!(
            seen.contains(&status),
            "no route answered {status}: {seen:?}"
        );
    }
    // 414 is hyper's answer, before the router: asked both ways, it is JSON too.
    let long = format!("/launch?iss={}", "a".repeat(100_000));
    for (target, accept) in [
        (long.clone(), "application/json"),
        (format!("{long}&format=json"), "*/*"),
    ] {
        let (status, ct, body) = raw_get(app.addr, &target, accept).await;
        assert_eq!(status, 414);
        assert!(ct.starts_with("application/json"), "{ct}");
        let json: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["error"]["status"], 414, "{json}");
    }
}

/// A GET written by hand (reqwest refuses a URI over 64 KiB): status, content type and body.
async fn raw_get(addr: std::net::SocketAddr, target: &str, accept: &str) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET {target} HTTP/1.1\r\nhost: {addr}\r\naccept: {accept}\r\nconnection: close\r\n\r\n"
    );
    // hyper may answer and close before the whole request is written.
    let _ = tcp.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer).to_string();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let ct = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_string)
        })
        .unwrap_or_default();
    (status, ct, body.to_string())
}

#[tokio::test]
async fn a_too_large_form_gets_413_with_a_json_error() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let big = "a".repeat(100 * 1024);
    let resp = app
        .browser
        .post(app.url("/standalone?format=json"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("iss={big}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json_of(resp).await["error"]["status"], 413);
}

#[tokio::test]
async fn a_uri_too_long_gets_a_page_with_a_body() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let target = format!("/launch?iss={}", "a".repeat(100_000));
    let (status, ct, page) = raw_get(app.addr, &target, "text/html").await;
    assert_eq!(status, 414);
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(page.contains("<h1>Address too long</h1>"), "{page}");
}

#[tokio::test]
async fn a_launch_that_never_returns_is_a_failure_after_never_returned_after_seconds() {
    let app = TestApp::start(Setup {
        extra_toml: "never_returned_after_seconds = 1".into(),
        ..Setup::new(Auth::None)
    })
    .await;
    // The browser goes to the authorization server and never comes back.
    let started = app.get("/standalone/app").await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let (_, list) = app.get_json("/launches").await;
    let id = list["launches"][0]["id"].as_str().unwrap().to_string();
    let path = format!("/launches/{id}");
    let pending = app.get(&path).await.text().await.unwrap();
    if pending.contains("Launch in progress") {
        // While pending, the page already says what not coming back means and how to tell.
        assert!(pending.contains("Not back yet?"), "{pending}");
        assert!(pending.contains("The redirect URI is not registered exactly"));
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let json = loop {
        let (_, json) = app.get_json(&path).await;
        if json["outcome"] != "pending" {
            break json;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still pending: {json:#}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(json["outcome"], "error", "{json:#}");
    let d = json["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "authorize.never_returned")
        .unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(d["severity"], "error");
    assert_eq!(
        json["headline"], d["plain"],
        "the headline is the failure's sentence"
    );
    let entry = &json["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["step"] == "authorize")
        .unwrap_or_else(|| panic!("authorize entry: {json:#}"))["url"];
    assert!(
        entry.as_str().unwrap().contains("state=%5Bnot+kept%5D"),
        "{entry}"
    );
    let page = app.get(&path).await.text().await.unwrap();
    assert!(
        page.contains("The sign-in at the EHR did not finish (authorize step)"),
        "{page}"
    );
    assert!(page.contains("outcome-error"));
    assert!(page.contains("Retry the authorization request"));
    let (_, list) = app.get_json("/launches").await;
    assert_eq!(list["launches"][0]["outcome"], "error");
    let md = app
        .get(&format!("{path}/report.md"))
        .await
        .text()
        .await
        .unwrap();
    assert!(md.contains("failed at the authorize step"), "{md}");
}

#[tokio::test]
async fn the_markdown_report_of_a_success_lists_scope_patient_and_identity() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let json = app.standalone_result().await;
    assert_eq!(json["outcome"], "success", "{json:#}");
    let id = json["id"].as_str().unwrap();
    let md = app
        .get(&format!("/launches/{id}/report.md"))
        .await
        .text()
        .await
        .unwrap();
    assert!(md.contains("## Result"), "{md}");
    assert!(md.contains("- Granted scope: `"), "{md}");
    assert!(md.contains("- Patient in context: "), "{md}");
    assert!(md.contains("- Signed in as: "), "{md}");
    assert!(!md.contains("## Reproduce"), "{md}");
    if json["diagnoses"].as_array().unwrap().is_empty() {
        assert!(!md.contains("## Diagnoses"), "no empty heading: {md}");
    }
}

#[tokio::test]
async fn the_readme_example_configuration_starts_as_written() {
    let readme = include_str!("../../README.md");
    let start = readme.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let block = &readme[start..start + readme[start..].find("```").unwrap()];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = smart_launch_doctor::config::Config::from_toml(block, "README.md", addr)
        .unwrap_or_else(|e| panic!("the README's example configuration: {e}"));
    let state = smart_launch_doctor::AppState::new(config).expect("state");
    let router = smart_launch_doctor::app(state);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let client = crate::support::browser();
    let health = client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let home: Value = client
        .get(format!("http://{addr}/?format=json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        home["registrations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == "sandbox"),
        "{home}"
    );
}
