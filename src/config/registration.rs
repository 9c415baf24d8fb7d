//! One registered app and its authentication method, as the rest of the crate sees it.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ClientAuth;

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

/// One registered app: a client id at one FHIR server. Kept between requests as a
/// [`StoredRegistration`] (never its secret or key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub id: String,
    pub name: String,
    /// The FHIR base URL, without a trailing slash.
    pub iss: String,
    pub client_id: String,
    /// The method with its secret or key, checked once when the registration was made.
    pub auth: ClientAuth,
    /// Scope requested on an EHR launch.
    pub scope: String,
    /// Scope requested on a standalone launch.
    pub standalone_scope: String,
    /// A backend (SMART Backend Services) client: `check` also tries `client_credentials`.
    pub backend: bool,
    /// Backend Services: the FHIR read that proves the token, relative to `iss`.
    pub backend_read: String,
    /// How the authorization request reaches the authorize endpoint: a redirect or a form POST.
    pub authorize_method: AuthorizeMethod,
    /// Deliberate server probes (a foreign `aud` at authorize, a replayed code, CORS): off by
    /// default, never against production unless asked.
    pub active_probes: bool,
}

/// A registration as kept in a session or a launch record: everything but its secret and key
/// (the secret is sealed beside it, see `record::SealedApp`). The same JSON as before
/// [`ClientAuth`] existed; `private_key`, `key_id`, `alg` and `jku` are read and ignored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredRegistration {
    pub id: String,
    pub name: String,
    pub iss: String,
    pub client_id: String,
    pub auth: AuthMethod,
    pub scope: String,
    pub standalone_scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    private_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alg: Option<String>,
    #[serde(default)]
    pub backend: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jku: Option<String>,
    #[serde(default = "default_backend_read")]
    pub backend_read: String,
    #[serde(default)]
    pub authorize_method: AuthorizeMethod,
    #[serde(default)]
    pub active_probes: bool,
}

impl StoredRegistration {
    pub fn of(r: &Registration) -> Self {
        let key = r.auth.key();
        StoredRegistration {
            id: r.id.clone(),
            name: r.name.clone(),
            iss: r.iss.clone(),
            client_id: r.client_id.clone(),
            auth: r.auth.method(),
            scope: r.scope.clone(),
            standalone_scope: r.standalone_scope.clone(),
            private_key: None,
            key_id: key.map(|k| k.kid.clone()),
            alg: key.map(|k| format!("{:?}", k.alg)),
            backend: r.backend,
            jku: key.and_then(|k| k.jku.clone()),
            backend_read: r.backend_read.clone(),
            authorize_method: r.authorize_method,
            active_probes: r.active_probes,
        }
    }

    /// The registration again, with its secret: `Err` when the method needs what is not given
    /// (a key is never kept, so a `private_key_jwt` app cannot be reopened).
    pub fn open(&self, secret: Option<Secret>) -> Result<Registration, String> {
        Ok(Registration {
            id: self.id.clone(),
            name: self.name.clone(),
            iss: self.iss.clone(),
            client_id: self.client_id.clone(),
            auth: ClientAuth::new(self.auth, secret, None)?,
            scope: self.scope.clone(),
            standalone_scope: self.standalone_scope.clone(),
            backend: self.backend,
            backend_read: self.backend_read.clone(),
            authorize_method: self.authorize_method,
            active_probes: self.active_probes,
        })
    }
}

/// The default Backend Services proof read: a one-result search under the FHIR base.
pub const DEFAULT_BACKEND_READ: &str = "Patient?_count=1";

pub(super) fn default_backend_read() -> String {
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
    /// launch types unless given, not a backend client.
    pub fn simple(
        id: impl Into<String>,
        name: impl Into<String>,
        iss: impl Into<String>,
        client_id: impl Into<String>,
        auth: ClientAuth,
        scope: &str,
    ) -> Self {
        Registration {
            id: id.into(),
            name: name.into(),
            iss: iss.into(),
            client_id: client_id.into(),
            auth,
            scope: scope.into(),
            standalone_scope: standalone_scope_from(scope),
            backend: false,
            backend_read: default_backend_read(),
            authorize_method: AuthorizeMethod::Get,
            active_probes: false,
        }
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
