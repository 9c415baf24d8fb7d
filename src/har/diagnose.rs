//! Each launch of a HAR diagnosed: the step answers through the classifiers our own launches
//! use (`diagnosis::classify`), then the client-side rules (`diagnosis::client_rules`); the
//! report scrubbed of every secret the HAR carries before it leaves this module.

use std::time::SystemTime;

use serde::Serialize;
use serde_json::Value;

use super::cases::{self, Case, basic_raw, client_id_of};
use super::exchanges::{self, Exchange};
use super::{Entry, Har, redact};
use crate::config::{AuthMethod, Secret};
use crate::diagnosis::classify::{
    self, TokenAnswer, TokenContext, authorize_error, identity, refresh, token_failure,
    token_success,
};
use crate::diagnosis::client_rules::{self, ClientLaunch};
use crate::diagnosis::transcript::Gate;
use crate::diagnosis::{Diagnosis, Severity};
use crate::smart::LaunchKind;

/// What a HAR showed: its launches, each diagnosed.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Entries in the HAR.
    pub entries: usize,
    /// Entries that are SMART exchanges.
    pub smart_exchanges: usize,
    pub cases: Vec<CaseReport>,
}

/// One launch rebuilt from the HAR.
#[derive(Clone, Debug, Serialize)]
pub struct CaseReport {
    /// `ehr`, `standalone`, `backend`, or `partial` (no authorization request in the HAR).
    pub kind: &'static str,
    /// `success`, `error`, or `incomplete` (the HAR ends before the token answer).
    pub outcome: &'static str,
    pub client_id: Option<String>,
    pub fhir_base: Option<String>,
    pub steps: Vec<StepReport>,
    pub diagnoses: Vec<Diagnosis>,
}

/// One exchange of a launch.
#[derive(Clone, Debug, Serialize)]
pub struct StepReport {
    pub step: &'static str,
    /// Its position in the HAR's `log.entries` (from 0).
    pub entry: usize,
    pub started: String,
    pub method: String,
    /// Redacted: secret and patient parameters and path ids as markers.
    pub url: String,
    /// 0 when the browser got no answer.
    pub status: i64,
}

impl Report {
    /// Whether any launch has an error-severity finding (the CLI's exit status 1).
    pub fn has_error(&self) -> bool {
        self.cases
            .iter()
            .any(|c| c.diagnoses.iter().any(Diagnosis::is_error))
    }

    /// Every diagnosis id, in order, without repeats.
    pub fn ids(&self) -> Vec<&'static str> {
        let mut ids: Vec<&'static str> = Vec::new();
        for d in self.cases.iter().flat_map(|c| &c.diagnoses) {
            if !ids.contains(&d.id().as_str()) {
                ids.push(d.id().as_str());
            }
        }
        ids
    }

    fn scrub(&mut self, gate: &Gate) {
        for c in &mut self.cases {
            for s in &mut c.steps {
                s.url = gate.scrub(&s.url);
            }
            c.client_id = c.client_id.as_deref().map(|x| gate.scrub(x));
            c.fhir_base = c.fhir_base.as_deref().map(|x| gate.scrub(x));
            for d in &mut c.diagnoses {
                d.summary = gate.scrub(&d.summary);
                for e in &mut d.evidence {
                    e.value = gate.scrub_value(&e.value);
                    e.label = gate.scrub(&e.label);
                }
                for t in d
                    .first_causes
                    .iter_mut()
                    .chain(&mut d.first_fixes)
                    .chain(&mut d.last_fixes)
                {
                    *t = gate.scrub(t);
                }
            }
        }
    }
}

