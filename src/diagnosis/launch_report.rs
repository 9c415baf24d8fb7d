//! One launch as every view shows it and the metrics count it: the case (as the view may show
//! it: redacted, minimised when shared) and its [`Assessment`], assembled once and never changed.
//! The result page, its JSON twin, `report.json` / `report.md`, `/launches`, the support view
//! and `sld_launches_finished_total` read the verdict from here, so they cannot disagree.

use super::Diagnosis;
use super::assess::{AssessConfig, Assessment, Audience, StepStatus, assess_for};
use super::transcript::{Exchange, ExchangeStep};
use crate::record::{LaunchRecord, Outcome};
use crate::smart::{LaunchKind, Step};

/// A launch and its verdict. Built by [`LaunchReport::assemble`] only; read-only after.
#[derive(Clone, Debug)]
pub struct LaunchReport {
    record: LaunchRecord,
    assessment: Assessment,
    /// Where the authorization request was added to the transcript (the browser sent it).
    authorize_entry: Option<usize>,
    audience: Audience,
}

impl LaunchReport {
    /// The report of `view` (the case as this output may show it) at `now`. A launch that
    /// stopped at the authorize or callback step gets the authorization request as a transcript
    /// entry: the browser sent it, not this server, but it is what failed.
    pub fn assemble(view: LaunchRecord, cfg: &AssessConfig, now: i64) -> Self {
        Self::assemble_for(view, cfg, now, Audience::Owner)
    }

    /// The report of `view` for anyone it is shared with: the record without patient or user
    /// details (`phi::minimized`), and sentences that name no person, not even by reference.
    pub fn assemble_shared(view: LaunchRecord, cfg: &AssessConfig, now: i64) -> Self {
        Self::assemble_for(crate::phi::minimized(&view), cfg, now, Audience::Shared)
    }

    fn assemble_for(view: LaunchRecord, cfg: &AssessConfig, now: i64, audience: Audience) -> Self {
        let assessment = assess_for(&view, cfg, now, audience);
        let mut record = view;
        let stopped_there = assessment.outcome != Outcome::Success
            && matches!(assessment.step, Step::Authorize | Step::Callback)
            && !record
                .transcript()
                .iter()
                .any(|x| x.step == ExchangeStep::Authorize);
        let mut authorize_entry = None;
        let url = record.authorize_url().filter(|_| stopped_there);
        if let Some(url) = url.map(str::to_string) {
            let (shown, at) = record.with_browser_request(authorize_exchange(url));
            record = shown;
            authorize_entry = Some(at);
        }
        LaunchReport {
            record,
            assessment,
            authorize_entry,
            audience,
        }
    }

    /// The case as this report shows it (with the authorization request in its transcript).
    pub fn record(&self) -> &LaunchRecord {
        &self.record
    }

    /// Whether this report is for sharing (its sentences name no person).
    pub fn shared(&self) -> bool {
        self.audience == Audience::Shared
    }

    pub fn assessment(&self) -> &Assessment {
        &self.assessment
    }

    pub fn id(&self) -> &str {
        self.record.id()
    }

    pub fn outcome(&self) -> Outcome {
        self.assessment.outcome
    }

    /// The step reached, or the one that failed.
    pub fn step(&self) -> Step {
        self.assessment.step
    }

    pub fn kind(&self) -> LaunchKind {
        self.record.kind()
    }

