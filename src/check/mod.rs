//! Checking a registration without logging in: preflight (discovery from both sources, the
//! registration against discovery, our redirect URI, our JWKS) and the credential probe. Used by
//! `smart-launch-doctor check` and by `/check/{id}`.

pub(crate) mod active;
pub mod backend;
pub mod text;

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::Value;

use crate::config::{ClientAuth, Registration};
use crate::diagnosis::classify::probe::{self, Verdict};
use crate::diagnosis::classify::{self, TokenAnswer, TokenContext, reserved_chars};
use crate::diagnosis::transcript::{Exchange, Gate};
use crate::diagnosis::{Diagnosis, Severity};
use crate::record::{AppSummary, Endpoints};
use crate::smart::LaunchKind;
use crate::smart::client_auth;
use crate::smart::discovery::{self, Discovered, Source};
use crate::smart::http::Recorder;
use crate::smart::probe as probes;
use crate::smart::token::{ClientCredentials, ExchangeError, Exchanged};
use crate::state::Core;

/// What the probe found about the credentials.
#[derive(Clone, Debug, Serialize)]
pub struct Credentials {
    pub verdict: Verdict,
    pub method: &'static str,
    /// For client_secret_basic with a secret that form-encoding changes: which form the server
    /// accepted (`rfc6749` or `raw`); otherwise null.
    pub basic_encoding: Option<&'static str>,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// For `backend = true`: the `client_credentials` verdict.
    pub client_credentials: Option<Verdict>,
    /// When the configured symmetric method was refused in favour of the other one and a probe
    /// with that other method was accepted: its name (e.g. `client_secret_basic`).
    pub accepted_method: Option<&'static str>,
    /// Why a verdict is what it is when the answer alone does not say it plainly.
    pub reason: Option<String>,
    /// Both probes' verdicts reconciled in one line.
    pub summary: String,
}

/// One registration's check.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub id: String,
    pub registration: AppSummary,
    pub redirect_uri: String,
    pub endpoints: Option<Endpoints>,
    pub diagnoses: Vec<Diagnosis>,
    pub credentials: Credentials,
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
    pub fn has_error(&self) -> bool {
        self.diagnoses
            .iter()
            .any(|d| d.severity() == Severity::Error)
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
    let fresh = discovery::Cache::new(Duration::ZERO);
    let discovered =
        discovery::discover(state.outbound_for(&reg.iss), &fresh, &reg.iss, &rec).await;
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
        jwks,
        certificate: None,
        conformance: Vec::new(),
        conformance_counts: Value::Null,
        transcript: Vec::new(),
    };
    let d = match discovered {
        Ok(d) => d,
        Err(failure) => {
            diagnoses.push(classify::discovery_failure(&failure));
            report.diagnoses = diagnoses;
            report.transcript = rec.exchanges();
            return report;
        }
    };
    report.endpoints = Some(endpoints(&d));
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
    let creds = ClientCredentials {
        token_endpoint: &d.token_endpoint,
        client_id: &reg.client_id,
        auth: &reg.auth,
    };
    let (credentials, found) = probe(state, reg, &d, &creds, &redirect_uri, &rec).await;
    report.credentials = credentials;
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

fn endpoints(d: &Discovered) -> Endpoints {
    Endpoints {
        source: match d.source {
            Source::WellKnown => ".well-known/smart-configuration",
            Source::CapabilityStatement => "CapabilityStatement (metadata)",
        }
        .into(),
        authorization_endpoint: d.authorization_endpoint.clone(),
        token_endpoint: d.token_endpoint.clone(),
    }
}

/// Status and body of an exchange, or the network failure.
fn answer(result: &Result<Exchanged, ExchangeError>) -> (Option<u16>, String) {
    match result {
        Ok(x) => (
            Some(x.response.status().as_u16()),
            String::from_utf8_lossy(x.response.body()).into_owned(),
        ),
        Err(ExchangeError::Net(e)) => (None, e.to_string()),
        Err(ExchangeError::Setup(why)) => (None, why.clone()),
    }
}

