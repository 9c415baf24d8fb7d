//! Bad-input sweep: generated requests over every route (malformed, oversized, unicode,
//! duplicated parameters, hostile `iss` values, garbage bodies and headers). Never a 5xx or a
//! panic, and no request reaches the EHR unless the `iss` is the registered one.

use proptest::prelude::*;
use proptest::test_runner::{Config as PropConfig, TestRunner};
use reqwest::Method;

use crate::support::{Auth, Setup, TestApp};

fn hostile_iss(canary: u16) -> impl Strategy<Value = String> {
    prop_oneof![
        Just(format!("http://127.0.0.1:{canary}/fhir")),
        Just(format!("http://localhost:{canary}/fhir/")),
        Just(format!("http://[::ffff:127.0.0.1]:{canary}/fhir")),
        Just("javascript:alert(1)".to_string()),
        Just("file:///etc/passwd".to_string()),
        Just("http://169.254.169.254/latest/meta-data".to_string()),
        Just("http://[::1]:1/fhir".to_string()),
        Just("https://evil.example/fhir?x=1#frag".to_string()),
        Just("http://127.0.0.1:1/fhir".to_string()),
        Just(String::new()),
        "\\PC{0,40}",
        "[a-z]{1,8}://[a-z0-9.]{1,20}/[a-z/]{0,20}",
    ]
}

fn value(canary: u16) -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,60}",
        "[ -~]{0,20}",
        Just("x".repeat(6000)),
        Just("%00%ff%fe".to_string()),
        hostile_iss(canary),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("iss"),
        Just("launch"),
        Just("state"),
        Just("code"),
        Just("error"),
        Just("error_description"),
        Just("error_uri"),
        Just("reveal"),
        Just("format"),
        Just("csrf"),
        Just("client_id"),
        Just("auth"),
        Just("client_secret"),
        Just("scope"),
    ]
    .prop_map(str::to_string)
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/".to_string()),
        Just("/launch".to_string()),
        Just("/callback".to_string()),
        Just("/launches".to_string()),
        Just("/gallery".to_string()),
        Just("/healthz".to_string()),
        Just("/.well-known/jwks.json".to_string()),
        Just("/standalone/app".to_string()),
        "[a-zA-Z0-9%._~-]{0,30}".prop_map(|s| format!("/standalone/{s}")),
        "[a-zA-Z0-9%._~-]{0,30}".prop_map(|s| format!("/launches/{s}")),
        "[a-zA-Z0-9%._~-]{0,30}".prop_map(|s| format!("/launches/{s}/report.md")),
        "[a-zA-Z0-9%._~-]{0,30}".prop_map(|s| format!("/check/{s}")),
        "[a-zA-Z0-9%._~/-]{0,40}".prop_map(|s| format!("/{s}")),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<String>,
    accept: &'static str,
    cookie: Option<String>,
}

fn case(canary: u16) -> impl Strategy<Value = Case> {
    let methods = prop_oneof![Just(Method::GET), Just(Method::POST)];
    let post_paths = prop_oneof![
        Just("/standalone".to_string()),
        Just("/check".to_string()),
        Just("/gallery/works-post".to_string()),
        Just("/launches/x/refresh".to_string())
    ];
    // Half the cases are EHR launches with a hostile iss, the rest anything.
    let query = prop_oneof![
        prop::collection::vec((key(), value(canary)), 0..6),
        (
            hostile_iss(canary),
            value(canary),
            prop::collection::vec((key(), value(canary)), 0..3)
        )
            .prop_map(|(iss, launch, mut rest)| {
                rest.insert(0, ("launch".to_string(), launch));
                rest.insert(0, ("iss".to_string(), iss));
                rest
            }),
    ];
    let get_path = prop_oneof![3 => Just("/launch".to_string()), 1 => Just("/callback".to_string()), 3 => path()];
    (
        methods,
        get_path,
        post_paths,
        query,
        prop::option::of(prop_oneof!["\\PC{0,200}", Just("a=".repeat(40_000))]),
        prop_oneof![
            Just("text/html"),
            Just("application/json"),
            Just("*/*"),
            Just("\u{1}garbage")
        ],
        prop::option::of("[ -~]{0,80}"),
    )
        .prop_map(
            |(method, get_path, post_path, query, body, accept, cookie)| {
                let path = if method == Method::POST {
                    post_path
                } else {
                    get_path
                };
                Case {
                    method,
                    path,
                    query,
                    body,
                    accept,
                    cookie,
                }
            },
        )
}

/// A listener no request may reach: every connection it accepts is counted.
fn canary() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(conn);
        }
    });
    (port, hits)
}

#[test]
fn no_generated_request_gets_a_5xx_or_reaches_an_unregistered_iss() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (canary_port, canary_hits) = canary();
    // The rate limit is off so that every generated launch reaches the code under test.
    let mut setup = Setup::new(Auth::None);
    setup.extra_toml = "launch_rate_limit_per_minute = 0\n".into();
    let app = rt.block_on(TestApp::start(setup));
    let registered = app.ehr.fhir_base();
    // No connection reuse: after a refused oversized body the server closes the connection,
    // and a pooled connection would then fail the next request for a reason that is not ours.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut runner = TestRunner::new(PropConfig {
        cases: 500,
        failure_persistence: None,
        ..PropConfig::default()
    });
    runner
        .run(&case(canary_port), |c| {
            let before = asked(&app);
            let status = rt.block_on(async {
                let mut url = url::Url::parse(&app.url(&c.path))
                    .unwrap_or_else(|_| url::Url::parse(&app.url("/")).unwrap());
                for (k, v) in &c.query {
                    url.query_pairs_mut().append_pair(k, v);
                }
                let mut req = client
                    .request(c.method.clone(), url)
                    .header("accept", c.accept);
                if let Some(cookie) = &c.cookie {
                    req = req.header("cookie", cookie);
                }
                if let Some(body) = &c.body {
                    req = req
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body.clone());
                }
                match req.send().await {
                    Ok(resp) => resp.status().as_u16(),
                    // reqwest refused to build it (e.g. a header value): nothing was sent.
                    Err(e) if e.is_builder() => 400,
                    Err(e) => panic!("the app dropped the connection: {e}"),
                }
            });
            prop_assert!(status < 500, "{} {} -> {status}", c.method, c.path);
            prop_assert_eq!(
                canary_hits.load(std::sync::atomic::Ordering::SeqCst),
                0,
                "an unregistered target was contacted: {:?}",
                c
            );
            let touched_registered = c
                .query
                .iter()
                .any(|(k, v)| k == "iss" && v.trim_end_matches('/') == registered);
            if !touched_registered && c.path != "/standalone/app" {
                prop_assert_eq!(asked(&app), before, "no outbound request for {:?}", c);
            }
            Ok(())
        })
        .unwrap();
}

/// Requests the EHR received, less the OpenID documents: a launch that asks for `openid` warms
/// those in the background, and that warm-up may land while a later case runs.
fn asked(app: &TestApp) -> usize {
    app.ehr
        .ehr
        .requests()
        .iter()
        .filter(|r| !r.path.contains("openid-configuration") && !r.path.contains("jwks"))
        .count()
}
