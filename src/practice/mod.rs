//! A strict fake SMART on FHIR EHR: the other side of the wire.
//!
//! It serves discovery, authorize, token (four client authentication methods, refresh and an
//! OpenID Connect id_token), its JWKS and a few FHIR reads behind the access token, written
//! from the specs (SMART App Launch 2.2, RFC 6749, RFC 7636, RFC 7523, OpenID Connect Core)
//! on their own. Nothing here imports the client's code: a shared type or helper would let one
//! bug confirm itself on both sides. Every request is recorded and every deviation by the
//! client is written down as a violation, so tests can assert on both.
//! All routes live under a configurable path prefix (`""` in tests, `/practice` when the app
//! serves it as a built-in practice EHR).
//!
//! As the practice EHR it also behaves like a real one for a person at a browser: a small chart
//! of made-up patients (`data`), a login page between authorize and the redirect (`login`), its
//! own page that starts EHR launches (`ehr_page`), and faults per client, so that many clients
//! with different faults share one running EHR (`settings`).

mod assertion;
mod authorize;
mod backend;
mod bounded;
mod client_auth;
mod data;
mod discovery;
mod ehr_page;
mod faults;
mod fhir;
mod html;
mod id_token;
mod introspect;
mod keys;
mod login;
mod refresh;
mod reply;
mod serve;
mod settings;
mod state;
mod token;
mod wire;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::middleware;
use axum::routing::{any, get, post};
use url::Url;

pub use faults::{CannedAnswer, Faults, IdTokenFault};
pub use serve::{RunningEhr, spawn, spawn_with};
pub use state::RecordedRequest;

use state::{EhrState, IssuedCode, LaunchContext, RefreshGrant};

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
    /// OpenID Connect discovery, under the FHIR base (the issuer).
    pub const OPENID_CONFIGURATION: &str = "/fhir/.well-known/openid-configuration";
    /// The fake's public id_token signing keys (JWK Set).
    pub const JWKS: &str = "/auth/jwks";
    /// A FHIR read: `Patient`, `Practitioner` or `Encounter` by id.
    pub const FHIR_READ: &str = "/fhir/{resource_type}/{id}";
    /// A FHIR search: `Patient?_count=…` (the Backend Services proof read).
    pub const FHIR_SEARCH: &str = "/fhir/{resource_type}";
    /// The login form's target (POST), when the login page is on.
    pub const LOGIN: &str = "/auth/login";
    /// RFC 7662 token introspection (POST).
    pub const INTROSPECT: &str = "/auth/introspect";
    /// The practice EHR's own page: patients, encounters, "Launch the app".
    pub const EHR: &str = "/ehr";
    /// Mints a launch code and sends the browser to the app (POST from [`EHR`]).
    pub const EHR_LAUNCH: &str = "/ehr/launch";
}

/// Patient put in context by a standalone launch that asks for `launch/patient` (unless the
/// user picks another on the login page): Amy Shaw, the first patient of the chart.
pub const STANDALONE_PATIENT: &str = "smart-1288992";

/// How a registered client authenticates at the token endpoint.
#[derive(Clone, Debug)]
pub enum ClientAuth {
    /// Public client: `client_id` in the body, no secret.
    None,
    /// `client_secret_basic` with this secret.
    SecretBasic(String),
    /// `client_secret_post` with this secret.
    SecretPost(String),
    /// `private_key_jwt` (SMART client-confidential-asymmetric): assertions signed with one of
    /// these public keys, a JWK Set `{"keys": [...]}`.
    PrivateKeyJwt {
        /// The registered JWK Set.
        jwks: serde_json::Value,
    },
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

impl PracticeClient {
    /// A client with this id, authentication and redirect URIs.
    pub fn new(client_id: impl Into<String>, auth: ClientAuth, redirect_uris: Vec<String>) -> Self {
        Self {
            client_id: client_id.into(),
            auth,
            redirect_uris,
        }
    }
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
            keys: keys::KeyRing::generate(),
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
            .route(
                &at(paths::AUTHORIZE),
                get(authorize::authorize).post(authorize::authorize_post),
            )
            .route(&at(paths::TOKEN), post(token::token))
            .route(&at(paths::TOKEN_LEGACY), post(token::token_legacy))
            .route(&at(paths::INTROSPECT), post(introspect::introspect))
            .route(
                &at(paths::OPENID_CONFIGURATION),
                get(discovery::openid_configuration),
            )
            .route(&at(paths::JWKS), get(discovery::jwks))
            .route(&at(paths::FHIR_READ), get(fhir::read))
            .route(&at(paths::FHIR_SEARCH), get(backend::search))
            .route(&at(paths::LOGIN), post(login::submit))
            .route(&at(paths::EHR), get(ehr_page::show))
            .route(&at(paths::EHR_LAUNCH), post(ehr_page::launch))
            .route(&at("/{*rest}"), any(serve::not_found))
            .layer(middleware::from_fn_with_state(
                self.clone(),
                discovery::cors,
            ))
            .layer(middleware::from_fn_with_state(self.clone(), serve::record))
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

    /// Replaces the global faults (clients with their own keep theirs).
    pub fn set_faults(&self, faults: Faults) {
        self.with(|s| s.faults = faults);
    }

    /// The global faults.
    pub fn faults(&self) -> Faults {
        self.with(|s| s.faults.clone())
    }

    /// Mints an opaque, random EHR launch code for this patient (and encounter); the 10,000
    /// most recent codes stay valid.
    pub fn new_launch(&self, patient: &str, encounter: Option<&str>) -> String {
        let code = wire::random_token();
        let context = LaunchContext {
            patient: Some(patient.to_owned()),
            encounter: encounter.map(str::to_owned),
        };
        self.with(|s| s.launches.insert(code.clone(), context));
        code
    }

    /// Every request received, in order: the last 1,000 (bodies cut at 64 KiB).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.with(|s| s.requests.iter().cloned().collect())
    }

    /// Every spec deviation seen, human-readable: the last 1,000.
    pub fn violations(&self) -> Vec<String> {
        self.with(|s| s.violations.iter().cloned().collect())
    }

    /// Number of successful authorization code exchanges.
    pub fn exchanged_codes(&self) -> usize {
        self.with(|s| s.exchanged_codes)
    }

    /// Registers `jwks` (`{"keys": [...]}`) as the public keys of `client_id`, which from now on
    /// must authenticate with `private_key_jwt`. Does nothing for an unknown client.
    pub fn set_client_jwks(&self, client_id: &str, jwks: serde_json::Value) {
        let found = self.with(|s| {
            let client = s.clients.iter_mut().find(|c| c.client_id == client_id);
            client.map(|c| c.auth = ClientAuth::PrivateKeyJwt { jwks })
        });
        if found.is_none() {
            tracing::warn!(client_id, "set_client_jwks: no such client registered");
        }
    }

    /// Signs id_tokens with a new key (`fake-2`, `fake-3`, …) from now on; the JWKS keeps
    /// listing the older keys too.
    pub fn rotate_signing_key(&self) {
        let kid = self.with(|s| s.keys.next_kid());
        // Generated outside the lock: RSA key generation takes a moment.
        match keys::SigningKey::generate(&kid) {
            Ok(key) => self.with(|s| s.keys.push(key)),
            Err(why) => tracing::error!(%why, "fake EHR could not rotate its signing key"),
        }
    }

    /// How many times `/auth/jwks` was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.with(|s| s.jwks_fetches)
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
