//! An explained paste as JSON (the page's twin and `--format json`) and as text (the CLI).

use serde_json::{Value, json};

use super::Explained;

/// `{step, auth, status, has_error, diagnoses, paste_redacted}`.
pub fn to_json(e: &Explained) -> Value {
    json!({
        "step": e.step.as_str(),
        "auth": e.auth.as_str(),
        "status": e.status,
        "status_assumed": e.status_assumed,
        "has_error": e.has_error(),
        "diagnoses": e.diagnoses,
        "paste_redacted": e.redacted,
    })
}

/// Plain text: one block per diagnosis, with its evidence (the matched phrase among it).
pub fn to_text(e: &Explained) -> String {
    let mut out = format!(
        "Step: {} (authentication: {}), status {}{}\n",
        e.step.as_str(),
        e.auth.as_str(),
        e.status,
        if e.status_assumed {
            " (assumed: the paste has no status line)"
        } else {
            ""
        }
    );
    if e.diagnoses.is_empty() {
        out.push_str("\nNo finding: this answer is not an error at this step.\n");
    }
    for d in &e.diagnoses {
        out.push_str(&format!(
            "\n{} {} — {}\n  {}\n",
            match d.severity() {
                crate::diagnosis::Severity::Error => "ERROR",
                crate::diagnosis::Severity::Warn => "WARN ",
            },
            d.id(),
            d.title(),
            d.summary
        ));
        for ev in d.evidence.iter().filter(|ev| !ev.value.is_empty()) {
            out.push_str(&format!("  {}: {}\n", ev.label, ev.value));
        }
        if let Some(cause) = d.causes().first() {
            out.push_str(&format!("  Likely cause: {cause}\n"));
        }
        if let Some(fix) = d.fixes().first() {
            out.push_str(&format!("  Fix: {fix}\n"));
        }
    }
    out
}
