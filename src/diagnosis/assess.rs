//! The one reasoner for a launch's verdict: what the flow recorded in, the outcome, the step
//! reached or failed, each step's status, the ranked diagnoses and the headline out. Pure: no
//! I/O, no web types, time comes in as `now`. Every view and the metrics read the verdict from
//! here (through `LaunchReport`), never from the record's `outcome` or `step`. A `check` is a
//! case too (`assess_probe`): its credential probe's expected refusal passes the token step.

use serde::Serialize;

use super::{Diagnosis, Family};

mod probe;
use crate::record::{LaunchRecord, Outcome};
use crate::smart::fhir::ReadResource;
use crate::smart::transcript::ExchangeStep;
use crate::smart::{LaunchKind, Step};
pub use probe::{Probe, Refusal, assess_probe};

/// What the reasoner needs from the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AssessConfig {
    /// `never_returned_after_seconds`: a launch still waiting for its callback this long after
    /// it started has failed (`authorize.never_returned`).
    pub never_returned_after_seconds: i64,
}

impl AssessConfig {
    pub fn of(config: &crate::config::Config) -> Self {
        AssessConfig {
            never_returned_after_seconds: config.never_returned_after.as_secs() as i64,
        }
    }
}

/// How one step of the launch went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    /// Ran, but cannot be trusted: it came after a step that failed (never green).
    Warned,
    Failed,
    NotReached,
    /// Waiting (for the callback, or for the token endpoint).
    Pending,
    /// Does not apply to this kind of launch (a Backend Services run has no browser).
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Warned => "warned",
            Status::Failed => "failed",
            Status::NotReached => "not_reached",
            Status::Pending => "pending",
            Status::Skipped => "skipped",
        }
    }
}

/// One step and its status; `step` is `None` for the refreshes made from the result page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepStatus {
    #[serde(skip)]
    pub step: Option<Step>,
    /// `launch` … `fhir`, or `refresh`.
    #[serde(rename = "step")]
    pub name: &'static str,
    pub status: Status,
    /// Why a step is not plainly passed or failed: a `warned` step ran after a failed one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The verdict of one launch.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    pub outcome: Outcome,
    /// The step reached, or the one that failed.
    pub step: Step,
    pub steps: Vec<StepStatus>,
    /// Errors first, then warnings, notes last; each keeps its evidence.
    pub diagnoses: Vec<Diagnosis>,
    /// For the page's title: "Launch succeeded", or the failure in plain words, its step second.
    pub headline: String,
    /// The sentence a clinician reads first (a failure: the first error's plain text).
    pub plain: String,
    /// The last refresh from the result page failed (the launch itself may have succeeded).
    pub refresh_failed: bool,
}

/// Whom an output of a launch is for: the browser that made it (its result page, the download
/// with patient details), or anyone it is shared with (the redacted downloads, the support
/// view), whose sentences name no person: "the signed-in user", "the patient in context".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Audience {
    #[default]
    Owner,
    Shared,
}

/// The verdict of `case` at `now` (seconds since the epoch), for its owner.
pub fn assess(case: &LaunchRecord, cfg: &AssessConfig, now: i64) -> Assessment {
    assess_for(case, cfg, now, Audience::Owner)
}

/// The verdict of `case` at `now` as `audience` reads it (only the plain sentence differs).
pub fn assess_for(
    case: &LaunchRecord,
    cfg: &AssessConfig,
    now: i64,
    audience: Audience,
) -> Assessment {
    let mut diagnoses = case.diagnoses().to_vec();
    // What introspection of the same token says, read together with the token's findings (a
    // context the server knows but left out of the token response is the server's fault).
    if let Some(token) = case.token_response() {
        let answer = case.introspection().and_then(|i| i.answer.as_ref());
        super::introspection::reconcile(&mut diagnoses, answer, token);
    }
    let (outcome, step) = match case.outcome() {
        // Came back: its token request is still out.
        Outcome::Pending if case.step() == Step::Token => (Outcome::Pending, Step::Token),
        Outcome::Pending if now - case.started_at() >= cfg.never_returned_after_seconds => {
            diagnoses.push(never_returned(case, cfg));
            (Outcome::Error, Step::Authorize)
        }
        Outcome::Pending => (Outcome::Pending, case.step()),
        o => (o, case.step()),
    };
    let diagnoses = ranked(diagnoses);
    let refresh_failed = outcome == Outcome::Success
        && case
            .refreshes()
            .last()
            .is_some_and(|f| f.outcome == Outcome::Error);
    let headline = headline(case.kind(), outcome, step, &diagnoses, refresh_failed);
    let plain = plain(case, outcome, &diagnoses, refresh_failed, audience);
    Assessment {
        outcome,
        step,
        steps: steps(case, outcome, step),
        diagnoses,
        headline,
        plain,
        refresh_failed,
    }
}

