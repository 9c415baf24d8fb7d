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
    /// The outbound clients under the address policy, trusting no origin: for FHIR bases
    /// nobody registered. See [`CoreInner::outbound_for`].
    http: Outbound,
    /// The same, trusting one registered FHIR base's origin each (practice EHRs included).
    trusted: Vec<(String, Outbound)>,
    pub discovery: discovery::Cache,
    pub oidc: id_token::Cache,
    /// The findings launches open with, per discovery document and registration.
    pub opening: crate::flow::findings::OpeningFindings,
    /// Prometheus counters (no-ops unless `metrics = true`).
    pub metrics: crate::metrics::Metrics,
}

impl Deref for Core {
    type Target = CoreInner;
    fn deref(&self) -> &CoreInner {
        &self.0
    }
}

impl CoreInner {
    /// The client for every request of a launch (or check) of the FHIR base `iss`. A base the
    /// operator registered (or a practice EHR's) is trusted for its own origin only: what its
    /// documents name on other hosts gets the address policy like any unregistered URL. Any
    /// other `iss` gets no trust at all, so no argument can widen what is allowed.
    pub fn outbound_for(&self, iss: &str) -> &Outbound {
        let iss = iss.trim_end_matches('/');
        self.trusted
            .iter()
            .find(|(base, _)| base == iss)
            .map_or(&self.http, |(_, client)| client)
    }
}

impl CoreInner {
    /// Seconds since the epoch on the configured clock (`monitor.clock`: the system's, or a
    /// test's manual clock): what the verdict of a launch is assessed at.
    pub fn now(&self) -> i64 {
        self.config.monitor.clock.now_ms().div_euclid(1000)
    }
}

impl Core {
    pub fn new(config: Config) -> Result<Self, StateError> {
        let http = Outbound::new(config.http.clone(), config.net_policy())?;
        let mut bases: Vec<String> = config.registrations.iter().map(|r| r.iss.clone()).collect();
        if config.practice_ehr {
            bases.push(config.practice_sloppy_fhir_base());
        }
        let trusted = bases
            .into_iter()
            .map(|iss| {
                let client = http.trusting(&iss);
                (iss, client)
            })
            .collect();
        let discovery = discovery::Cache::new(config.discovery_cache);
        let oidc = id_token::Cache::new(config.discovery_cache);
        let metrics = crate::metrics::Metrics::new(config.metrics);
        Ok(Core(Arc::new(CoreInner {
            metrics,
            redirect_uri: config.redirect_uri(),
            config,
            http,
            trusted,
            discovery,
            oidc,
            opening: Default::default(),
        })))
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
    #[error("{0}")]
    Monitor(String),
}
