//! A strict fake SMART on FHIR EHR: the other side of the wire.
//!
//! It serves discovery, authorize and token, written from the specs (SMART App Launch 2.2,
//! RFC 6749, RFC 7636) on their own. Nothing here imports the client's code: a shared type
//! or helper would let one bug confirm itself on both sides. Every request is recorded and
//! every deviation by the client is written down as a violation, so tests can assert on both.
//! All routes live under a configurable path prefix (`""` in tests, `/practice` when the app
//! serves it as a built-in practice EHR).

mod authorize;
mod client_auth;
mod discovery;
mod faults;
mod token;
mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use http::StatusCode;
use url::Url;

pub use faults::{CannedAnswer, Faults};

/// Route paths, relative to the path prefix; the only place they are spelled out.
pub mod paths {
    /// FHIR base, relative to the prefix.
    pub const FHIR: &str = "/fhir";
    /// SMART discovery document.
    pub const SMART_CONFIGURATION: &str = "/fhir/.well-known/smart-configuration";
    /// FHIR CapabilityStatement, the discovery fallback.
    pub const METADATA: &str = "/fhir/metadata";
    /// OAuth authorization endpoint.
    pub const AUTHORIZE: &str = "/auth/authorize";
    /// OAuth token endpoint.
    pub const TOKEN: &str = "/auth/token";
    /// A second token endpoint, named only by the CapabilityStatement under the
    /// `metadata_disagrees` fault (404 otherwise).
    pub const TOKEN_LEGACY: &str = "/auth/token-legacy";
    /// The `smart_style_url` target.
    pub const SMART_STYLE: &str = "/smart-style.json";
}

/// Patient put in context by a standalone launch that asks for `launch/patient`.
pub const STANDALONE_PATIENT: &str = "smart-1288992";

/// Largest request body the fake reads; anything bigger gets 413.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How a registered client authenticates at the token endpoint.
#[derive(Clone, Debug)]
pub enum ClientAuth {
    /// Public client: `client_id` in the body, no secret.
    None,
    /// `client_secret_basic` with this secret.
    SecretBasic(String),
    /// `client_secret_post` with this secret.
    SecretPost(String),
}

/// A client registered with the fake EHR.
#[derive(Clone, Debug)]
pub struct PracticeClient {
    /// The `client_id`.
    pub client_id: String,
    /// How it must authenticate at the token endpoint.
    pub auth: ClientAuth,
    /// Registered redirect URIs, compared byte for byte.
    pub redirect_uris: Vec<String>,
}

/// Everything the fake EHR is configured with.
#[derive(Clone, Debug, Default)]
pub struct PracticeOptions {
    /// Registered clients.
    pub clients: Vec<PracticeClient>,
    /// Faults to produce from the start.
    pub faults: Faults,
    /// `""` in tests, `"/practice"` later. All routes live under it.
    pub path_prefix: String,
}

/// One request as the fake received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Path, prefix included.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Headers in received order (names lower-case).
    pub headers: Vec<(String, String)>,
    /// Body, lossily decoded as UTF-8.
    pub body: String,
}

/// Patient and encounter a launch puts in context.
#[derive(Clone, Debug, Default)]
struct LaunchContext {
    patient: Option<String>,
    encounter: Option<String>,
}

/// What authorize remembers about an issued code.
#[derive(Clone, Debug)]
struct IssuedCode {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    scope: String,
    context: LaunchContext,
    expires_at: Instant,
    used: bool,
    /// Refresh token issued from this code, revoked if the code is replayed (RFC 6749 §4.1.2).
    refresh_token: Option<String>,
}

/// What a refresh token stands for.
#[derive(Clone, Debug)]
struct RefreshGrant {
    client_id: String,
    scope: String,
    context: LaunchContext,
}

/// Mutable state behind the mutex.
#[derive(Debug, Default)]
struct EhrState {
    clients: Vec<PracticeClient>,
    faults: Faults,
    origin: Option<Url>,
    launches: HashMap<String, LaunchContext>,
    codes: HashMap<String, IssuedCode>,
    refresh_tokens: HashMap<String, RefreshGrant>,
    requests: Vec<RecordedRequest>,
    violations: Vec<String>,
    exchanged_codes: usize,
}

impl EhrState {
    /// Notes a spec deviation by the client.
    fn violation(&mut self, message: impl Into<String>) {
        let message = message.into();
        tracing::warn!(violation = %message, "fake EHR saw a spec deviation");
        self.violations.push(message);
    }

    fn client(&self, client_id: &str) -> Option<PracticeClient> {
        self.clients
            .iter()
            .find(|c| c.client_id == client_id)
            .cloned()
    }
}

/// The fake EHR: cheap to clone, all clones share one state.
#[derive(Clone)]
pub struct Ehr {
    inner: Arc<Mutex<EhrState>>,
    prefix: Arc<str>,
}

