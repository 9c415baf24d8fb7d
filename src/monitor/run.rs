//! One probe of one registration and its verdict: `check` for a launch registration, a Backend
//! Services run for a `backend = true` one. A run keeps no transcript, token or FHIR body: only
//! what the status board shows (status, the first failing step, diagnosis ids with their
//! one-line summaries, TLS days left, durations), so history stays small and free of PHI.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::config::Registration;
use crate::diagnosis::launch_report::LaunchReport;
use crate::diagnosis::{Diagnosis, DiagnosisId, Family, Severity, catalog};
use crate::record::{AppRef, Outcome, random_id};
use crate::smart::transcript::{Exchange, ExchangeStep};
use crate::state::Core;

/// A registration's state on the board.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// No finding.
    Up,
    /// Warnings only.
    Degraded,
    /// At least one error-severity finding (`check` would exit 1).
    Down,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Up => "up",
            Status::Degraded => "degraded",
            Status::Down => "down",
        }
    }
}

/// One finding of a run: the catalogue id, its severity and this case's summary (bounded).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stored and shown as the id's string; read back through the catalogue.
    #[serde(deserialize_with = "stored_id")]
    pub id: DiagnosisId,
    pub severity: Severity,
    pub summary: String,
}

/// An id read back from the history: an id this build does not know (written by another
/// version) reads as `internal.unknown`, as stored diagnoses do.
fn stored_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DiagnosisId, D::Error> {
    let id = String::deserialize(d)?;
    Ok(catalog::entry(&id).id())
}

/// Time spent in one step of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepTime {
    pub step: TimedStep,
    pub seconds: f64,
}

/// The steps a run's time is split into; stored and labelled as their names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimedStep {
    Discovery,
    Token,
    Fhir,
    Total,
    /// Anything else (and a name stored by another version).
    #[serde(other)]
    Other,
}

impl TimedStep {
    pub fn as_str(self) -> &'static str {
        match self {
            TimedStep::Discovery => "discovery",
            TimedStep::Token => "token",
            TimedStep::Fhir => "fhir",
            TimedStep::Total => "total",
            TimedStep::Other => "other",
        }
    }
}

/// A state change, recorded on the run that caused it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub from: Status,
    pub to: Status,
    /// Unix milliseconds.
    pub at: i64,
}

/// One run of one registration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub id: String,
    pub registration: String,
    /// `check` or `backend`.
    pub kind: String,
    /// When it started (Unix milliseconds, the scheduler's clock).
    pub at: i64,
    pub status: Status,
    /// The first step that failed (`discovery`, `registration`, `credentials`, `tls`, `token`,
    /// `fhir`), when the run is down.
    pub failing_step: Option<String>,
    /// Error findings first, then warnings; at most [`MAX_FINDINGS`].
    pub findings: Vec<Finding>,
    /// The FHIR server's certificate (https only): days left and `notAfter` (Unix seconds).
    pub tls_days_left: Option<i64>,
    pub tls_not_after: Option<i64>,
    pub steps: Vec<StepTime>,
    /// The one-line outcome (the credential probe's summary, or the backend run's outcome).
    pub summary: String,
    /// Set on the run whose status differs from the one before.
    pub change: Option<Change>,
}

/// Findings a run keeps at most, and the characters of each summary.
pub const MAX_FINDINGS: usize = 20;
const MAX_SUMMARY: usize = 400;

fn bounded(s: &str) -> String {
    match s.char_indices().nth(MAX_SUMMARY) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

impl Run {
    /// The diagnosis ids of the error findings (or of the warnings when there are none).
    pub fn diagnosis_ids(&self) -> Vec<DiagnosisId> {
        let errors: Vec<DiagnosisId> = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.id)
            .collect();
        if errors.is_empty() {
            self.findings.iter().map(|f| f.id).collect()
        } else {
            errors
        }
    }

    /// The first error finding's id: the one the board shows.
    pub fn first_diagnosis(&self) -> Option<DiagnosisId> {
        self.findings
            .iter()
            .find(|f| f.severity == Severity::Error)
            .map(|f| f.id)
    }

    pub fn total_seconds(&self) -> f64 {
        self.steps
            .iter()
            .find(|s| s.step == TimedStep::Total)
            .map_or(0.0, |s| s.seconds)
    }
}

fn findings(ds: &[Diagnosis]) -> (Status, Vec<Finding>) {
    // A note (plain http to a server on this machine) is expected there: never degraded.
    let mut out: Vec<Finding> = ds
        .iter()
        .filter(|d| !d.is_note())
        .map(|d| Finding {
            id: d.id(),
            severity: d.severity(),
            summary: bounded(&d.summary),
        })
        .collect();
    // Errors first, in their order; warnings after.
    out.sort_by_key(|f| f.severity != Severity::Error);
    out.truncate(MAX_FINDINGS);
    let status = if out.iter().any(|f| f.severity == Severity::Error) {
        Status::Down
    } else if out.is_empty() {
        Status::Up
    } else {
        Status::Degraded
    };
    (status, out)
}

