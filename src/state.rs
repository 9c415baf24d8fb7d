//! Shared application state: the configuration, the one outbound HTTP client, the discovery
//! cache and the register of consumed `state` values.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::{AuthMethod, Config, PRACTICE_CLIENT_ID};
use crate::gallery;
use crate::practice::{self, ClientAuth, Faults, PracticeClient, PracticeOptions};
use crate::smart::http::Outbound;
use crate::smart::{discovery, id_token};
use crate::web::limit::RateLimiter;
use crate::web::store::Store;

/// Cheap to clone; handed to every handler.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    /// For registered FHIR bases (trusted by the operator).
    pub http: Outbound,
    /// For FHIR bases nobody registered: private targets refused unless allowed.
    pub http_unregistered: Outbound,
    pub discovery: discovery::Cache,
    pub oidc: id_token::Cache,
    pub consumed: ConsumedStates,
    /// The built-in practice EHR, when `practice_ehr` is on.
    pub practice: Option<practice::Ehr>,
    pub limiter: RateLimiter,
    /// Browser sessions (server side); the cookie holds only the id.
    pub sessions: Store,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// The client for requests on behalf of the FHIR base `iss`: a registered one is trusted.
    pub fn http_for(&self, iss: &str) -> &Outbound {
        if self.config.registration_for_iss(iss).is_some() {
            &self.http
        } else {
            &self.http_unregistered
        }
    }

    pub fn new(config: Config) -> Result<Self, StateError> {
        let http = Outbound::new(config.http.clone())?;
        let http_unregistered = if config.allow_private_networks {
            http.clone()
        } else {
            Outbound::guarded(config.http.clone())?
        };
        let discovery = discovery::Cache::new(config.discovery_cache);
        let oidc = id_token::Cache::new(config.discovery_cache);
        let consumed = ConsumedStates::new(config.session_idle);
        let practice = config.practice_ehr.then(|| practice_ehr(&config));
        let limiter = RateLimiter::new(config.launch_rate_limit_per_minute);
        let sessions =
            Store::open(config.session_store.as_deref()).map_err(StateError::SessionStore)?;
        Ok(AppState(Arc::new(Inner {
            config,
            http,
            http_unregistered,
            discovery,
            oidc,
            consumed,
            practice,
            limiter,
            sessions,
        })))
    }
}

/// The practice EHR as served at `/practice`: a public client for the `practice` registration and
/// one client per gallery entry, each with its own faults.
fn practice_ehr(config: &Config) -> practice::Ehr {
    let redirect = config.redirect_uri();
    let mut clients = vec![PracticeClient {
        client_id: PRACTICE_CLIENT_ID.into(),
        auth: ClientAuth::None,
        redirect_uris: vec![redirect.clone()],
    }];
    for e in gallery::entries() {
        let secret = gallery::PRACTICE_SECRET.to_string();
        clients.push(PracticeClient {
            client_id: format!("gallery-{}", e.id),
            auth: match e.auth {
                AuthMethod::ClientSecretBasic => ClientAuth::SecretBasic(secret),
                AuthMethod::ClientSecretPost => ClientAuth::SecretPost(secret),
                _ => ClientAuth::None,
            },
            redirect_uris: vec![if e.foreign_redirect {
                "https://elsewhere.example/callback".into()
            } else {
                redirect.clone()
            }],
        });
    }
    let ehr = practice::Ehr::new(PracticeOptions {
        clients,
        faults: Faults::default(),
        path_prefix: "/practice".into(),
    });
    ehr.set_origin(config.public_url.clone());
    ehr.set_require_login(true);
    ehr.set_app_launch_url(&format!(
        "{}/launch",
        config.public_url.as_str().trim_end_matches('/')
    ));
    for e in gallery::entries() {
        ehr.set_client_faults(&format!("gallery-{}", e.id), e.faults);
    }
    ehr
}

/// Why the state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("session_store: {0}")]
    SessionStore(String),
}

/// Hashes of `state` values already used by a callback, process-wide, so that two concurrent
/// requests carrying the same state cannot both pass (the session alone is read by both).
pub struct ConsumedStates {
    ttl: Duration,
    seen: Mutex<HashMap<String, Instant>>,
}

impl ConsumedStates {
    fn new(ttl: Duration) -> Self {
        ConsumedStates {
            ttl,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Marks `state_hash` used; false when it already was.
    pub fn consume(&self, state_hash: &str) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > 10_000 {
            seen.retain(|_, at| at.elapsed() < self.ttl);
        }
        seen.insert(state_hash.to_string(), Instant::now())
            .is_none()
    }
}
