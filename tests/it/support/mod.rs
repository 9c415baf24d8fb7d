//! Test harness: spawns the strict fake EHR and the app on loopback ports, and gives the test a
//! browser-like client (cookie store, no automatic redirects) with helpers named after user
//! actions.
#![allow(dead_code)]

pub mod hostile;
pub mod practice_app;
pub mod upstream;

use std::net::SocketAddr;

use reqwest::{StatusCode, header};
use serde_json::Value;
use smart_launch_doctor::AppState;
use smart_launch_doctor::config::Config;
use smart_launch_doctor::practice::{
    self, ClientAuth, Faults, PracticeClient, PracticeOptions, RunningEhr,
};
use smart_launch_doctor::smart::net_policy::Loopback;

/// A secret with every character RFC 6749 §2.3.1 form-encoding changes.
pub const TRICKY_SECRET: &str = "s3:cr%t+ x";
pub const CLIENT_ID: &str = "test-app";
pub const SCOPE: &str = "launch openid fhirUser patient/*.read offline_access";

/// How the test app's registration authenticates.
#[derive(Clone, Copy, Debug)]
pub enum Auth {
    None,
    Basic,
    Post,
    /// private_key_jwt with a fresh key for this algorithm (RS384 or ES384).
    Jwt(&'static str),
}

/// A fresh signing key written to a PEM file: (path, kid, public JWKS).
pub fn key_file(alg: &str) -> (std::path::PathBuf, String, Value) {
    use smart_launch_doctor::smart::client_auth::{SigningKey, jwks};
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (pem, key) = SigningKey::generate(alg).expect("key");
    let dir = std::env::temp_dir().join(format!("sld-keys-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("key.pem");
    std::fs::write(&path, pem).expect("write key");
    (path, key.kid.clone(), jwks([&key]))
}

/// One test's world: the fake EHR, the app, and a browser.
pub struct TestApp {
    pub state: AppState,
    pub base: String,
    pub addr: SocketAddr,
    pub browser: reqwest::Client,
    pub ehr: RunningEhr,
    pub secret: Option<String>,
}

pub struct Setup {
    pub auth: Auth,
    /// The secret the app is configured with (the fake always expects `TRICKY_SECRET`).
    pub app_secret: Option<String>,
    pub faults: Faults,
    /// Replaces the registration's `iss` (e.g. a dead port).
    pub iss_override: Option<String>,
    /// Top-level configuration lines added to the app's TOML.
    pub extra_toml: String,
    /// private_key_jwt: configure this kid instead of the key's own.
    pub key_id: Option<String>,
    /// Replaces the registration's scope.
    pub scope: Option<&'static str>,
    /// Replaces the client id the app is configured with (the fake knows only `CLIENT_ID`).
    pub client_id: Option<&'static str>,
    /// Lines added to the registration (e.g. `backend = true`).
    pub registration_extra: &'static str,
    /// The app's outbound timeout (3 s unless a test needs the default's patience).
    pub http_timeout_secs: u64,
    /// Which loopback addresses the address policy counts as private (the hostile-EHR tests
    /// make 127.0.0.1 public and keep the rest of 127.0.0.0/8 private).
    pub loopback: Loopback,
    /// Wraps the fake EHR's router (a layer that delays or replaces answers: see `hostile`).
    pub wrap_ehr: fn(axum::Router) -> axum::Router,
    /// The clock launches are assessed and settled by (`monitor.clock`; a manual one: see
    /// `never_returned`).
    pub clock: smart_launch_doctor::monitor::Clock,
}

impl Setup {
    pub fn new(auth: Auth) -> Self {
        Setup {
            auth,
            app_secret: None,
            faults: Faults::default(),
            iss_override: None,
            extra_toml: String::new(),
            key_id: None,
            scope: None,
            client_id: None,
            registration_extra: "",
            http_timeout_secs: 3,
            loopback: Loopback::Standard,
            wrap_ehr: |router| router,
            clock: Default::default(),
        }
    }
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        // Like a browser, idle connections are let go before the server's idle limit
        // (`header_read_timeout_seconds`) closes them under a request.
        .pool_idle_timeout(std::time::Duration::from_secs(5))
        .build()
        .expect("client")
}

fn toml_str(s: &str) -> String {
    serde_json::to_string(s).expect("json string is a TOML basic string")
}

/// The app's configuration for a registration at `iss`.
pub fn config_toml(port: u16, iss: &str, auth: Auth, secret: Option<&str>) -> String {
    let (method, secret_line) = match auth {
        Auth::None => ("none", String::new()),
        // `secret` carries the key lines for private_key_jwt.
        Auth::Jwt(_) => ("private_key_jwt", secret.unwrap_or("").to_string()),
        Auth::Basic => (
            "client_secret_basic",
            format!(
                "client_secret = {}",
                toml_str(secret.unwrap_or(TRICKY_SECRET))
            ),
        ),
        Auth::Post => (
            "client_secret_post",
            format!(
                "client_secret = {}",
                toml_str(secret.unwrap_or(TRICKY_SECRET))
            ),
        ),
    };
    format!(
        "public_url = \"http://127.0.0.1:{port}\"\n\
         http_timeout_seconds = 3\n\
         practice_ehr = false\n\
         [[registration]]\nid = \"app\"\nname = \"Test app\"\niss = {}\nclient_id = \"{CLIENT_ID}\"\nauth = \"{method}\"\n{secret_line}\nscope = \"{SCOPE}\"\n",
        toml_str(iss)
    )
}

impl TestApp {
    pub async fn start(setup: Setup) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let base = format!("http://127.0.0.1:{}", addr.port());
        let key = match setup.auth {
            Auth::Jwt(alg) => Some(key_file(alg)),
            _ => None,
        };
        let auth = match (setup.auth, &key) {
            (Auth::Basic, _) => ClientAuth::SecretBasic(TRICKY_SECRET.into()),
            (Auth::Post, _) => ClientAuth::SecretPost(TRICKY_SECRET.into()),
            (Auth::Jwt(_), Some((_, _, jwks))) => ClientAuth::PrivateKeyJwt { jwks: jwks.clone() },
            _ => ClientAuth::None,
        };
        let options = PracticeOptions {
            clients: vec![PracticeClient {
                client_id: CLIENT_ID.into(),
                auth,
                redirect_uris: vec![format!("{base}/callback")],
            }],
            faults: setup.faults,
            path_prefix: String::new(),
        };
        let ehr = practice::spawn_with(options, setup.wrap_ehr)
            .await
            .expect("fake EHR");
        let iss = setup
            .iss_override
            .clone()
            .unwrap_or_else(|| ehr.fhir_base());
        let secret = match (setup.auth, &key) {
            (Auth::None, _) => None,
            (Auth::Jwt(alg), Some((path, kid, _))) => Some(format!(
                "private_key = {}\nkey_id = {}\nalg = \"{alg}\"",
                toml_str(&path.display().to_string()),
                toml_str(setup.key_id.as_deref().unwrap_or(kid))
            )),
            _ => Some(
                setup
                    .app_secret
                    .clone()
                    .unwrap_or_else(|| TRICKY_SECRET.to_string()),
            ),
        };
        let mut toml = setup.extra_toml.clone()
            + "\n"
            + config_toml(addr.port(), &iss, setup.auth, secret.as_deref()).as_str();
        toml = toml.replace(
            "http_timeout_seconds = 3\n",
            &format!("http_timeout_seconds = {}\n", setup.http_timeout_secs),
        );
        if let Some(id) = setup.client_id {
            toml = toml.replace(
                &format!("client_id = \"{CLIENT_ID}\""),
                &format!("client_id = \"{id}\""),
            );
        }
        toml = toml + setup.registration_extra + "\n";
        if let Some(scope) = setup.scope {
            toml = toml.replace(
                &format!("scope = \"{SCOPE}\""),
                &format!("scope = \"{scope}\""),
            );
        }
        let mut config = Config::from_toml(&toml, "test", addr).expect("config");
        config.loopback = setup.loopback;
        config.monitor.clock = setup.clock.clone();
        let state = AppState::new(config).expect("state");
        // Served as the binary serves it: hyper's own 414/431 get bodies, header-read timeout,
        // bounded connections.
        tokio::spawn(smart_launch_doctor::web::listener::serve(
            listener,
            state.clone(),
            std::future::pending(),
        ));
        TestApp {
            state,
            base,
            addr,
            browser: browser(),
            ehr,
            secret,
        }
    }

    /// A world whose fake EHR has `faults` from the start.
    pub async fn with_faults(auth: Auth, faults: Faults) -> TestApp {
        TestApp::start(Setup {
            faults,
            ..Setup::new(auth)
        })
        .await
    }

    /// The last token request the fake EHR received.
    pub fn token_request(&self) -> practice::RecordedRequest {
        token_request(&self.ehr)
    }

    /// Submits a form as the browser.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.browser
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .expect("request")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn resolve(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            self.url(path_or_url)
        }
    }

    pub async fn get(&self, path_or_url: &str) -> reqwest::Response {
        self.get_accepting(path_or_url, "text/html").await
    }

    pub async fn get_accepting(&self, path_or_url: &str, accept: &str) -> reqwest::Response {
        let url = self.resolve(path_or_url);
        self.browser
            .get(url)
            .header(header::ACCEPT, accept)
            .send()
            .await
            .expect("request")
    }

    pub async fn get_json(&self, path_or_url: &str) -> (StatusCode, Value) {
        let resp = self.get_accepting(path_or_url, "application/json").await;
        let status = resp.status();
        (status, resp.json().await.expect("json body"))
    }

    /// `/launch?iss=…&launch=…` as an EHR would open it.
    pub async fn open_ehr_launch(&self) -> reqwest::Response {
        let launch = self.ehr.ehr.new_launch("patient-123", Some("encounter-9"));
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("iss", &self.ehr.fhir_base())
            .append_pair("launch", &launch)
            .finish();
        self.get(&format!("/launch?{q}")).await
    }

    /// Follows redirects by hand through the authorization server back to our callback.
    /// Returns the callback URL (with code and state) and the app's answer to it.
    pub async fn through_authorize(
        &self,
        launch_resp: reqwest::Response,
    ) -> (String, reqwest::Response) {
        let authorize = location(&launch_resp);
        assert!(
            authorize.starts_with(self.ehr.origin.as_str().trim_end_matches('/')),
            "redirected to the EHR: {authorize}"
        );
        let ehr_resp = self.get(&authorize).await;
        assert_eq!(
            ehr_resp.status(),
            StatusCode::FOUND,
            "authorize answered {}",
            ehr_resp.status()
        );
        let callback = location(&ehr_resp);
        assert!(
            callback.starts_with(&self.url("/callback?")),
            "sent back to our callback: {callback}"
        );
        let resp = self.get(&callback).await;
        (callback, resp)
    }

    /// A standalone launch of the configured registration, ending on the result's JSON twin.
    pub async fn standalone_result(&self) -> Value {
        let resp = self.get("/standalone/app").await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        if !location(&resp).starts_with(self.ehr.origin.as_str().trim_end_matches('/')) {
            // Discovery failed: the app went straight to the result page.
            return self.get_json(&location(&resp)).await.1;
        }
        self.launch_to_result(resp).await
    }

    /// A whole launch ending on the result's JSON twin.
    pub async fn launch_to_result(&self, launch_resp: reqwest::Response) -> Value {
        let (_, resp) = self.through_authorize(launch_resp).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "callback answers 303");
        let result = location(&resp);
        assert!(result.starts_with("/launches/"), "{result}");
        self.settled_json(&result).await
    }

