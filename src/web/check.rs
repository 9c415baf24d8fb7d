//! `GET /check/{id}` and `POST /check` (the ad-hoc form): the registration check as a page, or
//! for `Accept: application/json` the same object `check --format json` prints per registration.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Json, Response};

use super::AppState;
use super::Problem;
use super::csrf::Csrf;
use super::launch::{AdHocForm, adhoc_registration};
use super::limit::Allowed;
use super::problem::wants_json;
use super::views::{self, CheckPage};
use crate::check::{self, Report};
use crate::diagnosis::Severity;

fn respond(headers: &HeaderMap, report: &Report) -> Result<Response, Problem> {
    if wants_json(headers) {
        return Ok(Json(report).into_response());
    }
    let page = CheckPage {
        r: report,
        errors: report
            .diagnoses
            .iter()
            .filter(|d| d.severity() == Severity::Error)
            .collect(),
        warnings: report
            .diagnoses
            .iter()
            .filter(|d| d.severity() == Severity::Warn)
            .collect(),
        transcript: &report.transcript,
        steps: views::step_views(&report.steps),
    };
    views::render_page(&page)
}

pub async fn registration(
    State(state): State<AppState>,
    _: Allowed,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let Some(reg) = state.config.registration(&id).cloned() else {
        return Err(Problem::unknown_registration(&id));
    };
    let report = check::check(&state.core, &reg, false).await;
    respond(&headers, &report)
}

pub async fn adhoc(
    State(state): State<AppState>,
    _: Allowed,
    headers: HeaderMap,
    csrf: Csrf,
    form: Result<Form<AdHocForm>, FormRejection>,
) -> Result<Response, Problem> {
    let reg = match adhoc_registration(&state, &headers, csrf, form)? {
        Ok(reg) => reg,
        Err(page) => return Ok(page),
    };
    let report = check::check(&state.core, &reg, true).await;
    respond(&headers, &report)
}
