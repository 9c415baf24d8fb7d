//! Configuration: the TOML file (or the built-in defaults), validated once at start-up.
//!
//! Key names are a public interface (documented in `docs/interface.md`): add keys, never rename one.
//! Every validation failure names the key it is about, so `main` can print one clear line and
//! exit with status 2.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use url::Url;

use crate::smart::client_auth::SigningKey;
use crate::smart::net_policy::{Loopback, NetPolicy, PrivateHost};

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

/// A client secret. `Debug` never shows it and it never serializes: an ad-hoc app's secret is
/// kept sealed (see `seal`) wherever it must outlive a request.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself, for the one place that has to send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret([redacted, {} chars])", self.0.chars().count())
    }
}

/// How the client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    None,
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
}

impl AuthMethod {
    pub const ALL: [AuthMethod; 4] = [
        AuthMethod::None,
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::PrivateKeyJwt,
    ];

    /// The name used in configuration and in discovery's `token_endpoint_auth_methods_supported`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Whether the method sends a shared secret.
    pub fn uses_secret(self) -> bool {
        matches!(
            self,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
        )
    }
}

/// The session cookie's SameSite attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CookieSameSite {
    Lax,
    None,
}

/// One registered app: a client id at one FHIR server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub id: String,
    pub name: String,
    /// The FHIR base URL, without a trailing slash.
    pub iss: String,
    pub client_id: String,
    pub auth: AuthMethod,
    /// Never serialized; see [`Secret`].
    #[serde(skip)]
    pub client_secret: Option<Secret>,
    /// Scope requested on an EHR launch.
    pub scope: String,
    /// Scope requested on a standalone launch.
    pub standalone_scope: String,
    /// `private_key_jwt`: the signing key's file, id and algorithm (loaded into [`Config::keys`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// A backend (SMART Backend Services) client: `check` also tries `client_credentials`.
    #[serde(default)]
    pub backend: bool,
    /// `private_key_jwt`: an optional `jku` header naming where the JWKS is published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jku: Option<String>,
    /// Backend Services: the FHIR read that proves the token, relative to `iss`.
    #[serde(default = "default_backend_read")]
    pub backend_read: String,
    /// How the authorization request reaches the authorize endpoint: a redirect or a form POST.
    #[serde(default)]
    pub authorize_method: AuthorizeMethod,
    /// Deliberate server probes (a foreign `aud` at authorize, a replayed code, CORS): off by
    /// default, never against production unless asked.
    #[serde(default)]
    pub active_probes: bool,
}

/// The default Backend Services proof read: a one-result search under the FHIR base.
pub const DEFAULT_BACKEND_READ: &str = "Patient?_count=1";

fn default_backend_read() -> String {
    DEFAULT_BACKEND_READ.to_string()
}

/// How the browser carries the authorization request (SMART 2.2 `authorize-post`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorizeMethod {
    /// A redirect with the parameters in the query (RFC 6749 §4.1.1).
    #[default]
    Get,
    /// An auto-submitted HTML form that POSTs the parameters to the authorize endpoint.
    Post,
}