    /// `pending`, `success` or `error`: the JSON value and the metric label.
    pub fn outcome_label(&self) -> &'static str {
        match self.assessment.outcome {
            Outcome::Pending => "pending",
            Outcome::Success => "success",
            Outcome::Error => "error",
        }
    }

    /// `ehr`, `standalone` or `backend`: the metric label and the support view's word.
    pub fn kind_label(&self) -> &'static str {
        match self.record.kind() {
            LaunchKind::Ehr => "ehr",
            LaunchKind::Standalone => "standalone",
            LaunchKind::Backend => "backend",
        }
    }

    /// The page title: "Launch succeeded", or the failure in plain words, its step second.
    pub fn headline(&self) -> &str {
        &self.assessment.headline
    }

    /// The sentence a clinician reads first.
    pub fn plain(&self) -> &str {
        &self.assessment.plain
    }

    pub fn steps(&self) -> &[StepStatus] {
        &self.assessment.steps
    }

    /// The diagnoses, ranked: errors, warnings, notes.
    pub fn diagnoses(&self) -> &[Diagnosis] {
        &self.assessment.diagnoses
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnosis> {
        self.diagnoses().iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnosis> {
        self.diagnoses()
            .iter()
            .filter(|d| !d.is_error() && !d.is_note())
    }

    pub fn notes(&self) -> impl Iterator<Item = &Diagnosis> {
        self.diagnoses().iter().filter(|d| d.is_note())
    }

    /// The catalogue ids, ranked.
    pub fn diagnosis_ids(&self) -> Vec<&'static str> {
        self.diagnoses().iter().map(|d| d.id().as_str()).collect()
    }

    /// Whether the last token refresh from the result page failed.
    pub fn refresh_failed(&self) -> bool {
        self.assessment.refresh_failed
    }

    /// The last refresh's diagnoses when that refresh failed, else none: the one-line lists and
    /// `report.md` name them beside the launch's own.
    pub fn failed_refresh_diagnoses(&self) -> &[Diagnosis] {
        match self.record.refreshes().last() {
            Some(f) if self.refresh_failed() => &f.diagnoses,
            _ => &[],
        }
    }

    /// What the lists and the support view name: a failed last refresh's diagnoses first (they
    /// are why the headline names the refresh), then the launch's; notes last. Every view that
    /// lists ids (`/launches`, the support view, their JSON twins) takes them from here.
    pub fn listed(&self) -> Vec<&Diagnosis> {
        let (notes, mut rest): (Vec<&Diagnosis>, Vec<&Diagnosis>) = self
            .failed_refresh_diagnoses()
            .iter()
            .chain(self.diagnoses())
            .partition(|d| d.is_note());
        rest.extend(notes);
        rest
    }

    /// The ids of [`Self::listed`].
    pub fn listed_ids(&self) -> Vec<&'static str> {
        self.listed().iter().map(|d| d.id().as_str()).collect()
    }

    /// The ids for a one-line list: (errors then warnings, notes), each comma-separated, as
    /// [`Self::listed`] names them.
    pub fn ids_line(&self) -> (String, String) {
        let (notes, rest): (Vec<&Diagnosis>, Vec<&Diagnosis>) =
            self.listed().into_iter().partition(|d| d.is_note());
        let join = |v: Vec<&Diagnosis>| {
            v.iter()
                .map(|d| d.id().as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        (join(rest), join(notes))
    }

    /// Its token request is still out (the callback came back; the EHR is slow).
    pub fn exchanging(&self) -> bool {
        self.outcome() == Outcome::Pending && self.step() == Step::Token
    }

    /// The requests this server made (the authorization request the browser sent left out).
    pub fn exchanges_made(&self) -> impl Iterator<Item = &Exchange> {
        self.record
            .transcript()
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != self.authorize_entry)
            .map(|(_, x)| x)
    }

    /// The authorization request to open again, for a launch that stopped before the callback.
    pub fn retry_url(&self) -> Option<&str> {
        self.record
            .transcript()
            .iter()
            .find(|x| x.step == ExchangeStep::Authorize && x.status.is_none())
            .map(|x| x.url.as_str())
    }
}

/// The authorization request as the browser sent it (state and PKCE verifier never kept).
fn authorize_exchange(url: String) -> Exchange {
    Exchange {
        step: ExchangeStep::Authorize,
        method: "GET".into(),
        url,
        request_headers: Vec::new(),
        request_body: None,
        status: None,
        response_headers: Vec::new(),
        response_body: None,
        duration_ms: 0,
        error: Some(AUTHORIZE_NOTE.into()),
        cached: false,
    }
}

