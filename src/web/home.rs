//! `GET /`: the registrations, each with a Launch button, and the ad-hoc form.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};

use super::AppState;
use super::csrf::Csrf;
use super::launch::AdHocForm;
use super::problem::{format_json, wants_json};
use super::views::{self, AdHocValues, HomePage, RegistrationRow};
use super::{Problem, paths};

const DEFAULT_ADHOC_SCOPE: &str = "launch/patient openid fhirUser patient/*.read";

/// No session is read or made: the form's CSRF token is a cookie. The JSON twin lists the same
/// registrations and links.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    csrf: Csrf,
) -> Result<Response, Problem> {
    if wants_json(&headers) || format_json(query.as_deref()) {
        return Ok(Json(home_json(&state)).into_response());
    }
    let values = AdHocValues {
        auth: "none".into(),
        scope: DEFAULT_ADHOC_SCOPE.into(),
        ..AdHocValues::default()
    };
    render(&state, csrf, values, Vec::new(), StatusCode::OK)
}

fn home_json(state: &AppState) -> serde_json::Value {
    let config = &state.config;
    let registrations: Vec<serde_json::Value> = config
        .registrations
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id, "name": r.name, "iss": r.iss, "client_id": r.client_id,
                "auth": r.auth.method().as_str(), "scope": r.scope, "standalone_scope": r.standalone_scope,
                "launch": (!r.backend).then(|| paths::standalone(&r.id)), "check": paths::check(&r.id),
                "backend": r.backend.then(|| paths::backend(&r.id)),
            })
        })
        .collect();
    serde_json::json!({
        "registrations": registrations,
        "adhoc_launch": config.adhoc_launch,
        "redirect_uri": config.redirect_uri(),
        "ehr_launch_url": format!("{}{}", config.public_url.as_str().trim_end_matches('/'), paths::LAUNCH),
        "practice_ehr": state.practice.is_some(),
    })
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
                auth: r.auth.method().as_str(),
                scope: r.scope.clone(),
                standalone_scope: r.standalone_scope.clone(),
                launch_href: paths::standalone(&r.id),
                check_href: paths::check(&r.id),
                backend_href: r.backend.then(|| paths::backend(&r.id)),
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