impl Registration {
    /// A registration made in code (ad-hoc form, gallery, practice EHR): one scope for both
    /// launch types unless given, no keys, not a backend client.
    pub fn simple(
        id: impl Into<String>,
        name: impl Into<String>,
        iss: impl Into<String>,
        client_id: impl Into<String>,
        auth: AuthMethod,
        client_secret: Option<Secret>,
        scope: &str,
    ) -> Self {
        Registration {
            id: id.into(),
            name: name.into(),
            iss: iss.into(),
            client_id: client_id.into(),
            auth,
            client_secret,
            scope: scope.into(),
            standalone_scope: standalone_scope_from(scope),
            backend: false,
            private_key: None,
            key_id: None,
            alg: None,
            jku: None,
            backend_read: default_backend_read(),
            authorize_method: AuthorizeMethod::Get,
            active_probes: false,
        }
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
    /// Test seam, never read from the configuration file: the clock that settles launches that
    /// never returned (see `flow::settle`).
    #[doc(hidden)]
    pub clock: crate::monitor::Clock,
    /// Serve Prometheus metrics at `GET /metrics` (off by default).
    pub metrics: bool,
    /// Serve `/metrics` on this address only (not on the main listener); needs `metrics`.
    pub metrics_listen: Option<SocketAddr>,
    /// The environment variable holding the support view's token; `None`: `/admin` is off (404).
    pub admin_token_env: Option<String>,
    /// The launch store's and the listener's limits (fault tolerance).
    pub operations: Operations,
    pub registrations: Vec<Registration>,
    /// The signing keys of `private_key_jwt` registrations, by registration id.
    pub keys: Vec<(String, Arc<SigningKey>)>,
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

    /// The signing key of registration `id`, if it uses `private_key_jwt`.
    pub fn key(&self, id: &str) -> Option<&Arc<SigningKey>> {
        self.keys.iter().find(|(r, _)| r == id).map(|(_, k)| k)
    }

    fn validate(raw: RawConfig, listen: SocketAddr) -> Result<Self, ConfigError> {
        let public_url = match raw.public_url {
            Some(s) => parse_public_url(&s)?,
            None => parse_public_url(&format!("http://{listen}"))?,
        };
        let cookie_same_site = raw.cookie_same_site.unwrap_or(CookieSameSite::Lax);
        if cookie_same_site == CookieSameSite::None && public_url.scheme() != "https" {
            return Err(invalid(
                "cookie_same_site",
                "\"none\" needs an https public_url (browsers drop SameSite=None cookies without Secure)",
            ));
        }
        let mut registrations: Vec<Registration> = Vec::new();
        let mut keys = Vec::new();
        let mut unmonitored = Vec::new();
        for (i, r) in raw.registration.into_iter().enumerate() {
            let monitor_off = r.monitor == Some(false);
            let reg = validate_registration(r, i)?;
            if monitor_off {
                unmonitored.push(reg.id.clone());
            }
            if let Some(path) = &reg.private_key {
                let key = SigningKey::load(
                    Path::new(path),
                    reg.key_id.as_deref().unwrap_or(""),
                    reg.alg.as_deref().unwrap_or("RS384"),
                    reg.jku.clone(),
                )
                .map_err(|m| invalid(format!("registration[{i}].private_key"), m))?;
                keys.push((reg.id.clone(), Arc::new(key)));
            }
            if registrations.iter().any(|o| o.id == reg.id) {
                return Err(invalid(
                    format!("registration[{i}].id"),
                    format!("duplicate id {:?}", reg.id),
                ));
            }
            registrations.push(reg);
        }
        let secs = |v: Option<u64>, key: &str, default: u64| match v {
            Some(0) => Err(invalid(key, "must be greater than 0")),
            Some(n) => Ok(Duration::from_secs(n)),
            None => Ok(Duration::from_secs(default)),
        };
        let positive = |v: Option<u64>, key: &str, default: u64| match v {
            Some(0) => Err(invalid(key, "must be greater than 0")),
            Some(n) => Ok(n),
            None => Ok(default),
        };
        let config = Config {
            public_url,
            cookie_same_site,
            session_idle: secs(raw.session_idle_minutes, "session_idle_minutes", 60)? * 60,
            discovery_cache: secs(raw.discovery_cache_seconds, "discovery_cache_seconds", 300)?,
            http: HttpSettings {
                ca_pem: match &raw.http_ca_file {
                    Some(path) => Some(std::fs::read(path).map_err(|e| {
                        invalid(
                            "http_ca_file",
                            format!("cannot read {}: {e}", path.display()),
                        )
                    })?),
                    None => None,
                },
                connect_timeout: secs(
                    raw.http_connect_timeout_seconds,
                    "http_connect_timeout_seconds",
                    5,
                )?,
                timeout: secs(raw.http_timeout_seconds, "http_timeout_seconds", 15)?,
                max_body_bytes: raw.http_max_body_bytes.unwrap_or(1024 * 1024),
            },
            after_token_deadline: secs(
                raw.after_token_deadline_seconds,
                "after_token_deadline_seconds",
                30,
            )?,
            adhoc_launch: raw.adhoc_launch.unwrap_or(true),
            never_returned_after: secs(
                raw.never_returned_after_seconds,
                "never_returned_after_seconds",
                300,
            )?,
            waiting_page_after: Duration::from_secs(2),
            // A public interface gets no unauthenticated practice EHR unless asked for.
            practice_ehr: raw.practice_ehr.unwrap_or(listen.ip().is_loopback()),
            launch_rate_limit_per_minute: raw.launch_rate_limit_per_minute.unwrap_or(60),
            frame_ancestors: validate_frame_ancestors(raw.frame_ancestors.unwrap_or_default())?,
            allow_private_networks: raw.allow_private_networks.unwrap_or(false),
            allow_private_hosts: validate_private_hosts(
                raw.allow_private_hosts.unwrap_or_default(),
            )?,
            loopback: Loopback::Standard,
            clock: Default::default(),
            session_store: validate_session_store(raw.session_store)?,
            sealing_key_env: validate_env_name(raw.sealing_key_env, "sealing_key_env")?,
            allow_unregistered_iss: raw.allow_unregistered_iss.unwrap_or(false),
            metrics: raw.metrics.unwrap_or(false),
            metrics_listen: validate_metrics_listen(raw.metrics_listen, raw.metrics, listen)?,
            admin_token_env: validate_env_name(raw.admin_token_env, "admin_token_env")?,
            operations: Operations {
                store_connect_timeout: Duration::from_millis(positive(
                    raw.store_connect_timeout_ms,
                    "store_connect_timeout_ms",
                    1000,
                )?),
                store_command_timeout: Duration::from_millis(positive(
                    raw.store_command_timeout_ms,
                    "store_command_timeout_ms",
                    1000,
                )?),
                memory_store_max_bytes: positive(
                    raw.memory_store_max_mb,
                    "memory_store_max_mb",
                    256,
                )? << 20,
                store_waiting_max_bytes: raw.store_waiting_max_mb.unwrap_or(32) << 20,
                shutdown_grace: secs(raw.shutdown_grace_seconds, "shutdown_grace_seconds", 30)?,
                header_read_timeout: secs(
                    raw.header_read_timeout_seconds,
                    "header_read_timeout_seconds",
                    30,
                )?,
                max_connections: positive(
                    raw.max_connections.map(|n| n as u64),
                    "max_connections",
                    1024,
                )? as usize,
            },
            unregistered_client_id: raw
                .unregistered_client_id
                .unwrap_or_else(|| "smart-launch-doctor".into()),
            registrations,
            keys,
            monitor: crate::monitor::MonitorConfig::from_raw(raw.monitor, unmonitored)?,
        };
        let config = config.with_practice();
        config
            .monitor
            .check_ids(config.registrations.iter().map(|r| r.id.as_str()))?;
        Ok(config)
    }

    /// The FHIR base of the built-in practice EHR.
    pub fn practice_fhir_base(&self) -> String {
        format!(
            "{}/practice/fhir",
            self.public_url.as_str().trim_end_matches('/')
        )
    }

    /// The FHIR base of the sloppy practice EHR (gallery entries that show server deviations).
    pub fn practice_sloppy_fhir_base(&self) -> String {
        format!(
            "{}{PRACTICE_SLOPPY_PREFIX}/fhir",
            self.public_url.as_str().trim_end_matches('/')
        )
    }

    /// Whether `iss` is one of the built-in practice EHRs (trusted like a registration).
    pub fn is_practice_base(&self, iss: &str) -> bool {
        self.practice_ehr && iss.trim_end_matches('/') == self.practice_sloppy_fhir_base()
    }

    /// Adds the `practice` registration when the practice EHR is on (unless one is configured).
    fn with_practice(mut self) -> Self {
        if self.practice_ehr && self.registration(PRACTICE_ID).is_none() {
            let scope = "launch openid fhirUser patient/*.read offline_access";
            self.registrations.insert(
                0,
                Registration::simple(
                    PRACTICE_ID,
                    "Practice EHR (built in)",
                    self.practice_fhir_base(),
                    PRACTICE_CLIENT_ID,
                    AuthMethod::None,
                    None,
                    scope,
                ),
            );
        }
        if self.practice_ehr && self.registration(PRACTICE_BACKEND_ID).is_none() {
            self = self.with_practice_backend();
        }
        if self.practice_ehr && self.registration(PRACTICE_BACKEND_SECRET_ID).is_none() {
            self = self.with_practice_backend_secret();
        }
        self
    }

    /// Adds the `practice-backend-secret` registration: a client_credentials client of the
    /// practice EHR with a client secret (client_secret_basic), the non-SMART variant many
    /// deployments run.
    fn with_practice_backend_secret(mut self) -> Self {
        let mut reg = Registration::simple(
            PRACTICE_BACKEND_SECRET_ID,
            "Practice EHR backend client with a secret (built in)",
            self.practice_fhir_base(),
            PRACTICE_BACKEND_SECRET_ID,
            AuthMethod::ClientSecretBasic,
            Some(Secret::new(PRACTICE_BACKEND_SECRET)),
            "system/*.read",
        );
        reg.backend = true;
        let at = self
            .registrations
            .iter()
            .position(|r| r.id == PRACTICE_BACKEND_ID)
            .map_or(0, |i| i + 1);
        self.registrations
            .insert(at.min(self.registrations.len()), reg);
        self
    }

    /// Adds the `practice-backend` registration: a Backend Services client of the practice EHR
    /// with a key made for this process (the practice EHR registers its public half).
    fn with_practice_backend(mut self) -> Self {
        let key = match SigningKey::generate("ES384") {
            Ok((_, key)) => key,
            Err(why) => {
                tracing::warn!(%why, "no practice-backend registration: key generation failed");
                return self;
            }
        };
        let mut reg = Registration::simple(
            PRACTICE_BACKEND_ID,
            "Practice EHR backend client (built in)",
            self.practice_fhir_base(),
            PRACTICE_BACKEND_ID,
            AuthMethod::PrivateKeyJwt,
            None,
            "system/*.read",
        );
        reg.backend = true;
        reg.key_id = Some(key.kid.clone());
        reg.alg = Some("ES384".into());
        let at = self.registration(PRACTICE_ID).map_or(0, |_| 1);
        self.registrations
            .insert(at.min(self.registrations.len()), reg);
        self.keys.push((PRACTICE_BACKEND_ID.into(), Arc::new(key)));
        self
    }
}

/// `memory` (or absent) or a `redis://` / `rediss://` URL.
fn validate_env_name(v: Option<String>, key: &str) -> Result<Option<String>, ConfigError> {
    match v {
        Some(name)
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
        {
            Err(invalid(
                key,
                format!("{name:?} is not an environment variable name"),
            ))
        }
        other => Ok(other),
    }
}

fn validate_metrics_listen(
    v: Option<String>,
    metrics: Option<bool>,
    listen: SocketAddr,
) -> Result<Option<SocketAddr>, ConfigError> {
    let Some(text) = v else { return Ok(None) };
    let addr: SocketAddr = text.parse().map_err(|_| {
        invalid(
            "metrics_listen",
            format!("{text:?} is not an address such as \"127.0.0.1:9464\""),
        )
    })?;
    if metrics != Some(true) {
        return Err(invalid("metrics_listen", "needs metrics = true"));
    }
    if addr == listen {
        return Err(invalid(
            "metrics_listen",
            "must differ from the main listen address",
        ));
    }
    Ok(Some(addr))
}

fn validate_session_store(v: Option<String>) -> Result<Option<String>, ConfigError> {
    match v.as_deref() {
        None | Some("memory") => Ok(None),
        Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => {
            Url::parse(url)
                .map_err(|e| invalid("session_store", format!("{url:?} is not a URL: {e}")))?;
            Ok(Some(url.to_string()))
        }
        Some(url) if url.starts_with("sqlite://") && url.len() > "sqlite://".len() => {
            Ok(Some(url.to_string()))
        }
        Some(other) => Err(invalid(
            "session_store",
            format!("{other:?} is not \"memory\", a redis:// URL or sqlite://PATH"),
        )),
    }
}

/// Each entry must be an origin (`https://ehr.example`), so it can go into the CSP as is.
fn validate_frame_ancestors(list: Vec<String>) -> Result<Vec<String>, ConfigError> {
    for (i, o) in list.iter().enumerate() {
        let ok = Url::parse(o).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.host().is_some()
                && u.path() == "/"
                && !o.ends_with('/')
        });
        if !ok {
            return Err(invalid(
                format!("frame_ancestors[{i}]"),
                format!("{o:?} is not an origin like https://ehr.example"),
            ));
        }
    }
    Ok(list)
}

