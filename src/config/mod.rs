//! Configuration: the TOML file (or the built-in defaults), validated once at start-up.
//!
//! Key names are a public interface (documented in `docs/interface.md`): add keys, never rename one.
//! Every validation failure names the key it is about, so `main` can print one clear line and
//! exit with status 2.
//!
//! Raw TOML types and the public API live here; validation in `validate` (settings) and
//! `registration_rules` (one `[[registration]]`), registration types in `registration`, URL rules in
//! `urls`, the built-in practice registrations in `practice`, parse-error hints in `parse_hint`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::smart::client_auth::SigningKey;
use crate::smart::net_policy::{Loopback, NetPolicy, PrivateHost};
mod client_auth;
mod parse_hint;
mod practice;
mod registration;
mod registration_rules;
#[cfg(test)]
mod tests;
mod urls;
mod validate;

pub use client_auth::ClientAuth;
use parse_hint::{key_at, line_hint};
pub use practice::{
    PRACTICE_BACKEND_ID, PRACTICE_BACKEND_SECRET, PRACTICE_BACKEND_SECRET_ID, PRACTICE_CLIENT_ID,
    PRACTICE_ID, PRACTICE_SLOPPY_PREFIX,
};
pub use registration::{
    AuthMethod, AuthorizeMethod, CookieSameSite, DEFAULT_BACKEND_READ, Registration, Secret,
    StoredRegistration, standalone_scope_from,
};
pub use urls::{USERINFO_REFUSED, has_userinfo, normalize_iss, without_userinfo};

/// The configuration file read from the working directory when `--config` is not given.
pub const DEFAULT_CONFIG_FILE: &str = "smart-launch-doctor.toml";

/// The configuration used when there is no file: the public SMART Health IT sandbox, which
/// accepts any client id as a public client.
pub const BUILT_IN: &str = r#"
[[registration]]
id = "sandbox"
name = "SMART Health IT sandbox"
iss = "https://launch.smarthealthit.org/v/r4/fhir"
client_id = "smart-launch-doctor"
auth = "none"
scope = "launch openid fhirUser patient/*.read offline_access"
"#;

/// A configuration problem, always naming the offending key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

/// Timeouts and limits for every outbound request.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Extra trusted CA certificates (PEM), for EHRs with a private CA. Never disables checks.
    pub ca_pem: Option<Vec<u8>>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub max_body_bytes: usize,
}

