//! The Prometheus text of one run, for `GET /probe?registration=ID` (blackbox_exporter style:
//! Prometheus schedules the probe, this answers the run's metrics alone). The same names and
//! labels as the gauges `/metrics` keeps (see `crate::metrics::Metrics::probe`).

use std::fmt::Write as _;

use super::run::{Run, Status};

/// Every metric name a probe exports, with its help text.
pub const METRICS: &[(&str, &str)] = &[
    (
        "sld_probe_success",
        "Whether the last probe of the registration succeeded (1: up or degraded, 0: down).",
    ),
    (
        "sld_probe_duration_seconds",
        "Duration of the last probe, by step (discovery, token, fhir, other) and in total.",
    ),
    (
        "sld_probe_failure",
        "1 for each diagnosis id the last probe failed with (0 once it clears).",
    ),
    (
        "sld_tls_certificate_expiry_seconds",
        "When the FHIR server's TLS certificate expires (notAfter, Unix seconds; https only).",
    ),
];

/// A label value, escaped as the text format wants (backslash, quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn head(out: &mut String, name: &str) {
    let help = METRICS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, h)| *h);
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
}

/// The text exposition of `run`.
pub fn render(run: &Run) -> String {
    let reg = label(&run.registration);
    let mut out = String::new();
    head(&mut out, "sld_probe_success");
    let success = u8::from(run.status != Status::Down);
    let _ = writeln!(out, "sld_probe_success{{registration=\"{reg}\"}} {success}");
    head(&mut out, "sld_probe_duration_seconds");
    for s in &run.steps {
        let _ = writeln!(
            out,
            "sld_probe_duration_seconds{{registration=\"{reg}\",step=\"{}\"}} {}",
            label(s.step.as_str()),
            s.seconds
        );
    }
    if run.status == Status::Down {
        head(&mut out, "sld_probe_failure");
        for id in run.diagnosis_ids() {
            let _ = writeln!(
                out,
                "sld_probe_failure{{registration=\"{reg}\",diagnosis=\"{}\"}} 1",
                label(id.as_str())
            );
        }
    }
    if let Some(t) = run.tls_not_after {
        head(&mut out, "sld_tls_certificate_expiry_seconds");
        let _ = writeln!(
            out,
            "sld_tls_certificate_expiry_seconds{{registration=\"{reg}\"}} {t}"
        );
    }
    out
}
