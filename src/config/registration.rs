//! One registered app and its authentication method, as the rest of the crate sees it.

use std::fmt;

use serde::{Deserialize, Serialize};

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

/// The standalone variant of an EHR-launch scope: `launch` becomes `launch/patient`.
pub fn standalone_scope_from(scope: &str) -> String {
    scope
        .split_whitespace()
        .map(|s| if s == "launch" { "launch/patient" } else { s })
        .collect::<Vec<_>>()
        .join(" ")
}
