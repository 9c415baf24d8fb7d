//! `GET /launches`: this browser's launches, each row from its report (outcome, step and
//! diagnoses as the result page says them), as a page or JSON.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Json, Response};
use serde_json::{Value, json};

use super::super::launch::Params;
use super::super::problem::wants_json;
use super::super::session::BrowserSession;
use super::super::twin::report_of;
use super::super::views::{self, LaunchRow, LaunchesPage};
use super::super::{AppState, Problem, paths};
use crate::diagnosis::launch_report::LaunchReport;

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    session: BrowserSession,
) -> Result<Response, Problem> {
    let all = super::this_browsers_launches(&state, &session).await?;
    let reports: Vec<LaunchReport> = all
        .iter()
        .map(|r| report_of(&state, r.as_ref().clone()))
        .collect();
    let json = Params::parse(query.as_deref())
        .all("format")
        .contains(&"json");
    if wants_json(&headers) || json {
        let items: Vec<Value> = reports.iter().map(item).collect();
        return Ok(Json(json!({ "launches": items })).into_response());
    }
    let rows = reports.iter().map(row).collect();
    views::render_page(&LaunchesPage { rows })
}

/// One launch in the JSON list.
fn item(report: &LaunchReport) -> Value {
    let r = report.record();
    json!({"id": r.id(), "outcome": report.outcome(), "step": report.step(), "kind": r.kind(),
           "registration": r.app(), "started_at": r.started_at(), "finished_at": r.finished_at(),
           "diagnoses": report.listed_ids(),
           "title": report.headline()})
}

fn row(report: &LaunchReport) -> LaunchRow {
    let r = report.record();
    LaunchRow {
        href: paths::launch_result(r.id()),
        name: r.app().name.clone(),
        kind: super::page::kind_str(r.kind()),
        started: views::format_time(r.started_at()),
        outcome: report.outcome_label(),
        step: report.step().as_str(),
        title: report.headline().to_string(),
        ids: report.ids_line(),
    }
}