/// The failure time alone brings: the browser went to the authorization server and never came
/// back to the callback.
fn never_returned(case: &LaunchRecord, cfg: &AssessConfig) -> Diagnosis {
    let wait = cfg.never_returned_after_seconds;
    Diagnosis::new(
        id!("authorize.never_returned"),
        format!("The browser went to the authorization server and did not come back to the callback within {wait} seconds."),
    )
    .with("redirect_uri sent", case.redirect_uri())
    .with("client_id sent", &case.app().client_id)
    .with("Started", format_time(case.started_at()))
}

/// `2026-11-28 17:02:11 UTC`.
pub fn format_time(unix: i64) -> String {
    let fmt =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// Errors, then warnings, then notes, each in its original order.
pub fn ranked(mut ds: Vec<Diagnosis>) -> Vec<Diagnosis> {
    ds.sort_by_key(|d| (!d.is_error(), d.is_note()));
    ds
}

/// The timeline: steps before the one reached passed; the failed step failed; a later step
/// that still ran (the proof reads go on after an id_token failure) is warned, never green.
fn steps(case: &LaunchRecord, outcome: Outcome, step: Step) -> Vec<StepStatus> {
    let at = Step::ALL.iter().position(|s| *s == step).unwrap_or(0);
    let backend = case.kind() == LaunchKind::Backend;
    let mut out: Vec<StepStatus> = Step::ALL
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let ran = || {
                case.transcript()
                    .iter()
                    .any(|x| x.step == ExchangeStep::of(*s))
            };
            let status = match i.cmp(&at) {
                // A Backend Services run has no browser: no launch, authorize, callback or id_token.
                _ if backend && !matches!(s, Step::Discovery | Step::Token | Step::Fhir) => {
                    Status::Skipped
                }
                std::cmp::Ordering::Less => Status::Passed,
                std::cmp::Ordering::Equal => match outcome {
                    Outcome::Error => Status::Failed,
                    Outcome::Success => Status::Passed,
                    Outcome::Pending => Status::Pending,
                },
                std::cmp::Ordering::Greater if outcome == Outcome::Error && ran() => Status::Warned,
                std::cmp::Ordering::Greater => Status::NotReached,
            };
            let reason = (status == Status::Warned).then(|| {
                format!(
                    "ran after the {} step failed; its result is not trusted",
                    step.as_str()
                )
            });
            StepStatus {
                step: Some(*s),
                name: s.as_str(),
                status,
                reason,
            }
        })
        .collect();
    if let Some(last) = case
        .refreshes()
        .last()
        .filter(|_| outcome == Outcome::Success)
    {
        out.push(StepStatus {
            step: None,
            name: "refresh",
            status: match last.outcome {
                Outcome::Error => Status::Failed,
                Outcome::Success => Status::Passed,
                Outcome::Pending => Status::Pending,
            },
            reason: None,
        });
    }
    out
}

/// The title: what happened in plain words; a failure names its step second.
fn headline(
    kind: LaunchKind,
    outcome: Outcome,
    step: Step,
    ranked: &[Diagnosis],
    refresh_failed: bool,
) -> String {
    let what = if kind == LaunchKind::Backend {
        "Backend Services run"
    } else {
        "Launch"
    };
    match outcome {
        // The sign-in worked; a refresh that failed since is said in the same breath.
        Outcome::Success if refresh_failed => {
            format!("{what} succeeded; the last token refresh failed")
        }
        Outcome::Success => format!("{what} succeeded"),
        Outcome::Pending => format!("{what} in progress"),
        Outcome::Error => failure_headline(step, ranked.iter().find(|d| d.is_error())),
    }
}

