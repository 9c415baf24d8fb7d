//! The `backend` command's output: a Backend Services run (`flow::backend`) as text or JSON,
//! rendered from its report (the verdict, step and ranked diagnoses the pages show). Tokens are
//! redacted (length and fingerprint), the transcript is already redacted (the client assertion
//! keeps header and claims, never its signature).

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::diagnosis::launch_report::LaunchReport;
use crate::diagnosis::transcript::redact_json;
use crate::record::Outcome;

/// Whether the run found an error-severity problem (exit status 1).
pub fn has_error(report: &LaunchReport) -> bool {
    report.outcome() != Outcome::Success || report.errors().next().is_some()
}

/// The run as JSON: the same facts as the result page's JSON twin.
pub fn json(report: &LaunchReport) -> Value {
    let r = report.record();
    let token_response = r.token_response().map(|t| {
        let mut v = Value::Object(t.clone());
        redact_json(&mut v);
        v
    });
    json!({
        "id": r.id(),
        "kind": r.kind(),
        "outcome": report.outcome(),
        "step": report.step(),
        "title": report.headline(),
        "registration": r.app(),
        "requested_scope": r.requested_scope(),
        "endpoints": r.endpoints(),
        "diagnoses": report.diagnoses(),
        "token_response": token_response,
        "backend": r.backend(),
        "conformance": r.conformance(),
        "transcript": r.transcript(),
    })
}

fn paint(colour: bool, code: &str, s: &str) -> String {
    if colour {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// The run as text.
pub fn text(report: &LaunchReport, colour: bool) -> String {
    let r = report.record();
    let p = |code: &str, s: &str| paint(colour, code, s);
    let mut out = String::new();
    let outcome = match report.outcome() {
        Outcome::Success => p("32", "succeeded"),
        _ => p(
            "31",
            &format!("failed at the {} step", report.step().as_str()),
        ),
    };
    let _ = writeln!(
        out,
        "{} {} ({}): Backend Services run {outcome}",
        p("1", &r.app().id),
        r.app().name,
        r.app().iss
    );
    if let Some(e) = &r.endpoints() {
        let _ = writeln!(
            out,
            "  discovery    {} → token endpoint {}",
            e.source, e.token_endpoint
        );
    }
    let _ = writeln!(out, "  requested    {}", r.requested_scope());
    if let Some(t) = r.token() {
        let shown = |v: Option<String>| v.unwrap_or_else(|| "(absent)".into());
        let _ = writeln!(
            out,
            "  token        granted scope {}, expires_in {}, token_type {}",
            shown(t.scope.clone()),
            shown(t.expires_in.map(|e| e.to_string())),
            shown(t.token_type.clone())
        );
    }
    if let Some(b) = &r.backend() {
        let read = match &b.read {
            Some(x) => format!("{} returned", x.resource_type),
            None => "no resource".into(),
        };
        let _ = writeln!(
            out,
            "  read         GET {}/{}: {read}",
            r.app().iss,
            b.read_path
        );
        for c in &b.checks {
            let mark = match c.status {
                crate::diagnosis::conformance::Status::Passed => p("32", "passed"),
                crate::diagnosis::conformance::Status::Failed => p("33", "failed"),
                crate::diagnosis::conformance::Status::NotTested => "not tested".to_string(),
            };
            let _ = writeln!(out, "  rule         {mark} {}  {}", c.id, c.detail);
        }
    }
    // The rest of the server scorecard (discovery's checks); the rules are listed above.
    let checks = r.conformance();
    let others: Vec<_> = checks.iter().filter(|c| !c.id.is_backend_rule()).collect();
    if !others.is_empty() {
        let passed = others.iter().filter(|c| c.passed).count();
        let _ = writeln!(
            out,
            "  scorecard    discovery: {passed} of {} server checks passed",
            others.len()
        );
        for c in others.iter().filter(|c| c.failed()) {
            let _ = writeln!(
                out,
                "  check        {} {}  {}",
                p("33", "failed"),
                c.id,
                c.detail
            );
        }
    }
    for d in report.diagnoses() {
        // As the page files it (a loopback FHIR base over http is a note: "expected here").
        let sev = match d.shown_as() {
            "error" => p("31", "error"),
            "note" => "note ".to_string(),
            _ => p("33", "warn "),
        };
        let _ = writeln!(out, "  {sev} {}  {}", d.id(), d.summary);
        for e in &d.evidence {
            let _ = writeln!(out, "          {}: {}", e.label, e.value);
        }
        if let Some(fix) = d.fixes().first() {
            let _ = writeln!(out, "          fix: {fix}");
        }
    }
    out
}
