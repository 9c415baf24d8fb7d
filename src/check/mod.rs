//! Checking a registration without logging in: preflight (discovery from both sources, the
//! registration against discovery, our redirect URI, our JWKS) and the credential probe. Used by
//! `smart-launch-doctor check` and by `/check/{id}`.

pub(crate) mod active;
pub mod backend;
mod case;
mod credentials;
pub mod text;

use std::net::IpAddr;

use serde::Serialize;
use serde_json::Value;

use crate::config::Registration;
use crate::diagnosis::Diagnosis;
use crate::diagnosis::assess::StepStatus;
use crate::diagnosis::classify::{self, probe::Verdict};
use crate::diagnosis::transcript::{Exchange, Gate};
use crate::flow::{self, complete::credentials};
use crate::record::{AppSummary, Endpoints, Outcome};
use crate::smart::LaunchKind;
use crate::smart::client_auth;
use crate::smart::http::Recorder;
use crate::state::Core;

pub use credentials::Credentials;

/// One registration's check.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub id: String,
    pub registration: AppSummary,
    pub redirect_uri: String,
    pub endpoints: Option<Endpoints>,
    /// Ranked (errors, warnings, notes) by `diagnosis::assess`.
    pub diagnoses: Vec<Diagnosis>,
    pub credentials: Credentials,
    /// `success` or `error`, from `diagnosis::assess` (`error`: `check` exits 1).
    pub outcome: Outcome,
    /// Each step of the check as `diagnosis::assess` judged it (the browser's steps skipped).
    pub steps: Vec<StepStatus>,
    /// The verdict as a title ("Check passed", or the failure with its step), as a launch's.
    pub title: String,
    /// The sentence a clinician reads first, as a launch's `headline`.
    pub headline: String,
    /// For private_key_jwt: the JWKS this app publishes.
    pub jwks: Option<Value>,
    /// The FHIR server's TLS certificate (https only).
    pub certificate: Option<crate::smart::tls::CertInfo>,
    /// Discovery's part of the server scorecard (the rest needs a login), the SMART v1-only
    /// grade and the active probes (`not_tested` unless `active_probes`).
    pub conformance: Vec<crate::diagnosis::conformance::Check>,
    /// `{"passed", "failed", "not_tested"}` of `conformance`.
    pub conformance_counts: Value,
    pub transcript: Vec<Exchange>,
}

