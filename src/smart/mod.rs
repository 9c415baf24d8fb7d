//! The SMART App Launch protocol, step by step. No HTML here.

pub mod active;
pub mod authorize;
pub mod backend;
pub mod bounded;
pub mod client_auth;
pub mod context;
pub mod discovery;
pub mod fhir;
pub mod flights;
pub mod http;
pub mod id_token;
pub mod introspect;
pub mod net_error;
pub mod net_policy;
pub mod probe;
pub mod spelling;
pub mod tls;
pub mod token;
pub mod token_response;
pub mod transcript;

use serde::{Deserialize, Serialize};

/// The steps of a launch, in order; a failure names the one it happened in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    Launch,
    Discovery,
    Authorize,
    Callback,
    Token,
    #[serde(rename = "id_token")]
    IdToken,
    Fhir,
}

impl Step {
    pub const ALL: [Step; 7] = [
        Step::Launch,
        Step::Discovery,
        Step::Authorize,
        Step::Callback,
        Step::Token,
        Step::IdToken,
        Step::Fhir,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Launch => "launch",
            Step::Discovery => "discovery",
            Step::Authorize => "authorize",
            Step::Callback => "callback",
            Step::Token => "token",
            Step::IdToken => "id_token",
            Step::Fhir => "fhir",
        }
    }
}

/// EHR launch (with a `launch` code), standalone launch, or a SMART Backend Services run
/// (`client_credentials`, no user and no browser redirect).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LaunchKind {
    Ehr,
    Standalone,
    Backend,
}
