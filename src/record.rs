//! What the server remembers about one browser's launches: the pending flows (secrets that never
//! leave the server) and the launch records that the result pages show.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::config::{AuthMethod, Registration, Secret, StoredRegistration};
use crate::diagnosis::Diagnosis;
use crate::diagnosis::classify::backend::Check;
use crate::diagnosis::transcript::Exchange;
use crate::seal::Sealer;
use crate::smart::fhir::ReadResource;
use crate::smart::id_token::IdTokenReport;
use crate::smart::{LaunchKind, Step};

mod budget;
pub use budget::{BODY_DROPPED, RECORD_BUDGET};

/// How a launch ended (so far).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pending,
    Success,
    Error,
}

/// The app a launch is for: a configured registration, or one typed into the ad-hoc form (or a
/// developer-mode launch of an unregistered server), whose secret is kept sealed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum AppRef {
    #[serde(rename = "r")]
    Registered(String),
    #[serde(rename = "x")]
    AdHoc(SealedApp),
}

/// An ad-hoc registration as kept between requests: everything but the secret in clear, the
/// secret sealed with the process's (or the configured) key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SealedApp {
    pub reg: StoredRegistration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl SealedApp {
    pub fn seal(reg: &Registration, sealer: &Sealer) -> Self {
        SealedApp {
            reg: StoredRegistration::of(reg),
            secret: reg.auth.secret().map(|s| sealer.seal(s.expose())),
        }
    }

    /// The registration with its secret; `None` when the secret was sealed with another key
    /// (another instance without a shared `sealing_key_env`, or a restart), or when its method
    /// needs a key (never kept).
    pub fn open(&self, sealer: &Sealer) -> Option<Registration> {
        let secret = match &self.secret {
            Some(s) => Some(Secret::new(sealer.open(s)?)),
            None => None,
        };
        self.reg.open(secret).ok()
    }
}

/// The registration as shown on pages: never the secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSummary {
    pub id: String,
    pub name: String,
    pub iss: String,
    pub client_id: String,
    pub auth: AuthMethod,
    pub adhoc: bool,
}

impl AppSummary {
    pub fn of(r: &Registration, adhoc: bool) -> Self {
        Self::shown(&StoredRegistration::of(r), adhoc)
    }

    /// The summary of a registration as kept (no secret or key to leave out).
    pub fn shown(r: &StoredRegistration, adhoc: bool) -> Self {
        AppSummary {
            id: r.id.clone(),
            name: r.name.clone(),
            iss: r.iss.clone(),
            client_id: r.client_id.clone(),
            auth: r.auth,
            adhoc,
        }
    }
}

/// A launch waiting for its callback, as kept in the browser's session: only what the callback
/// needs. Holds the PKCE verifier: never rendered. The endpoints are not copied: they come from
/// the discovery cache (fetched again if it expired).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingFlow {
    #[serde(rename = "i")]
    pub launch_id: String,
    /// SHA-256 of the state (base64url): the session never needs the state itself back.
    #[serde(rename = "h")]
    pub state_hash: String,
    #[serde(rename = "v")]
    pub verifier: String,
    #[serde(rename = "a")]
    pub app: AppRef,
    #[serde(rename = "k")]
    pub kind: LaunchKind,
    #[serde(rename = "t")]
    pub created_at: i64,
    /// The EHR's `launch` value (EHR launch), to show the authorization request afterwards.
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub launch: Option<String>,
    /// Whether this launch fetched the discovery documents itself (else they came from the cache).
    #[serde(rename = "d", default, skip_serializing_if = "std::ops::Not::not")]
    pub fetched_discovery: bool,
}

/// Endpoints used by a launch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoints {
    pub source: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
}

