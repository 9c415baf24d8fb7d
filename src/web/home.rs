//! `GET /`: the registrations, each with a Launch button, and the ad-hoc form.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::launch::AdHocForm;
use super::session::BrowserSession;
use super::views::{self, AdHocValues, HomePage, RegistrationRow};
use super::{Problem, paths};
use crate::state::AppState;

const DEFAULT_ADHOC_SCOPE: &str = "launch/patient openid fhirUser patient/*.read";

pub async fn show(
    State(state): State<AppState>,
    mut session: BrowserSession,
) -> Result<Response, Problem> {
    let values = AdHocValues {
        auth: "none".into(),
        scope: DEFAULT_ADHOC_SCOPE.into(),
        ..AdHocValues::default()
    };
    render(&state, &mut session, values, Vec::new(), StatusCode::OK).await
}

/// The home page again with the form's errors (400); the secret is not echoed back.
pub async fn render_with_errors(
    state: &AppState,
    session: &mut BrowserSession,
    form: &AdHocForm,
    errors: Vec<(String, String)>,
) -> Result<Response, Problem> {
    let values = AdHocValues {
        iss: form.iss.clone(),
        client_id: form.client_id.clone(),
        auth: form.auth.clone(),
        scope: form.scope.clone(),
    };
    render(state, session, values, errors, StatusCode::BAD_REQUEST).await
}

async fn render(
    state: &AppState,
    session: &mut BrowserSession,
    form: AdHocValues,
    errors: Vec<(String, String)>,
    status: StatusCode,
) -> Result<Response, Problem> {
    let config = &state.config;
    let csrf = session.csrf_token();
    session.save().await?;
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
        csrf,
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
    Ok(resp)
}
