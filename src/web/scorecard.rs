//! The result page's scorecard, launch context, granular scopes and introspection, as views
//! and as the JSON twin's members (`conformance`, `launch_context`, `introspection`,
//! `scopes.granular`).

use serde_json::{Value, json};

use crate::diagnosis::conformance::Check;
use crate::diagnosis::launch_context::{self, ContextField};
use crate::diagnosis::scopes::{self, Granular};
use crate::record::LaunchRecord;
use crate::smart::context::{ContextRead, StyleFetch};

/// One scorecard row.
pub struct CheckRow {
    pub check: Check,
    pub title: &'static str,
}

/// What the partials `_scorecard.html` and `_context.html` show.
pub struct LaunchExtras<'a> {
    pub checks: Vec<CheckRow>,
    pub passed: usize,
    pub failed: usize,
    /// Checks that could not run (with their reason), counted apart from passed and failed.
    pub not_tested: usize,
    pub context: Vec<ContextField>,
    pub reads: &'a [ContextRead],
    pub style: Option<&'a StyleFetch>,
    pub granular: Vec<Granular>,
    /// Whether `granular` is what the server granted (else: what was requested, nothing granted).
    pub granted: bool,
    /// (endpoint, status, pretty-printed answer or error).
    pub introspection: Option<(String, String, String)>,
}

/// The scopes of `scope` that are clinical-data scopes, broken down.
fn granular(scope: &str) -> Vec<Granular> {
    scope
        .split_whitespace()
        .filter_map(scopes::granular)
        .collect()
}

impl<'a> LaunchExtras<'a> {
    pub fn of(r: &'a LaunchRecord) -> Self {
        let checks = r.conformance();
        let passed = checks.iter().filter(|c| c.passed).count();
        let failed = checks.iter().filter(|c| c.failed()).count();
        let not_tested = checks.iter().filter(|c| c.is_not_tested()).count();
        let (reads, style) = match &r.context() {
            Some(c) => (c.reads.as_slice(), c.style.as_ref()),
            None => (&[][..], None),
        };
        LaunchExtras {
            checks: checks
                .iter()
                .map(|c| CheckRow {
                    check: c.clone(),
                    title: c.title(),
                })
                .collect(),
            passed,
            failed,
            not_tested,
            context: r
                .token_response()
                .map(launch_context::fields)
                .unwrap_or_default(),
            reads,
            style,
            granular: if r.token_response().is_some() {
                granular(r.granted_scope())
            } else {
                granular(r.requested_scope())
            },
            granted: r.token_response().is_some(),
            introspection: r.introspection().map(|i| {
                let status = i
                    .status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "no answer".into());
                let shown = match (&i.answer, &i.error) {
                    (Some(a), _) => super::views::pretty(a),
                    (None, Some(e)) => e.clone(),
                    (None, None) => "the answer is not a JSON object".into(),
                };
                (i.endpoint.clone(), status, shown)
            }),
        }
    }
}

/// The JSON twin's members for the same facts.
pub fn json_members(r: &LaunchRecord) -> [(&'static str, Value); 4] {
    let fields = r
        .token_response()
        .map(launch_context::fields)
        .unwrap_or_default();
    let checks = r.conformance();
    [
        ("conformance", json!(checks)),
        (
            "conformance_counts",
            crate::diagnosis::conformance::counts(&checks),
        ),
        ("introspection", json!(r.introspection())),
        (
            "launch_context",
            json!({
                "fields": fields,
                "reads": r.context().map(|c| &c.reads),
                "style": r.context().and_then(|c| c.style.as_ref()),
            }),
        ),
    ]
}

/// `scopes.granular` of the JSON twin.
pub fn json_granular(r: &LaunchRecord) -> Value {
    json!(LaunchExtras::of(r).granular)
}
