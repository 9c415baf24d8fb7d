//! The result page's template and view models: the timeline (from the report's step
//! statuses), the token response explained, and scopes requested against granted.

use askama::Template;
use serde_json::Value;

use super::filters;
use crate::diagnosis::assess::Status;
use crate::diagnosis::launch_report::LaunchReport;
use crate::diagnosis::transcript::{Exchange, token_marker};
use crate::diagnosis::{Diagnosis, scopes};
use crate::record::LaunchRecord;
use crate::smart::fhir::ReadResource;

/// A step of the timeline and how far the launch got.
pub struct StepView {
    pub name: &'static str,
    /// `done`, `failed`, `current`, `warned` (ran after a failure) or `not-reached`.
    pub status: &'static str,
    /// Why the step has this status (a `warned` step ran after a failed one).
    pub reason: Option<String>,
}

/// One field of the token response, explained.
pub struct TokenField {
    pub name: String,
    pub value: String,
    pub explanation: &'static str,
    pub masked: bool,
    /// A token (masked or revealed): opaque, so it may wrap anywhere.
    pub opaque: bool,
    pub known: bool,
}

/// One scope, requested and/or granted.
pub struct ScopeRow {
    pub scope: String,
    pub requested: bool,
    pub granted: bool,
}

#[derive(Template)]
#[template(path = "result.html")]
pub struct ResultPage<'a> {
    pub r: &'a LaunchRecord,
    /// The heading: "Launch succeeded", or a failure in plain words with its step second.
    pub title: String,
    pub headline: String,
    pub outcome: &'static str,
    pub kind: &'static str,
    pub started: String,
    pub steps: Vec<StepView>,
    pub errors: Vec<&'a Diagnosis>,
    pub warnings: Vec<&'a Diagnosis>,
    /// Warnings expected in their context (plain http to this machine), shown as notes.
    pub notes: Vec<&'a Diagnosis>,
    /// A launch whose token request is still out: seconds since its callback (the page then
    /// refreshes itself; see `waiting`).
    pub exchanging: Option<i64>,
    /// `http_timeout_seconds`: when a silent EHR's token request is given up.
    pub timeout_secs: u64,
    /// Patient or user details exist: only then is there a download with them.
    pub personal: bool,
    pub fields: Vec<TokenField>,
    pub scopes: Vec<ScopeRow>,
    /// Unix time the access token expires, and the same in words.
    pub expires: Option<(i64, String)>,
    /// `expires` is the newest refresh's access token's, not the launch's.
    pub expires_after_refresh: bool,
    pub reveal: bool,
    /// `never_returned_after_seconds`: how long a pending launch waits before it has failed.
    pub wait_seconds: u64,
    /// "Launch again": (href, label), repeating this launch where it can.
    pub again: (String, String),
    pub has_tokens: bool,
    pub transcript: &'a [Exchange],
    pub self_href: String,
    /// A `curl` reproducing the failing request, secrets as variables.
    pub curl: Option<String>,
    /// The authorization request to open again, for a launch that stopped before the callback.
    pub retry_url: Option<String>,
    /// Download links: (JSON, Markdown).
    pub reports: (String, String),
    pub identity: Option<IdentityView>,
    pub patient: Option<&'a ReadResource>,
    pub encounter: Option<&'a ReadResource>,
    /// The access token's header and claims when it is a JWT, pretty-printed (unverified).
    pub access_jwt: Option<(String, String)>,
    pub refreshes: Vec<RefreshView<'a>>,
    /// The refresh form's target and CSRF token, when a refresh token is held.
    pub refresh_form: Option<(String, String)>,
    /// Scorecard, launch context, granular scopes, introspection.
    pub extra: super::super::scorecard::LaunchExtras<'a>,
    /// Said above everything: the result was not stored (shown from memory by the callback).
    pub notice: Option<&'static str>,
}

/// The id_token's verdict and the signed-in user.
pub struct IdentityView {
    pub verified: bool,
    pub fhir_user: String,
    /// The `fhirUser` claim of an id_token that did not verify: shown, marked untrusted.
    pub unverified_fhir_user: String,
    pub user: Option<ReadResource>,
    pub header: String,
    pub claims: String,
}

/// One refresh, shown beside the original response.
pub struct RefreshView<'a> {
    pub at: String,
    pub outcome: &'static str,
    pub fields: Vec<TokenField>,
    pub diagnoses: &'a [Diagnosis],
}

const SECRET_FIELDS: &[&str] = &["access_token", "refresh_token", "id_token"];