/// The report on `har` and its redacted copy (HAR JSON), both free of the HAR's secrets; a
/// HAR with more secrets than can be redacted quickly is refused.
pub fn diagnose(har: &Har) -> Result<(Report, Value), super::HarError> {
    let gate = redact::gate(har).map_err(super::HarError::TooManySecrets)?;
    let found = exchanges::find(har);
    let cases = cases::group(har, &found);
    let states: Vec<&str> = cases
        .iter()
        .filter_map(|c| c.step("authorize").and_then(|a| a.param("state")))
        .filter(|s| !s.is_empty())
        .collect();
    let mut report = Report {
        entries: har.log.entries.len(),
        smart_exchanges: found.len(),
        cases: cases
            .iter()
            .map(|c| {
                let reused = c
                    .step("authorize")
                    .and_then(|a| a.param("state"))
                    .is_some_and(|s| states.iter().filter(|x| **x == s).count() > 1);
                case_report(har, c, reused)
            })
            .collect(),
    };
    report.scrub(&gate);
    let redacted = redact::har(har, &found, &gate);
    Ok((report, redacted))
}

fn entry<'a>(har: &'a Har, x: &Exchange) -> &'a Entry {
    &har.log.entries[x.index]
}

fn case_report(har: &Har, c: &Case, state_reused: bool) -> CaseReport {
    let authorize = c.step("authorize");
    let ehr = c.step("launch").is_some() || authorize.is_some_and(|a| a.param("launch").is_some());
    let kind = match (authorize, c.step("backend_token")) {
        (Some(_), _) if ehr => "ehr",
        (Some(_), _) => "standalone",
        (None, Some(_)) => "backend",
        (None, None) => "partial",
    };
    let mut diagnoses = answers(har, c, ehr);
    let token_ok = c
        .step("token")
        .or(c.step("backend_token"))
        .is_some_and(|t| (200..300).contains(&entry(har, t).response.status));
    let failed = diagnoses.iter().any(Diagnosis::is_error);
    let outcome = if failed {
        "error"
    } else if token_ok {
        "success"
    } else {
        "incomplete"
    };
    let token = c.step("token");
    let urls: Vec<(&'static str, &str)> = c
        .steps
        .iter()
        .map(|(n, x)| (*n, entry(har, x).request.url.as_str()))
        .collect();
    let basic = c
        .steps
        .iter()
        .filter(|(n, _)| matches!(*n, "token" | "refresh" | "backend_token" | "introspection"))
        .filter_map(|(_, x)| {
            entry(har, x)
                .request
                .header("authorization")
                .and_then(basic_raw)
        })
        .collect();
    let fhir_base = c
        .step("launch")
        .and_then(|l| l.param("iss"))
        .map(str::to_string)
        .or_else(|| {
            c.step("discovery")
                .and_then(|d| exchanges::discovery_base(&entry(har, d).request.url))
        });
    let rules = client_rules::check(&ClientLaunch {
        authorize: authorize.map(|a| a.params.as_slice()),
        launch: c.step("launch").map(|l| l.params.as_slice()),
        callback: c.step("callback").map(|x| x.params.as_slice()),
        token_form: token.map(|t| t.params.as_slice()),
        basic,
        fhir_base: fhir_base.as_deref(),
        state_reused,
        urls,
    });
    diagnoses.extend(rules);
    // Errors first, then warnings, each in the order found.
    diagnoses.sort_by_key(|d| d.severity() != Severity::Error);
    CaseReport {
        kind,
        outcome,
        client_id: c.client_id.clone(),
        fhir_base: c.fhir_base.clone().or(fhir_base),
        steps: c
            .steps
            .iter()
            .map(|(n, x)| {
                let e = entry(har, x);
                StepReport {
                    step: n,
                    entry: x.index,
                    started: e.started.clone(),
                    method: e.request.method.clone(),
                    url: redact::url(&e.request.url),
                    status: e.response.status,
                }
            })
            .collect(),
        diagnoses,
    }
}

fn headers(e: &Entry) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for h in &e.response.headers {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(h.name.as_bytes()),
            http::HeaderValue::from_str(&h.value),
        ) {
            map.append(k, v);
        }
    }
    map
}

fn started(e: &Entry) -> SystemTime {
    time::OffsetDateTime::parse(&e.started, &time::format_description::well_known::Rfc3339)
        .map(SystemTime::from)
        .unwrap_or_else(|_| SystemTime::now())
}