/// One launch as the result pages show it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LaunchRecord {
    pub id: String,
    pub kind: LaunchKind,
    pub app: AppSummary,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub outcome: Outcome,
    /// The step reached, or the one that failed.
    pub step: Step,
    pub requested_scope: String,
    pub redirect_uri: String,
    pub endpoints: Option<Endpoints>,
    /// Where the browser was sent (state and challenge only; no secrets).
    pub authorize_url: Option<String>,
    #[serde(with = "crate::diagnosis::stored")]
    pub diagnoses: Vec<Diagnosis>,
    /// The token response as received. Holds tokens: rendered masked unless revealed.
    pub token_response: Option<Map<String, Value>>,
    pub transcript: Vec<Exchange>,
    /// The id_token's verdict and the signed-in user read from `fhirUser`.
    #[serde(default)]
    pub identity: Option<Identity>,
    #[serde(default)]
    pub patient: Option<ReadResource>,
    #[serde(default)]
    pub encounter: Option<ReadResource>,
    /// Refreshes made from the result page, oldest first.
    #[serde(default)]
    pub refreshes: Vec<RefreshRecord>,
    /// The app, kept to authenticate refreshes (an ad-hoc app's secret stays sealed).
    #[serde(default)]
    pub app_ref: Option<AppRef>,
    /// The browser that made the launch: only it sees the record.
    #[serde(default)]
    pub owner: String,
    /// A Backend Services run's proof read and rule checks (kind `backend` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<BackendReport>,
    /// The id of the request that finished the launch (the callback, or the launch request when
    /// it failed before the redirect): shown on the result page, searched by the support view.
    #[serde(default)]
    pub request_id: String,
    /// The server scorecard: each SMART / Inferno assertion this launch observed.
    #[serde(default)]
    pub conformance: Vec<crate::diagnosis::conformance::Check>,
    /// The RFC 7662 introspection of the access token (tokens redacted), when advertised.
    #[serde(default)]
    pub introspection: Option<crate::smart::introspect::Introspection>,
    /// `fhirContext` reads and the `smart_style_url` document.
    #[serde(default)]
    pub context: Option<crate::smart::context::ContextEvidence>,
}

/// What a Backend Services run found beyond the token response.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendReport {
    /// The proof read, relative to the FHIR base (`backend_read`), and what it returned.
    pub read_path: String,
    pub read: Option<ReadResource>,
    /// The Backend Services rules, each passed or failed (`server.backend_*`).
    pub checks: Vec<Check>,
}

/// Who signed in, as far as the id_token and the `fhirUser` read tell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub id_token: IdTokenReport,
    pub user: Option<ReadResource>,
}

/// One refresh: when, what came back, what was found.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RefreshRecord {
    pub at: i64,
    pub outcome: Outcome,
    /// Holds tokens: rendered masked unless revealed.
    pub token_response: Option<Map<String, Value>>,
    #[serde(with = "crate::diagnosis::stored")]
    pub diagnoses: Vec<Diagnosis>,
}

impl LaunchRecord {
    /// The newest value of token-response member `key`: from the latest refresh that returned
    /// one, else from the code exchange (refresh tokens rotate; keep the newest).
    pub fn newest(&self, key: &str) -> Option<&str> {
        fn from<'a>(t: &'a Option<Map<String, Value>>, key: &str) -> Option<&'a str> {
            t.as_ref().and_then(|t| t.get(key)).and_then(Value::as_str)
        }
        self.refreshes
            .iter()
            .rev()
            .find_map(|r| from(&r.token_response, key))
            .or_else(|| from(&self.token_response, key))
    }

    /// The scope granted by the code exchange (RFC 6749 §5.1: absent means as requested).
    pub fn granted_scope(&self) -> &str {
        self.token_response
            .as_ref()
            .and_then(|t| t.get("scope"))
            .and_then(Value::as_str)
            .unwrap_or(&self.requested_scope)
    }
}

impl LaunchRecord {
    pub fn fail(&mut self, step: Step, diagnoses: impl IntoIterator<Item = Diagnosis>, now: i64) {
        self.step = step;
        self.outcome = Outcome::Error;
        self.finished_at = Some(now);
        self.diagnoses.extend(diagnoses);
        // A warning the failure raised to an error is said once, as the error.
        let raised: Vec<_> = self
            .diagnoses
            .iter()
            .filter(|d| d.raised)
            .map(|d| d.entry)
            .collect();
        self.diagnoses
            .retain(|d| d.raised || !raised.contains(&d.entry));
    }
}

/// The session key for a state value: SHA-256, base64url.
pub fn state_hash(state: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(state.as_bytes()))
}

/// A new random id (launch ids, browser ids): 128 bits, base64url.
pub fn random_id() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