fn validate_private_hosts(list: Vec<String>) -> Result<Vec<PrivateHost>, ConfigError> {
    list.iter()
        .enumerate()
        .map(|(i, h)| {
            PrivateHost::parse(h).map_err(|why| invalid(format!("allow_private_hosts[{i}]"), why))
        })
        .collect()
}

/// The id and client id of the built-in practice registration.
pub const PRACTICE_ID: &str = "practice";
/// Path prefix of the sloppy practice EHR.
pub const PRACTICE_SLOPPY_PREFIX: &str = "/practice-sloppy";

pub const PRACTICE_CLIENT_ID: &str = "practice-app";
/// The id and client id of the built-in practice Backend Services registration.
pub const PRACTICE_BACKEND_ID: &str = "practice-backend";
/// The id and client id of the built-in client_credentials registration with a client secret.
pub const PRACTICE_BACKEND_SECRET_ID: &str = "practice-backend-secret";
/// The secret the practice EHR holds for [`PRACTICE_BACKEND_SECRET_ID`] (a practice value,
/// never a real credential; reserved characters so RFC 6749 §2.3.1 encoding matters).
pub const PRACTICE_BACKEND_SECRET: &str = "practice backend secret: 100% + fun";

fn parse_public_url(s: &str) -> Result<Url, ConfigError> {
    let url =
        Url::parse(s).map_err(|e| invalid("public_url", format!("{s:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid("public_url", "must be an http(s) URL with a host"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            "public_url",
            "must be an origin only (scheme, host, port): no path, query or fragment",
        ));
    }
    Ok(url)
}

