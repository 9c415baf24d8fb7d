//! The web state: the core (see `crate::state`) plus what serving browsers needs: the store
//! backend for sessions and launches, the sealing key, the rate limit and the practice EHR.

use std::ops::Deref;
use std::sync::Arc;

use super::limit::RateLimiter;
use super::store::Store;
use crate::config::{
    AuthMethod, Config, PRACTICE_BACKEND_ID, PRACTICE_BACKEND_SECRET, PRACTICE_BACKEND_SECRET_ID,
    PRACTICE_CLIENT_ID,
};
use crate::gallery;
use crate::practice::{self, ClientAuth, Faults, PracticeClient, PracticeOptions};
use crate::seal::Sealer;
use crate::state::{Core, CoreInner, StateError};
use crate::store::{Backend, Limits};

/// Cheap to clone; handed to every handler. Dereferences to [`Core`]'s fields.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub core: Core,
    /// Launch records and consumed states (and, through `sessions`, the sessions).
    pub store: Backend,
    /// Browser sessions (server side); the cookie holds only the id.
    pub sessions: Store,
    /// Seals ad-hoc secrets kept in sessions and launch records.
    pub sealer: Sealer,
    /// The built-in practice EHR, when `practice_ehr` is on.
    pub practice: Option<practice::Ehr>,
    /// The sloppy practice EHR at `/practice-sloppy` (gallery), when `practice_ehr` is on.
    pub practice_sloppy: Option<practice::Ehr>,
    pub limiter: RateLimiter,
    /// The practice EHR's own allowance per client IP (see `limit::limit_practice`).
    pub practice_limiter: RateLimiter,
    /// The support view's token, when `admin_token_env` is set.
    pub admin: Option<super::admin::AdminToken>,
    /// Callbacks whose work is in flight (see `inflight`).
    pub callbacks: super::inflight::Inflight,
    /// Uploaded HARs, redacted, per browser (see `diagnose`).
    pub uploads: super::diagnose::Uploads,
    /// Scheduled probes and their history (see `crate::monitor`).
    pub monitor: crate::monitor::Monitor,
    /// Settles launches that never returned (see `crate::flow::settle`).
    pub settler: crate::flow::settle::Settler,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Deref for Inner {
    type Target = CoreInner;
    fn deref(&self) -> &CoreInner {
        &self.core
    }
}

impl AppState {
    pub fn new(config: Config) -> Result<Self, StateError> {
        let sealer = match &config.sealing_key_env {
            Some(var) => {
                let hex = std::env::var(var).map_err(|_| {
                    StateError::SealingKey(format!("the environment variable {var} is not set"))
                })?;
                Sealer::from_hex(&hex).map_err(|e| StateError::SealingKey(format!("{var} {e}")))?
            }
            None => Sealer::random(),
        };
        let ops = &config.operations;
        let limits = Limits {
            max_bytes: ops.memory_store_max_bytes,
            waiting_bytes: ops.store_waiting_max_bytes,
            connect_timeout: ops.store_connect_timeout,
            command_timeout: ops.store_command_timeout,
            ..Limits::new(config.session_idle.max(config.never_returned_after))
        };
        let store = Backend::open(config.session_store.as_deref(), limits, sealer.clone())
            .map_err(StateError::SessionStore)?;
        let sessions = Store::on(&store, config.session_idle);
        let practice = config.practice_ehr.then(|| practice_ehr(&config));
        let practice_sloppy = config.practice_ehr.then(|| sloppy_ehr(&config));
        let limiter = RateLimiter::new(config.launch_rate_limit_per_minute);
        let practice_limiter = RateLimiter::new(
            config
                .launch_rate_limit_per_minute
                .saturating_mul(super::limit::PRACTICE_REQUESTS_PER_LAUNCH),
        );
        let admin = match &config.admin_token_env {
            Some(var) => {
                Some(super::admin::AdminToken::from_env(var).map_err(StateError::AdminToken)?)
            }
            None => None,
        };
        let uploads = super::diagnose::Uploads::new(config.session_idle);
        let monitor =
            crate::monitor::Monitor::new(&config, store.clone()).map_err(StateError::Monitor)?;
        let core = Core::new(config)?;
        let settler = crate::flow::settle::Settler::new(core.clone(), store.clone());
        Ok(AppState(Arc::new(Inner {
            monitor,
            settler,
            core,
            store,
            sessions,
            sealer,
            practice,
            practice_sloppy,
            limiter,
            practice_limiter,
            admin,
            callbacks: Default::default(),
            uploads,
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
    // The practice-backend key's public half: what the practice EHR knows for backend clients.
    // The gallery's backend clients are registered with it too, while the app signs with a
    // key of its own (the "unregistered key" failure).
    let backend_jwks = config
        .registration(PRACTICE_BACKEND_ID)
        .and_then(|r| r.auth.key())
        .map(|k| crate::smart::client_auth::jwks([k.as_ref()]))
        .unwrap_or_else(|| serde_json::json!({"keys": []}));
    clients.push(PracticeClient {
        client_id: PRACTICE_BACKEND_ID.into(),
        auth: ClientAuth::PrivateKeyJwt {
            jwks: backend_jwks.clone(),
        },
        redirect_uris: Vec::new(),
    });
    // The client_credentials client with a secret (HTTP Basic), not SMART but common.
    clients.push(PracticeClient {
        client_id: PRACTICE_BACKEND_SECRET_ID.into(),
        auth: ClientAuth::SecretBasic(PRACTICE_BACKEND_SECRET.into()),
        redirect_uris: Vec::new(),
    });
    for e in gallery::entries() {
        let secret = gallery::PRACTICE_SECRET.to_string();
        clients.push(PracticeClient {
            client_id: format!("gallery-{}", e.id),
            auth: match e.auth {
                AuthMethod::ClientSecretBasic => ClientAuth::SecretBasic(secret),
                AuthMethod::ClientSecretPost => ClientAuth::SecretPost(secret),
                AuthMethod::PrivateKeyJwt => ClientAuth::PrivateKeyJwt {
                    jwks: backend_jwks.clone(),
                },
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
        path_prefix: super::paths::PRACTICE.into(),
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

/// A second practice EHR at `/practice-sloppy` for the gallery's sloppy-server entries: it
/// works, but departs from SMART where real servers often do (discovery as text/plain without
/// `capabilities`, `plain` PKCE offered, token answers without `scope`, `expires_in` and the
/// no-store headers). Discovery faults are per server, hence a server of its own.
fn sloppy_ehr(config: &Config) -> practice::Ehr {
    let clients = gallery::entries()
        .into_iter()
        .filter(|e| e.sloppy)
        .map(|e| PracticeClient {
            client_id: format!("gallery-{}", e.id),
            auth: ClientAuth::None,
            redirect_uris: vec![config.redirect_uri()],
        })
        .collect();
    let ehr = practice::Ehr::new(PracticeOptions {
        clients,
        faults: gallery::sloppy_faults(),
        path_prefix: crate::config::PRACTICE_SLOPPY_PREFIX.into(),
    });
    ehr.set_origin(config.public_url.clone());
    ehr.set_require_login(true);
    ehr
}
