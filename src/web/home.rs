//! `GET /`: the registrations, each with a Launch button, and the ad-hoc form.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::AppState;
use super::csrf::Csrf;
use super::launch::AdHocForm;
use super::views::{self, AdHocValues, HomePage, RegistrationRow};
use super::{Problem, paths};

const DEFAULT_ADHOC_SCOPE: &str = "launch/patient openid fhirUser patient/*.read";

/// No session is read or made: the form's CSRF token is a cookie.
pub async fn show(State(state): State<AppState>, csrf: Csrf) -> Result<Response, Problem> {
    let values = AdHocValues {
        auth: "none".into(),
        scope: DEFAULT_ADHOC_SCOPE.into(),
        ..AdHocValues::default()
    };
    render(&state, csrf, values, Vec::new(), StatusCode::OK)
}

/// The home page again with the form's errors (400); the secret is not echoed back.
pub fn render_with_errors(
    state: &AppState,
    csrf: Csrf,
    form: &AdHocForm,
    errors: Vec<(String, String)>,
) -> Result<Response, Problem> {
    let values = AdHocValues {
        // A password typed into the URL is refused and never sent back.
        iss: crate::config::without_userinfo(&form.iss),
        client_id: form.client_id.clone(),
        auth: form.auth.clone(),
        scope: form.scope.clone(),
    };
    render(state, csrf, values, errors, StatusCode::BAD_REQUEST)
}

fn render(
    state: &AppState,
    csrf: Csrf,
    form: AdHocValues,
    errors: Vec<(String, String)>,
    status: StatusCode,
) -> Result<Response, Problem> {
    let config = &state.config;
    let page = HomePage {
        registrations: config
            .registrations
            .iter()
            .map(|r| RegistrationRow {
                id: r.id.clone(),
                name: r.name.clone(),
                iss: r.iss.clone(),
                client_id: r.client_id.clone(),
                auth: r.auth.as_str(),
                scope: r.scope.clone(),
                standalone_scope: r.standalone_scope.clone(),
                launch_href: paths::standalone(&r.id),
                check_href: paths::check(&r.id),
            })
            .collect(),
        csrf: csrf.token.clone(),
        adhoc_enabled: config.adhoc_launch,
        form,
        errors,
        redirect_uri: config.redirect_uri(),
        practice: state.practice.is_some(),
        ehr_launch_url: format!(
            "{}{}",
            config.public_url.as_str().trim_end_matches('/'),
            paths::LAUNCH
        ),
    };
    let mut resp = views::render_page(&page)?;
    *resp.status_mut() = status;
    Ok(csrf.attach(config, resp))
}