/// Validates a FHIR base URL the way both the config and the ad-hoc form need it.
/// Returns it without a trailing slash.
/// A FHIR base with a user name or password (`https://user:pass@host/…`) is refused: the app
/// authenticates with its client credentials, and a password in the URL would end up in pages,
/// reports and logs. The message never repeats the URL.
pub fn normalize_iss(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        return Err(
            "is required: the FHIR server's base URL, e.g. https://ehr.example/fhir".into(),
        );
    }
    let url = Url::parse(s.trim()).map_err(|e| match e {
        url::ParseError::RelativeUrlWithoutBase => format!(
            "{:?} is not a full URL: start it with https:// (e.g. https://ehr.example/fhir)",
            without_userinfo(s.trim())
        ),
        e => format!(
            "{:?} is not a usable URL ({e}); e.g. https://ehr.example/fhir",
            without_userinfo(s.trim())
        ),
    })?;
    if !url.username().is_empty() || url.password().is_some() || has_userinfo(s) {
        return Err(USERINFO_REFUSED.into());
    }
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("must be an http(s) URL with a host".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("a FHIR base has no query or fragment".into());
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Why a FHIR base with userinfo is refused.
pub const USERINFO_REFUSED: &str = "a FHIR base must not carry a user name or password (user:password@host): remove them; the app authenticates with its client credentials, never with credentials in the URL";

/// The authority part of a URL-like text (between `://` and the path), if any.
fn authority(s: &str) -> Option<(usize, &str)> {
    let start = s.find("://")? + 3;
    let rest = &s[start..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some((start, &rest[..end]))
}

/// Whether a URL-like text carries userinfo (`user@` or `user:pass@` before the host).
pub fn has_userinfo(s: &str) -> bool {
    authority(s).is_some_and(|(_, a)| a.contains('@'))
}

/// The text with any userinfo of its authority replaced by `[redacted]@`; other text unchanged.
/// For echoing a refused FHIR base.
pub fn without_userinfo(s: &str) -> String {
    match authority(s) {
        Some((start, a)) => match a.rfind('@') {
            Some(at) => format!("{}[redacted]{}", &s[..start], &s[start + at..]),
            None => s.to_string(),
        },
        None => s.to_string(),
    }
}

/// The standalone variant of an EHR-launch scope: `launch` becomes `launch/patient`.
pub fn standalone_scope_from(scope: &str) -> String {
    scope
        .split_whitespace()
        .map(|s| if s == "launch" { "launch/patient" } else { s })
        .collect::<Vec<_>>()
        .join(" ")
}

fn validate_registration(r: RawRegistration, i: usize) -> Result<Registration, ConfigError> {
    let key = |k: &str| format!("registration[{i}].{k}");
    let required = |v: Option<String>, k: &str| -> Result<String, ConfigError> {
        match v.map(|s| s.trim().to_string()) {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(invalid(key(k), "is required")),
        }
    };
    let id = required(r.id, "id")?;
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(invalid(
            key("id"),
            format!("{id:?} must be url-safe: letters, digits, '-', '_' or '.'"),
        ));
    }
    let iss = normalize_iss(&required(r.iss, "iss")?).map_err(|m| invalid(key("iss"), m))?;
    let client_id = required(r.client_id, "client_id")?;
    let auth_name = r.auth.unwrap_or_else(|| "none".into());
    let auth = AuthMethod::parse(&auth_name).ok_or_else(|| {
        invalid(
            key("auth"),
            format!(
                "{auth_name:?} is not one of none, client_secret_basic, client_secret_post, private_key_jwt"
            ),
        )
    })?;
    let client_secret = match (r.client_secret, r.client_secret_env) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                key("client_secret_env"),
                "give client_secret or client_secret_env, not both",
            ));
        }
        (Some(s), None) => Some(Secret(s)),
        (None, Some(var)) => match std::env::var(&var) {
            Ok(s) => Some(Secret(s)),
            Err(_) => {
                return Err(invalid(
                    key("client_secret_env"),
                    format!("environment variable {var:?} is not set (or not UTF-8)"),
                ));
            }
        },
        (None, None) => None,
    };
    match (&client_secret, auth.uses_secret()) {
        (None, true) => {
            return Err(invalid(
                key("client_secret"),
                format!(
                    "auth = {:?} needs client_secret or client_secret_env",
                    auth.as_str()
                ),
            ));
        }
        (Some(s), _) if s.expose().is_empty() => {
            return Err(invalid(key("client_secret"), "is empty"));
        }
        (Some(_), false) => {
            return Err(invalid(
                key("client_secret"),
                format!("auth = {:?} sends no secret: remove it", auth.as_str()),
            ));
        }
        _ => {}
    }
    if auth == AuthMethod::PrivateKeyJwt {
        if r.private_key.is_none() {
            return Err(invalid(
                key("private_key"),
                "auth = \"private_key_jwt\" needs private_key (a PEM file) and key_id",
            ));
        }
        if r.key_id.as_deref().is_none_or(|k| k.trim().is_empty()) {
            return Err(invalid(
                key("key_id"),
                "auth = \"private_key_jwt\" needs key_id (the kid registered with the EHR)",
            ));
        }
        if let Some(alg) = &r.alg
            && !matches!(alg.as_str(), "RS384" | "ES384")
        {
            return Err(invalid(
                key("alg"),
                format!("{alg:?} is not RS384 or ES384"),
            ));
        }
    } else if r.private_key.is_some() {
        return Err(invalid(
            key("private_key"),
            format!("auth = {:?} signs nothing: remove it", auth.as_str()),
        ));
    }
    let scope = required(r.scope, "scope")?;
    let (backend, backend_read, authorize_method) = validate_extras(
        (
            r.backend,
            r.backend_read.as_deref(),
            r.authorize_method.as_deref(),
        ),
        &scope,
        auth,
        &key,
    )?;
    let standalone_scope = r
        .standalone_scope
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| standalone_scope_from(&scope));
    Ok(Registration {
        name: r.name.unwrap_or_else(|| id.clone()),
        id,
        iss,
        client_id,
        auth,
        client_secret,
        scope: scope.split_whitespace().collect::<Vec<_>>().join(" "),
        standalone_scope,
        backend,
        backend_read,
        authorize_method,
        active_probes: r.active_probes.unwrap_or(false),
        private_key: r.private_key,
        key_id: r.key_id,
        alg: r.alg,
        jku: r.jku,
    })
}