/// What keeps a store fault or a slow client from losing a result or pinning the server.
#[derive(Clone, Debug)]
pub struct Operations {
    /// `store_connect_timeout_ms`: how long connecting to Redis may take (default 1000).
    pub store_connect_timeout: Duration,
    /// `store_command_timeout_ms`: how long one Redis command may take (default 1000).
    pub store_command_timeout: Duration,
    /// `memory_store_max_mb`: stored size of the launch records kept in memory (default 256).
    pub memory_store_max_bytes: u64,
    /// `store_waiting_max_mb`: results kept in memory while Redis or SQLite does not answer,
    /// written when it does (default 32; 0: none are kept).
    pub store_waiting_max_bytes: usize,
    /// `shutdown_grace_seconds`: after SIGTERM, how long open connections may finish (default 30).
    pub shutdown_grace: Duration,
    /// `header_read_timeout_seconds`: how long a client may take to send a request's headers,
    /// and how long an idle keep-alive connection stays open (default 30).
    pub header_read_timeout: Duration,
    /// `max_connections`: connections served at once; more wait to be accepted (default 1024).
    pub max_connections: usize,
}

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Origin the browser uses to reach us; `redirect_uri` is this plus `/callback`.
    pub public_url: Url,
    pub cookie_same_site: CookieSameSite,
    pub session_idle: Duration,
    pub discovery_cache: Duration,
    pub http: HttpSettings,
    /// Everything after the token (id_token check, proof reads, introspection, context, style)
    /// runs concurrently and is settled after this long with what has come back.
    pub after_token_deadline: Duration,
    /// Whether the home page offers the ad-hoc form for apps not in the configuration.
    pub adhoc_launch: bool,
    /// A launch with no callback after this long is flagged `authorize.never_returned`.
    pub never_returned_after: Duration,
    /// How long the callback waits for the token exchange before it answers with the waiting
    /// page (2 s; not a configuration key: tests that hold the token endpoint set it).
    pub waiting_page_after: Duration,
    /// Serve the built-in practice EHR under `/practice` (and its `practice` registration).
    pub practice_ehr: bool,
    /// Launches and checks per client IP and minute; 0 turns the limit off.
    pub launch_rate_limit_per_minute: u32,
    /// Origins allowed to frame the app (EHRs that embed it); empty: no framing.
    pub frame_ancestors: Vec<String>,
    /// Developer mode: EHR launches from FHIR servers nobody registered proceed as a public client
    /// (`unregistered_client_id`), through the guarded client (private targets still refused).
    pub allow_unregistered_iss: bool,
    pub unregistered_client_id: String,
    /// `None`: sessions in memory; `Some("redis://…")`: sessions in Redis, shared by instances.
    pub session_store: Option<String>,
    /// The environment variable holding the key (64 hex digits) that seals ad-hoc secrets kept
    /// in sessions and launch records; `None`: a random key per process.
    pub sealing_key_env: Option<String>,
    /// Let unregistered FHIR bases (the ad-hoc form) reach loopback, private and link-local
    /// addresses. Off by default (SSRF); registered FHIR bases are always trusted.
    pub allow_private_networks: bool,
    /// Host names, addresses and networks (`ehr.local`, `10.0.0.5`, `10.0.0.0/8`) any request
    /// may reach although private: an on-premises EHR whose servers are on several hosts.
    pub allow_private_hosts: Vec<PrivateHost>,
    /// Test seam, never read from the configuration file (see [`Loopback`]).
    #[doc(hidden)]
    pub loopback: Loopback,
    /// Serve Prometheus metrics at `GET /metrics` (off by default).
    pub metrics: bool,
    /// Serve `/metrics` on this address only (not on the main listener); needs `metrics`.
    pub metrics_listen: Option<SocketAddr>,
    /// The environment variable holding the support view's token; `None`: `/admin` is off (404).
    pub admin_token_env: Option<String>,
    /// The launch store's and the listener's limits (fault tolerance).
    pub operations: Operations,
    pub registrations: Vec<Registration>,
    /// `[monitor]`: scheduled probes (see `crate::monitor`).
    pub monitor: crate::monitor::MonitorConfig,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    public_url: Option<String>,
    cookie_same_site: Option<CookieSameSite>,
    session_idle_minutes: Option<u64>,
    discovery_cache_seconds: Option<u64>,
    http_connect_timeout_seconds: Option<u64>,
    http_timeout_seconds: Option<u64>,
    http_max_body_bytes: Option<usize>,
    after_token_deadline_seconds: Option<u64>,
    adhoc_launch: Option<bool>,
    never_returned_after_seconds: Option<u64>,
    practice_ehr: Option<bool>,
    launch_rate_limit_per_minute: Option<u32>,
    frame_ancestors: Option<Vec<String>>,
    allow_private_networks: Option<bool>,
    allow_private_hosts: Option<Vec<String>>,
    session_store: Option<String>,
    sealing_key_env: Option<String>,
    allow_unregistered_iss: Option<bool>,
    unregistered_client_id: Option<String>,
    http_ca_file: Option<PathBuf>,
    metrics: Option<bool>,
    metrics_listen: Option<String>,
    admin_token_env: Option<String>,
    store_connect_timeout_ms: Option<u64>,
    store_command_timeout_ms: Option<u64>,
    memory_store_max_mb: Option<u64>,
    store_waiting_max_mb: Option<usize>,
    shutdown_grace_seconds: Option<u64>,
    header_read_timeout_seconds: Option<u64>,
    max_connections: Option<usize>,
    monitor: Option<crate::monitor::config::RawMonitor>,
    #[serde(default)]
    registration: Vec<RawRegistration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegistration {
    id: Option<String>,
    name: Option<String>,
    iss: Option<String>,
    client_id: Option<String>,
    auth: Option<String>,
    client_secret: Option<String>,
    client_secret_env: Option<String>,
    scope: Option<String>,
    standalone_scope: Option<String>,
    private_key: Option<String>,
    key_id: Option<String>,
    alg: Option<String>,
    jku: Option<String>,
    backend: Option<bool>,
    backend_read: Option<String>,
    active_probes: Option<bool>,
    authorize_method: Option<String>,
    /// `monitor = false`: left out of scheduled probes.
    monitor: Option<bool>,
}

