//! `report.json` and `report.md`: the launch's report as downloads, tokens always redacted and,
//! unless the owner asks (`?reveal=patient`), without patient and user details.

use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::super::launch::Params;
use super::super::session::BrowserSession;
use super::super::twin::{gate_for, report_of, result_json, shared_report_of, through_gate};
use super::super::{AppState, Problem, views};
use crate::diagnosis::launch_report::LaunchReport;
use crate::diagnosis::report;
use crate::record::LaunchRecord;

/// Whether the owner asked for the patient and user details (`?reveal=patient`).
fn with_patient(query: Option<&str>) -> bool {
    Params::parse(query).all("reveal").contains(&"patient")
}

/// A report is meant to be shared: without patient and user details, its sentences naming no
/// person, unless the owner asks for them (`?reveal=patient`).
fn shareable(state: &AppState, shown: LaunchRecord, query: Option<&str>) -> LaunchReport {
    if with_patient(query) {
        report_of(state, shown)
    } else {
        shared_report_of(state, shown)
    }
}

/// `report.json`: the JSON twin, tokens always redacted, as a download.
pub async fn report_json(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    session: BrowserSession,
) -> Result<Response, Problem> {
    let found = super::find(&state, &session, &id).await?;
    let gate = gate_for(&state.config, &state.sealer, &found);
    let shown = through_gate(&found, &gate);
    let report = shareable(&state, shown.record, query.as_deref());
    let json = result_json(&report, shown.access_jwt.as_ref(), false, &gate);
    let body = serde_json::to_string_pretty(&json).unwrap_or_default();
    let name = download_name(&id, query.as_deref(), "json");
    Ok(download("application/json", &name, body))
}

/// `report.md`: the launch as Markdown for a support forum.
pub async fn report_md(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    session: BrowserSession,
) -> Result<Response, Problem> {
    let found = super::find(&state, &session, &id).await?;
    let gate = gate_for(&state.config, &state.sealer, &found);
    let report = shareable(&state, through_gate(&found, &gate).record, query.as_deref());
    let when = views::format_time(report.record().started_at());
    let md = gate.scrub(&report::markdown(&report, &when));
    Ok(download(
        "text/markdown; charset=utf-8",
        &download_name(&id, query.as_deref(), "md"),
        md,
    ))
}

/// `launch-{id}-redacted.json`, or `launch-{id}-with-patient.json` when the owner asked for the
/// patient and user details: the two never overwrite each other, and the name warns before a
/// file with a patient's name is posted anywhere.
fn download_name(id: &str, query: Option<&str>, ext: &str) -> String {
    let which = if with_patient(query) {
        "with-patient"
    } else {
        "redacted"
    };
    format!("launch-{id}-{which}.{ext}")
}

fn download(content_type: &'static str, filename: &str, body: String) -> Response {
    let disposition = format!("attachment; filename=\"{filename}\"");
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}