/// The Backend Services and authorize-POST keys of a registration: `backend` (needs a
/// confidential client, `private_key_jwt` or a secret, and `system/` scopes), `backend_read` (a relative FHIR path) and
/// `authorize_method`.
fn validate_extras(
    (backend, backend_read, authorize_method): (Option<bool>, Option<&str>, Option<&str>),
    scope: &str,
    auth: AuthMethod,
    key: &dyn Fn(&str) -> String,
) -> Result<(bool, String, AuthorizeMethod), ConfigError> {
    let backend = backend.unwrap_or(false);
    if backend {
        // client_secret_basic / client_secret_post are accepted as a non-SMART variant (Oracle
        // Health system accounts, MEDITECH, Entra): runs and checks warn about it.
        if auth == AuthMethod::None {
            return Err(invalid(
                key("auth"),
                "backend = true needs a confidential client: auth = \"private_key_jwt\" (SMART Backend Services), or client_secret_basic / client_secret_post (not SMART, warned about)",
            ));
        }
        if let Some(s) = scope.split_whitespace().find(|s| !s.starts_with("system/")) {
            return Err(invalid(
                key("scope"),
                format!("backend = true asks for system/ scopes only; {s:?} is not one"),
            ));
        }
    }
    let backend_read = match backend_read {
        None => default_backend_read(),
        Some(path) => {
            let path = path.trim().trim_start_matches('/');
            let bad = path.is_empty()
                || path.contains("://")
                || path.contains('#')
                || path.split(['/', '?']).any(|seg| seg == "..")
                || path.chars().any(|c| c.is_whitespace() || c.is_control());
            if bad {
                return Err(invalid(
                    key("backend_read"),
                    format!(
                        "{path:?} is not a FHIR path relative to iss, e.g. \"Patient?_count=1\""
                    ),
                ));
            }
            path.to_string()
        }
    };
    let authorize_method = match authorize_method {
        None | Some("get") => AuthorizeMethod::Get,
        Some("post") => AuthorizeMethod::Post,
        Some(other) => {
            return Err(invalid(
                key("authorize_method"),
                format!("{other:?} is not \"get\" or \"post\""),
            ));
        }
    };
    Ok((backend, backend_read, authorize_method))
}

