//! The step an exchange belongs to.

use serde::{Deserialize, Serialize};

/// The step an exchange belongs to; stored and shown as its name (`discovery`, `token`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExchangeStep {
    Launch,
    Discovery,
    Authorize,
    Callback,
    Token,
    IdToken,
    Fhir,
    Refresh,
    Introspection,
    Style,
    /// The invalid-code probe of `check`.
    Probe,
    /// A monitor's webhook delivery (never part of a launch).
    Webhook,
    /// Active probes (deliberate, `active_probes = true`): the foreign-`aud` authorize request.
    #[serde(rename = "active probe (deliberate): authorize with a foreign aud")]
    ActiveAud,
    /// The practice EHR's sign-in followed for that request.
    #[serde(rename = "active probe (deliberate): practice EHR sign-in for the foreign aud")]
    ActiveAudLogin,
    /// The replayed code exchange.
    #[serde(rename = "active probe (deliberate): the same code exchanged again")]
    ActiveReplay,
    /// The CORS requests.
    #[serde(rename = "active probe (deliberate): CORS preflight-free GET with Origin")]
    ActiveCors,
    /// Backend Services rule probes: an unknown grant_type.
    #[serde(rename = "probe: unknown grant_type (Backend Services rule)")]
    BackendGrantType,
    /// An unknown client_assertion_type.
    #[serde(rename = "probe: unknown client_assertion_type (Backend Services rule)")]
    BackendAssertionType,
    /// A step this build does not know (a record stored by another version).
    #[serde(other)]
    Other,
}

impl ExchangeStep {
    pub fn as_str(self) -> &'static str {
        match self {
            ExchangeStep::Launch => "launch",
            ExchangeStep::Discovery => "discovery",
            ExchangeStep::Authorize => "authorize",
            ExchangeStep::Callback => "callback",
            ExchangeStep::Token => "token",
            ExchangeStep::IdToken => "id_token",
            ExchangeStep::Fhir => "fhir",
            ExchangeStep::Refresh => "refresh",
            ExchangeStep::Introspection => "introspection",
            ExchangeStep::Style => "style",
            ExchangeStep::Probe => "probe",
            ExchangeStep::Webhook => "webhook",
            ExchangeStep::ActiveAud => "active probe (deliberate): authorize with a foreign aud",
            ExchangeStep::ActiveAudLogin => {
                "active probe (deliberate): practice EHR sign-in for the foreign aud"
            }
            ExchangeStep::ActiveReplay => {
                "active probe (deliberate): the same code exchanged again"
            }
            ExchangeStep::ActiveCors => {
                "active probe (deliberate): CORS preflight-free GET with Origin"
            }
            ExchangeStep::BackendGrantType => "probe: unknown grant_type (Backend Services rule)",
            ExchangeStep::BackendAssertionType => {
                "probe: unknown client_assertion_type (Backend Services rule)"
            }
            ExchangeStep::Other => "other",
        }
    }

    /// The exchange step of a launch step.
    pub fn of(step: crate::smart::Step) -> ExchangeStep {
        use crate::smart::Step;
        match step {
            Step::Launch => ExchangeStep::Launch,
            Step::Discovery => ExchangeStep::Discovery,
            Step::Authorize => ExchangeStep::Authorize,
            Step::Callback => ExchangeStep::Callback,
            Step::Token => ExchangeStep::Token,
            Step::IdToken => ExchangeStep::IdToken,
            Step::Fhir => ExchangeStep::Fhir,
        }
    }
}

impl std::fmt::Display for ExchangeStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
