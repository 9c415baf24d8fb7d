//! What the server remembers about one browser's launches: the pending flows (secrets that never
//! leave the server) and the launch records that the result pages show.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::diagnosis::Diagnosis;
use crate::diagnosis::classify::backend::Check;
use crate::diagnosis::transcript::Exchange;
use crate::smart::fhir::ReadResource;
use crate::smart::id_token::IdTokenReport;
use crate::smart::{LaunchKind, Step};

mod app;
mod budget;
mod evidence;
mod read;
mod shown;
mod token;
pub use app::{AppRef, AppSummary, Endpoints, PendingFlow, SealedApp};
pub use budget::{BODY_DROPPED, RECORD_BUDGET};
pub use shown::WITHHELD;
pub use token::TokenExchange;

/// How a launch ended (so far).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pending,
    Success,
    Error,
}

/// One launch: an append-only case file. Opened once with everything known at the start
/// ([`Opening`]); every later change is an append of evidence (`evidence.rs`), and the outcome
/// and step are only those appends' projection: nothing outside this module writes a field
/// (the fields are private; `tests/it/case_file.rs` checks that they stay so). Read through the
/// getters (`read.rs`). The stored JSON keeps its field names (`docs/interface.md`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LaunchRecord {
    id: String,
    kind: LaunchKind,
    app: AppSummary,
    started_at: i64,
    finished_at: Option<i64>,
    outcome: Outcome,
    /// The step reached, or the one that failed.
    step: Step,
    requested_scope: String,
    redirect_uri: String,
    endpoints: Option<Endpoints>,
    /// Where the browser was sent (state and challenge only; no secrets).
    authorize_url: Option<String>,
    #[serde(with = "crate::diagnosis::stored")]
    diagnoses: Vec<Diagnosis>,
    /// The code exchange's token response, as received and typed. Holds tokens: rendered
    /// masked unless revealed.
    token_response: Option<TokenExchange>,
    transcript: Vec<Exchange>,
    /// The id_token's verdict and the signed-in user read from `fhirUser`.
    #[serde(default)]
    identity: Option<Identity>,
    #[serde(default)]
    patient: Option<ReadResource>,
    #[serde(default)]
    encounter: Option<ReadResource>,
    /// Refreshes made from the result page, oldest first.
    #[serde(default)]
    refreshes: Vec<RefreshRecord>,
    /// The app, kept to authenticate refreshes (an ad-hoc app's secret stays sealed).
    #[serde(default)]
    app_ref: Option<AppRef>,
    /// The browser that made the launch: only it sees the record.
    #[serde(default)]
    owner: String,
    /// A Backend Services run's proof read and rule checks (kind `backend` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    backend: Option<BackendReport>,
    /// The id of the request that finished the launch (the callback, or the launch request when
    /// it failed before the redirect): shown on the result page, searched by the support view.
    #[serde(default)]
    request_id: String,
    /// The launch's other requests, oldest first: the `/launch` request of a launch its
    /// callback finished (searched by the support view like `request_id`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    request_ids: Vec<String>,
    /// The server scorecard: each SMART / Inferno assertion this launch observed.
    #[serde(default)]
    conformance: Vec<crate::diagnosis::conformance::Check>,
    /// The RFC 7662 introspection of the access token (tokens redacted), when advertised.
    #[serde(default)]
    introspection: Option<crate::smart::introspect::Introspection>,
    /// `fhirContext` reads and the `smart_style_url` document.
    #[serde(default)]
    context: Option<crate::smart::context::ContextEvidence>,
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
    pub token_response: Option<TokenExchange>,
    #[serde(with = "crate::diagnosis::stored")]
    pub diagnoses: Vec<Diagnosis>,
    /// The scorecard rules this refresh's answer was held to (absent in records stored before
    /// a refresh kept its own; those hold them in the launch's `conformance`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<crate::diagnosis::conformance::Check>,
}

/// Who a launch's record belongs to: the browser that made it (only it sees the record) and
/// the request that made the record (shown on the result page, searched by the support view).
/// Empty for the command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Owner {
    pub browser: String,
    pub request_id: String,
}

/// Everything known when a launch's record is opened; all later knowledge is appended.
#[derive(Clone, Debug)]
pub struct Opening {
    pub id: String,
    pub kind: LaunchKind,
    pub app: AppSummary,
    /// The app, kept to authenticate refreshes (an ad-hoc app's secret stays sealed).
    pub app_ref: Option<AppRef>,
    pub owner: Owner,
    /// The `/launch` request of a launch whose callback opens this record (empty otherwise).
    pub launch_request_id: String,
    pub started_at: i64,
    pub requested_scope: String,
    /// Empty for a Backend Services run (no browser comes back).
    pub redirect_uri: String,
    /// The endpoints discovery gave, when it succeeded.
    pub endpoints: Option<Endpoints>,
    /// Where the browser was (or is to be) sent (state and challenge only; no secrets).
    pub authorize_url: Option<String>,
    /// A Backend Services run's proof read, relative to the FHIR base (kind `backend` only).
    pub backend_read: Option<String>,
}

/// The session key for a state value: SHA-256, base64url.
pub fn state_hash(state: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(state.as_bytes()))
}

/// A new random id (launch ids, browser ids): 128 bits, base64url.
pub fn random_id() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

/// Seconds since the Unix epoch on the system clock: for what expires in the stores and the
/// sessions. A launch's evidence is stamped with `Core::now()` (the configured clock), never this.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