/// The key (with its table, e.g. `registration[0].client_id`) whose line holds the start of a
/// parse error span, when that line is a `key = value` line.
fn key_at(text: &str, span: Option<std::ops::Range<usize>>) -> Option<String> {
    let start = span?.start.min(text.len());
    let mut table = String::new();
    let mut registrations = 0usize;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if let Some(name) = trimmed
            .strip_prefix("[[")
            .and_then(|t| t.split("]]").next())
        {
            let count = if name.trim() == "registration" {
                registrations += 1;
                registrations - 1
            } else {
                0
            };
            table = format!("{}[{count}].", name.trim());
        } else if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.split(']').next()) {
            table = format!("{}.", name.trim());
        }
        if start < offset + line.len() {
            let (key, _) = line.split_once('=')?;
            let key = key.trim().trim_matches('"');
            let plain = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            return plain.then(|| format!("{table}{key}"));
        }
        offset += line.len();
    }
    None
}

/// " (line N)" for a parse error span, so the user can find the key.
fn line_hint(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(r) => {
            let line = text[..r.start.min(text.len())].matches('\n').count() + 1;
            format!(" (line {line})")
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 9123))
    }

    fn load(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, "test.toml", listen())
    }

    #[test]
    fn public_url_defaults_to_the_listen_address() {
        let c = load("").unwrap();
        assert_eq!(c.redirect_uri(), "http://127.0.0.1:9123/callback");
    }

    #[test]
    fn allow_private_hosts_takes_names_addresses_and_networks_and_names_a_bad_entry() {
        let c =
            load("allow_private_hosts = [\"ehr.local\", \"10.0.0.5\", \"10.0.0.0/8\"]").unwrap();
        let policy = c.net_policy();
        assert!(policy.allows_name("ehr.local"));
        assert!(policy.refuses("10.9.9.9".parse().unwrap()).is_none());
        assert!(policy.refuses("192.168.0.1".parse().unwrap()).is_some());
        assert_eq!(
            c.loopback,
            Loopback::Standard,
            "the test seam is never configured"
        );
        let err = load("allow_private_hosts = [\"ehr.local\", \"http://x/\"]")
            .unwrap_err()
            .to_string();
        assert!(err.contains("allow_private_hosts[1]"), "{err}");
        let err = load("loopback = \"TestPublic127001\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("loopback"), "not a configuration key: {err}");
    }

    #[test]
    fn a_public_url_on_another_port_or_host_is_warned_about() {
        let warn = |toml: &str, listen: &str| {
            Config::from_toml(toml, "t", listen.parse().unwrap())
                .unwrap()
                .public_url_mismatch(listen.parse().unwrap())
        };
        let pinned = "public_url = \"http://127.0.0.1:8080\"";
        let w = warn(pinned, "127.0.0.1:9305").unwrap();
        assert!(
            w.contains("public_url http://127.0.0.1:8080") && w.contains("in port"),
            "{w}"
        );
        assert!(warn(pinned, "127.0.0.2:8080").unwrap().contains("in host"));
        assert_eq!(warn(pinned, "127.0.0.1:8080"), None);
        assert_eq!(
            warn("", "127.0.0.1:9305"),
            None,
            "the default follows --listen"
        );
        assert_eq!(
            warn("public_url = \"http://localhost:9305\"", "127.0.0.1:9305"),
            None
        );
        assert_eq!(
            warn("public_url = \"http://app.example:8080\"", "0.0.0.0:8080"),
            None
        );
        assert_eq!(
            warn("public_url = \"https://app.example\"", "127.0.0.1:8080"),
            None
        );
    }

    #[test]
    fn unknown_key_is_named() {
        let err = load("public_urll = \"http://x\"").unwrap_err().to_string();
        assert!(err.contains("public_urll"), "{err}");
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_key() {
        let err = load("session_idle_minutes = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("session_idle_minutes") && err.contains("line 1"),
            "{err}"
        );
        let err = load("[[registration]]\nid = \"a\"\n\n[[registration]]\nid = 7\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("registration[1].id") && err.contains("line 5"),
            "{err}"
        );
    }

    #[test]
    fn unknown_registration_key_is_named_with_its_line() {
        let err = load("[[registration]]\nid = \"a\"\nsecrett = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("secrett") && err.contains("line 3"), "{err}");
    }

    #[test]
    fn duplicate_ids_are_rejected() {
        let reg = "[[registration]]\nid = \"a\"\niss = \"https://h/fhir\"\nclient_id = \"c\"\nscope = \"openid\"\n";
        let err = load(&format!("{reg}{reg}")).unwrap_err().to_string();
        assert!(err.contains("registration[1].id"), "{err}");
    }

    #[test]
    fn confidential_method_without_secret_is_rejected() {
        let err = load("[[registration]]\nid = \"a\"\niss = \"https://h/fhir\"\nclient_id = \"c\"\nauth = \"client_secret_basic\"\nscope = \"openid\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("registration[0].client_secret"), "{err}");
    }

    #[test]
    fn bad_iss_is_rejected() {
        let err = load("[[registration]]\nid = \"a\"\niss = \"fhir.example\"\nclient_id = \"c\"\nscope = \"openid\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("registration[0].iss"), "{err}");
    }

    #[test]
    fn same_site_none_requires_https() {
        let err = load("cookie_same_site = \"none\"").unwrap_err().to_string();
        assert!(err.starts_with("cookie_same_site"), "{err}");
        assert!(load("cookie_same_site = \"none\"\npublic_url = \"https://app.example\"").is_ok());
    }

    #[test]
    fn iss_matching_ignores_one_trailing_slash() {
        let c = load("[[registration]]\nid = \"a\"\niss = \"https://h/fhir/\"\nclient_id = \"c\"\nscope = \"launch openid\"\n").unwrap();
        let a = c.registration("a").unwrap();
        assert_eq!(a.iss, "https://h/fhir");
        assert!(c.registration_for_iss("https://h/fhir/").is_some());
        assert!(c.registration_for_iss("https://h/fhir").is_some());
        assert!(c.registration_for_iss("https://h/fhir2").is_none());
        assert_eq!(a.standalone_scope, "launch/patient openid");
    }

    #[test]
    fn secret_debug_never_shows_the_value() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn a_fhir_base_with_userinfo_is_refused_without_echo() {
        for iss in [
            "https://alice:hunter2pw@ehr.example/fhir",
            "https://alice@ehr.example/fhir",
            "https://alice:hunter2 pw@ehr.example/fhir",
            "ftp://alice:hunter2pw@ehr.example/fhir",
        ] {
            let e = normalize_iss(iss).unwrap_err();
            assert!(!e.contains("hunter2") && !e.contains("alice"), "{e}");
        }
        assert_eq!(
            without_userinfo("https://alice:password@ehr.example/fhir?a@b"),
            "https://[redacted]@ehr.example/fhir?a@b"
        );
        assert!(normalize_iss("https://ehr.example/fhir").is_ok());
    }

    #[test]
    fn a_registration_with_userinfo_names_the_key_not_the_password() {
        let toml = "[[registration]]\nid = \"a\"\niss = \"https://bob:hunter2xyz@ehr.example/fhir\"\nclient_id = \"c\"\nscope = \"openid\"\n";
        let e = load(toml).unwrap_err().to_string();
        assert!(e.contains("registration[0].iss"), "{e}");
        assert!(!e.contains("hunter2xyz"), "{e}");
    }

    #[test]
    fn defaults_include_the_practice_ehr_and_the_public_sandbox() {
        let c = Config::defaults(listen()).unwrap();
        let sandbox = c.registration("sandbox").unwrap();
        assert_eq!(sandbox.iss, "https://launch.smarthealthit.org/v/r4/fhir");
        assert_eq!(sandbox.auth, AuthMethod::None);
        let practice = c.registration(PRACTICE_ID).unwrap();
        assert_eq!(practice.iss, "http://127.0.0.1:9123/practice/fhir");
        assert_eq!(
            practice.standalone_scope,
            "launch/patient openid fhirUser patient/*.read offline_access"
        );
        let backend = c.registration(PRACTICE_BACKEND_ID).unwrap();
        assert!(backend.backend && backend.auth == AuthMethod::PrivateKeyJwt);
        assert_eq!(backend.scope, "system/*.read");
        assert_eq!(backend.backend_read, DEFAULT_BACKEND_READ);
        assert!(c.key(PRACTICE_BACKEND_ID).is_some());
        let secret = c.registration(PRACTICE_BACKEND_SECRET_ID).unwrap();
        assert!(secret.backend && secret.auth == AuthMethod::ClientSecretBasic);
        assert!(c.key(PRACTICE_BACKEND_SECRET_ID).is_none());
    }

    #[test]
    fn the_practice_ehr_can_be_turned_off() {
        let c = load("practice_ehr = false").unwrap();
        assert!(c.registration(PRACTICE_ID).is_none());
        assert!(c.registration(PRACTICE_BACKEND_ID).is_none());
    }

    #[test]
    fn the_practice_ehr_is_on_by_default_only_on_loopback() {
        let public = SocketAddr::from(([0, 0, 0, 0], 8080));
        let c = Config::defaults(public).unwrap();
        assert!(!c.practice_ehr && c.registration(PRACTICE_ID).is_none());
        let asked = Config::from_toml("practice_ehr = true", "t", public).unwrap();
        assert!(asked.practice_ehr);
        assert!(Config::defaults(listen()).unwrap().practice_ehr);
    }

    #[test]
    fn metrics_listen_needs_metrics_and_another_address() {
        let c = load("metrics = true\nmetrics_listen = \"127.0.0.1:9464\"").unwrap();
        assert!(c.metrics);
        assert_eq!(c.metrics_listen, Some("127.0.0.1:9464".parse().unwrap()));
        for bad in [
            "metrics_listen = \"127.0.0.1:9464\"",
            "metrics = true\nmetrics_listen = \"nowhere\"",
            "metrics = true\nmetrics_listen = \"127.0.0.1:9123\"",
        ] {
            let e = load(bad).unwrap_err().to_string();
            assert!(e.starts_with("metrics_listen"), "{e}");
        }
        assert!(!load("").unwrap().metrics);
        let e = load("admin_token_env = \"not a name\"")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("admin_token_env"), "{e}");
    }
}