    /// The JSON twin of result `path` once its launch has finished: a slow launch (over 2 s)
    /// is pending at the token step for a while, behind the waiting page.
    pub async fn settled_json(&self, path: &str) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let (status, json) = self.get_json(path).await;
            assert_eq!(status, StatusCode::OK);
            let exchanging = json["outcome"] == "pending" && json["step"] == "token";
            if !exchanging || std::time::Instant::now() > deadline {
                return json;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    pub fn assert_no_violations(&self) {
        let v = self.ehr.ehr.violations();
        assert!(v.is_empty(), "the fake EHR saw spec deviations: {v:#?}");
    }
}

pub fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get(header::LOCATION)
        .unwrap_or_else(|| panic!("no Location on {} answer", resp.status()))
        .to_str()
        .expect("ascii location")
        .to_string()
}

/// The ids of a JSON twin's diagnoses (result or error shape).
pub fn diagnosis_ids(json: &Value) -> Vec<String> {
    let list = json
        .get("diagnoses")
        .or_else(|| json.pointer("/error/diagnoses"));
    list.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|d| d["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The ids of a JSON twin's error-severity diagnoses (what failed, without the warnings).
pub fn error_ids(json: &Value) -> Vec<String> {
    let list = json
        .get("diagnoses")
        .or_else(|| json.pointer("/error/diagnoses"));
    list.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|d| d["severity"] == "error")
                .filter_map(|d| d["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The value of evidence `label` in the diagnosis `id`.
pub fn evidence(json: &Value, id: &str, label: &str) -> Option<String> {
    let list = json
        .get("diagnoses")
        .or_else(|| json.pointer("/error/diagnoses"))?
        .as_array()?;
    let d = list.iter().find(|d| d["id"] == id)?;
    d["evidence"]
        .as_array()?
        .iter()
        .find(|e| e["label"] == label)?["value"]
        .as_str()
        .map(str::to_string)
}

/// The last token request `ehr` received.
pub fn token_request(ehr: &RunningEhr) -> practice::RecordedRequest {
    ehr.ehr
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path.ends_with("/token"))
        .expect("a token request")
}

/// The value of `name` in a form body or query string.
pub fn form_value(form: &str, name: &str) -> String {
    url::form_urlencoded::parse(form.as_bytes())
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no {name} in {form}"))
        .1
        .into_owned()
}

/// The value of query parameter `name` of `url`.
pub fn query_value(url: &str, name: &str) -> String {
    form_value(
        url::Url::parse(url).expect("url").query().unwrap_or(""),
        name,
    )
}

/// Whether the JSON twin carries diagnosis `id`.
pub fn has(json: &Value, id: &str) -> bool {
    diagnosis_ids(json).iter().any(|i| i == id)
}

/// A fake EHR with one public client (`CLIENT_ID`) whose redirect URI is `{app_base}/callback`.
pub async fn public_ehr(app_base: &str) -> RunningEhr {
    practice::spawn(PracticeOptions {
        clients: vec![PracticeClient {
            client_id: CLIENT_ID.into(),
            auth: ClientAuth::None,
            redirect_uris: vec![format!("{app_base}/callback")],
        }],
        faults: Faults::default(),
        path_prefix: String::new(),
    })
    .await
    .expect("fake EHR")
}