impl Report {
    /// The assessment's verdict: what makes `check` exit 1 and the monitor say down.
    pub fn has_error(&self) -> bool {
        self.outcome == Outcome::Error
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The redirect URI we send: https outside loopback, no fragment.
fn redirect_uri_findings(redirect_uri: &str) -> Vec<Diagnosis> {
    let Ok(url) = url::Url::parse(redirect_uri) else {
        return Vec::new();
    };
    let host = url.host_str().unwrap_or("");
    let mut out = Vec::new();
    if url.scheme() != "https" && !is_loopback(host) {
        out.push(Diagnosis::new(id!("check.redirect_uri_insecure"), "The redirect URI is plain http on a host that is not loopback; authorization servers refuse or should refuse it.").with("redirect_uri", redirect_uri));
    }
    out
}

fn dedupe(ds: &mut Vec<Diagnosis>) {
    let mut seen = std::collections::HashSet::new();
    ds.retain(|d| seen.insert((d.id(), d.summary.clone())));
}

/// Runs the preflight and the probe for `reg`.
pub async fn check(state: &Core, reg: &Registration, adhoc: bool) -> Report {
    let mut report = run(state, reg, adhoc).await;
    // Whatever a server echoed, no configured secret leaves in any form (text, JSON, page).
    let mut gate = Gate::default();
    for r in state.config.registrations.iter().chain([reg]) {
        if let Some(s) = r.auth.secret() {
            gate.add(s.expose());
            gate.add_basic(&r.client_id, s.expose());
        }
    }
    scrub(&mut report, &gate);
    // The verdict comes from the reasoner every launch goes through, on what the report shows.
    let verdict = case::assess(state, reg, &report);
    report.outcome = verdict.outcome;
    report.steps = verdict.steps;
    report.title = verdict.headline;
    report.headline = verdict.plain;
    report.diagnoses = verdict.diagnoses;
    report
}

/// Every string of a report that came from a server or may quote one, through the gate.
fn scrub(report: &mut Report, gate: &Gate) {
    for x in &mut report.transcript {
        x.url = gate.scrub(&x.url);
        for (_, v) in x
            .request_headers
            .iter_mut()
            .chain(x.response_headers.iter_mut())
        {
            *v = gate.scrub(v);
        }
        // Bodies through `scrub_value`: a JSON body is scrubbed decoded, before it is written again.
        for text in [&mut x.request_body, &mut x.response_body, &mut x.error]
            .into_iter()
            .flatten()
        {
            *text = gate.scrub_value(text);
        }
    }
    for d in &mut report.diagnoses {
        d.summary = gate.scrub(&d.summary);
        for e in &mut d.evidence {
            e.value = gate.scrub(&e.value);
        }
    }
    let c = &mut report.credentials;
    for text in [&mut c.error, &mut c.reason].into_iter().flatten() {
        *text = gate.scrub(text);
    }
    c.summary = gate.scrub(&c.summary);
    for check in &mut report.conformance {
        check.detail = gate.scrub(&check.detail);
    }
    // Discovered endpoints are the server's URLs: a query there may echo the secret too.
    if let Some(e) = &mut report.endpoints {
        e.authorization_endpoint = gate.scrub(&e.authorization_endpoint);
        e.token_endpoint = gate.scrub(&e.token_endpoint);
    }
}

async fn run(state: &Core, reg: &Registration, adhoc: bool) -> Report {
    let key = reg.auth.key().map(|k| k.as_ref());
    let rec = Recorder::default();
    let redirect_uri = state.config.redirect_uri();
    let mut diagnoses = redirect_uri_findings(&redirect_uri);
    // A fresh look: the check must not answer from the launch cache.
    let discovered = flow::discover_fresh(state, &reg.iss, &rec).await;
    let jwks = key.map(|k| client_auth::jwks([k]));
    if let Some(k) = key {
        // Our published JWKS (every configured key) as a strict server reads it.
        let all = state.config.signing_keys();
        let dup = client_auth::duplicates(all.chain(std::iter::once(k)));
        if !dup.is_empty() {
            diagnoses.push(
                Diagnosis::new(
                    id!("jwks.duplicate_key"),
                    format!("Our published JWKS has a duplicate: {}.", dup.join("; ")),
                )
                .with("Registration's kid", &k.kid),
            );
        }
    }
    let method = reg.auth.method().as_str();
    let mut report = Report {
        id: reg.id.clone(),
        registration: AppSummary::of(reg, adhoc),
        redirect_uri: redirect_uri.clone(),
        endpoints: None,
        diagnoses: Vec::new(),
        credentials: Credentials {
            verdict: Verdict::NotProbed,
            method,
            basic_encoding: None,
            status: None,
            error: Some("discovery failed: no token endpoint to probe".into()),
            client_credentials: None,
            accepted_method: None,
            reason: None,
            summary: "Not probed: discovery failed, so there was no token endpoint to ask.".into(),
        },
        outcome: Outcome::Pending,
        steps: Vec::new(),
        title: String::new(),
        headline: String::new(),
        jwks,
        certificate: None,
        conformance: Vec::new(),
        conformance_counts: Value::Null,
        transcript: Vec::new(),
    };
    let d = match discovered {
        Ok(d) => d,
        Err(failure) => {
            diagnoses.push(failure);
            report.diagnoses = diagnoses;
            report.transcript = rec.exchanges();
            return report;
        }
    };
    report.endpoints = Some(flow::endpoints(&d));
    report.certificate = d.certificate.clone();
    if let Some(c) = d.certificate.as_ref().filter(|c| c.days_left < 30) {
        diagnoses.push(
            Diagnosis::new(
                id!("check.certificate_expiring"),
                format!(
                    "The FHIR server's TLS certificate expires in {} days.",
                    c.days_left
                ),
            )
            .with("Subject", &c.subject)
            .with("Issuer", &c.issuer)
            .with("Days left", c.days_left.to_string()),
        );
    }
    diagnoses.extend(classify::discovery_warnings(&d));
    report.conformance = crate::diagnosis::conformance::discovery(&d);
    let failed = crate::diagnosis::conformance::diagnoses_besides(&report.conformance, &diagnoses);
    diagnoses.extend(failed);
    if reg.backend {
        diagnoses.extend(classify::backend::symmetric_auth(reg.auth.method()));
    }
    diagnoses.extend(classify::registration_vs_discovery(
        &d,
        reg.auth.method(),
        LaunchKind::Ehr,
        &reg.scope,
    ));
    diagnoses.extend(classify::registration_vs_discovery(
        &d,
        reg.auth.method(),
        LaunchKind::Standalone,
        &reg.standalone_scope,
    ));
    let creds = credentials(reg, &d.token_endpoint);
    let (probed, found) = credentials::probe(state, reg, &d, &creds, &redirect_uri, &rec).await;
    report.credentials = probed;
    diagnoses.extend(found);
    let graded = active::checks(state, reg, &d, &redirect_uri, &rec).await;
    diagnoses.extend(crate::diagnosis::conformance::diagnoses(&graded));
    report.conformance.extend(graded);
    report.conformance_counts = crate::diagnosis::conformance::counts(&report.conformance);
    dedupe(&mut diagnoses);
    report.diagnoses = diagnoses;
    report.transcript = rec.exchanges();
    report
}
