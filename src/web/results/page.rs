//! The result page's view model, built from the launch's report: title, headline, outcome,
//! timeline and diagnoses come from the report's assessment, never from the record.

use serde_json::Value;

use super::super::launch::Params;
use super::super::views::{self, IdentityView, RefreshView, ResultPage};
use super::super::{AppState, paths};
use crate::config::PRACTICE_ID;
use crate::diagnosis::launch_report::LaunchReport;
use crate::diagnosis::report;
use crate::diagnosis::transcript::Gate;
use crate::record::{AppRef, LaunchRecord, Outcome};
use crate::smart::LaunchKind;

pub(super) fn kind_str(k: LaunchKind) -> &'static str {
    match k {
        LaunchKind::Ehr => "EHR launch",
        LaunchKind::Standalone => "standalone launch",
        LaunchKind::Backend => "Backend Services run",
    }
}

fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Pending => "pending",
        Outcome::Success => "success",
        Outcome::Error => "error",
    }
}

/// What the page is built from.
pub(super) struct View<'a> {
    pub report: &'a LaunchReport,
    pub access_jwt: Option<&'a (Value, Value)>,
    pub params: &'a Params<'a>,
    pub reveal: bool,
    pub gate: &'a Gate,
    pub csrf: Option<&'a str>,
    pub notice: Option<&'static str>,
}

/// Where "Launch again" goes: the same standalone launch of a configured registration; for an
/// EHR launch the practice EHR's chart (a real EHR's launch code cannot be reused) or home; the
/// form for an ad-hoc app (its values are not kept in a URL).
fn again(state: &AppState, r: &LaunchRecord) -> (String, String) {
    let registered = match &r.app_ref() {
        Some(AppRef::Registered(id)) => state.config.registration(id),
        _ => None,
    };
    match (registered, r.kind()) {
        (Some(reg), LaunchKind::Standalone) => (
            paths::standalone(&reg.id),
            format!("Launch {} again", reg.name),
        ),
        (Some(reg), LaunchKind::Ehr) if state.practice.is_some() && reg.id == PRACTICE_ID => (
            paths::PRACTICE_EHR_PAGE.to_string(),
            "Launch again from the practice EHR".into(),
        ),
        // A gallery entry's registration is made per run, named `gallery-{entry}`.
        (None, _) if r.app().id.starts_with("gallery-") => (
            format!("{}#{}", paths::GALLERY, r.app().id),
            "Run this gallery entry again".into(),
        ),
        (_, LaunchKind::Ehr) => (paths::HOME.to_string(), "Launch again from your EHR".into()),
        _ => (paths::HOME.to_string(), "Launch again".into()),
    }
}

fn identity(r: &LaunchRecord) -> Option<IdentityView> {
    r.identity().map(|i| IdentityView {
        verified: i.id_token.verified,
        fhir_user: i.id_token.fhir_user.clone().unwrap_or_default(),
        unverified_fhir_user: if i.id_token.verified {
            String::new()
        } else {
            i.id_token.claims["fhirUser"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        },
        user: i.user.clone(),
        header: views::pretty(&i.id_token.header),
        claims: views::pretty(&i.id_token.claims),
    })
}

pub(super) fn build<'a>(state: &AppState, v: View<'a>) -> ResultPage<'a> {
    let report = v.report;
    let r = report.record();
    let (reveal, gate) = (v.reveal, v.gate);
    let token_fields = |t: &serde_json::Map<String, Value>| {
        let mut t = Value::Object(t.clone());
        if reveal {
            gate.mask_claims(&mut t);
        }
        match t {
            Value::Object(t) => views::token_fields(&t, reveal),
            _ => Vec::new(),
        }
    };
    let granted = r.token().and_then(|t| t.scope.as_deref());
    let expiry = r.access_token_expiry();
    let expires = expiry.map(|(at, _)| (at, views::format_time(at)));
    let expires_after_refresh = expiry.is_some_and(|(_, refreshed)| refreshed);
    ResultPage {
        r,
        title: report.headline().to_string(),
        headline: report.plain().to_string(),
        outcome: report.outcome_label(),
        kind: kind_str(r.kind()),
        started: views::format_time(r.started_at()),
        steps: views::steps(report),
        errors: report.errors().collect(),
        warnings: report.warnings().collect(),
        notes: report.notes().collect(),
        exchanging: report.exchanging().then(|| {
            let since = v.params.one("since").ok().flatten();
            let since = since.and_then(|s| s.parse::<i64>().ok());
            since.map_or(0, |s| (state.core.now() - s).max(0))
        }),
        timeout_secs: state.config.http.timeout.as_secs(),
        personal: r.patient().is_some() || r.identity().is_some() || r.encounter().is_some(),
        fields: r.token_response().map(token_fields).unwrap_or_default(),
        scopes: if r.token_response().is_some() {
            views::scope_rows(r.requested_scope(), granted)
        } else {
            Vec::new()
        },
        expires,
        expires_after_refresh,
        reveal,
        wait_seconds: state.config.never_returned_after.as_secs(),
        again: again(state, r),
        has_tokens: r.token_response().is_some(),
        transcript: r.transcript(),
        self_href: paths::launch_result(r.id()),
        curl: (report.outcome() == Outcome::Error)
            .then(|| report::failing_exchange(r).map(report::curl))
            .flatten(),
        retry_url: report.retry_url().map(str::to_string),
        reports: paths::reports(r.id()),
        identity: identity(r),
        patient: r.patient(),
        encounter: r.encounter(),
        access_jwt: v
            .access_jwt
            .map(|(h, c)| (views::pretty(h), views::pretty(c))),
        refreshes: r
            .refreshes()
            .iter()
            .map(|f| RefreshView {
                at: views::format_time(f.at),
                outcome: outcome_str(f.outcome),
                fields: f
                    .token_response
                    .as_ref()
                    .map(|t| token_fields(t.raw()))
                    .unwrap_or_default(),
                diagnoses: &f.diagnoses,
            })
            .collect(),
        refresh_form: v
            .csrf
            .filter(|_| r.newest_refresh_token().is_some())
            .map(|token| (paths::refresh(r.id()), token.to_string())),
        extra: super::super::scorecard::LaunchExtras::of(r),
        notice: v.notice,
    }
}