fn verdict_of(result: &Result<Exchanged, ExchangeError>) -> Verdict {
    reading_of(result).verdict
}

fn reading_of(result: &Result<Exchanged, ExchangeError>) -> probe::Reading {
    match answer(result) {
        (Some(status), body) => probe::read_invalid_code(status, &body),
        (None, _) => probe::Reading {
            verdict: Verdict::Inconclusive,
            note: Some("no answer from the token endpoint".into()),
        },
    }
}

/// The rejection's diagnoses, as a real exchange would have them (with the self-check).
fn rejection(
    result: &Result<Exchanged, ExchangeError>,
    reg: &Registration,
    d: &Discovered,
    kind: LaunchKind,
) -> Vec<Diagnosis> {
    let Ok(x) = result else { return Vec::new() };
    let body = String::from_utf8_lossy(x.response.body());
    let answer = TokenAnswer {
        status: x.response.status().as_u16(),
        headers: x.response.headers(),
        body: &body,
    };
    let ctx = TokenContext {
        token_endpoint: &d.token_endpoint,
        client_id: &reg.client_id,
        auth: reg.auth.method(),
        secret: reg.auth.secret(),
        requested_scope: &reg.scope,
        kind,
        now: SystemTime::now(),
        auth_methods_supported: &d.token_endpoint_auth_methods_supported,
        sent: Some(&x.sent),
        // A probe has no authorize step before it: nothing proved the client id known.
        client_known: false,
    };
    classify::token_failure(&answer, &ctx)
}

