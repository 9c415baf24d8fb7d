//! Completing a launch after the callback: the code exchange, then the proof that the token
//! works (id_token check, `fhirUser` and patient reads); and later refreshes. Orchestration only:
//! requests are built in `smart/`, named in `diagnosis/`.

use std::sync::Arc;
use std::time::SystemTime;

use serde_json::Value;

use crate::config::Registration;
use crate::diagnosis::Diagnosis;
use crate::diagnosis::classify::{self, TokenAnswer, TokenContext, identity};
use crate::record::{AppRef, Identity, LaunchRecord, Outcome, PendingFlow, RefreshRecord, now};
use crate::seal::Sealer;
use crate::smart::client_auth::SigningKey;
use crate::smart::discovery::Discovered;
use crate::smart::http::Recorder;
use crate::smart::id_token::{self, Expected};
use crate::smart::token::{self, ClientCredentials, ExchangeError, Exchanged, Grant};
use crate::smart::{Step, fhir};
use crate::state::Core;

/// Why a launch's app cannot be used any more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppGone {
    /// The registration was removed from the configuration.
    NotConfigured,
    /// An ad-hoc app whose sealed secret this process cannot open.
    Unsealable,
}

/// The registration (with its secret or key) a launch used.
pub fn app_credentials(
    core: &Core,
    sealer: &Sealer,
    app: &AppRef,
) -> Result<(Registration, Option<Arc<SigningKey>>), AppGone> {
    match app {
        AppRef::Registered(id) => {
            let reg = core
                .config
                .registration(id)
                .ok_or(AppGone::NotConfigured)?
                .clone();
            let key = core.config.key(id).cloned();
            Ok((reg, key))
        }
        AppRef::AdHoc(sealed) => Ok((sealed.open(sealer).ok_or(AppGone::Unsealable)?, None)),
    }
}

/// The diagnosis for an app that cannot be used any more.
pub fn app_gone(why: AppGone) -> Diagnosis {
    match why {
        AppGone::NotConfigured => Diagnosis::new(
            id!("callback.unknown_state"),
            "The registration this launch used is no longer configured.",
        ),
        AppGone::Unsealable => Diagnosis::new(
            id!("session.sealed_secret_unavailable"),
            "This ad-hoc app's client secret was sealed with a key this server instance does not have.",
        ),
    }
}

pub(crate) fn credentials<'a>(
    reg: &'a Registration,
    key: Option<&'a SigningKey>,
    token_endpoint: &'a str,
) -> ClientCredentials<'a> {
    ClientCredentials {
        token_endpoint,
        client_id: &reg.client_id,
        auth: reg.auth,
        secret: reg.client_secret.as_ref(),
        key,
    }
}

/// The token request's outcome as diagnoses: `Ok` with the response and warnings, or `Err`.
pub(crate) fn classify_answer(
    result: &Result<Exchanged, ExchangeError>,
    reg: &Registration,
    token_endpoint: &str,
    requested_scope: &str,
    record: &LaunchRecord,
    methods: &[String],
) -> Result<classify::Accepted, Vec<Diagnosis>> {
    let x = match result {
        Ok(x) => x,
        Err(ExchangeError::Net(e)) => return Err(vec![classify::net(e, token_endpoint)]),
        Err(ExchangeError::Setup(why)) => {
            return Err(vec![
                Diagnosis::new(
                    id!("token.http_error"),
                    format!("The token request could not be sent: {why}."),
                )
                .with("Token endpoint (discovered)", token_endpoint),
            ]);
        }
    };
    let ctx = TokenContext {
        token_endpoint,
        client_id: &reg.client_id,
        auth: reg.auth,
        secret: reg.client_secret.as_ref(),
        requested_scope,
        kind: record.kind,
        now: SystemTime::now(),
        auth_methods_supported: methods,
        sent: Some(&x.sent),
    };
    if x.response.status().is_success() && std::str::from_utf8(x.response.body()).is_err() {
        // JSON is UTF-8 (RFC 8259 §8.1); a lossy decode would turn a token into another one.
        return Err(vec![
            Diagnosis::new(
                id!("token.not_json"),
                "The token endpoint answered 2xx with a body that is not valid UTF-8, so not JSON.",
            )
            .with(
                "Content-Type",
                x.response
                    .headers()
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or(""),
            )
            .with(
                "Body (first bytes)",
                crate::diagnosis::excerpt(&String::from_utf8_lossy(x.response.body()), 120),
            ),
        ]);
    }
    let body = String::from_utf8_lossy(x.response.body());
    let answer = TokenAnswer {
        status: x.response.status().as_u16(),
        headers: x.response.headers(),
        body: &body,
    };
    if x.response.status().is_success() {
        classify::token_success(&answer, &ctx).map_err(|d| vec![d])
    } else {
        Err(classify::token_failure(&answer, &ctx))
    }
}

