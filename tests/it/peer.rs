//! Launches against an independent authorization server: oidc-provider (tests/peer/server.mjs),
//! a certified OpenID Connect implementation with SMART discovery, context and FHIR reads
//! added. Our fake EHR was written by the same hands as the client; where the two disagree,
//! this peer is the judge. Needs Node and `npm ci` in tests/peer (tests/run.sh does both).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use smart_launch_doctor::config::Config;
use smart_launch_doctor::{AppState, app};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::support::{
    Auth, CLIENT_ID, TRICKY_SECRET, browser, config_toml, diagnosis_ids, has, key_file, location,
    query_value,
};

/// The running peer; killed when dropped (and it exits by itself when its stdin closes).
struct Peer {
    origin: String,
    _child: Child,
    _stdin: ChildStdin,
}

/// Starts `node tests/peer/server.mjs` with `clients` on a free loopback port.
async fn spawn_peer(clients: Value) -> Peer {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    assert!(
        root.join("tests/peer/node_modules/oidc-provider").is_dir(),
        "the peer is not installed: run tests/run.sh (npm ci in tests/peer)"
    );
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let config = std::env::temp_dir().join(format!("sld-peer-{}-{n}.json", std::process::id()));
    let body = json!({ "port": 0, "clients": clients });
    std::fs::write(&config, body.to_string()).expect("write peer config");
    let mut child = Command::new("node")
        .arg(root.join("tests/peer/server.mjs"))
        .arg(&config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs (the peer needs Node 20 or later)");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    // Waits for the ready line (an event, not a guess); generous because Node generates an RSA
    // key at start-up while the rest of the suite keeps both cores busy.
    let ready = tokio::time::timeout(Duration::from_secs(90), lines.next_line())
        .await
        .expect("the peer is ready within 90 s")
        .expect("read the peer's stdout")
        .expect("the peer printed its ready line");
    let ready: Value = serde_json::from_str(&ready).expect("ready line is JSON");
    assert_eq!(ready["ready"], true, "{ready}");
    let _ = std::fs::remove_file(&config);
    Peer {
        origin: format!("http://127.0.0.1:{}", ready["port"]),
        _stdin: child.stdin.take().expect("stdin"),
        _child: child,
    }
}

/// The app configured against the peer, and a browser.
struct World {
    base: String,
    browser: reqwest::Client,
    peer: Peer,
}

/// How the peer registers the client, and what the app is configured with.
struct PeerSetup {
    auth: Auth,
    /// The app's secret; the peer always holds `TRICKY_SECRET`.
    app_secret: &'static str,
    /// How the peer registers the client, when not as the app is configured.
    registered_as: Option<Auth>,
}

impl PeerSetup {
    fn new(auth: Auth) -> Self {
        PeerSetup {
            auth,
            app_secret: TRICKY_SECRET,
            registered_as: None,
        }
    }
}

impl World {
    async fn start(setup: PeerSetup) -> World {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let base = format!("http://127.0.0.1:{}", addr.port());
        let mut client = json!({
            "client_id": CLIENT_ID,
            "redirect_uris": [format!("{base}/callback")],
        });
        let mut app_secret = None;
        match setup.registered_as.unwrap_or(setup.auth) {
            Auth::None => client["token_endpoint_auth_method"] = json!("none"),
            Auth::Basic | Auth::Post => {
                let method = if matches!(setup.auth, Auth::Basic) {
                    "client_secret_basic"
                } else {
                    "client_secret_post"
                };
                client["token_endpoint_auth_method"] = json!(method);
                client["client_secret"] = json!(TRICKY_SECRET);
                app_secret = Some(setup.app_secret.to_string());
            }
            Auth::Jwt(alg) => {
                let (path, kid, jwks) = key_file(alg);
                client["token_endpoint_auth_method"] = json!("private_key_jwt");
                client["token_endpoint_auth_signing_alg"] = json!(alg);
                client["jwks"] = jwks;
                app_secret = Some(format!(
                    "private_key = {}\nkey_id = {}\nalg = \"{alg}\"",
                    json!(path.display().to_string()),
                    json!(kid)
                ));
            }
        }
        if matches!(setup.auth, Auth::None) {
            app_secret = None;
        }
        let peer = spawn_peer(json!([client])).await;
        let toml = config_toml(addr.port(), &peer.origin, setup.auth, app_secret.as_deref());
        let config = Config::from_toml(&toml, "test", addr).expect("config");
        let state = AppState::new(config).expect("state");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app(state)).await;
        });
        World {
            base,
            browser: browser(),
            peer,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, url: &str) -> reqwest::Response {
        self.browser.get(url).send().await.expect("request")
    }

    async fn get_json(&self, path: &str) -> Value {
        let resp = self
            .browser
            .get(self.url(path))
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json().await.expect("json")
    }

    /// A standalone launch: through the peer's authorize, its scripted sign-in and consent, back
    /// to our callback, ending on the result's JSON twin.
    async fn standalone_result(&self) -> Value {
        let resp = self.get(&self.url("/standalone/app")).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let mut next = location(&resp);
        assert!(next.starts_with(&self.peer.origin), "to the peer: {next}");
        for _ in 0..6 {
            let resp = self.get(&next).await;
            assert!(
                resp.status().is_redirection(),
                "the peer answered {} at {next}: {}",
                resp.status(),
                resp.text().await.unwrap_or_default()
            );
            // oidc-provider sends relative Locations, which a browser resolves.
            let here = url::Url::parse(&next).expect("url");
            next = here.join(&location(&resp)).expect("location").to_string();
            if !next.starts_with(&self.peer.origin) {
                break;
            }
        }
        assert!(
            next.starts_with(&self.url("/callback?")),
            "back at our callback: {next}"
        );
        assert_eq!(
            query_value(&next, "iss"),
            self.peer.origin,
            "the peer sends RFC 9207 iss"
        );
        let resp = self.get(&next).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "callback answers 303");
        self.get_json(&location(&resp)).await
    }

    /// Presses Refresh on the result page; returns the result's JSON twin afterwards.
    async fn refresh(&self, json: &Value) -> Value {
        let path = format!("/launches/{}", json["id"].as_str().unwrap());
        let page = self.get(&self.url(&path)).await.text().await.unwrap();
        let marker = "name=\"csrf\" value=\"";
        let at = page.find(marker).expect("refresh form") + marker.len();
        let csrf = page[at..].split('"').next().unwrap().to_string();
        let resp = self
            .browser
            .post(self.url(&format!("{path}/refresh")))
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        self.get_json(&path).await
    }
}

