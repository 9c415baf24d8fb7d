//! Completing a launch after the callback: the code exchange, then the proof that the token
//! works (`prove`: id_token check, `fhirUser` and patient reads, all at once); and later
//! refreshes. Orchestration only:
//! requests are built in `smart/`, named in `diagnosis/`.

use std::time::SystemTime;

use crate::config::Registration;
use crate::diagnosis::classify::{self, TokenAnswer, TokenContext};
use crate::diagnosis::{Diagnosis, conformance};
use crate::record::{AppRef, LaunchRecord, Outcome, PendingFlow, RefreshRecord, TokenExchange};
use crate::seal::Sealer;
use crate::smart::active;
use crate::smart::discovery::Discovered;
use crate::smart::http::Recorder;
use crate::smart::token::{self, ClientCredentials, ExchangeError, Exchanged, Grant};
use crate::smart::transcript::ExchangeStep;
use crate::smart::{LaunchKind, Step};
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
) -> Result<Registration, AppGone> {
    match app {
        AppRef::Registered(id) => {
            let reg = core
                .config
                .registration(id)
                .ok_or(AppGone::NotConfigured)?
                .clone();
            Ok(reg)
        }
        AppRef::AdHoc(sealed) => sealed.open(sealer).ok_or(AppGone::Unsealable),
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
    token_endpoint: &'a str,
) -> ClientCredentials<'a> {
    ClientCredentials {
        token_endpoint,
        client_id: &reg.client_id,
        auth: &reg.auth,
    }
}

/// A token request as its answer is read: who asked, for what, and what earlier steps proved.
pub(crate) struct Asked<'a> {
    pub reg: &'a Registration,
    pub token_endpoint: &'a str,
    pub requested_scope: &'a str,
    pub kind: LaunchKind,
    /// An earlier step proved the server knows this client id (a code or an earlier token was
    /// issued to it); never for a Backend Services run or `check`'s probes.
    pub client_known: bool,
    /// Discovery's `token_endpoint_auth_methods_supported`.
    pub methods: &'a [String],
}

impl<'a> Asked<'a> {
    fn context(&self, x: &'a Exchanged) -> TokenContext<'a> {
        TokenContext {
            token_endpoint: self.token_endpoint,
            client_id: &self.reg.client_id,
            auth: self.reg.auth.method(),
            secret: self.reg.auth.secret(),
            requested_scope: self.requested_scope,
            kind: self.kind,
            now: SystemTime::now(),
            auth_methods_supported: self.methods,
            sent: Some(&x.sent),
            client_known: self.client_known,
        }
    }
}

fn token_answer<'a>(x: &'a Exchanged, body: &'a str) -> TokenAnswer<'a> {
    TokenAnswer {
        status: x.response.status().as_u16(),
        headers: x.response.headers(),
        body,
    }
}

/// The token request's outcome as diagnoses: `Ok` with the response and warnings, or `Err`.
pub(crate) fn classify_answer(
    result: &Result<Exchanged, ExchangeError>,
    asked: &Asked<'_>,
) -> Result<classify::Accepted, Vec<Diagnosis>> {
    let token_endpoint = asked.token_endpoint;
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
    let ctx = asked.context(x);
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
    let answer = token_answer(x, &body);
    if x.response.status().is_success() {
        classify::token_success(&answer, &ctx).map_err(|d| vec![d])
    } else {
        Err(classify::token_failure(&answer, &ctx))
    }
}

/// An answer known to refuse (whatever its status: a probe's `invalid_client` may come with a
/// 200) read as a launch's refused token request is.
pub(crate) fn classify_refusal(x: &Exchanged, asked: &Asked<'_>) -> Vec<Diagnosis> {
    let body = String::from_utf8_lossy(x.response.body());
    classify::token_failure(&token_answer(x, &body), &asked.context(x))
}

/// A launch's token request: a code (or an earlier token, for a refresh) was issued to this
/// client id, unless it is a Backend Services run.
fn launched<'a>(
    reg: &'a Registration,
    token_endpoint: &'a str,
    requested_scope: &'a str,
    record: &LaunchRecord,
    methods: &'a [String],
) -> Asked<'a> {
    Asked {
        reg,
        token_endpoint,
        requested_scope,
        kind: record.kind(),
        client_known: record.kind() != LaunchKind::Backend,
        methods,
    }
}