/// What the authorize entry is, in its own words.
const AUTHORIZE_NOTE: &str = "Sent by the browser, not by this server: the EHR answered the browser (its sign-in page, its error page, or a redirect to the callback). The state is shown as [not kept] and the PKCE verifier is never shown; Launch again makes a fresh pair. To retry by hand, open the URL in a browser.";

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(started_at: i64) -> LaunchRecord {
        case(started_at, "pending", "authorize")
    }

    fn case(started_at: i64, outcome: &str, step: &str) -> LaunchRecord {
        serde_json::from_value(serde_json::json!({
            "id": "l1", "kind": "standalone",
            "app": {"id": "practice", "name": "Practice app", "iss": "https://ehr.example/fhir",
                    "client_id": "app", "auth": "none", "adhoc": false},
            "started_at": started_at, "finished_at": (outcome != "pending").then_some(started_at + 1), "outcome": outcome, "step": step,
            "requested_scope": "openid", "redirect_uri": "https://sld.example/callback",
            "endpoints": null, "authorize_url": "https://ehr.example/authorize?client_id=app",
            "diagnoses": [], "token_response": null, "transcript": [],
        }))
        .unwrap()
    }

    const CFG: AssessConfig = AssessConfig {
        never_returned_after_seconds: 300,
    };

    #[test]
    fn a_launch_that_never_returned_keeps_its_authorization_request_but_counts_no_exchange() {
        let report = LaunchReport::assemble(pending(1_000), &CFG, 1_300);
        assert_eq!(
            (report.outcome_label(), report.step()),
            ("error", Step::Authorize)
        );
        assert_eq!(report.diagnosis_ids(), ["authorize.never_returned"]);
        assert_eq!(
            report.retry_url(),
            Some("https://ehr.example/authorize?client_id=app")
        );
        assert_eq!(report.record().transcript().len(), 1);
        // The browser sent it, not this server: no upstream exchange to count.
        assert_eq!(report.exchanges_made().count(), 0);
        assert_eq!(
            report.ids_line(),
            ("authorize.never_returned".into(), String::new())
        );
    }

    #[test]
    fn a_failed_refresh_is_named_in_the_rows_and_in_report_md() {
        let mut r = case(1_000, "success", "fhir");
        r.refreshed(crate::record::RefreshRecord {
            at: 1_100,
            outcome: Outcome::Error,
            token_response: None,
            diagnoses: vec![Diagnosis::new(id!("refresh.rejected"), "refused")],
            checks: Vec::new(),
        });
        let report = LaunchReport::assemble(r, &CFG, 1_200);
        assert_eq!(
            report.headline(),
            "Launch succeeded; the last token refresh failed"
        );
        assert_eq!(
            report.ids_line(),
            ("refresh.rejected".into(), String::new())
        );
        assert_eq!(report.listed_ids(), ["refresh.rejected"]);
        let md = crate::diagnosis::report::markdown(&report, "2026-12-07 01:22:08 UTC");
        assert!(
            md.contains(": launch succeeded; the last token refresh failed\n"),
            "{md}"
        );
        assert!(md.contains("- Started: 2026-12-07 01:22:08 UTC\n"), "{md}");
        assert!(md.contains("## Last token refresh (failed)"), "{md}");
        assert!(md.contains("`refresh.rejected`"), "{md}");
    }

    #[test]
    fn a_launch_still_waiting_is_pending_with_its_request_shown() {
        let report = LaunchReport::assemble(pending(1_000), &CFG, 1_010);
        assert_eq!(report.outcome_label(), "pending");
        assert_eq!(report.headline(), "Launch in progress");
        assert!(report.retry_url().is_some());
        assert!(!report.exchanging());
    }
}
