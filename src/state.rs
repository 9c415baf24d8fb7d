//! The core state: the configuration, the outbound HTTP clients and the discovery and OIDC
//! caches: all that the protocol flow needs, and all that the `check` command builds. The web
//! state (`web::AppState`) wraps it with what serving browsers needs. No web types here.

use std::ops::Deref;
use std::sync::Arc;

use crate::config::Config;
use crate::smart::http::Outbound;
use crate::smart::{discovery, id_token};

/// What the protocol flow needs. Cheap to clone.
#[derive(Clone)]
pub struct Core(Arc<CoreInner>);

pub struct CoreInner {
    pub config: Config,
    /// Our `redirect_uri`, computed once.
    pub redirect_uri: String,
    /// For registered FHIR bases (trusted by the operator).
    pub http: Outbound,
    /// For FHIR bases nobody registered: private targets refused unless allowed.
    pub http_unregistered: Outbound,
    pub discovery: discovery::Cache,
    pub oidc: id_token::Cache,
    /// Prometheus counters (no-ops unless `metrics = true`).
    pub metrics: crate::metrics::Metrics,
}

impl Deref for Core {
    type Target = CoreInner;
    fn deref(&self) -> &CoreInner {
        &self.0
    }
}

impl Core {
    pub fn new(config: Config) -> Result<Self, StateError> {
        let http = Outbound::new(config.http.clone())?;
        let http_unregistered = if config.allow_private_networks {
            http.clone()
        } else {
            Outbound::guarded(config.http.clone())?
        };
        let discovery = discovery::Cache::new(config.discovery_cache);
        let oidc = id_token::Cache::new(config.discovery_cache);
        let metrics = crate::metrics::Metrics::new(config.metrics);
        Ok(Core(Arc::new(CoreInner {
            metrics,
            redirect_uri: config.redirect_uri(),
            config,
            http,
            http_unregistered,
            discovery,
            oidc,
        })))
    }

    /// The client for requests on behalf of the FHIR base `iss`: a registered one is trusted.
    pub fn http_for(&self, iss: &str) -> &Outbound {
        if self.config.registration_for_iss(iss).is_some() || self.config.is_practice_base(iss) {
            &self.http
        } else {
            &self.http_unregistered
        }
    }
}

/// Why the state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("session_store: {0}")]
    SessionStore(String),
    #[error("sealing_key_env: {0}")]
    SealingKey(String),
    #[error("admin_token_env: {0}")]
    AdminToken(String),
}