/// The code exchange, then the proof reads.
pub async fn exchange(
    core: &Core,
    reg: &Registration,
    d: &Discovered,
    flow: &PendingFlow,
    code: &str,
    record: &mut LaunchRecord,
) {
    record.reached(Step::Token);
    let rec = Recorder::default();
    let redirect_uri = record.redirect_uri().to_string();
    let grant = Grant::Code {
        code,
        verifier: &flow.verifier,
        redirect_uri: &redirect_uri,
    };
    let http = core.outbound_for(&record.app().iss);
    let result = token::request(
        http,
        &credentials(reg, &d.token_endpoint),
        &grant,
        ExchangeStep::Token,
        &rec,
    )
    .await;
    record.transcribed(rec.exchanges());
    let requested = record.requested_scope().to_string();
    let methods = &d.token_endpoint_auth_methods_supported;
    let asked = launched(reg, &d.token_endpoint, &requested, record, methods);
    match classify_answer(&result, &asked) {
        Ok((response, warnings)) => {
            record.found(warnings);
            record.token_exchanged(response);
            super::prove::after_token(core, reg, d, &result, record).await;
            if reg.active_probes {
                // Last, so the replay (which may revoke what the code gave) never stands
                // between the token and its proof.
                let rec = Recorder::default();
                let creds = credentials(reg, &d.token_endpoint);
                let verifier = &flow.verifier;
                let second =
                    active::replay_code(http, &creds, code, verifier, &redirect_uri, &rec).await;
                record.transcribed(rec.exchanges());
                let answered = second.ok().map(|x| {
                    let token = serde_json::from_slice::<serde_json::Value>(x.response.body())
                        .ok()
                        .is_some_and(|v| v.get("access_token").is_some());
                    (
                        x.response.status().as_u16(),
                        x.response.status().is_success() && token,
                    )
                });
                let why = "the second exchange got no answer";
                add_check(record, conformance::active::code_replay(answered, why));
                let rec = Recorder::default();
                let aud = crate::check::active::aud(core, reg, d, &redirect_uri, &rec).await;
                record.transcribed(rec.exchanges());
                add_check(record, aud);
            }
        }
        Err(ds) => {
            record.failed(Step::Token, ds, core.now());
            super::scorecard::discovery(d, record);
            if reg.active_probes {
                let why = "the code exchange failed, so there was no spent code to replay";
                add_check(record, conformance::active::code_replay(None, why));
            }
        }
    }
}

/// One more scorecard check; a failed one is also a warn diagnosis.
fn add_check(record: &mut LaunchRecord, check: conformance::Check) {
    let found = conformance::diagnoses(std::slice::from_ref(&check));
    record.found(found);
    record.checked([check]);
}

/// A refresh with the newest refresh token, authenticated like the code exchange.
pub async fn refresh(
    core: &Core,
    sealer: &Sealer,
    record: &mut LaunchRecord,
) -> Result<(), String> {
    let refresh_token = record
        .newest_refresh_token()
        .ok_or("this launch has no refresh token")?
        .expose()
        .to_string();
    let token_endpoint = record
        .endpoints()
        .map(|e| e.token_endpoint.clone())
        .ok_or("this launch has no token endpoint")?;
    let app = record
        .app_ref()
        .cloned()
        .ok_or("this launch does not know its app")?;
    let reg = app_credentials(core, sealer, &app).map_err(|why| match why {
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
        core.outbound_for(&record.app().iss),
        &credentials(&reg, &token_endpoint),
        &grant,
        ExchangeStep::Refresh,
        &rec,
    )
    .await;
    let made = rec.exchanges();
    record.transcribed(made.iter().cloned());
    let original = record.granted_scope().to_string();
    let mut entry = RefreshRecord {
        at: core.now(),
        outcome: Outcome::Error,
        token_response: None,
        diagnoses: Vec::new(),
        checks: Vec::new(),
    };
    match &result {
        Ok(x) if x.response.status().is_success() => {
            let body = String::from_utf8_lossy(x.response.body());
            match classify::refresh::success(&body, &original) {
                Ok((response, mut warnings)) => {
                    let (checks, more) =
                        super::scorecard::refresh(record, &x.response, &original, &warnings);
                    warnings.extend(more);
                    entry.checks = checks;
                    entry.outcome = Outcome::Success;
                    entry.token_response = Some(TokenExchange::of(response));
                    entry.diagnoses = warnings;
                }
                Err(d) => entry.diagnoses.push(d),
            }
        }
        _ => {
            let methods: Vec<String> = Vec::new();
            let asked = launched(&reg, &token_endpoint, &original, record, &methods);
            if let Err(ds) = classify_answer(&result, &asked) {
                entry.diagnoses = classify::refresh::failure(ds);
            }
        }
    }
    record.refreshed(entry);
    record.fit_budget();
    core.metrics.refreshed(record, &made);
    Ok(())
}
