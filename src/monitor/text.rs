//! `monitor --once` as text: one line per registration (status, time, first failing step and
//! diagnosis), then each error finding's summary. Colour only on a terminal.

use std::fmt::Write as _;

use super::run::{Run, Status};
use crate::diagnosis::Severity;

fn paint(colour: bool, code: &str, s: &str) -> String {
    if colour {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

pub fn render(runs: &[Run], colour: bool) -> String {
    let mut out = String::new();
    for r in runs {
        let status = match r.status {
            Status::Up => paint(colour, "32", "up"),
            Status::Degraded => paint(colour, "33", "degraded"),
            Status::Down => paint(colour, "31", "down"),
        };
        let _ = write!(
            out,
            "{} {status} ({}, {:.2} s)",
            r.registration,
            r.kind,
            r.total_seconds()
        );
        if let Some(step) = &r.failing_step {
            let _ = write!(out, " failing step {step}");
        }
        if let Some(id) = r.first_diagnosis() {
            let _ = write!(out, ": {id}");
        }
        if let Some(days) = r.tls_days_left {
            let _ = write!(out, "; TLS certificate: {days} days left");
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "  {}", r.summary);
        for f in &r.findings {
            let sev = match f.severity {
                Severity::Error => "error",
                Severity::Warn => "warn ",
            };
            let _ = writeln!(out, "  {sev} {}  {}", f.id, f.summary);
        }
    }
    out
}
