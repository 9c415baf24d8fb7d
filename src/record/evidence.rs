//! How a launch's case file grows: opened once with everything known at the start, then only
//! appended to. Each appender records one kind of evidence. The outcome is recorded once: a
//! second outcome, or a second answer where a launch has only one (the code exchange, the
//! id_token check, the context reads, introspection, the `fhirContext` reads, the Backend
//! Services proof), is a bug in the flow: it trips a `debug_assert` in debug builds and is
//! dropped (the first is kept, a warning logged) in release builds; it never silently replaces
//! what was recorded.

use serde_json::{Map, Value};

use super::{BackendReport, Identity, LaunchRecord, Opening, Outcome, RefreshRecord};
use crate::diagnosis::Diagnosis;
use crate::diagnosis::conformance::Check;
use crate::diagnosis::transcript::Exchange;
use crate::smart::Step;
use crate::smart::context::ContextEvidence;
use crate::smart::fhir::ReadResource;
use crate::smart::introspect::Introspection;

/// `value` into an empty `slot`; an occupied slot keeps what it holds (see the module's docs).
fn once<T>(slot: &mut Option<T>, value: T, id: &str, what: &str) {
    if slot.is_some() {
        debug_assert!(false, "launch {id}: {what} recorded twice");
        tracing::warn!(launch = %id, what, "evidence recorded twice: the first is kept");
        return;
    }
    *slot = Some(value);
}

fn position(step: Step) -> usize {
    Step::ALL.iter().position(|s| *s == step).unwrap_or(0)
}

impl LaunchRecord {
    /// A new case at the discovery step, pending: nothing found yet.
    pub fn open(o: Opening) -> Self {
        let request_ids =
            if o.launch_request_id.is_empty() || o.launch_request_id == o.owner.request_id {
                Vec::new()
            } else {
                vec![o.launch_request_id]
            };
        LaunchRecord {
            id: o.id,
            kind: o.kind,
            app: o.app,
            started_at: o.started_at,
            finished_at: None,
            outcome: Outcome::Pending,
            step: Step::Discovery,
            requested_scope: o.requested_scope,
            redirect_uri: o.redirect_uri,
            endpoints: o.endpoints,
            authorize_url: o.authorize_url,
            diagnoses: Vec::new(),
            token_response: None,
            transcript: Vec::new(),
            identity: None,
            patient: None,
            encounter: None,
            refreshes: Vec::new(),
            app_ref: o.app_ref,
            owner: o.owner.browser,
            backend: o.backend_read.map(|read_path| BackendReport {
                read_path,
                ..BackendReport::default()
            }),
            request_id: o.owner.request_id,
            request_ids,
            conformance: Vec::new(),
            introspection: None,
            context: None,
        }
    }

    /// The launch got as far as `step` (a pending launch only moves forward).
    pub fn reached(&mut self, step: Step) {
        if self.outcome != Outcome::Pending || position(step) < position(self.step) {
            debug_assert!(
                false,
                "launch {}: step {step:?} after {:?}",
                self.id, self.step
            );
            return;
        }
        self.step = step;
    }

    /// The launch failed at `step` at `at`, for `diagnoses` (added to those found so far).
    pub fn failed(&mut self, step: Step, diagnoses: impl IntoIterator<Item = Diagnosis>, at: i64) {
        self.diagnoses.extend(diagnoses);
        // A warning the failure raised to an error is said once, as the error.
        let raised: Vec<_> = self
            .diagnoses
            .iter()
            .filter(|d| d.raised)
            .map(|d| d.entry)
            .collect();
        self.diagnoses
            .retain(|d| d.raised || !raised.contains(&d.entry));
        if self.settled_already("failure") {
            return;
        }
        self.step = step;
        self.outcome = Outcome::Error;
        self.finished_at = Some(at);
    }

    /// The launch succeeded at `at`, at the step it reached.
    pub fn succeeded(&mut self, at: i64) {
        if self.settled_already("success") {
            return;
        }
        self.outcome = Outcome::Success;
        self.finished_at = Some(at);
    }