impl Config {
    /// Loads `path`, or `./smart-launch-doctor.toml` when present, or the built-in defaults.
    pub fn load(path: Option<&Path>, listen: SocketAddr) -> Result<Self, ConfigError> {
        let path = match path {
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.is_file()),
        };
        match path {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                Self::from_toml(&text, &path.display().to_string(), listen)
            }
            None => Self::defaults(listen),
        }
    }

    /// Parses and validates TOML text; `origin` names the text in messages.
    pub fn from_toml(text: &str, origin: &str, listen: SocketAddr) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            // toml names an unknown key but not the key whose value has the wrong type: add it.
            let message = match key_at(text, e.span()) {
                Some(key) if !e.message().contains(&key) => format!("{key}: {}", e.message()),
                _ => e.message().to_string(),
            };
            ConfigError::Parse {
                path: origin.to_string(),
                message: message + &line_hint(text, e.span()),
            }
        })?;
        Self::validate(raw, listen)
    }

    /// The built-in defaults ([`BUILT_IN`]): a public client for the SMART Health IT sandbox.
    pub fn defaults(listen: SocketAddr) -> Result<Self, ConfigError> {
        Self::from_toml(BUILT_IN, "built-in defaults", listen)
    }

    /// The redirect URI sent to every authorization server.
    pub fn redirect_uri(&self) -> String {
        format!(
            "{}/callback",
            self.public_url.as_str().trim_end_matches('/')
        )
    }

    /// A start-up warning when an `http` `public_url` names another host or port than the one
    /// the server listens on: every redirect_uri (the practice EHR's too) would then point
    /// elsewhere, which is right only behind a proxy. An `https` one always means a proxy in front
    /// (this server speaks plain HTTP), so it is not compared.
    pub fn public_url_mismatch(&self, listen: SocketAddr) -> Option<String> {
        let url = &self.public_url;
        if url.scheme() != "http" {
            return None;
        }
        let port_differs = url.port_or_known_default() != Some(listen.port());
        let host_differs = !listen.ip().is_unspecified()
            && match url.host() {
                Some(url::Host::Ipv4(ip)) => std::net::IpAddr::V4(ip) != listen.ip(),
                Some(url::Host::Ipv6(ip)) => std::net::IpAddr::V6(ip) != listen.ip(),
                Some(url::Host::Domain(name)) => {
                    !(name.eq_ignore_ascii_case("localhost") && listen.ip().is_loopback())
                }
                None => true,
            };
        let what = match (host_differs, port_differs) {
            (true, true) => "host and port",
            (true, false) => "host",
            (false, true) => "port",
            (false, false) => return None,
        };
        Some(format!(
            "public_url {} differs from the listen address {listen} in {what}: browsers and EHRs are sent to public_url (redirect_uri {}), so unless a proxy forwards it here, launches will not come back; remove public_url to follow --listen",
            url.as_str().trim_end_matches('/'),
            self.redirect_uri()
        ))
    }

    /// The registration whose `iss` equals `iss`, ignoring one trailing slash.
    pub fn registration_for_iss(&self, iss: &str) -> Option<&Registration> {
        let iss = iss.trim_end_matches('/');
        self.registrations.iter().find(|r| r.iss == iss)
    }

    /// The outbound address policy these settings make.
    pub fn net_policy(&self) -> NetPolicy {
        NetPolicy {
            allow_all: self.allow_private_networks,
            allowed: self.allow_private_hosts.clone(),
            loopback: self.loopback,
        }
    }

    pub fn registration(&self, id: &str) -> Option<&Registration> {
        self.registrations.iter().find(|r| r.id == id)
    }

    /// The signing keys of the `private_key_jwt` registrations (our public JWKS).
    pub fn signing_keys(&self) -> impl Iterator<Item = &SigningKey> {
        self.registrations
            .iter()
            .filter_map(|r| r.auth.key().map(|k| k.as_ref()))
    }
}
