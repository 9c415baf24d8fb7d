//! What the fake EHR remembers between requests: registered clients, issued codes and tokens,
//! seen assertion ids, signing keys, and the record of requests and violations.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use url::Url;

use super::keys::KeyRing;
use super::{Faults, PracticeClient};

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
pub(super) struct LaunchContext {
    pub(super) patient: Option<String>,
    pub(super) encounter: Option<String>,
}

/// What authorize remembers about an issued code.
#[derive(Clone, Debug)]
pub(super) struct IssuedCode {
    pub(super) client_id: String,
    pub(super) redirect_uri: String,
    pub(super) code_challenge: String,
    pub(super) scope: String,
    /// OpenID Connect `nonce` from the authorize request, echoed in the id_token.
    pub(super) nonce: Option<String>,
    pub(super) context: LaunchContext,
    pub(super) expires_at: Instant,
    pub(super) used: bool,
    /// Tokens issued from this code, revoked if the code is replayed (RFC 6749 §4.1.2).
    pub(super) access_token: Option<String>,
    pub(super) refresh_token: Option<String>,
}

/// What a refresh token stands for.
#[derive(Clone, Debug)]
pub(super) struct RefreshGrant {
    pub(super) client_id: String,
    pub(super) scope: String,
    pub(super) context: LaunchContext,
}

/// What an access token stands for, for the FHIR reads.
#[derive(Clone, Debug)]
pub(super) struct AccessGrant {
    pub(super) expires_at: Instant,
}

/// Mutable state behind the mutex.
#[derive(Debug, Default)]
pub(super) struct EhrState {
    pub(super) clients: Vec<PracticeClient>,
    pub(super) faults: Faults,
    pub(super) origin: Option<Url>,
    pub(super) launches: HashMap<String, LaunchContext>,
    pub(super) codes: HashMap<String, IssuedCode>,
    pub(super) refresh_tokens: HashMap<String, RefreshGrant>,
    pub(super) access_tokens: HashMap<String, AccessGrant>,
    /// `jti` values of accepted client assertions, per client (replay detection).
    pub(super) assertion_ids: HashMap<String, HashSet<String>>,
    pub(super) keys: KeyRing,
    pub(super) jwks_fetches: usize,
    pub(super) requests: Vec<RecordedRequest>,
    pub(super) violations: Vec<String>,
    pub(super) exchanged_codes: usize,
}

impl EhrState {
    /// Notes a spec deviation by the client.
    pub(super) fn violation(&mut self, message: impl Into<String>) {
        let message = message.into();
        tracing::warn!(violation = %message, "fake EHR saw a spec deviation");
        self.violations.push(message);
    }

    /// The registered client with this id.
    pub(super) fn client(&self, client_id: &str) -> Option<PracticeClient> {
        self.clients
            .iter()
            .find(|c| c.client_id == client_id)
            .cloned()
    }

    /// Remembers a fresh access token valid for `lifetime`.
    pub(super) fn grant_access(&mut self, access_token: &str, lifetime: std::time::Duration) {
        let grant = AccessGrant {
            expires_at: Instant::now() + lifetime,
        };
        self.access_tokens.insert(access_token.to_owned(), grant);
    }
}
