//! The `diagnose` command's text report.

use super::Report;
use crate::diagnosis::Diagnosis;

fn diagnosis(out: &mut String, d: &Diagnosis) {
    let sev = if d.is_error() { "error" } else { "warn " };
    out.push_str(&format!("  {sev}  {}  {}\n", d.id(), d.title()));
    out.push_str(&format!("         {}\n", d.summary));
    for e in &d.evidence {
        out.push_str(&format!("         {}: {}\n", e.label, e.value));
    }
    if let Some(f) = d.fixes().first() {
        out.push_str(&format!("         fix: {f}\n"));
    }
}

/// The report as text: one block per launch, then a last line `ok` or `failed (ids)`.
pub fn render(r: &Report) -> String {
    let mut out = format!(
        "HAR: {} entries, {} SMART exchanges, {} launch{}\n",
        r.entries,
        r.smart_exchanges,
        r.cases.len(),
        if r.cases.len() == 1 { "" } else { "es" }
    );
    for (i, c) in r.cases.iter().enumerate() {
        out.push_str(&format!(
            "\nlaunch {}: {} launch of {} at {}: {}\n",
            i + 1,
            c.kind,
            c.client_id.as_deref().unwrap_or("(client id not seen)"),
            c.fhir_base.as_deref().unwrap_or("(FHIR base not seen)"),
            c.outcome
        ));
        for s in &c.steps {
            out.push_str(&format!(
                "  {:<13} {} {} → {}\n",
                s.step, s.method, s.url, s.status
            ));
        }
        for d in &c.diagnoses {
            diagnosis(&mut out, d);
        }
    }
    let errors: Vec<&str> = r
        .cases
        .iter()
        .flat_map(|c| &c.diagnoses)
        .filter(|d| d.is_error())
        .map(|d| d.id().as_str())
        .collect();
    if r.cases.is_empty() {
        out.push_str("\nno SMART launch found in this HAR\n");
    } else if errors.is_empty() {
        out.push_str("\nok\n");
    } else {
        let mut ids: Vec<&str> = Vec::new();
        for id in errors {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        out.push_str(&format!("\nfailed ({})\n", ids.join(", ")));
    }
    out
}
