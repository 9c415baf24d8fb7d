//! Shared application state: the configuration, the one outbound HTTP client, the discovery
//! cache and the register of consumed `state` values.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::smart::http::Outbound;
use crate::smart::{discovery, id_token};

/// Cheap to clone; handed to every handler.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub http: Outbound,
    pub discovery: discovery::Cache,
    pub oidc: id_token::Cache,
    pub consumed: ConsumedStates,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(config: Config) -> Result<Self, reqwest::Error> {
        let http = Outbound::new(config.http.clone())?;
        let discovery = discovery::Cache::new(config.discovery_cache);
        let oidc = id_token::Cache::new(config.discovery_cache);
        let consumed = ConsumedStates::new(config.session_idle);
        Ok(AppState(Arc::new(Inner {
            config,
            http,
            discovery,
            oidc,
            consumed,
        })))
    }
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