/// The step a diagnosis id belongs to in a `check`.
fn check_step(id: DiagnosisId) -> &'static str {
    match id.family() {
        Family::Discovery | Family::Server => "discovery",
        Family::Token | Family::Net => "credentials",
        _ if id == id!("check.certificate_expiring") => "tls",
        _ => "registration",
    }
}

fn step_times(transcript: &[Exchange], total: f64) -> Vec<StepTime> {
    let mut out: Vec<StepTime> = Vec::new();
    for x in transcript.iter().filter(|x| !x.cached) {
        let step = match x.step {
            ExchangeStep::Discovery => TimedStep::Discovery,
            ExchangeStep::Token | ExchangeStep::Probe => TimedStep::Token,
            ExchangeStep::Fhir => TimedStep::Fhir,
            _ => TimedStep::Other,
        };
        let secs = x.duration_ms as f64 / 1000.0;
        match out.iter_mut().find(|s| s.step == step) {
            Some(s) => s.seconds += secs,
            None => out.push(StepTime {
                step,
                seconds: secs,
            }),
        }
    }
    out.push(StepTime {
        step: TimedStep::Total,
        seconds: total,
    });
    out
}

/// Probes `reg` once (`at`: the scheduler's time of the run). Never stores anything.
pub async fn probe(core: &Core, reg: &Registration, at: i64) -> Run {
    let started = Instant::now();
    if reg.backend {
        let app = AppRef::Registered(reg.id.clone());
        let record = crate::flow::backend::run(core, app, reg, Default::default()).await;
        let report = crate::flow::report(core, &record);
        return of_backend(reg, &report, at, started.elapsed().as_secs_f64());
    }
    let report = crate::check::check(core, reg, false).await;
    let total = started.elapsed().as_secs_f64();
    let (mut status, findings) = findings(&report.diagnoses);
    // Down is what makes `check` exit 1: the assessment's verdict.
    if report.has_error() {
        status = Status::Down;
    }
    let failing_step = (status == Status::Down).then(|| {
        if report.endpoints.is_none() {
            "discovery".to_string()
        } else {
            findings
                .first()
                .map_or("registration", |f| check_step(f.id))
                .to_string()
        }
    });
    Run {
        id: random_id(),
        registration: reg.id.clone(),
        kind: "check".into(),
        at,
        status,
        failing_step,
        findings,
        tls_days_left: report.certificate.as_ref().map(|c| c.days_left),
        tls_not_after: report.certificate.as_ref().map(|c| c.not_after),
        steps: step_times(&report.transcript, total),
        summary: report.credentials.summary.clone(),
        change: None,
    }
}

/// A Backend Services run as a probe result, from its report (the verdict the pages show).
fn of_backend(reg: &Registration, r: &LaunchReport, at: i64, total: f64) -> Run {
    let (mut status, findings) = findings(r.diagnoses());
    if r.outcome() != Outcome::Success {
        status = Status::Down;
    }
    let summary = match r.outcome() {
        Outcome::Success => {
            "Backend Services run: token granted and the FHIR read answered.".into()
        }
        _ => format!(
            "Backend Services run failed at the {} step.",
            r.step().as_str()
        ),
    };
    Run {
        id: random_id(),
        registration: reg.id.clone(),
        kind: "backend".into(),
        at,
        status,
        failing_step: (status == Status::Down).then(|| r.step().as_str().to_string()),
        findings,
        tls_days_left: None,
        tls_not_after: None,
        steps: step_times(r.record().transcript(), total),
        summary,
        change: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insecure(iss: &str) -> Diagnosis {
        Diagnosis::new(id!("launch.insecure_iss"), "plain http").with("iss", iss)
    }

    /// Plain http to a server on this machine is a note: the practice EHR's backend client is
    /// up, not degraded. The same finding for a remote server still degrades the row.
    #[test]
    fn a_note_is_not_a_degradation() {
        let (status, kept) = findings(&[insecure("http://127.0.0.1:8080/practice/fhir")]);
        assert_eq!(status, Status::Up);
        assert!(kept.is_empty());
        let (status, _) = findings(&[insecure("http://ehr.example.org/fhir")]);
        assert_eq!(status, Status::Degraded);
    }

    /// Findings stored before ids were typed read back as the same ids and are written (history,
    /// `/status` JSON) as the same strings; an id this build does not know reads as unknown.
    #[test]
    fn stored_findings_keep_their_id_strings() {
        let stored = r#"[{"id":"token.unknown_client","severity":"error","summary":"unknown"},{"id":"launch.insecure_iss","severity":"warn","summary":"plain http"}]"#;
        let read: Vec<Finding> = serde_json::from_str(stored).unwrap();
        assert_eq!(read[0].id, id!("token.unknown_client"));
        assert_eq!(read[1].id, id!("launch.insecure_iss"));
        assert_eq!(serde_json::to_string(&read).unwrap(), stored);
        let (_, kept) = findings(&[insecure("http://ehr.example.org/fhir")]);
        let json = serde_json::to_value(&kept).unwrap();
        assert_eq!(json[0]["id"], "launch.insecure_iss");
        let other = r#"{"id":"token.renamed_later","severity":"error","summary":"?"}"#;
        let read: Finding = serde_json::from_str(other).unwrap();
        assert_eq!(read.id.as_str(), "internal.unknown");
    }
}