/// The code exchange, then the proof reads.
pub async fn exchange(
    core: &Core,
    (reg, key): &(Registration, Option<Arc<SigningKey>>),
    d: &Discovered,
    flow: &PendingFlow,
    code: &str,
    record: &mut LaunchRecord,
) {
    record.step = Step::Token;
    let rec = Recorder::default();
    let grant = Grant::Code {
        code,
        verifier: &flow.verifier,
        redirect_uri: &record.redirect_uri,
    };
    let result = token::request(
        core.http_for(&record.app.iss),
        &credentials(reg, key.as_deref(), &d.token_endpoint),
        &grant,
        "token",
        &rec,
    )
    .await;
    record.transcript.extend(rec.exchanges());
    let requested = record.requested_scope.clone();
    match classify_answer(
        &result,
        reg,
        &d.token_endpoint,
        &requested,
        record,
        &d.token_endpoint_auth_methods_supported,
    ) {
        Ok((response, warnings)) => {
            record.diagnoses.extend(warnings);
            record.token_response = Some(response);
            prove(core, d.issuer.as_deref(), reg, record).await;
            super::scorecard::after_token(core, (reg, key.as_deref()), d, &result, record).await;
        }
        Err(ds) => {
            record.fail(Step::Token, ds, now());
            super::scorecard::discovery(d, record);
        }
    }
}

