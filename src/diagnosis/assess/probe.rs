//! A `check` as a case: no browser, discovery, the registration read against it, then the
//! credential probe (a token request with a deliberately invalid code, and for a backend client
//! `client_credentials`). The probe's token request must be refused: refused for the code
//! (`invalid_grant`) is the expected refusal and means the client was authenticated, so the
//! token step passed; refused for the client fails it.

use super::{Assessment, Status, StepStatus, failure_headline, ranked};
use crate::diagnosis::classify::probe::Verdict;
use crate::diagnosis::{Diagnosis, Family};
use crate::record::{LaunchRecord, Outcome};
use crate::smart::Step;

/// How the token endpoint answered the request with the deliberately invalid code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Refused for the code (`invalid_grant`, or an error that follows authentication such as
    /// `unauthorized_client`): the refusal a client with good credentials gets.
    Expected,
    /// Refused for the client (`invalid_client`, a 401): the credentials or the client id.
    OfTheClient,
    /// An answer that says neither (a 5xx page, an `invalid_client` about the code).
    Unclear,
    /// Never sent: discovery failed, so there was no token endpoint to ask.
    NotSent,
}

impl From<Verdict> for Refusal {
    /// `classify::probe`'s reading of the answer.
    fn from(v: Verdict) -> Self {
        match v {
            Verdict::Accepted => Refusal::Expected,
            Verdict::Rejected => Refusal::OfTheClient,
            Verdict::Inconclusive => Refusal::Unclear,
            Verdict::NotProbed => Refusal::NotSent,
        }
    }
}

/// The evidence a credential probe adds to its case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    /// The answer to the token request with the deliberately invalid code.
    pub invalid_code: Refusal,
    /// For a backend client: the `client_credentials` request's reading.
    pub client_credentials: Option<Verdict>,
}

/// The verdict of a check's case: the outcome, each step, the ranked diagnoses, the headline.
/// An error-severity finding fails the check wherever it comes from (what makes `check` exit 1).
pub fn assess_probe(case: &LaunchRecord, probe: &Probe) -> Assessment {
    let diagnoses = ranked(case.diagnoses().to_vec());
    let discovered = case.endpoints().is_some();
    let errs = |row: Row| diagnoses.iter().any(|d| d.is_error() && row_of(d) == row);
    let discovery = if !discovered || errs(Row::Discovery) {
        Status::Failed
    } else {
        Status::Passed
    };
    let registration = if errs(Row::Registration) {
        Status::Failed
    } else if discovered {
        Status::Passed
    } else {
        Status::NotReached
    };
    let token = token_status(probe, &diagnoses);
    let failed = |s: Status| s == Status::Failed;
    let outcome = if failed(discovery)
        || failed(registration)
        || failed(token)
        || diagnoses.iter().any(Diagnosis::is_error)
    {
        Outcome::Error
    } else {
        Outcome::Success
    };
    let step = if failed(discovery) || token == Status::NotReached {
        Step::Discovery
    } else {
        Step::Token
    };
    // The failure is told by the failed step's first error (a registration error listed first
    // does not explain a refused client).
    let row = if failed(discovery) {
        Row::Discovery
    } else if failed(token) {
        Row::Token
    } else {
        Row::Registration
    };
    let top = diagnoses
        .iter()
        .find(|d| d.is_error() && row_of(d) == row)
        .or_else(|| diagnoses.iter().find(|d| d.is_error()));
    let headline = match outcome {
        Outcome::Error if failed(discovery) || failed(token) => failure_headline(step, top),
        Outcome::Error => {
            "This registration needs a change before a launch can work (registration check)".into()
        }
        _ if token == Status::Warned => {
            "Check passed; the credential probe could not tell whether the credentials are right"
                .into()
        }
        _ => "Check passed".into(),
    };
    let plain = match (outcome, top) {
        (Outcome::Error, Some(d)) => d.plain().to_string(),
        (Outcome::Error, None) => "The EHR refused this app's credentials.".into(),
        _ if token == Status::Warned => {
            "The check could not tell whether the EHR accepts these credentials; a launch settles it."
                .into()
        }
        // A public client has no credentials: the EHR knowing its client id is what was shown.
        _ if case.app().auth == crate::config::AuthMethod::None => format!(
            "The EHR knows {}'s client id (a public client, no secret): the token request with a deliberately invalid code was refused for the code, as expected.",
            case.app().name
        ),
        _ => format!(
            "The EHR knows {} and accepted its credentials: the token request with a deliberately invalid code was refused for the code, as expected.",
            case.app().name
        ),
    };
    Assessment {
        outcome,
        step,
        steps: steps(discovery, registration, token),
        diagnoses,
        headline,
        plain,
        refresh_failed: false,
    }
}

/// The probe's token step. The expected refusal passes it; a refusal of the client, an error
/// about the token request (credentials accepted only raw, a `client_credentials` grant not
/// enabled) or a rejected `client_credentials` request fails it; an unclear answer warns.
fn token_status(probe: &Probe, ranked: &[Diagnosis]) -> Status {
    let token_error = ranked
        .iter()
        .any(|d| d.is_error() && row_of(d) == Row::Token);
    let cc = probe.client_credentials;
    match probe.invalid_code {
        Refusal::NotSent => Status::NotReached,
        Refusal::OfTheClient => Status::Failed,
        _ if token_error || cc == Some(Verdict::Rejected) => Status::Failed,
        Refusal::Unclear => Status::Warned,
        Refusal::Expected if cc == Some(Verdict::Inconclusive) => Status::Warned,
        Refusal::Expected => Status::Passed,
    }
}

/// The row of the check a finding belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Row {
    Discovery,
    /// The registration itself: the redirect URI, our JWKS, what it asks of the server.
    Registration,
    /// The token request (a refusal's self-check findings included).
    Token,
}

fn row_of(d: &Diagnosis) -> Row {
    match d.id().family() {
        Family::Net | Family::Discovery | Family::Server => Row::Discovery,
        Family::Token | Family::Client => Row::Token,
        _ => Row::Registration,
    }
}

/// The launch's timeline with the browser's steps skipped, and the registration between
/// discovery and the token request.
fn steps(discovery: Status, registration: Status, token: Status) -> Vec<StepStatus> {
    let mut out = Vec::new();
    for s in Step::ALL {
        let status = match s {
            Step::Discovery => discovery,
            Step::Token => token,
            _ => Status::Skipped,
        };
        out.push(StepStatus {
            step: Some(s),
            name: s.as_str(),
            status,
            reason: None,
        });
        if s == Step::Discovery {
            out.push(StepStatus {
                step: None,
                name: "registration",
                status: registration,
                reason: None,
            });
        }
    }
    out
}
