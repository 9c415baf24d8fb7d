//! `check`'s credential probe: the token endpoint asked with a deliberately invalid code (and,
//! for a backend client, `client_credentials`), each answer read as a launch's token answer is
//! (`flow::complete::classify_answer`), the two verdicts reconciled.

use serde::Serialize;
use serde_json::Value;

use crate::config::{ClientAuth, Registration};
use crate::diagnosis::Diagnosis;
use crate::diagnosis::classify::probe::{self, Verdict};
use crate::diagnosis::classify::reserved_chars;
use crate::flow::complete::{Asked, classify_refusal};
use crate::smart::LaunchKind;
use crate::smart::discovery::Discovered;
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

/// The rejection's diagnoses, read as a launch's refused token request is (with the
/// self-check).
fn rejection(
    result: &Result<Exchanged, ExchangeError>,
    reg: &Registration,
    d: &Discovered,
    kind: LaunchKind,
) -> Vec<Diagnosis> {
    let Ok(x) = result else { return Vec::new() };
    let asked = Asked {
        reg,
        token_endpoint: &d.token_endpoint,
        requested_scope: &reg.scope,
        kind,
        // A probe has no authorize step before it: nothing proved the client id known.
        client_known: false,
        methods: &d.token_endpoint_auth_methods_supported,
    };
    classify_refusal(x, &asked)
}

pub(super) async fn probe(
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
