//! The `check` command's text report; colour only on a terminal (and never with NO_COLOR).

use std::fmt::Write as _;

use super::Report;
use crate::diagnosis::Severity;
use crate::diagnosis::assess::Status;
use crate::diagnosis::classify::probe::Verdict;

struct Paint(bool);

impl Paint {
    fn c(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// The reports as text.
pub fn render(reports: &[Report], colour: bool) -> String {
    let p = Paint(colour);
    let mut out = String::new();
    for r in reports {
        let _ = writeln!(
            out,
            "{} {} ({})",
            p.c("1", &r.id),
            r.registration.name,
            r.registration.iss
        );
        match &r.endpoints {
            Some(e) => {
                let _ = writeln!(
                    out,
                    "  discovery    {} → token endpoint {}",
                    e.source, e.token_endpoint
                );
            }
            None => {
                let _ = writeln!(out, "  discovery    {}", p.c("31", "failed"));
            }
        }
        let c = &r.credentials;
        let verdict = match c.verdict {
            Verdict::Accepted => p.c("32", "accepted"),
            Verdict::Rejected => p.c("31", "rejected"),
            Verdict::Inconclusive => p.c("33", "inconclusive"),
            Verdict::NotProbed => p.c("33", "not probed"),
        };
        let encoding = c
            .basic_encoding
            .map(|e| format!(", Basic encoding: {e}"))
            .unwrap_or_default();
        let status = c
            .status
            .map(|s| {
                format!(
                    " (HTTP {s}{})",
                    c.error
                        .as_ref()
                        .map(|e| format!(", {e}"))
                        .unwrap_or_default()
                )
            })
            .unwrap_or_default();
        if c.method == "none" {
            // A public client sends no credentials: the probe tells whether its id is known.
            let whose = match c.verdict {
                Verdict::Accepted | Verdict::Rejected => "client id ",
                _ => "",
            };
            let _ = writeln!(
                out,
                "  credentials  {whose}{verdict} (public client, no secret){status}"
            );
        } else {
            let _ = writeln!(
                out,
                "  credentials  {verdict} via {}{encoding}{status}",
                c.method
            );
        }
        if let Some(m) = c.accepted_method {
            let _ = writeln!(
                out,
                "  accepted     via {m} (the server refuses {})",
                c.method
            );
        }
        if let Some(v) = c.client_credentials {
            let _ = writeln!(out, "  backend      client_credentials {}", v.as_str());
        }
        let _ = writeln!(out, "  summary      {}", c.summary);
        // The verdict and the steps as `diagnosis::assess` judged the case.
        let headline = if r.has_error() {
            p.c("31", &r.title)
        } else {
            p.c("32", &r.title)
        };
        let _ = writeln!(out, "  verdict      {headline}");
        let steps: Vec<String> = r
            .steps
            .iter()
            .filter(|s| s.status != Status::Skipped)
            .map(|s| format!("{} {}", s.name, s.status.as_str()))
            .collect();
        let _ = writeln!(out, "  steps        {}", steps.join(", "));
        let _ = writeln!(out, "  redirect_uri {}", r.redirect_uri);
        if let Some(c) = &r.certificate {
            let _ = writeln!(
                out,
                "  certificate  {} (issuer {}), {} days left",
                c.subject, c.issuer, c.days_left
            );
        }
        if !r.conformance.is_empty() {
            let passed = r.conformance.iter().filter(|c| c.passed).count();
            let failed = r.conformance.iter().filter(|c| c.failed()).count();
            let untested = r.conformance.len() - passed - failed;
            let untested = if untested > 0 {
                format!(" ({untested} not tested)")
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  scorecard    discovery: {passed} of {} server checks passed{untested}",
                passed + failed
            );
            for c in r.conformance.iter().filter(|c| !c.passed) {
                let mark = if c.failed() {
                    p.c("33", "failed")
                } else {
                    "not tested".to_string()
                };
                let _ = writeln!(out, "          {mark} {}  {}", c.id, c.detail);
            }
        }
        for d in &r.diagnoses {
            let sev = match d.severity() {
                Severity::Error => p.c("31", "error"),
                Severity::Warn => p.c("33", "warn "),
            };
            let _ = writeln!(out, "  {sev} {}  {}", d.id(), d.summary);
            for e in &d.evidence {
                let _ = writeln!(out, "          {}: {}", e.label, e.value);
            }
            if let Some(fix) = d.fixes().first() {
                let _ = writeln!(out, "          fix: {fix}");
            }
        }
        if r.diagnoses.is_empty() {
            let _ = writeln!(out, "  {}", p.c("32", "no findings"));
        }
        out.push('\n');
    }
    // The verdict per registration in one place, so an offline run says what failed and why.
    let _ = writeln!(out, "checked {} registration(s):", reports.len());
    let width = reports
        .iter()
        .map(|r| r.id.len())
        .max()
        .unwrap_or(0)
        .max(12);
    for r in reports {
        let mut why: Vec<&str> = r
            .diagnoses
            .iter()
            .filter(|d| d.severity() == Severity::Error)
            .map(|d| d.id().as_str())
            .collect();
        if why.is_empty() {
            // Failed without an error finding: name the failed steps.
            why = r
                .steps
                .iter()
                .filter(|s| s.status == Status::Failed)
                .map(|s| s.name)
                .collect();
        }
        let verdict = if r.has_error() {
            format!("{} ({})", p.c("31", "failed"), why.join(", "))
        } else {
            p.c("32", "ok")
        };
        let _ = writeln!(out, "  {:<width$} {verdict}", r.id);
    }
    out
}