impl Ehr {
    /// Builds a fake EHR; call [`Ehr::set_origin`] before absolute URLs matter.
    pub fn new(opts: PracticeOptions) -> Self {
        let state = EhrState {
            clients: opts.clients,
            faults: opts.faults,
            ..EhrState::default()
        };
        Self {
            inner: Arc::new(Mutex::new(state)),
            prefix: normalize_prefix(&opts.path_prefix).into(),
        }
    }

    /// Runs `f` with the state locked; the lock never outlives the call, so never an `.await`.
    fn with<R>(&self, f: impl FnOnce(&mut EhrState) -> R) -> R {
        // A panic elsewhere must not take the fake down with it: use the state as it is.
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    /// The router serving every route under the path prefix; it carries its own state.
    pub fn router(&self) -> Router {
        let at = |path: &str| format!("{}{}", self.prefix, path);
        Router::new()
            .route(
                &at(paths::SMART_CONFIGURATION),
                get(discovery::smart_configuration),
            )
            .route(&at(paths::METADATA), get(discovery::metadata))
            .route(&at(paths::SMART_STYLE), get(discovery::smart_style))
            .route(&at(paths::AUTHORIZE), get(authorize::authorize))
            .route(&at(paths::TOKEN), post(token::token))
            .route(&at(paths::TOKEN_LEGACY), post(token::token_legacy))
            .route(&at("/{*rest}"), any(not_found))
            .layer(middleware::from_fn_with_state(self.clone(), record))
            .with_state(self.clone())
    }

    /// Sets the externally visible origin, e.g. `http://127.0.0.1:PORT`.
    pub fn set_origin(&self, origin: Url) {
        self.with(|s| s.origin = Some(origin));
    }

    /// The normalised path prefix (`""` or `/something`, no trailing slash).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Absolute URL of `path` (one of [`paths`]) under origin and prefix.
    pub fn url(&self, path: &str) -> String {
        let origin = self.with(|s| s.origin.clone());
        let origin = origin
            .as_ref()
            .map_or("http://localhost", |o| o.as_str().trim_end_matches('/'))
            .to_owned();
        format!("{origin}{}{path}", self.prefix)
    }

    /// Origin + prefix + `/fhir`, without a trailing slash.
    pub fn fhir_base(&self) -> String {
        self.url(paths::FHIR)
    }

    /// Replaces the active faults.
    pub fn set_faults(&self, faults: Faults) {
        self.with(|s| s.faults = faults);
    }

    /// The active faults.
    pub fn faults(&self) -> Faults {
        self.with(|s| s.faults.clone())
    }

    /// Mints an opaque, random EHR launch code for this patient (and encounter).
    pub fn new_launch(&self, patient: &str, encounter: Option<&str>) -> String {
        let code = wire::random_token();
        let context = LaunchContext {
            patient: Some(patient.to_owned()),
            encounter: encounter.map(str::to_owned),
        };
        self.with(|s| s.launches.insert(code.clone(), context));
        code
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.with(|s| s.requests.clone())
    }

    /// Every spec deviation seen, human-readable.
    pub fn violations(&self) -> Vec<String> {
        self.with(|s| s.violations.clone())
    }

    /// Number of successful authorization code exchanges.
    pub fn exchanged_codes(&self) -> usize {
        self.with(|s| s.exchanged_codes)
    }

    /// Makes every outstanding authorization code expire now, to test expiry without waiting.
    pub fn expire_codes(&self) {
        let now = Instant::now();
        self.with(|s| s.codes.values_mut().for_each(|c| c.expires_at = now));
    }
}

/// `"practice/"` → `"/practice"`, `"/"` → `""`.
fn normalize_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

/// Records the request (body included) before any handler sees it.
async fn record(State(ehr): State<Ehr>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let (bytes, too_large) = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => (bytes, false),
        Err(_) => (Bytes::new(), true),
    };
    let recorded = RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    ehr.with(|s| s.requests.push(recorded));
    if too_large {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Anything else under the prefix: 404, but recorded like the rest.
async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found on the fake EHR").into_response()
}

/// A fake EHR serving on a loopback port in a background task.
pub struct RunningEhr {
    /// The EHR, for faults, launches and assertions.
    pub ehr: Ehr,
    /// `http://127.0.0.1:PORT`.
    pub origin: Url,
    task: tokio::task::JoinHandle<()>,
}

impl RunningEhr {
    /// Origin + prefix + `/fhir`, without a trailing slash.
    pub fn fhir_base(&self) -> String {
        self.ehr.fhir_base()
    }

    /// Stops serving (also happens when the test's runtime shuts down).
    pub fn stop(self) {
        self.task.abort();
    }
}

/// Binds 127.0.0.1:0, sets the origin, serves in a tokio task and returns at once.
pub async fn spawn(opts: PracticeOptions) -> std::io::Result<RunningEhr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let origin = Url::parse(&format!("http://{address}")).map_err(std::io::Error::other)?;
    let ehr = Ehr::new(opts);
    ehr.set_origin(origin.clone());
    let app = ehr.router();
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::warn!(%error, "fake EHR stopped serving");
        }
    });
    Ok(RunningEhr { ehr, origin, task })
}
