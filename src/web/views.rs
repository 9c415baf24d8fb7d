//! Page templates and the small view models they read. Askama escapes everything; nothing from
//! upstream is ever marked safe.

use askama::Template;
use serde_json::Value;

use crate::diagnosis::Diagnosis;
use crate::diagnosis::transcript::Exchange;
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
    /// The step bar, as a launch's.
    pub steps: Vec<result_page::StepView>,
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
    /// The result page's title (the report's headline).
    pub title: String,
    /// Diagnosis ids, errors first; and the notes (findings expected in context).
    pub ids: (String, String),
}

#[derive(Template)]
#[template(path = "launches.html")]
pub struct LaunchesPage {
    pub rows: Vec<LaunchRow>,
}

mod result_page;
pub use result_page::*;

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

pub use crate::diagnosis::assess::format_time;

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
