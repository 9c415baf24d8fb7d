//! Evidence in, [`Diagnosis`] out. No I/O here: the protocol code collects evidence, the
//! functions in this module name the failure with a stable catalogue id (`../shared/DIAGNOSES.md`)
//! and attach the ranked causes and fixes from [`catalog`].

pub mod catalog;
pub mod catalogue_doc;
pub mod classify;
pub mod report;
pub mod transcript;
pub mod vendor;

use serde::{Deserialize, Serialize};

/// `error` stops a launch; `warn` lets it continue and is shown beside the result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warn,
}

/// One labelled fact the diagnosis rests on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub label: String,
    pub value: String,
}

/// A link to the rule that was broken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecRef {
    pub label: String,
    pub url: String,
}

/// A named failure or finding, with what it rests on and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// Stable catalogue id, e.g. `token.bad_client_credentials`.
    pub id: String,
    pub severity: Severity,
    pub title: String,
    /// What happened in this launch, in one or two sentences.
    pub summary: String,
    /// The same in words a clinician can act on, including whom to ask.
    pub plain: String,
    pub evidence: Vec<Evidence>,
    /// Likely causes, most frequent first.
    pub causes: Vec<String>,
    pub fixes: Vec<String>,
    pub spec_refs: Vec<SpecRef>,
}

impl Diagnosis {
    /// A diagnosis for catalogue `id`, with this launch's `summary`.
    pub fn new(id: &str, summary: impl Into<String>) -> Self {
        let entry = catalog::entry(id);
        Diagnosis {
            id: id.to_string(),
            severity: entry.severity,
            title: entry.title.to_string(),
            summary: summary.into(),
            plain: entry.plain.to_string(),
            evidence: Vec::new(),
            causes: entry.causes.iter().map(|s| s.to_string()).collect(),
            fixes: entry.fixes.iter().map(|s| s.to_string()).collect(),
            spec_refs: entry
                .spec
                .iter()
                .map(|(label, url)| SpecRef {
                    label: label.to_string(),
                    url: url.to_string(),
                })
                .collect(),
        }
    }

    /// Adds one piece of evidence (empty values are skipped).
    pub fn with(mut self, label: &str, value: impl Into<String>) -> Self {
        let value = value.into();
        if !value.is_empty() {
            self.evidence.push(Evidence {
                label: label.to_string(),
                value,
            });
        }
        self
    }

    /// Puts a cause specific to this case first.
    pub fn with_first_cause(mut self, cause: impl Into<String>) -> Self {
        self.causes.insert(0, cause.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Shortens upstream text for evidence: at most `max` characters, control characters removed.
pub fn excerpt(text: &str, max: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect();
    let clean = clean.trim();
    if clean.chars().count() <= max {
        clean.to_string()
    } else {
        let cut: String = clean.chars().take(max).collect();
        format!("{cut}…")
    }
}
