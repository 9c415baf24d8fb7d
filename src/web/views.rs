//! Page templates and the small view models they read. Askama escapes everything; nothing from
//! upstream is ever marked safe.

use askama::Template;
use serde_json::Value;

use crate::diagnosis::transcript::{Exchange, token_marker};
use crate::diagnosis::{Diagnosis, scopes};
use crate::record::{LaunchRecord, Outcome};
use crate::smart::Step;
use crate::smart::fhir::ReadResource;
// askama finds the templates' filters (`|wbr`) by this name where a template is derived.
pub use super::words::filters;

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub title: &'a str,
    pub message: &'a str,
    pub status: u16,
    pub request_id: &'a str,
    pub diagnoses: &'a [Diagnosis],
    pub links: &'a [(String, String)],
    /// Neutral colours and no alert role: see `Problem::notice`.
    pub notice: bool,
}

#[derive(Template)]
#[template(path = "check.html")]
pub struct CheckPage<'a> {
    pub r: &'a crate::check::Report,
    pub errors: Vec<&'a Diagnosis>,
    pub warnings: Vec<&'a Diagnosis>,
    pub transcript: &'a [Exchange],
}

/// Back to a callback this browser's launch already finished with: a neutral page that says so
/// and leads to the result. The JSON twin still names `callback.state_reused`.
pub fn sign_in_finished(launch_id: &str) -> super::Problem {
    let d = Diagnosis::new(
        id!("callback.state_reused"),
        "This callback was already used; its code cannot be exchanged twice.",
    );
    let mut p = super::Problem::diagnosed(axum::http::StatusCode::BAD_REQUEST, d);
    p.title = "This sign-in already finished".into();
    p.message = "The browser came back to the address the EHR returns to after a sign-in (the Back button does this). That sign-in finished earlier and its result is saved; nothing was sent to the EHR again.".into();
    p.notice = true;
    p.link("See the result", super::paths::launch_result(launch_id))
        .link("Your launches", super::paths::LAUNCHES)
}

impl CheckPage<'_> {
    /// What the credential probe learned, as a sentence: "The EHR knows client id `x` and
    /// accepted its authentication …", not the verdict word alone.
    pub fn verdict_sentence(&self) -> String {
        use crate::diagnosis::classify::probe::Verdict;
        let c = &self.r.credentials;
        let id = &self.r.registration.client_id;
        let public = c.method == "none";
        match c.verdict {
            Verdict::Accepted if public => format!(
                "The EHR knows the public client id {id} (no client authentication): it refused the probe's deliberately invalid code as invalid_grant, as it should."
            ),
            Verdict::Accepted => format!(
                "The EHR knows the client id {id} and accepted its authentication ({}): it then refused the probe's deliberately invalid code as invalid_grant, as it should.",
                c.method
            ),
            Verdict::Rejected if public => format!(
                "The EHR did not accept the public client id {id}: it answered invalid_client."
            ),
            Verdict::Rejected => format!(
                "The EHR did not accept the client id {id} with its authentication ({}): it answered invalid_client.",
                c.method
            ),
            Verdict::Inconclusive => format!(
                "The probe could not tell whether the EHR accepts the client id {id}: its answer was neither invalid_grant nor invalid_client (see below)."
            ),
            Verdict::NotProbed => "The credentials were not probed: discovery failed, so there was no token endpoint to ask.".into(),
        }
    }
}

/// One gallery entry.
pub struct GalleryRow {
    /// The row's fragment id (`gallery-{id}`, the id of the launches it starts).
    pub anchor: String,
    pub action: String,
    pub title: &'static str,
    pub expect: &'static str,
    pub explain: &'static str,
    pub auth: &'static str,
}

#[derive(Template)]
#[template(path = "gallery.html")]
pub struct GalleryPage {
    pub rows: Vec<GalleryRow>,
    pub csrf: String,
    pub ehr_page: &'static str,
}

/// One registration on the home page.
pub struct RegistrationRow {
    pub id: String,
    pub name: String,
    pub iss: String,
    pub client_id: String,
    pub auth: &'static str,
    pub scope: String,
    pub standalone_scope: String,
    pub launch_href: String,
    pub check_href: String,
    /// `POST /backend/{id}` for a Backend Services registration (shown instead of Launch).
    pub backend_href: Option<String>,
}

/// What the ad-hoc form shows again after an error (never the secret).
#[derive(Default)]
pub struct AdHocValues {
    pub iss: String,
    pub client_id: String,
    pub auth: String,
    pub scope: String,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub registrations: Vec<RegistrationRow>,
    pub csrf: String,
    pub adhoc_enabled: bool,
    pub form: AdHocValues,
    pub errors: Vec<(String, String)>,
    pub redirect_uri: String,
    pub ehr_launch_url: String,
    /// Links to the practice EHR's launch page and the gallery, when it is on.
    pub practice: bool,
}