/// id_token check and proof reads. A failure is diagnosed but never hides the token response.
async fn prove(core: &Core, issuer: Option<&str>, reg: &Registration, record: &mut LaunchRecord) {
    let rec = Recorder::default();
    let token = |k: &str| {
        record
            .token_response
            .as_ref()
            .and_then(|t| t.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let mut failures: Vec<(Step, Diagnosis)> = Vec::new();
    let mut fhir_user = None;
    if let Some(id_token) = token("id_token") {
        record.step = Step::IdToken;
        let expected = Expected {
            issuer: issuer.unwrap_or(&record.app.iss),
            client_id: &reg.client_id,
            now: now(),
        };
        let (mut report, checked) = id_token::check(
            core.http_for(&record.app.iss),
            &core.oidc,
            &expected,
            &id_token,
            &rec,
        )
        .await;
        let ds = identity::id_token(&checked);
        if checked.is_ok() && ds.iter().all(|d| !d.is_error()) {
            report.trust();
        }
        for d in ds {
            if d.is_error() {
                failures.push((Step::IdToken, d))
            } else {
                record.diagnoses.push(d)
            }
        }
        fhir_user = report.fhir_user.clone();
        if report.verified
            && fhir_user.is_none()
            && record
                .granted_scope()
                .split_whitespace()
                .any(|s| s == "fhirUser")
        {
            record.diagnoses.push(identity::fhiruser_unresolved(
                "fhirUser was granted but the id_token has no fhirUser claim.",
                None,
            ));
        }
        record.identity = Some(Identity {
            id_token: report,
            user: None,
        });
    }
    record.step = Step::Fhir;
    let base = record.app.iss.clone();
    let access = token("access_token").unwrap_or_default();
    if let Some(user) = fhir_user {
        match fhir::resolve(&base, &user) {
            Ok((ty, _)) if !identity::FHIR_USER_TYPES.contains(&ty.as_str()) => {
                record.diagnoses.push(identity::fhiruser_unresolved(&format!("fhirUser is a {ty}, not a Patient, Practitioner, PractitionerRole, RelatedPerson or Person."), Some(&user)));
            }
            Ok((ty, url)) => {
                match fhir::read_as(core.http_for(&record.app.iss), &url, &ty, &access, &rec).await
                {
                    Ok(r) => {
                        if let Some(i) = record.identity.as_mut() {
                            i.user = Some(r);
                        }
                    }
                    Err(f) => failures.push((
                        Step::Fhir,
                        identity::fhir_read("the signed-in user (fhirUser)", &f),
                    )),
                }
            }
            Err(why) => record
                .diagnoses
                .push(identity::fhiruser_unresolved(&why, Some(&user))),
        }
    }
    for (key, what) in [("patient", "Patient"), ("encounter", "Encounter")] {
        let Some(id) = token(key) else { continue };
        let url = match fhir::resolve(&base, &format!("{what}/{id}")) {
            Ok((_, url)) => url,
            Err(why) => {
                failures.push((
                    Step::Fhir,
                    identity::fhir_read_failed(
                        &format!("the {key} in context"),
                        &why,
                        0,
                        None,
                        "",
                        "",
                    ),
                ));
                continue;
            }
        };
        match fhir::read_as(core.http_for(&record.app.iss), &url, what, &access, &rec).await {
            Ok(r) if key == "patient" => record.patient = Some(r),
            Ok(r) => record.encounter = Some(r),
            Err(f) => failures.push((
                Step::Fhir,
                identity::fhir_read(&format!("the {key} in context"), &f),
            )),
        }
    }
    record.transcript.extend(rec.exchanges());
    // The same finding on several reads (a 401 on the user and on the patient) is one diagnosis
    // with the evidence of each.
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
    let failures = merged;
    match failures.first().map(|(s, _)| *s) {
        Some(step) => record.fail(step, failures.into_iter().map(|(_, d)| d), now()),
        None => {
            record.outcome = Outcome::Success;
            record.finished_at = Some(now());
        }
    }
}

/// A refresh with the newest refresh token, authenticated like the code exchange.
pub async fn refresh(
    core: &Core,
    sealer: &Sealer,
    record: &mut LaunchRecord,
) -> Result<(), String> {
    let refresh_token = record
        .newest("refresh_token")
        .ok_or("this launch has no refresh token")?
        .to_string();
    let token_endpoint = record
        .endpoints
        .as_ref()
        .map(|e| e.token_endpoint.clone())
        .ok_or("this launch has no token endpoint")?;
    let app = record
        .app_ref
        .clone()
        .ok_or("this launch does not know its app")?;
    let (reg, key) = app_credentials(core, sealer, &app).map_err(|why| match why {
        AppGone::NotConfigured => "the registration is no longer configured",
        AppGone::Unsealable => {
            "this ad-hoc app's secret was sealed with a key this server instance does not have"
        }
    })?;
    let rec = Recorder::default();
    let grant = Grant::Refresh {
        refresh_token: &refresh_token,
    };
    let result = token::request(
        core.http_for(&record.app.iss),
        &credentials(&reg, key.as_deref(), &token_endpoint),
        &grant,
        "refresh",
        &rec,
    )
    .await;
    let made = rec.exchanges();
    record.transcript.extend(made.iter().cloned());
    let original = record.granted_scope().to_string();
    let mut entry = RefreshRecord {
        at: now(),
        outcome: Outcome::Error,
        token_response: None,
        diagnoses: Vec::new(),
    };
    match &result {
        Ok(x) if x.response.status().is_success() => {
            let body = String::from_utf8_lossy(x.response.body());
            match classify::refresh::success(&body, &original) {
                Ok((response, mut warnings)) => {
                    let more = super::scorecard::refresh(record, &x.response, &original, &warnings);
                    warnings.extend(more);
                    entry.outcome = Outcome::Success;
                    entry.token_response = Some(response);
                    entry.diagnoses = warnings;
                }
                Err(d) => entry.diagnoses.push(d),
            }
        }
        _ => {
            let methods: Vec<String> = Vec::new();
            if let Err(ds) =
                classify_answer(&result, &reg, &token_endpoint, &original, record, &methods)
            {
                entry.diagnoses = classify::refresh::failure(ds);
            }
        }
    }
    record.refreshes.push(entry);
    core.metrics.refreshed(record, &made);
    Ok(())
}
