//! After the token: the proof that it works (the id_token check, then the `fhirUser` read; the
//! patient and encounter reads) and the scorecard's evidence (introspection, `fhirContext`
//! reads, the style document), all at once, under one deadline (`after_token_deadline_seconds`).
//! None of them needs another's answer except the `fhirUser` read (it needs the verified
//! id_token), so a launch waits for one round of the EHR, not for the sum of them. A request not
//! finished by the deadline is settled as a timeout; the launch never waits longer.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::Registration;
use crate::diagnosis::Diagnosis;
use crate::diagnosis::classify::identity;
use crate::record::{Identity, LaunchRecord};
use crate::smart::discovery::Discovered;
use crate::smart::fhir::{self, ReadFailure, ReadResource};
use crate::smart::http::{NetError, Outbound, Recorder};
use crate::smart::id_token::{self, Expected, IdTokenFailure};
use crate::smart::token::{ExchangeError, Exchanged};
use crate::smart::transcript::{Exchange, ExchangeStep, redact_request_url};
use crate::smart::{Step, fhir::resolve};
use crate::state::Core;

/// The one deadline for everything after the token.
pub struct Deadline {
    at: Instant,
    secs: u64,
}

impl Deadline {
    /// A deadline `after` from now.
    pub fn after(after: Duration) -> Self {
        Deadline {
            at: Instant::now() + after,
            secs: after.as_secs(),
        }
    }

    /// `work`'s output, or `None` when the deadline came first (the work is dropped).
    pub async fn run<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        tokio::time::timeout_at(self.at, work).await.ok()
    }

    /// Why something was not finished.
    pub fn why(&self) -> String {
        format!(
            "not finished within the deadline for everything after the token ({} s, after_token_deadline_seconds)",
            self.secs
        )
    }

    /// The error a request not finished in time stands for.
    pub fn error(&self) -> NetError {
        NetError::Timeout(self.secs)
    }

    /// The transcript's entry for a request to `url` not finished in time (the request itself
    /// was dropped before anything was recorded).
    pub fn unfinished(&self, step: ExchangeStep, method: &str, url: &str) -> Exchange {
        Exchange {
            step,
            method: method.to_string(),
            url: redact_request_url(url),
            request_headers: Vec::new(),
            request_body: None,
            status: None,
            response_headers: Vec::new(),
            response_body: None,
            duration_ms: self.secs * 1000,
            error: Some(self.why()),
            cached: false,
        }
    }
}

/// What the identity branch found: the id_token's verdict and the user it names.
#[derive(Default)]
struct Found {
    identity: Option<Identity>,
    warnings: Vec<Diagnosis>,
    failures: Vec<(Step, Diagnosis)>,
    /// The id_token's verdict, for the scorecard's claim checks.
    checked: Option<id_token::Checked>,
}

/// What the branch of one proof read needs.
struct ReadCtx<'a> {
    http: &'a Outbound,
    deadline: &'a Deadline,
    access: &'a str,
    rec: Recorder,
}

impl ReadCtx<'_> {
    /// Reads `url` with the token; a read not finished in time is a timeout on `url`.
    async fn read(&self, url: &str, expected: &str) -> Result<ReadResource, ReadFailure> {
        match self
            .deadline
            .run(fhir::read_as(
                self.http,
                url,
                expected,
                self.access,
                &self.rec,
            ))
            .await
        {
            Some(result) => result,
            None => {
                self.rec
                    .extend(&[self.deadline.unfinished(ExchangeStep::Fhir, "GET", url)]);
                Err(ReadFailure::Net {
                    url: url.to_string(),
                    error: self.deadline.error(),
                })
            }
        }
    }
}

/// The id_token check, then (when it is trusted and names one) the `fhirUser` read.
async fn identity_branch(
    core: &Core,
    ctx: &ReadCtx<'_>,
    expected: Expected<'_>,
    id_token: &str,
    base: &str,
    fhir_user_granted: bool,
) -> Found {
    let mut found = Found::default();
    let checking = id_token::check(ctx.http, &core.oidc, &expected, id_token, &ctx.rec);
    let (mut report, checked) = match ctx.deadline.run(checking).await {
        Some(done) => done,
        None => {
            let (header, claims) = id_token::decode_unverified(id_token).unwrap_or_default();
            let report = id_token::IdTokenReport {
                header,
                claims,
                ..Default::default()
            };
            let url = format!(
                "{}/.well-known/openid-configuration",
                expected.issuer.trim_end_matches('/')
            );
            let why = ctx.deadline.why();
            (report, Err(IdTokenFailure::ConfigUnavailable { url, why }))
        }
    };
    let ds = identity::id_token(&checked);
    if checked.is_ok() && ds.iter().all(|d| !d.is_error()) {
        report.trust();
    }
    found.checked = Some(checked);
    for d in ds {
        if d.is_error() {
            found.failures.push((Step::IdToken, d))
        } else {
            found.warnings.push(d)
        }
    }
    let fhir_user = report.fhir_user.clone();
    if report.verified && fhir_user.is_none() && fhir_user_granted {
        found.warnings.push(identity::fhiruser_unresolved(
            "fhirUser was granted but the id_token has no fhirUser claim.",
            None,
        ));
    }
    let mut user = None;
    if let Some(claim) = fhir_user {
        match resolve(base, &claim) {
            Ok((ty, _)) if !identity::FHIR_USER_TYPES.contains(&ty.as_str()) => {
                found.warnings.push(identity::fhiruser_unresolved(&format!("fhirUser is a {ty}, not a Patient, Practitioner, PractitionerRole, RelatedPerson or Person."), Some(&claim)));
            }
            Ok((ty, url)) => match ctx.read(&url, &ty).await {
                Ok(r) => user = Some(r),
                Err(f) => found.failures.push((
                    Step::Fhir,
                    identity::fhir_read("the signed-in user (fhirUser)", &f),
                )),
            },
            Err(why) => found
                .warnings
                .push(identity::fhiruser_unresolved(&why, Some(&claim))),
        }
    }
    found.identity = Some(Identity {
        id_token: report,
        user,
    });
    found
}

