//! The single-flight TTL caches of discovery and of the id_token keys, against counting servers
//! on loopback: concurrent callers share one fetch, a failed fetch is shared with those waiting
//! for it but not cached, and entries expire after their time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use smart_launch_doctor::config::HttpSettings;
use smart_launch_doctor::diagnosis::{Diagnosis, classify};
use smart_launch_doctor::smart::http::{Outbound, Recorder};
use smart_launch_doctor::smart::net_policy::NetPolicy;
use smart_launch_doctor::smart::{discovery, id_token};
use tokio::io::AsyncWriteExt;

use crate::support::upstream::{RawRequest, raw, response};
use crate::support::{Auth, Setup, TestApp};

const CALLERS: usize = 20;

/// A client allowed to reach the loopback servers these tests run (`allow_private_networks`).
fn outbound() -> Outbound {
    let settings = HttpSettings {
        ca_pem: None,
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
        max_body_bytes: 1 << 20,
    };
    let policy = NetPolicy {
        allow_all: true,
        ..NetPolicy::default()
    };
    Outbound::new(settings, policy).unwrap()
}

/// A server that answers each request after `delay` (long enough for every caller to be
/// waiting) with `answer(path)`. Returns its origin and the log of requests.
async fn slow_server(
    delay: Duration,
    answer: fn(&str) -> Vec<u8>,
) -> (String, Arc<Mutex<Vec<RawRequest>>>) {
    raw(move |req, mut s| async move {
        tokio::time::sleep(delay).await;
        let _ = s.write_all(&answer(&req.path)).await;
        let _ = s.shutdown().await;
    })
    .await
}

fn count(log: &Mutex<Vec<RawRequest>>, suffix: &str) -> usize {
    log.lock()
        .unwrap()
        .iter()
        .filter(|r| r.path.ends_with(suffix))
        .count()
}

