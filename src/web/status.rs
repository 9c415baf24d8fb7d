//! `GET /status` (the board: one row per watched registration), `GET /status/{id}` (its runs,
//! newest first, with each run's findings and their catalogue entries) and
//! `GET /probe?registration=ID` (one probe now, as Prometheus text). Each page has a JSON twin.
//! Rows hold statuses, diagnosis ids and one-line summaries: no secret, no PHI.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use serde::{Deserialize, Serialize};

use super::problem::wants_json;
use super::views::{format_time, render_page};
pub use super::words::filters;
use super::{AppState, Problem, paths};
use crate::diagnosis::DiagnosisId;
use crate::monitor::{RowState, Run};

/// One row of the board (and its JSON twin).
#[derive(Serialize)]
pub struct Row {
    pub id: String,
    pub name: String,
    /// `up`, `degraded`, `down`; before the first run `pending` (the monitor is on) or
    /// `not monitored` (no `[monitor]` on this instance, and no run stored).
    pub status: String,
    /// Unix milliseconds.
    pub since: Option<i64>,
    pub failing_step: Option<String>,
    pub diagnosis: Option<DiagnosisId>,
    pub diagnosis_title: Option<String>,
    pub last_change: Option<crate::monitor::run::Change>,
    pub last_run: Option<i64>,
    pub next_run: Option<i64>,
    pub tls_days_left: Option<i64>,
    pub history: String,
    pub last_case: Option<String>,
}

fn ms_time(ms: i64) -> String {
    format_time(ms.div_euclid(1000))
}

fn row(state: &AppState, id: &str, name: &str, s: Option<RowState>) -> Row {
    let run = s.as_ref().map(|s| &s.last_run);
    // The first error's id; a degraded row names its first warning.
    let diagnosis = run.and_then(|r| r.first_diagnosis().or(r.findings.first().map(|f| f.id)));
    Row {
        id: id.to_string(),
        name: name.to_string(),
        status: match &s {
            Some(s) => s.status.as_str(),
            None if state.monitor.config().enabled => "pending",
            None => "not monitored",
        }
        .into(),
        since: s.as_ref().map(|s| s.since),
        failing_step: run.and_then(|r| r.failing_step.clone()),
        diagnosis_title: diagnosis.map(|d| d.entry().title.to_string()),
        diagnosis,
        last_change: s.as_ref().and_then(|s| s.last_change.clone()),
        last_run: run.map(|r| r.at),
        next_run: state.monitor.next_run(id),
        tls_days_left: run.and_then(|r| r.tls_days_left),
        history: paths::status_history(id),
        last_case: run.map(|r| format!("{}#run-{}", paths::status_history(id), r.id)),
    }
}

#[derive(Template)]
#[template(path = "status.html")]
struct BoardPage {
    rows: Vec<Row>,
    enabled: bool,
    every: String,
}

impl BoardPage {
    fn time(&self, ms: &Option<i64>) -> String {
        ms.map(ms_time).unwrap_or_else(|| "—".into())
    }

    fn at(&self, ms: &i64) -> String {
        ms_time(*ms)
    }
}

/// `GET /status`.
pub async fn board(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, Problem> {
    let mut rows = Vec::new();
    for reg in state.monitor.watched(&state.config) {
        let s = state
            .monitor
            .history()
            .state(&reg.id)
            .await
            .map_err(|e| Problem::store(&e))?;
        rows.push(row(&state, &reg.id, &reg.name, s));
    }
    let m = state.monitor.config();
    if wants_json(&headers) {
        return Ok(Json(serde_json::json!({
            "enabled": m.enabled,
            "every_seconds": m.every.as_secs(),
            "registrations": rows,
        }))
        .into_response());
    }
    render_page(&BoardPage {
        rows,
        enabled: m.enabled,
        every: humantime::format_duration(m.every).to_string(),
    })
}

#[derive(Template)]
#[template(path = "status_history.html")]
struct HistoryPage {
    row: Row,
    runs: Vec<Run>,
}

impl HistoryPage {
    fn time(&self, ms: &i64) -> String {
        ms_time(*ms)
    }

    fn severity(&self, f: &crate::monitor::run::Finding) -> &'static str {
        match f.severity {
            crate::diagnosis::Severity::Error => "error",
            crate::diagnosis::Severity::Warn => "warning",
        }
    }

    fn title(&self, id: &DiagnosisId) -> &'static str {
        id.entry().title
    }

    fn plain(&self, id: &DiagnosisId) -> &'static str {
        id.entry().plain
    }

    fn fix(&self, id: &DiagnosisId) -> &'static str {
        id.entry().fixes.first().copied().unwrap_or("")
    }
}

/// `GET /status/{id}`.
pub async fn history(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let Some(reg) = state.config.registration(&id) else {
        return Err(Problem::unknown_registration(&id));
    };
    let h = state.monitor.history();
    let s = h.state(&id).await.map_err(|e| Problem::store(&e))?;
    let runs = h.runs(&id).await.map_err(|e| Problem::store(&e))?;
    let row = row(&state, &reg.id, &reg.name, s);
    if wants_json(&headers) {
        return Ok(Json(serde_json::json!({ "registration": row, "runs": runs })).into_response());
    }
    render_page(&HistoryPage { row, runs })
}

#[derive(Deserialize)]
pub struct ProbeQuery {
    registration: Option<String>,
}

/// `GET /probe?registration=ID`: one probe now (not recorded), its metrics alone.
pub async fn probe(
    State(state): State<AppState>,
    Query(q): Query<ProbeQuery>,
) -> Result<Response, Problem> {
    let Some(id) = q.registration else {
        return Err(Problem::plain(
            StatusCode::BAD_REQUEST,
            "Registration missing",
            "Name the registration to probe: /probe?registration=ID.",
        ));
    };
    let Some(reg) = state.config.registration(&id).cloned() else {
        return Err(Problem::unknown_registration(&id));
    };
    let at = state.monitor.config().clock.now_ms();
    let run = crate::monitor::run::probe(&state.core, &reg, at).await;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::monitor::exposition::render(&run),
    )
        .into_response())
}