/// Signed in with a verified id_token, the practitioner and the patient read from the peer.
fn assert_signed_in(json: &Value, peer: &Peer) {
    assert_eq!(json["outcome"], "success", "{json:#}");
    // oidc-provider 9 sends no `Pragma: no-cache` (OAuth 2.1 dropped it; RFC 6749 §5.1 and
    // Inferno require it): that warning; and the peer runs on plain http at 127.0.0.1: that
    // note, ranked last.
    assert_eq!(
        diagnosis_ids(json),
        ["server.token_pragma", "launch.insecure_iss"],
        "{:?}",
        diagnosis_ids(json)
    );
    assert_eq!(json["identity"]["verified"], true);
    assert_eq!(
        json["identity"]["fhir_user"],
        format!("{}/Practitioner/practitioner-1", peer.origin)
    );
    assert_eq!(json["identity"]["resource_type"], "Practitioner");
    assert_eq!(json["identity"]["name"], "Dr. Otto Peer");
    assert_eq!(json["patient"]["id"], "peer-patient-1");
    assert_eq!(json["token_response"]["need_patient_banner"], true);
    assert!(json["token_response"]["refresh_token"].is_string());
    // The server scorecard of a conformant launch: every observed assertion passed.
    let checks = json["conformance"].as_array().expect("conformance");
    assert!(checks.len() >= 15, "{checks:#?}");
    let failed: Vec<&Value> = checks.iter().filter(|c| c["passed"] != true).collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(failed[0]["id"], "server.token_pragma");
    assert_eq!(failed[0]["level"], "warning");
}