async fn probe(
    state: &Core,
    reg: &Registration,
    d: &Discovered,
    creds: &ClientCredentials<'_>,
    redirect_uri: &str,
    rec: &Recorder,
) -> (Credentials, Vec<Diagnosis>) {
    let http = state.outbound_for(&reg.iss);
    let encoded = probes::invalid_code(http, creds, redirect_uri, rec).await;
    let (status, body) = answer(&encoded);
    let mut reading = reading_of(&encoded);
    let mut found = Vec::new();
    let mut basic_encoding = None;
    let reserved = reg
        .auth
        .secret()
        .map(|s| reserved_chars(s.expose()))
        .unwrap_or_default();
    if matches!(reg.auth, ClientAuth::Basic(_)) && !reserved.is_empty() {
        if reading.verdict == Verdict::Accepted {
            basic_encoding = Some("rfc6749");
        } else if reading.verdict == Verdict::Rejected {
            // Only when the RFC form failed: is it the encoding the server gets wrong?
            let raw = probes::invalid_code_raw_basic(http, creds, redirect_uri, rec).await;
            if verdict_of(&raw) == Verdict::Accepted {
                basic_encoding = Some("raw");
                reading = probe::Reading {
                    verdict: Verdict::Accepted,
                    note: Some("only with the secret not form-encoded before Basic".into()),
                };
                found.push(probe::raw_basic_only(&reserved));
            }
        }
    }
    let cc = if reg.backend {
        let result = probes::client_credentials(http, creds, &reg.scope, rec).await;
        let (s, b) = answer(&result);
        let r = match s {
            Some(s) => probe::read_client_credentials(s, &b),
            None => probe::Reading {
                verdict: Verdict::Inconclusive,
                note: Some("no answer from the token endpoint".into()),
            },
        };
        Some((r, result, s, b))
    } else {
        None
    };
    // An invalid_client that client_credentials contradicts: the server looked at the code first.
    if reading.verdict == Verdict::Rejected
        && cc
            .as_ref()
            .is_some_and(|c| c.0.verdict == Verdict::Accepted)
    {
        reading = probe::Reading {
            verdict: Verdict::Inconclusive,
            note: Some(format!(
                "the invalid-code probe was refused as a client error although client_credentials authenticated the same credentials: {}",
                probe::CODE_FIRST
            )),
        };
    }
    if reg.auth == ClientAuth::None
        && reading.verdict == Verdict::Rejected
        && reading.note.is_none()
    {
        // No secret is configured, so "secret or method wrong" cannot be the reading.
        reading.note = Some(
            "no secret is configured, so none can be wrong: the server does not know this client id, or has it registered as confidential".into(),
        );
    }
    let mut accepted_method = None;
    match reading.verdict {
        Verdict::Rejected => {
            let rejected = rejection(&encoded, reg, d, LaunchKind::Standalone);
            let refused = rejected
                .iter()
                .any(|x| x.id() == id!("token.auth_method_refused"));
            if let Some(other) = reg.auth.other_symmetric().filter(|_| refused) {
                // The server names the other symmetric method: does it accept that one?
                let alt = ClientCredentials {
                    token_endpoint: creds.token_endpoint,
                    client_id: creds.client_id,
                    auth: &other,
                };
                let tried = probes::invalid_code(http, &alt, redirect_uri, rec).await;
                let outcome = verdict_of(&tried);
                let other = other.method();
                if outcome == Verdict::Accepted {
                    accepted_method = Some(other.as_str());
                }
                found.extend(rejected.into_iter().map(|x| {
                    if x.id() == id!("token.auth_method_refused") {
                        x.with(
                            &format!("Probe with {}", other.as_str()),
                            match outcome {
                                Verdict::Accepted => "accepted (invalid_grant): the same credentials work with this method",
                                Verdict::Rejected => "rejected too: the credentials themselves may be wrong",
                                Verdict::Inconclusive | Verdict::NotProbed => "inconclusive",
                            },
                        )
                    } else {
                        x
                    }
                }));
            } else {
                found.extend(rejected);
            }
        }
        Verdict::Inconclusive => found.push(match &reading.note {
            Some(reason) => {
                probe::inconclusive_because("invalid-code probe", status, &body, reason)
            }
            None => probe::inconclusive("invalid-code probe", status, &body),
        }),
        Verdict::Accepted | Verdict::NotProbed => {}
    }
    if let Some((r, result, s, b)) = &cc {
        match r.verdict {
            Verdict::Inconclusive => {
                found.push(probe::inconclusive("client_credentials probe", *s, b))
            }
            // Authenticated, yet this backend client gets no token: name why.
            Verdict::Accepted if r.note.is_some() => found.extend(cc_refusal(result, reg, d)),
            Verdict::Rejected if reading.verdict != Verdict::Rejected => {
                found.extend(cc_refusal(result, reg, d))
            }
            _ => {}
        }
    }
    let error = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|j| j.get("error").and_then(Value::as_str).map(str::to_string));
    let mut summary = probe::summary(&reading, cc.as_ref().map(|c| &c.0));
    if let Some(m) = accepted_method {
        summary.push_str(&format!(
            " The server refuses {} but accepted {m}.",
            reg.auth.method().as_str()
        ));
    }
    (
        Credentials {
            verdict: reading.verdict,
            method: reg.auth.method().as_str(),
            basic_encoding,
            status,
            error,
            client_credentials: cc.as_ref().map(|c| c.0.verdict),
            accepted_method,
            reason: reading.note.clone(),
            summary,
        },
        found,
    )
}

/// Why the `client_credentials` probe got no token, as a real backend request would have it
/// (an `unauthorized_client` there is `token.client_credentials_not_enabled`).
fn cc_refusal(
    result: &Result<Exchanged, ExchangeError>,
    reg: &Registration,
    d: &Discovered,
) -> Vec<Diagnosis> {
    rejection(result, reg, d, LaunchKind::Backend)
        .into_iter()
        .map(|mut x| {
            if x.id() == id!("token.invalid_scope") {
                x.summary = format!(
                    "{} The client was authenticated; the requested scope was refused.",
                    x.summary
                );
            }
            x
        })
        .collect()
}