/// A diagnosis's catalogue id, as its JSON names it (independent of how the type stores it).
fn id(d: &Diagnosis) -> String {
    serde_json::to_value(d).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn server_error(_: &str) -> Vec<u8> {
    response(
        "500 Internal Server Error",
        &[("Content-Length", "4")],
        b"down",
    )
}

/// `CALLERS` concurrent discoveries of `iss` through one cache; each with its own recorder.
async fn discover_together(
    cache: &Arc<discovery::Cache>,
    iss: &str,
) -> Vec<(Result<Arc<discovery::Discovered>, String>, Recorder)> {
    let http = outbound();
    let tasks: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (http, cache, iss) = (http.clone(), cache.clone(), iss.to_string());
            tokio::spawn(async move {
                let rec = Recorder::default();
                let result = discovery::discover(&http, &cache, &iss, &rec)
                    .await
                    .map_err(|f| id(&classify::discovery_failure(&f)));
                (result, rec)
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test]
async fn single_flight_discovery_shares_a_failed_fetch_and_a_later_call_retries() {
    let (origin, log) = slow_server(Duration::from_millis(300), server_error).await;
    let iss = format!("{origin}/fhir");
    let cache = Arc::new(discovery::Cache::new(Duration::from_secs(300)));

    let results = discover_together(&cache, &iss).await;
    assert_eq!(
        count(&log, "smart-configuration"),
        1,
        "one fetch for {CALLERS} waiting launches"
    );
    assert_eq!(count(&log, "/metadata"), 1);
    let diagnosis = results[0].0.clone().unwrap_err();
    for (result, rec) in &results {
        assert_eq!(
            result.as_ref().unwrap_err(),
            &diagnosis,
            "the same diagnosis for all"
        );
        assert_eq!(
            rec.exchanges().len(),
            2,
            "every launch's transcript shows the shared exchanges"
        );
    }

    // The failure is not cached: the next launch asks again.
    let rec = Recorder::default();
    let again = discovery::discover(&outbound(), &cache, &iss, &rec).await;
    assert_eq!(
        id(&classify::discovery_failure(&again.unwrap_err())),
        diagnosis
    );
    assert_eq!(count(&log, "smart-configuration"), 2);
}

fn smart_configuration(path: &str) -> Vec<u8> {
    if !path.ends_with("smart-configuration") {
        return response("404 Not Found", &[("Content-Length", "0")], b"");
    }
    let body = serde_json::json!({
        "authorization_endpoint": "https://ehr.example/authorize",
        "token_endpoint": "https://ehr.example/token",
        "capabilities": [], "grant_types_supported": [],
        "code_challenge_methods_supported": ["S256"],
    })
    .to_string();
    let len = body.len().to_string();
    response(
        "200 OK",
        &[
            ("Content-Type", "application/json"),
            ("Content-Length", &len),
        ],
        body.as_bytes(),
    )
}

#[tokio::test]
async fn single_flight_discovery_is_cached_until_its_time_to_live_ends() {
    let (origin, log) = slow_server(Duration::from_millis(200), smart_configuration).await;
    let iss = format!("{origin}/fhir");
    let cache = Arc::new(discovery::Cache::new(Duration::from_secs(1)));

    let results = discover_together(&cache, &iss).await;
    assert!(results.iter().all(|(r, _)| r.is_ok()), "{:?}", results[0].0);
    assert_eq!(count(&log, "smart-configuration"), 1);
    let cached = discovery::discover(&outbound(), &cache, &iss, &Recorder::default()).await;
    assert!(cached.is_ok());
    assert_eq!(
        count(&log, "smart-configuration"),
        1,
        "served from the cache"
    );

    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let expired = discovery::discover(&outbound(), &cache, &iss, &Recorder::default()).await;
    assert!(expired.is_ok());
    assert_eq!(
        count(&log, "smart-configuration"),
        2,
        "fetched again after the TTL"
    );
}

#[tokio::test]
async fn single_flight_jwks_shares_a_failed_fetch_and_a_later_check_retries() {
    // The OpenID configuration answers, naming a JWKS on the same server; the JWKS is down.
    let own_origin = Arc::new(Mutex::new(String::new()));
    let origin_for_server = own_origin.clone();
    let (origin, log) = raw(move |req, mut s| {
        let origin = origin_for_server.lock().unwrap().clone();
        async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let bytes = if req.path.ends_with("openid-configuration") {
                let body =
                    serde_json::json!({"issuer": origin, "jwks_uri": format!("{origin}/jwks")})
                        .to_string();
                let len = body.len().to_string();
                response(
                    "200 OK",
                    &[
                        ("Content-Type", "application/json"),
                        ("Content-Length", &len),
                    ],
                    body.as_bytes(),
                )
            } else {
                server_error(&req.path)
            };
            let _ = s.write_all(&bytes).await;
            let _ = s.shutdown().await;
        }
    })
    .await;
    *own_origin.lock().unwrap() = origin.clone();

    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let token = format!(
        "{}.{}.c2ln",
        b64.encode(r#"{"alg":"RS256","kid":"k1"}"#),
        b64.encode(r#"{"iss":"x"}"#)
    );
    let cache = Arc::new(id_token::Cache::new(Duration::from_secs(300)));
    let check = |cache: Arc<id_token::Cache>, origin: String, token: String| async move {
        let expected = id_token::Expected {
            issuer: &origin,
            client_id: "app",
            now: 0,
        };
        let rec = Recorder::default();
        let (report, checked) = id_token::check(&outbound(), &cache, &expected, &token, &rec).await;
        let diagnoses = classify::identity::id_token(&checked);
        assert!(!report.verified);
        (diagnoses.iter().map(id).collect::<Vec<_>>(), rec)
    };
    let tasks: Vec<_> = (0..CALLERS)
        .map(|_| tokio::spawn(check(cache.clone(), origin.clone(), token.clone())))
        .collect();
    for t in tasks {
        let (ids, rec) = t.await.unwrap();
        assert_eq!(ids, ["id_token.config_unavailable"]);
        assert!(
            rec.exchanges().iter().any(|e| e.url.ends_with("/jwks")),
            "the failed JWKS exchange is in every transcript"
        );
    }
    assert_eq!(count(&log, "openid-configuration"), 1);
    assert_eq!(
        count(&log, "/jwks"),
        1,
        "one JWKS fetch for {CALLERS} checks"
    );

    let (ids, _) = check(cache.clone(), origin.clone(), token.clone()).await;
    assert_eq!(ids, ["id_token.config_unavailable"]);
    assert_eq!(
        count(&log, "openid-configuration"),
        1,
        "the configuration is cached"
    );
    assert_eq!(count(&log, "/jwks"), 2, "the failure was not");
}

/// A launch asking for `openid` warms the issuer's OpenID configuration and JWKS for its
/// callback; once a launch has found them cached, the discovery document remembers it and the
/// launches after it do not look again (each lookup was two cache reads per `/launch`).
#[tokio::test]
async fn a_launch_warms_the_openid_keys_and_the_document_remembers_once_they_are_warm() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let json = app.launch_to_result(app.open_ehr_launch().await).await;
    assert_eq!(json["outcome"], "success", "{json:#}");
    let d = app
        .state
        .core
        .discovery
        .peek(&app.ehr.fhir_base())
        .await
        .expect("discovery is cached");
    assert!(
        !d.oidc_warm.is_set(),
        "the first launch found the keys cold and fetched them"
    );
    let resp = app.open_ehr_launch().await;
    assert_eq!(resp.status(), reqwest::StatusCode::SEE_OTHER);
    assert!(d.oidc_warm.is_set(), "the second found them warm");
    let fetched = |path: &str| {
        app.ehr
            .ehr
            .requests()
            .iter()
            .filter(|r| r.path.ends_with(path))
            .count()
    };
    assert_eq!(fetched("/openid-configuration"), 1);
    assert_eq!(fetched("/auth/jwks"), 1);
}