fn refresh_outcomes(json: &Value) -> Vec<String> {
    json["refreshes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| r["outcome"].as_str().unwrap_or("?").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
#[ignore = "needs the node peer: tests/run.sh installs it"]
async fn peer_public_client_with_pkce_signs_in_and_refreshes_twice() {
    let world = World::start(PeerSetup::new(Auth::None)).await;
    let json = world.standalone_result().await;
    assert_signed_in(&json, &world.peer);
    // oidc-provider rotates a public client's refresh token: the second refresh proves we kept
    // the newest one.
    let once = world.refresh(&json).await;
    let twice = world.refresh(&once).await;
    assert_eq!(
        refresh_outcomes(&twice),
        ["success", "success"],
        "{twice:#}"
    );
}

#[tokio::test]
#[ignore = "needs the node peer: tests/run.sh installs it"]
async fn peer_accepts_our_basic_encoding_of_a_secret_with_reserved_characters() {
    let world = World::start(PeerSetup::new(Auth::Basic)).await;
    let json = world.standalone_result().await;
    assert_signed_in(&json, &world.peer);
    assert_eq!(refresh_outcomes(&world.refresh(&json).await), ["success"]);
}

#[tokio::test]
#[ignore = "needs the node peer: tests/run.sh installs it"]
async fn peer_accepts_client_secret_post() {
    let world = World::start(PeerSetup::new(Auth::Post)).await;
    let json = world.standalone_result().await;
    assert_signed_in(&json, &world.peer);
    assert_eq!(refresh_outcomes(&world.refresh(&json).await), ["success"]);
}

#[tokio::test]
#[ignore = "needs the node peer: tests/run.sh installs it"]
async fn peer_accepts_private_key_jwt_with_rs384() {
    let world = World::start(PeerSetup::new(Auth::Jwt("RS384"))).await;
    let json = world.standalone_result().await;
    assert_signed_in(&json, &world.peer);
    assert_eq!(refresh_outcomes(&world.refresh(&json).await), ["success"]);
}

#[tokio::test]
#[ignore = "needs the node peer: tests/run.sh installs it"]
async fn peer_accepts_private_key_jwt_with_es384() {
    let world = World::start(PeerSetup::new(Auth::Jwt("ES384"))).await;
    let json = world.standalone_result().await;
    assert_signed_in(&json, &world.peer);
    assert_eq!(refresh_outcomes(&world.refresh(&json).await), ["success"]);
}

#[tokio::test]
#[ignore = "needs the node peer: tests/run.sh installs it"]
async fn peer_rejecting_a_wrong_secret_is_token_bad_client_credentials() {
    let world = World::start(PeerSetup {
        app_secret: "not-the-secret",
        ..PeerSetup::new(Auth::Basic)
    })
    .await;
    let json = world.standalone_result().await;
    assert_eq!(json["outcome"], "error");
    assert_eq!(json["step"], "token");
    assert!(has(&json, "token.bad_client_credentials"), "{json:#}");
}

#[tokio::test]
#[ignore = "needs the node peer: tests/run.sh installs it"]
async fn peer_public_app_registered_as_confidential_is_client_type_mismatch() {
    // The peer has the client as client_secret_basic; the app is configured public. The peer
    // issues a code for it, then answers the secret-less exchange with a bare invalid_client.
    let world = World::start(PeerSetup {
        registered_as: Some(Auth::Basic),
        ..PeerSetup::new(Auth::None)
    })
    .await;
    let json = world.standalone_result().await;
    assert_eq!(json["step"], "token", "{json:#}");
    assert!(has(&json, "token.client_type_mismatch"), "{json:#}");
    assert!(!has(&json, "token.bad_client_credentials"), "{json:#}");
}

/// `check` against the peer: the credential probe tells right from wrong, for each method.
async fn peer_check(setup: PeerSetup) -> Value {
    let world = World::start(setup).await;
    world.get_json("/check/app").await
}

#[tokio::test]
#[ignore = "needs the node peer: tests/run.sh installs it"]
async fn peer_check_accepts_right_credentials_and_reports_rfc6749_encoding() {
    let json = peer_check(PeerSetup::new(Auth::Basic)).await;
    assert_eq!(json["credentials"]["verdict"], "accepted", "{json:#}");
    assert_eq!(json["credentials"]["basic_encoding"], "rfc6749");
    for auth in [Auth::None, Auth::Post, Auth::Jwt("ES384")] {
        let json = peer_check(PeerSetup::new(auth)).await;
        assert_eq!(
            json["credentials"]["verdict"], "accepted",
            "{auth:?}: {json:#}"
        );
    }
}

#[tokio::test]
#[ignore = "needs the node peer: tests/run.sh installs it"]
async fn peer_check_rejects_a_wrong_secret() {
    for auth in [Auth::Basic, Auth::Post] {
        let json = peer_check(PeerSetup {
            app_secret: "not-the-secret",
            ..PeerSetup::new(auth)
        })
        .await;
        assert_eq!(
            json["credentials"]["verdict"], "rejected",
            "{auth:?}: {json:#}"
        );
        assert!(
            has(&json, "token.bad_client_credentials"),
            "{:?}",
            diagnosis_ids(&json)
        );
    }
}