/// What each step's answer says, through the classifiers of our own launches.
fn answers(har: &Har, c: &Case, ehr: bool) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    let discovered: Option<Value> = c
        .step("discovery")
        .map(|d| entry(har, d))
        .filter(|e| (200..300).contains(&e.response.status))
        .and_then(|e| serde_json::from_str(&e.response.body()).ok());
    let methods: Vec<String> = discovered
        .as_ref()
        .and_then(|d| d.get("token_endpoint_auth_methods_supported"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let scope = c
        .step("authorize")
        .and_then(|a| a.param("scope"))
        .unwrap_or("")
        .to_string();
    let callback_code = c
        .step("callback")
        .is_some_and(|cb| cb.param("code").is_some());
    for (name, x) in &c.steps {
        let e = entry(har, x);
        let status = e.response.status;
        let url = redact::url(&e.request.url);
        if (300..400).contains(&status)
            && matches!(
                *name,
                "discovery" | "token" | "refresh" | "backend_token" | "fhir"
            )
        {
            out.push(classify::redirected(
                &url,
                status as u16,
                e.response.location().map(redact::url).as_deref(),
            ));
            continue;
        }
        match *name {
            "callback" => {
                if let Some(error) = x.param("error") {
                    out.push(authorize_error(
                        error,
                        x.param("error_description"),
                        x.param("error_uri"),
                    ));
                }
            }
            "token" | "refresh" | "backend_token" if status > 0 => {
                let (auth, secret) = credentials(e, x);
                let client_id = client_id_of(har, x).unwrap_or_default();
                let kind = match *name {
                    "backend_token" => LaunchKind::Backend,
                    _ if ehr => LaunchKind::Ehr,
                    _ => LaunchKind::Standalone,
                };
                let token_url = exchanges::base(&url);
                let requested = x
                    .param("scope")
                    .map(str::to_string)
                    .unwrap_or(scope.clone());
                let ctx = TokenContext {
                    token_endpoint: &token_url,
                    client_id: &client_id,
                    auth,
                    secret: secret.as_ref(),
                    requested_scope: &requested,
                    kind,
                    now: started(e),
                    auth_methods_supported: &methods,
                    sent: None,
                    client_known: callback_code || *name == "refresh",
                };
                let hs = headers(e);
                let body = e.response.body();
                let answer = TokenAnswer {
                    status: status as u16,
                    headers: &hs,
                    body: &body,
                };
                let ok = (200..300).contains(&status);
                match (*name, ok) {
                    ("refresh", true) => match refresh::success(&body, &scope) {
                        Ok((_, warnings)) => out.extend(warnings),
                        Err(d) => out.push(d),
                    },
                    ("refresh", false) => {
                        out.extend(refresh::failure(token_failure(&answer, &ctx)))
                    }
                    (_, true) => match token_success(&answer, &ctx) {
                        Ok((_, warnings)) => out.extend(warnings),
                        Err(d) => out.push(d),
                    },
                    (_, false) => out.extend(token_failure(&answer, &ctx)),
                }
            }
            "fhir" if status >= 400 => {
                out.push(identity::fhir_read_failed(
                    &format!("the resource at {url}"),
                    &url,
                    status as u16,
                    e.response.header("www-authenticate"),
                    &e.response.content.mime_type,
                    &e.response.body(),
                ));
            }
            _ => {}
        }
    }
    out
}

/// How a token request authenticated the client, and the secret it sent.
fn credentials(e: &Entry, x: &Exchange) -> (AuthMethod, Option<Secret>) {
    if let Some((_, secret)) = e
        .request
        .header("authorization")
        .and_then(cases::basic_pair)
    {
        return (AuthMethod::ClientSecretBasic, Some(Secret::new(secret)));
    }
    if let Some(s) = x.param("client_secret") {
        return (AuthMethod::ClientSecretPost, Some(Secret::new(s)));
    }
    if x.param("client_assertion").is_some() {
        return (AuthMethod::PrivateKeyJwt, None);
    }
    (AuthMethod::None, None)
}
