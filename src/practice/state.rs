//! What the fake EHR remembers between requests: registered clients and their faults, issued
//! codes and tokens, sign-ins waiting for the user, seen assertion ids, signing keys, and the
//! record of requests and violations (all bounded, see `bounded`).

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use url::Url;

use super::bounded::{self, Bounded};
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
    /// Body, lossily decoded as UTF-8; only its first 64 KiB.
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

/// An authorization request that passed every check and waits for the user on the login page
/// (or is decided at once when no login is required).
#[derive(Clone, Debug)]
pub(super) struct PendingAuthorization {
    pub(super) client_id: String,
    /// The registered redirect URI, parsed.
    pub(super) redirect: Url,
    /// The same URI as sent, which the token request must repeat byte for byte.
    pub(super) redirect_uri: String,
    pub(super) state: Option<String>,
    pub(super) nonce: Option<String>,
    pub(super) scope: String,
    pub(super) code_challenge: String,
    pub(super) context: LaunchContext,
    /// A standalone `launch/patient` request: the user picks the patient on the login page.
    pub(super) pick_patient: bool,
    /// Until when the login page can still be answered.
    pub(super) expires_at: Instant,
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
    /// The client it was issued to, whose faults the FHIR reads use.
    pub(super) client_id: String,
    pub(super) expires_at: Instant,
}

/// What an access token was granted, as introspection reports it (RFC 7662 §2.2).
#[derive(Clone, Debug)]
pub(super) struct TokenFacts {
    pub(super) client_id: String,
    pub(super) scope: String,
    pub(super) context: LaunchContext,
    /// Unix seconds.
    pub(super) exp: i64,
}

/// Mutable state behind the mutex.
#[derive(Debug, Default)]
pub(super) struct EhrState {
    pub(super) clients: Vec<PracticeClient>,
    /// The global faults, for every client without its own and for discovery.
    pub(super) faults: Faults,
    /// Faults of single clients, replacing the global ones for them.
    pub(super) client_faults: HashMap<String, Faults>,
    pub(super) origin: Option<Url>,
    /// Show the login page before answering a valid authorize request.
    pub(super) require_login: bool,
    /// Where the EHR page sends the browser for an EHR launch.
    pub(super) app_launch_url: Option<String>,
    pub(super) launches: Bounded<LaunchContext>,
    /// Authorize requests waiting on the login page, by the id the page's form carries.
    pub(super) pending: Bounded<PendingAuthorization>,
    pub(super) codes: Bounded<IssuedCode>,
    pub(super) refresh_tokens: Bounded<RefreshGrant>,
    pub(super) access_tokens: Bounded<AccessGrant>,
    /// What each code-exchange access token was granted, for RFC 7662 introspection.
    pub(super) token_facts: Bounded<TokenFacts>,
    /// `jti` values of accepted client assertions, per client (replay detection).
    pub(super) assertion_ids: HashMap<String, Bounded<()>>,
    pub(super) keys: KeyRing,
    pub(super) jwks_fetches: usize,
    pub(super) requests: VecDeque<RecordedRequest>,
    /// The bytes `requests` holds (see `bounded::push_request`).
    pub(super) requests_bytes: usize,
    pub(super) violations: VecDeque<String>,
    pub(super) exchanged_codes: usize,
}

impl EhrState {
    /// Notes a spec deviation by the client.
    pub(super) fn violation(&mut self, message: impl Into<String>) {
        let message = message.into();
        tracing::warn!(violation = %message, "fake EHR saw a spec deviation");
        bounded::push_recorded(&mut self.violations, message);
    }

    /// The faults for `client_id`: its own when it has them, else the global ones (also for
    /// `None`, a request whose client is not known).
    pub(super) fn faults_for(&self, client_id: Option<&str>) -> Faults {
        client_id
            .and_then(|id| self.client_faults.get(id))
            .unwrap_or(&self.faults)
            .clone()
    }

    /// The registered client with this id.
    pub(super) fn client(&self, client_id: &str) -> Option<PracticeClient> {
        self.clients
            .iter()
            .find(|c| c.client_id == client_id)
            .cloned()
    }

    /// Remembers a fresh access token for `client_id`, valid for `lifetime`.
    pub(super) fn grant_access(
        &mut self,
        access_token: &str,
        client_id: &str,
        lifetime: std::time::Duration,
    ) {
        let grant = AccessGrant {
            client_id: client_id.to_owned(),
            expires_at: Instant::now() + lifetime,
        };
        self.access_tokens.insert(access_token.to_owned(), grant);
    }

    /// Removes and returns the pending authorization `id` if it has not expired: each login
    /// page can be answered once.
    pub(super) fn take_pending(&mut self, id: &str) -> Option<PendingAuthorization> {
        let pending = self.pending.remove(id)?;
        (Instant::now() < pending.expires_at).then_some(pending)
    }
}