/// A failed launch's headline in plain words, the step second: "The EHR did not accept this app
/// (token step)". `top` is the first error, which tells an unreachable server apart.
pub fn failure_headline(step: Step, top: Option<&Diagnosis>) -> String {
    let unreachable = top.is_some_and(|d| d.id().family() == Family::Net);
    // An HTTP error (a 5xx, a 404) is not a refusal of this app: say the service failed.
    let service_failed = top.is_some_and(|d| d.id() == id!("token.http_error"));
    let plain = match step {
        _ if unreachable => "The EHR could not be reached",
        Step::Token if service_failed => "The EHR's sign-in service answered with an error",
        Step::Launch => "The launch could not start",
        Step::Discovery => "The EHR's SMART configuration could not be used",
        Step::Authorize => "The sign-in at the EHR did not finish",
        Step::Callback => "The EHR sent the browser back without a usable sign-in",
        Step::Token => "The EHR did not accept this app",
        Step::IdToken => "The EHR's proof of who signed in did not check out",
        Step::Fhir => "Signed in, but the EHR's data could not be read",
    };
    format!("{plain} ({} step)", step.as_str())
}

fn describe(r: &ReadResource) -> String {
    let name = r.name.clone().unwrap_or_else(|| r.reference.clone());
    match &r.birth_date {
        Some(b) => format!("{name}, born {b}"),
        None => name,
    }
}

/// The plain sentence a clinician reads first, from the case as the view shows it; for a
/// shared output it names no person (not even by reference).
fn plain(
    case: &LaunchRecord,
    outcome: Outcome,
    ranked: &[Diagnosis],
    refresh_failed: bool,
    audience: Audience,
) -> String {
    match outcome {
        Outcome::Error => ranked
            .iter()
            .find(|d| d.is_error())
            .map(|d| d.plain().to_string())
            .unwrap_or_else(|| "The launch failed.".into()),
        // Back at the callback, the code is being exchanged: the EHR's token endpoint has not
        // answered yet (not the browser that is missing).
        Outcome::Pending if case.step() == Step::Token => {
            "The browser came back; this launch is waiting for the EHR to answer the token request."
                .into()
        }
        Outcome::Pending => "This launch is waiting for the EHR to send the browser back.".into(),
        Outcome::Success => match &case.backend() {
            Some(b) => format!(
                "{} got an access token without a user and read {} with it ({}).",
                case.app().name,
                b.read
                    .as_ref()
                    .map_or("nothing", |x| x.resource_type.as_str()),
                b.read_path
            ),
            None => signed_in(case, ranked, refresh_failed, audience),
        },
    }
}

fn signed_in(
    case: &LaunchRecord,
    ranked: &[Diagnosis],
    refresh_failed: bool,
    audience: Audience,
) -> String {
    let shared = audience == Audience::Shared;
    let user = case.identity().and_then(|i| i.user.as_ref());
    let signed_in = match user {
        Some(u) if shared => format!("Signed in as the signed-in user ({}).", u.resource_type),
        Some(u) => format!(
            "Signed in as {} ({}).",
            u.name.clone().unwrap_or_else(|| u.reference.clone()),
            u.resource_type
        ),
        None => format!("Signed in to {}.", case.app().name),
    };
    let in_context = case.token().and_then(|t| t.patient.as_deref());
    let context = match (&case.patient(), in_context) {
        (Some(_), _) | (None, Some(_)) if shared => {
            " Patient in context: the patient in context (not named in a shared report).".into()
        }
        (Some(p), _) => format!(" Patient in context: {}.", describe(p)),
        (None, Some(id)) => format!(" Patient in context: {id}."),
        // Context granted and not returned: the clinician's first question, so said here.
        (None, None)
            if ranked
                .iter()
                .any(|d| d.id() == id!("token.missing_context")) =>
        {
            " No patient in context: patient context was granted, but the EHR returned none.".into()
        }
        (None, None) => String::new(),
    };
    // A refresh that failed afterwards is news too: the sign-in worked, the session did not last.
    let refresh = case
        .refreshes()
        .last()
        .filter(|_| refresh_failed)
        .map(|f| {
            let why = f
                .diagnoses
                .iter()
                .find(|d| d.is_error())
                .map(|d| d.plain())
                .unwrap_or("");
            format!(" The last token refresh failed. {why}")
        })
        .unwrap_or_default();
    signed_in + &context + refresh.trim_end()
}

#[cfg(test)]
#[path = "assess_tests.rs"]
mod tests;
