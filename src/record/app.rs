//! The launch's parts known before any evidence: the app (registered or ad-hoc, sealed), its
//! summary as pages show it, the pending flow a browser's session keeps, and the endpoints.

use serde::{Deserialize, Serialize};

use crate::config::{AuthMethod, Registration, Secret, StoredRegistration};
use crate::seal::Sealer;
use crate::smart::LaunchKind;

/// The app a launch is for: a configured registration, or one typed into the ad-hoc form (or a
/// developer-mode launch of an unregistered server), whose secret is kept sealed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum AppRef {
    #[serde(rename = "r")]
    Registered(String),
    #[serde(rename = "x")]
    AdHoc(Box<SealedApp>),
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
    /// The id of the `/launch` request that started it: the finished record keeps it beside the
    /// callback's, so the support view finds the launch by either.
    #[serde(rename = "q", default, skip_serializing_if = "String::is_empty")]
    pub request_id: String,
}

/// Endpoints used by a launch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoints {
    pub source: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
}
