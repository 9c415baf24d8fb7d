//! The app with its built-in practice EHR on one loopback listener, driven over plain HTTP as a
//! browser would (no Chromium): the gallery, scorecard, backend and operations tests share it.

use reqwest::StatusCode;
use serde_json::Value;
use smart_launch_doctor::config::Config;
use smart_launch_doctor::smart::net_policy::Loopback;
use smart_launch_doctor::{AppState, app};

use super::location;

/// The value of the hidden input `name` in an HTML page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).map(|i| i + marker.len());
    let start = start.unwrap_or_else(|| panic!("no {name} in {html}"));
    html[start..].split('"').next().unwrap_or("").to_string()
}

/// Serves the app with `public_url` set to its own address and the practice EHR on, plus the
/// configuration lines `extra` (where `{base}` stands for that URL); returns its base URL and
/// state. Served with the peer address,
/// as `main` serves it, so the per-address limits see a client.
pub async fn serve_practice(extra: &str) -> (String, AppState) {
    serve_practice_with(extra, Loopback::Standard).await
}

/// [`serve_practice`] with the address policy's loopback rule `loopback` (the test seam binds
/// outbound connections to `lo`: nothing can leave this machine even if a check were broken).
pub async fn serve_practice_with(extra: &str, loopback: Loopback) -> (String, AppState) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let extra = extra.replace("{base}", &base);
    let toml = format!("public_url = \"{base}\"\npractice_ehr = true\n{extra}\n");
    let mut config = Config::from_toml(&toml, "test", addr).unwrap();
    config.loopback = loopback;
    let state = AppState::new(config).unwrap();
    let router = app(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, state)
}

/// The CSRF token of `page` (a path under `base` holding a form).
pub async fn csrf_of(b: &reqwest::Client, base: &str, page: &str) -> String {
    let html = b.get(format!("{base}{page}")).send().await.unwrap();
    hidden(&html.text().await.unwrap(), "csrf")
}

/// Follows a launch started by `start` (a 303 to the practice EHR under `prefix`): signs in,
/// follows the callback, and returns the result page's URL and its JSON twin.
pub async fn sign_in_and_follow(
    b: &reqwest::Client,
    base: &str,
    start: reqwest::Response,
    prefix: &str,
) -> (String, Value) {
    assert_eq!(start.status(), StatusCode::SEE_OTHER, "launch");
    let login = b.get(location(&start)).send().await.unwrap();
    let login = login.text().await.unwrap();
    let r = b
        .post(format!("{base}{prefix}/auth/login"))
        .form(&[
            ("pending", hidden(&login, "pending").as_str()),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "sign-in");
    let r = b.get(location(&r)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "callback");
    let result = format!("{base}{}", location(&r));
    let json = result_json(b, &result).await;
    (result, json)
}

/// The JSON twin of the result page at `url`.
pub async fn result_json(b: &reqwest::Client, url: &str) -> Value {
    let r = b.get(url).header("accept", "application/json").send();
    r.await.unwrap().json().await.unwrap()
}
