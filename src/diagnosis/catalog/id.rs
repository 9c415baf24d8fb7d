//! Typed diagnosis ids and their families.

use super::{ENTRIES, Entry, UNKNOWN, backend};

/// A catalogue id: made only from the catalogue, with [`id!`](crate::id) (checked when compiling)
/// or [`entry`] (an id read back from a store), and compared as a value, never as text.
/// Serializes as the id's string, e.g. `"token.invalid_grant"`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DiagnosisId(pub(super) &'static str);

impl DiagnosisId {
    pub const fn as_str(self) -> &'static str {
        self.0
    }

    /// The catalogue entry (title, plain sentence, causes, fixes, rules).
    pub fn entry(self) -> &'static Entry {
        ENTRIES.iter().find(|e| e.id == self.0).unwrap_or(&UNKNOWN)
    }

    /// The family: the part of the id before the dot.
    pub fn family(self) -> Family {
        Family::of(self.0)
    }

    /// One of the Backend Services rules a `backend` run checks (`server.backend_*`).
    pub fn is_backend_rule(self) -> bool {
        backend::ENTRIES.iter().any(|e| e.id == self.0)
    }

    /// The rule a check tests, named the same whether it passed or failed, for the checks whose
    /// id names the failure (`server.backend_bogus_grant_accepted` passed reads as a fault).
    pub fn rule_name(self) -> Option<&'static str> {
        Some(match self.0 {
            "server.backend_bogus_grant_accepted" => "an unknown grant_type is refused with 400",
            "server.backend_bogus_assertion_type_accepted" => {
                "an unknown client_assertion_type is refused with 400 or 401"
            }
            "server.backend_refresh_token" => "no refresh token for a backend client",
            "server.backend_expires_in_long" => "expires_in at most 300 seconds",
            "server.backend_scope_not_system" => "only system/ scopes granted",
            "server.discovery_pkce_plain" => "PKCE plain not offered",
            "server.introspection_mismatch" => "introspection agrees with the token response",
            _ => return None,
        })
    }
}

impl std::fmt::Display for DiagnosisId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::fmt::Debug for DiagnosisId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// Unit tests compare ids with the strings they expect; code compares ids with ids.
#[cfg(test)]
impl PartialEq<&str> for DiagnosisId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl serde::Serialize for DiagnosisId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

/// The family of an id: the part before the dot (`token` for `token.unknown_client`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    Net,
    Discovery,
    Launch,
    Authorize,
    Callback,
    Token,
    IdToken,
    Refresh,
    Fhir,
    Check,
    Server,
    Introspection,
    Session,
    Backend,
    Client,
    Probe,
    Jwks,
    Internal,
}

impl Family {
    pub const ALL: [Family; 18] = [
        Family::Net,
        Family::Discovery,
        Family::Launch,
        Family::Authorize,
        Family::Callback,
        Family::Token,
        Family::IdToken,
        Family::Refresh,
        Family::Fhir,
        Family::Check,
        Family::Server,
        Family::Introspection,
        Family::Session,
        Family::Backend,
        Family::Client,
        Family::Probe,
        Family::Jwks,
        Family::Internal,
    ];

    /// The prefix of its ids, e.g. `id_token`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Net => "net",
            Family::Discovery => "discovery",
            Family::Launch => "launch",
            Family::Authorize => "authorize",
            Family::Callback => "callback",
            Family::Token => "token",
            Family::IdToken => "id_token",
            Family::Refresh => "refresh",
            Family::Fhir => "fhir",
            Family::Check => "check",
            Family::Server => "server",
            Family::Introspection => "introspection",
            Family::Session => "session",
            Family::Backend => "backend",
            Family::Client => "client",
            Family::Probe => "probe",
            Family::Jwks => "jwks",
            Family::Internal => "internal",
        }
    }

    fn of(id: &str) -> Family {
        let prefix = id.split_once('.').map_or(id, |(s, _)| s);
        Family::ALL
            .into_iter()
            .find(|f| f.as_str() == prefix)
            .unwrap_or(Family::Internal)
    }

    /// The heading of its section in the catalogue documents.
    pub fn heading(self) -> &'static str {
        match self {
            Family::Net => "Network",
            Family::Discovery => "Discovery",
            Family::Launch => "Launch",
            Family::Authorize => "Authorization",
            Family::Callback => "Callback",
            Family::Token => "Token exchange",
            Family::IdToken => "ID token",
            Family::Refresh => "Refresh",
            Family::Fhir => "FHIR API",
            Family::Check => "Registration check",
            Family::Session => "Sessions",
            other => other.as_str(),
        }
    }
}