    fn settled_already(&self, what: &str) -> bool {
        if self.outcome == Outcome::Pending {
            return false;
        }
        debug_assert!(false, "launch {}: {what} after {:?}", self.id, self.outcome);
        tracing::warn!(launch = %self.id, what, "a second outcome: the first is kept");
        true
    }

    /// Exchanges made (or, for discovery from the cache, shown), in order.
    pub fn transcribed(&mut self, exchanges: impl IntoIterator<Item = Exchange>) {
        self.transcript.extend(exchanges);
    }

    /// Findings that do not end the launch (warnings, notes).
    pub fn found(&mut self, diagnoses: impl IntoIterator<Item = Diagnosis>) {
        self.diagnoses.extend(diagnoses);
    }

    /// The endpoints discovery gave (a run that opened its case before discovery).
    pub fn discovered(&mut self, endpoints: super::Endpoints) {
        once(
            &mut self.endpoints,
            endpoints,
            &self.id,
            "discovery's endpoints",
        );
    }

    /// The token response the code exchange (or a Backend Services token request) returned.
    pub fn token_exchanged(&mut self, response: Map<String, Value>) {
        once(
            &mut self.token_response,
            super::TokenExchange::of(response),
            &self.id,
            "the token response",
        );
    }

    /// The id_token's verdict and the user `fhirUser` names.
    pub fn identity_checked(&mut self, identity: Identity) {
        once(&mut self.identity, identity, &self.id, "the id_token check");
    }

    /// The patient and the encounter in context, as read with the token.
    pub fn read_in_context(
        &mut self,
        patient: Option<ReadResource>,
        encounter: Option<ReadResource>,
    ) {
        if let Some(p) = patient {
            once(&mut self.patient, p, &self.id, "the patient read");
        }
        if let Some(e) = encounter {
            once(&mut self.encounter, e, &self.id, "the encounter read");
        }
    }

    /// The RFC 7662 introspection of the access token.
    pub fn introspected(&mut self, answer: Introspection) {
        once(
            &mut self.introspection,
            answer,
            &self.id,
            "the introspection",
        );
    }

    /// The `fhirContext` reads and the style document.
    pub fn context_read(&mut self, evidence: ContextEvidence) {
        once(
            &mut self.context,
            evidence,
            &self.id,
            "the fhirContext reads",
        );
    }

    /// Scorecard checks this launch observed.
    pub fn checked(&mut self, checks: impl IntoIterator<Item = Check>) {
        self.conformance.extend(checks);
    }

    /// One more refresh from the result page.
    pub fn refreshed(&mut self, refresh: RefreshRecord) {
        self.refreshes.push(refresh);
    }