/// What each token-response field means (SMART App Launch 2.2, RFC 6749 §5.1, OpenID Connect).
pub fn explain(field: &str) -> Option<&'static str> {
    Some(match field {
        "access_token" => "The credential the app sends to the FHIR API, as Authorization: Bearer.",
        "token_type" => "How to use the access token; SMART requires Bearer.",
        "expires_in" => "Lifetime of the access token, in seconds from issue.",
        "scope" => "The scopes actually granted; compare with what was requested below.",
        "refresh_token" => "Lets the app get a new access token without the user.",
        "id_token" => "OpenID Connect identity token: who signed in (a signed JWT).",
        "patient" => "The patient in context: a FHIR Patient id.",
        "encounter" => "The encounter in context: a FHIR Encounter id.",
        "fhirContext" => "Further FHIR resources in context (SMART 2.2).",
        "need_patient_banner" => {
            "Whether the app must show a patient banner (false when the EHR already shows one)."
        }
        "smart_style_url" => "Style hints for looking like the EHR.",
        "intent" => "What the EHR asks the app to do on this launch.",
        "tenant" => "Tenant identifier returned by some EHRs.",
        _ => return None,
    })
}

/// The token response as rows; tokens masked unless `reveal`.
pub fn token_fields(resp: &serde_json::Map<String, Value>, reveal: bool) -> Vec<TokenField> {
    resp.iter()
        .map(|(name, value)| {
            let masked = SECRET_FIELDS.contains(&name.as_str()) && !reveal;
            let text = match value {
                Value::String(s) if masked => token_marker(s),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            TokenField {
                name: name.clone(),
                value: text,
                explanation: explain(name)
                    .unwrap_or("Not defined by SMART or OAuth: a vendor extension."),
                masked,
                opaque: SECRET_FIELDS.contains(&name.as_str()),
                known: explain(name).is_some(),
            }
        })
        .collect()
}

/// Requested and granted scopes side by side, requested order first.
pub fn scope_rows(requested: &str, granted: Option<&str>) -> Vec<ScopeRow> {
    let req: Vec<&str> = requested.split_whitespace().collect();
    let got: Vec<&str> = granted
        .map(|g| g.split_whitespace().collect())
        .unwrap_or_else(|| req.clone());
    let mut rows: Vec<ScopeRow> = req
        .iter()
        .map(|s| ScopeRow {
            scope: s.to_string(),
            requested: true,
            granted: scopes::covered(&got, s),
        })
        .collect();
    // Granted scopes that are not a requested one in another spelling.
    let extra = got
        .iter()
        .filter(|g| !req.iter().any(|r| scopes::equivalent(r, g)));
    rows.extend(extra.map(|s| ScopeRow {
        scope: s.to_string(),
        requested: false,
        granted: true,
    }));
    rows
}

/// The timeline, from the report's step statuses (the steps a Backend Services run skips left
/// out); the class names of the page's CSS.
pub fn steps(report: &LaunchReport) -> Vec<StepView> {
    step_views(report.steps())
}

/// The timeline of `steps` (a launch's or a check's), as [`steps`] shows it.
pub fn step_views(steps: &[crate::diagnosis::assess::StepStatus]) -> Vec<StepView> {
    steps
        .iter()
        .filter(|s| s.status != Status::Skipped)
        .map(|s| StepView {
            name: s.name,
            status: match s.status {
                Status::Passed => "done",
                Status::Failed => "failed",
                Status::Pending => "current",
                Status::Warned => "warned",
                Status::NotReached | Status::Skipped => "not-reached",
            },
            reason: s.reason.clone(),
        })
        .collect()
}

use crate::diagnosis::conformance;

impl ResultPage<'_> {
    /// Where on this page the scorecard's failed checks are repeated as diagnoses (their ids
    /// shown under "What went wrong", "Warnings" or "Notes"), or `None` when they are not.
    pub fn failed_checks_also_under(&self) -> Option<String> {
        let failed: Vec<_> = self
            .extra
            .checks
            .iter()
            .filter(|c| c.check.failed())
            .map(|c| c.check.id)
            .collect();
        let sections: Vec<&str> = [
            ("What went wrong", &self.errors),
            ("Warnings", &self.warnings),
            ("Notes", &self.notes),
        ]
        .into_iter()
        .filter(|(_, ds)| {
            ds.iter()
                .any(|d| failed.iter().any(|&c| conformance::says(c, d.id())))
        })
        .map(|(name, _)| name)
        .collect();
        (!sections.is_empty()).then(|| sections.join(" and "))
    }
}
