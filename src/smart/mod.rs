//! The SMART App Launch protocol, step by step. No HTML here.

pub mod authorize;
pub mod discovery;
pub mod http;
pub mod token;

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
}

impl Step {
    pub const ALL: [Step; 5] = [
        Step::Launch,
        Step::Discovery,
        Step::Authorize,
        Step::Callback,
        Step::Token,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Launch => "launch",
            Step::Discovery => "discovery",
            Step::Authorize => "authorize",
            Step::Callback => "callback",
            Step::Token => "token",
        }
    }
}

/// EHR launch (with a `launch` code) or standalone launch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LaunchKind {
    Ehr,
    Standalone,
}