    /// A Backend Services run's rule checks and what its proof read returned.
    pub fn backend_proved(&mut self, checks: Vec<Check>, read: Option<ReadResource>) {
        let report = self.backend.get_or_insert_with(BackendReport::default);
        debug_assert!(report.checks.is_empty() && report.read.is_none());
        report.checks = checks;
        report.read = read;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::AppSummary;
    use crate::smart::LaunchKind;

    fn opened() -> LaunchRecord {
        LaunchRecord::open(Opening {
            id: "l1".into(),
            kind: LaunchKind::Standalone,
            app: AppSummary::shown(
                &crate::config::StoredRegistration::of(&crate::config::Registration::simple(
                    "a",
                    "A",
                    "https://ehr.example/fhir",
                    "c",
                    crate::config::ClientAuth::None,
                    "openid",
                )),
                false,
            ),
            app_ref: None,
            owner: super::super::Owner {
                browser: "b".into(),
                request_id: "callback".into(),
            },
            launch_request_id: "launch".into(),
            started_at: 100,
            requested_scope: "openid".into(),
            redirect_uri: "http://127.0.0.1/callback".into(),
            endpoints: None,
            authorize_url: None,
            backend_read: None,
        })
    }

    #[test]
    fn a_case_is_appended_to_and_its_outcome_follows_the_steps() {
        let mut r = opened();
        assert_eq!((r.outcome(), r.step()), (Outcome::Pending, Step::Discovery));
        r.reached(Step::Authorize);
        r.reached(Step::Token);
        r.failed(
            Step::Token,
            [Diagnosis::new(id!("token.unknown_client"), "no")],
            130,
        );
        assert_eq!((r.outcome(), r.step()), (Outcome::Error, Step::Token));
        assert_eq!(r.finished_at(), Some(130));
        assert_eq!(
            r.request_ids().collect::<Vec<_>>(),
            ["callback", "launch"],
            "the launch request is kept beside the callback's"
        );
    }

    // A flow that records an outcome twice is a bug: caught in debug builds (the release build
    // keeps the first and logs).
    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "success after Error")]
    fn a_second_outcome_never_replaces_the_first() {
        let mut r = opened();
        r.failed(Step::Discovery, [], 101);
        r.succeeded(102);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "the token response recorded twice")]
    fn a_second_token_response_never_replaces_the_first() {
        let mut r = opened();
        r.token_exchanged(Map::new());
        r.token_exchanged(Map::new());
    }

    #[test]
    fn each_refresh_keeps_its_own_checks_and_the_scorecard_shows_the_newest() {
        use crate::diagnosis::conformance::refresh;
        let mut r = opened();
        let launch_check = Check::from_entry(id!("server.token_no_store"), true, "no-store");
        r.checked([launch_check.clone()]);
        let headers = http::HeaderMap::new();
        let bad = refresh(&headers, &Map::new(), "openid");
        let good_body: Map<String, Value> = serde_json::from_str(
            r#"{"access_token": "a", "token_type": "Bearer", "expires_in": 60, "scope": "openid"}"#,
        )
        .unwrap();
        let good = refresh(&headers, &good_body, "openid");
        let entry = |checks: Vec<Check>| RefreshRecord {
            at: 0,
            outcome: Outcome::Success,
            token_response: None,
            diagnoses: Vec::new(),
            checks,
        };
        r.refreshed(entry(bad.clone()));
        assert_eq!(
            &*r.conformance(),
            &[&[launch_check.clone()][..], &bad].concat()[..]
        );
        r.refreshed(entry(good.clone()));
        // A refresh that failed before any answer checked nothing: it hides no earlier check.
        r.refreshed(entry(Vec::new()));
        assert_eq!(
            &*r.conformance(),
            &[&[launch_check][..], &good].concat()[..]
        );
        // The case still holds what the first refresh was found to be.
        assert_eq!(r.refreshes()[0].checks, bad);
        assert!(r.refreshes()[0].checks.iter().any(|c| c.failed()));
    }

    #[test]
    fn the_access_token_in_force_is_the_newest_refreshes() {
        let token = |json: &str| serde_json::from_str::<Map<String, Value>>(json).unwrap();
        let mut r = opened();
        r.token_exchanged(token(r#"{"access_token": "a", "expires_in": 3600}"#));
        assert_eq!(r.access_token_expiry(), Some((100 + 3600, false)));
        let refresh = |at, answer: Option<&str>| RefreshRecord {
            at,
            outcome: Outcome::Success,
            token_response: answer.map(|a| super::super::TokenExchange::of(token(a))),
            diagnoses: Vec::new(),
            checks: Vec::new(),
        };
        r.refreshed(refresh(
            500,
            Some(r#"{"access_token": "b", "expires_in": 60}"#),
        ));
        // A refresh that got no token changes nothing.
        r.refreshed(refresh(700, None));
        assert_eq!(r.access_token_expiry(), Some((560, true)));
        // A newest token without a lifetime has no expiry to show (not the older token's).
        r.refreshed(refresh(900, Some(r#"{"access_token": "c"}"#)));
        assert_eq!(r.access_token_expiry(), None);
    }
}