/// The read of the patient or the encounter in context (`key` in the token response).
async fn context_branch(
    ctx: &ReadCtx<'_>,
    base: &str,
    key: &str,
    what: &str,
    id: Option<String>,
) -> Result<Option<ReadResource>, (Step, Diagnosis)> {
    let Some(id) = id else { return Ok(None) };
    let what_read = format!("the {key} in context");
    let url = match resolve(base, &format!("{what}/{id}")) {
        Ok((_, url)) => url,
        Err(why) => {
            let d = identity::fhir_read_failed(&what_read, &why, 0, None, "", "");
            return Err((Step::Fhir, d));
        }
    };
    ctx.read(&url, what)
        .await
        .map(Some)
        .map_err(|f| (Step::Fhir, identity::fhir_read(&what_read, &f)))
}

/// Everything after a successful code exchange: the proof reads and the scorecard, at once.
pub async fn after_token(
    core: &Core,
    reg: &Registration,
    d: &Discovered,
    result: &Result<Exchanged, ExchangeError>,
    record: &mut LaunchRecord,
) {
    let deadline = Deadline::after(core.config.after_token_deadline);
    let received_at = core.now();
    let token = record.token().cloned();
    let t = token.as_ref();
    let base = record.app().iss.clone();
    let http = core.outbound_for(&base);
    let access = t.map(|t| t.access_token.expose()).unwrap_or_default();
    let ctx = || ReadCtx {
        http,
        deadline: &deadline,
        access,
        rec: Recorder::default(),
    };
    let (who, patient, encounter) = (ctx(), ctx(), ctx());
    let fhir_user_granted = record
        .granted_scope()
        .split_whitespace()
        .any(|s| s == "fhirUser");
    let id_token = t.and_then(|t| t.id_token.as_ref()).map(|t| t.expose());
    let issuer = d.issuer.clone().unwrap_or_else(|| base.clone());
    let identity = async {
        let id_token = id_token?;
        let expected = Expected {
            issuer: &issuer,
            client_id: &reg.client_id,
            now: core.now(),
        };
        Some(identity_branch(core, &who, expected, id_token, &base, fhir_user_granted).await)
    };
    let extras = super::scorecard::gather(http, reg, d, t, &base, &deadline);
    let (patient_id, encounter_id) = (
        t.and_then(|t| t.patient.clone()),
        t.and_then(|t| t.encounter.clone()),
    );
    let (found, patient_read, encounter_read, extras) = tokio::join!(
        identity,
        context_branch(&patient, &base, "patient", "Patient", patient_id),
        context_branch(&encounter, &base, "encounter", "Encounter", encounter_id),
        extras,
    );
    let mut failures: Vec<(Step, Diagnosis)> = Vec::new();
    let mut checked = None;
    if let Some(found) = found {
        checked = found.checked;
        if let Some(identity) = found.identity {
            record.identity_checked(identity);
        }
        record.found(found.warnings);
        failures.extend(found.failures);
    }
    let patient_read = patient_read.unwrap_or_else(|f| {
        failures.push(f);
        None
    });
    let encounter_read = encounter_read.unwrap_or_else(|f| {
        failures.push(f);
        None
    });
    record.read_in_context(patient_read, encounter_read);
    for ctx in [&who, &patient, &encounter] {
        record.transcribed(ctx.rec.exchanges());
    }
    record.reached(Step::Fhir);
    // A refusal is read with the clock: had the token's own lifetime passed?
    let now = core.now();
    let left = identity::lifetime_left(record.token(), now - received_at);
    let failures = failures
        .into_iter()
        .map(|(s, d)| (s, identity::with_clock(d, left)))
        .collect();
    settle(record, failures, now);
    super::scorecard::after_token(d, result, record, extras, checked.as_ref(), now);
}

/// The launch's outcome from the proof's failures: the same finding on several reads (a 401 on
/// the user and on the patient) is one diagnosis with the evidence of each.
fn settle(record: &mut LaunchRecord, failures: Vec<(Step, Diagnosis)>, now: i64) {
    let mut merged: Vec<(Step, Diagnosis)> = Vec::new();
    for (step, d) in failures {
        match merged
            .iter_mut()
            .find(|(s, m)| *s == step && m.entry == d.entry)
        {
            Some((_, m)) => m.evidence.extend(d.evidence),
            None => merged.push((step, d)),
        }
    }
    match merged.first().map(|(s, _)| *s) {
        Some(step) => record.failed(step, merged.into_iter().map(|(_, d)| d), now),
        None => record.succeeded(now),
    }
}