/// The ad-hoc form's fields in page order: (field name, input id, label).
const ADHOC_FIELDS: &[(&str, &str, &str)] = &[
    ("iss", "f-iss", "FHIR base URL (iss)"),
    ("client_id", "f-client", "Client id"),
    ("auth", "f-auth", "Client authentication"),
    ("client_secret", "f-secret", "Client secret"),
    ("scope", "f-scope", "Scope"),
];

impl HomePage {
    /// Whether `field` has an error (its input gets `aria-invalid` and `aria-describedby`).
    pub fn invalid(&self, field: &str) -> bool {
        self.errors.iter().any(|(f, _)| f == field)
    }

    /// The first field in page order with an error: it gets `autofocus`, so the browser opens
    /// the page at it rather than at the top.
    pub fn first_invalid(&self) -> &'static str {
        ADHOC_FIELDS
            .iter()
            .find(|(f, _, _)| self.invalid(f))
            .map_or("", |(f, _, _)| f)
    }

    /// The error summary's entries, in page order: (input id, label, message).
    pub fn summary(&self) -> Vec<(&'static str, &'static str, String)> {
        ADHOC_FIELDS
            .iter()
            .filter(|(f, _, _)| self.invalid(f))
            .map(|(f, id, label)| (*id, *label, self.error_for(f)))
            .collect()
    }

    pub fn error_for(&self, field: &str) -> String {
        self.errors
            .iter()
            .filter(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// One row of `/launches`.
pub struct LaunchRow {
    pub href: String,
    pub name: String,
    pub kind: &'static str,
    pub started: String,
    pub outcome: &'static str,
    pub step: &'static str,
    /// Diagnosis ids, errors first; and the notes (findings expected in context).
    pub ids: (String, String),
}

#[derive(Template)]
#[template(path = "launches.html")]
pub struct LaunchesPage {
    pub rows: Vec<LaunchRow>,
}

/// A step of the timeline and how far the launch got.
pub struct StepView {
    pub name: &'static str,
    /// `done`, `failed`, `current` or `not-reached`.
    pub status: &'static str,
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
    pub extra: super::scorecard::LaunchExtras<'a>,
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
        "fhirContext" => "Further FHIR resources in context (SMART 2).",
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

/// The timeline: steps before the current one are done.
pub fn steps(r: &LaunchRecord) -> Vec<StepView> {
    let at = Step::ALL.iter().position(|s| *s == r.step).unwrap_or(0);
    Step::ALL
        .iter()
        .enumerate()
        .map(|(i, s)| StepView {
            name: s.as_str(),
            status: match (i.cmp(&at), r.outcome) {
                (std::cmp::Ordering::Less, _) => "done",
                (std::cmp::Ordering::Equal, Outcome::Error) => "failed",
                (std::cmp::Ordering::Equal, Outcome::Success) => "done",
                (std::cmp::Ordering::Equal, Outcome::Pending) => "current",
                // A later step that still ran (the proof reads go on after an id_token
                // failure, so the page can show what the token allows) is not "not reached".
                (std::cmp::Ordering::Greater, _)
                    if r.transcript.iter().any(|x| x.step == s.as_str()) =>
                {
                    "done"
                }
                (std::cmp::Ordering::Greater, _) => "not-reached",
            },
        })
        // A Backend Services run has no browser: no launch, authorize, callback or id_token.
        .filter(|v| {
            r.kind != crate::smart::LaunchKind::Backend
                || matches!(v.name, "discovery" | "token" | "fhir")
        })
        .collect()
}

/// Renders a page; a template failure (a bug) becomes a 500 page, logged, never a panic.
pub fn render_page<T: Template>(page: &T) -> Result<axum::response::Response, super::Problem> {
    use axum::response::IntoResponse;
    page.render()
        .map(|h| axum::response::Html(h).into_response())
        .map_err(|e| {
            tracing::error!(error = %e, "page failed to render");
            super::Problem::plain(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "Page failed",
                "The page could not be rendered.",
            )
        })
}

/// JSON for a `<pre>`, cut after the transcript's body cap (a page never grows with what an EHR
/// sends).
pub fn pretty(v: &Value) -> String {
    crate::smart::bounded::pretty_value(v, crate::smart::transcript::BODY_CAP)
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

#[derive(Template)]
#[template(path = "diagnose.html")]
pub struct DiagnosePage {
    pub csrf: String,
    pub max_mib: usize,
}

#[derive(Template)]
#[template(path = "diagnose_result.html")]
pub struct DiagnoseResultPage<'a> {
    pub r: &'a crate::har::Report,
    pub download: String,
}
