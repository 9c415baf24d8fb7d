//! `explain`: a pasted answer (from any app's traffic, not only launches made here) diagnosed at
//! the step it came from, by the same functions a launch uses there, with what a paste can tell
//! of the case: the configured authentication method, and that a code exchange or a refresh
//! follows an authorize step that accepted the client id. Pure: text in, diagnoses out.

pub mod paste;
pub mod render;

use std::time::SystemTime;

use serde_json::Value;

use super::classify::{self, TokenAnswer, TokenContext};
use super::conformance;
use super::{Diagnosis, introspection};
use crate::config::AuthMethod;
use crate::smart::LaunchKind;

pub use paste::{MAX_PASTE_BYTES, Pasted};

/// The step an answer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Authorize,
    Token,
    Refresh,
    ClientCredentials,
    Introspection,
    Fhir,
}

impl Step {
    pub const ALL: [Step; 6] = [
        Step::Authorize,
        Step::Token,
        Step::Refresh,
        Step::ClientCredentials,
        Step::Introspection,
        Step::Fhir,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Authorize => "authorize",
            Step::Token => "token",
            Step::Refresh => "refresh",
            Step::ClientCredentials => "client_credentials",
            Step::Introspection => "introspection",
            Step::Fhir => "fhir",
        }
    }

    pub fn parse(s: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// The method assumed when none is given: the one most confidential apps use.
pub const DEFAULT_AUTH: AuthMethod = AuthMethod::ClientSecretBasic;

/// A diagnosed paste: the redacted paste and what it means.
#[derive(Clone, Debug)]
pub struct Explained {
    pub step: Step,
    pub auth: AuthMethod,
    /// The status read (from the status line, else the one the step's answers usually have).
    pub status: u16,
    /// Whether the paste had no status line (a bare body or a redirect URL): `status` was assumed.
    pub status_assumed: bool,
    /// The paste after redaction: the only form of it anything shows or keeps.
    pub redacted: String,
    pub diagnoses: Vec<Diagnosis>,
}

impl Explained {
    /// The first error-severity finding: its plain sentence heads the page.
    pub fn first_error(&self) -> Option<&Diagnosis> {
        self.diagnoses.iter().find(|d| d.is_error())
    }

    /// Whether any finding stops a launch (the CLI's exit status 1).
    pub fn has_error(&self) -> bool {
        self.diagnoses.iter().any(Diagnosis::is_error)
    }
}

/// The status a bare body most likely came with, when the paste has no status line.
fn assumed_status(step: Step, body: &str) -> u16 {
    let json: Option<Value> = serde_json::from_str(body.trim()).ok();
    let field = |k: &str| json.as_ref().and_then(|j| j.get(k)).and_then(Value::as_str);
    if field("access_token").is_some() || json.as_ref().and_then(|j| j.get("active")).is_some() {
        return 200;
    }
    match step {
        Step::Fhir => {
            let code = json
                .as_ref()
                .and_then(|j| j.pointer("/issue/0/code"))
                .and_then(Value::as_str);
            match code {
                Some("forbidden") => 403,
                Some("not-found") => 404,
                Some("security" | "login") | None => 401,
                _ => 400,
            }
        }
        _ if field("error") == Some("invalid_client") => 401,
        _ => 400,
    }
}

/// Diagnoses a paste (redacted first) at `step`, for a client authenticating with `auth`.
pub fn explain(raw: &str, step: Step, auth: AuthMethod, now: SystemTime) -> Explained {
    let redacted = paste::redact(raw);
    let p = paste::parse(&redacted);
    let status = p.status.unwrap_or_else(|| assumed_status(step, &p.body));
    let diagnoses = at_step(&p, status, step, auth, now);
    Explained {
        step,
        auth,
        status,
        status_assumed: p.status.is_none(),
        redacted,
        diagnoses,
    }
}

/// The diagnoses of a (redacted, parsed) answer at `step`: what a launch would say there.
pub fn at_step(
    p: &Pasted,
    status: u16,
    step: Step,
    auth: AuthMethod,
    now: SystemTime,
) -> Vec<Diagnosis> {
    match step {
        Step::Authorize => authorize(p, status),
        Step::Token | Step::Refresh | Step::ClientCredentials => token(p, status, step, auth, now),
        Step::Introspection => {
            let json: Option<Value> = serde_json::from_str(p.body.trim()).ok();
            let empty = serde_json::Map::new();
            let expected = introspection::Expected {
                token: &empty,
                granted: "",
                client_id: "",
                received_at: 0,
                now: 0,
            };
            let checks = introspection::checks(status, json.as_ref(), &expected);
            // Without the token response there is nothing to compare an answer with.
            let checks: Vec<_> = checks
                .into_iter()
                .filter(|c| c.id != id!("server.introspection_mismatch"))
                .collect();
            conformance::diagnoses(&checks)
        }
        Step::Fhir if (200..300).contains(&status) => Vec::new(),
        Step::Fhir => vec![classify::identity::fhir_read_failed(
            "the resource",
            "(pasted)",
            status,
            p.header("www-authenticate"),
            p.header("content-type").unwrap_or(""),
            &p.body,
        )],
    }
}

fn authorize(p: &Pasted, status: u16) -> Vec<Diagnosis> {
    if p.redirect.is_some() {
        return match p.param("error") {
            Some(error) => vec![classify::authorize_error(
                error,
                p.param("error_description"),
                p.param("error_uri"),
            )],
            None => Vec::new(),
        };
    }
    // An error page or JSON the authorization server showed instead of redirecting.
    let a = classify::answer::read(status, p.header("www-authenticate"), &p.body);
    let description = a.text();
    let uri = serde_json::from_str::<Value>(p.body.trim())
        .ok()
        .and_then(|v| v.get("error_uri").and_then(Value::as_str).map(String::from));
    vec![classify::authorize_error(
        if a.code.is_empty() { "(none)" } else { &a.code },
        Some(description.as_str()).filter(|d| !d.is_empty()),
        uri.as_deref(),
    )]
}

fn token(p: &Pasted, status: u16, step: Step, auth: AuthMethod, now: SystemTime) -> Vec<Diagnosis> {
    let mut headers = http::HeaderMap::new();
    for (name, value) in &p.headers {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            headers.append(n, v);
        }
    }
    let answer = TokenAnswer {
        status,
        headers: &headers,
        body: &p.body,
    };
    let backend = step == Step::ClientCredentials;
    let ctx = TokenContext {
        token_endpoint: "(the token endpoint of the pasted answer)",
        client_id: "(not given)",
        auth,
        secret: None,
        requested_scope: "",
        kind: if backend {
            LaunchKind::Backend
        } else {
            LaunchKind::Standalone
        },
        now,
        auth_methods_supported: &[],
        sent: None,
        // A code exchange follows an authorize step that issued a code to this client id, a
        // refresh a token: the server knows the id. client_credentials proves nothing before.
        client_known: !backend,
    };
    if (200..300).contains(&status) {
        return match (step, classify::token_success(&answer, &ctx)) {
            (Step::Refresh, _) => match classify::refresh::success(&p.body, "") {
                Ok((_, warnings)) => warnings,
                Err(d) => vec![d],
            },
            (_, Ok((_, warnings))) => warnings,
            (_, Err(d)) => vec![d],
        };
    }
    let mut ds = classify::token_failure(&answer, &ctx);
    // What a launch knows of its own request (the discovered endpoint, the secret sent, the
    // self-check) is not known of a paste: those lines would only state the placeholders.
    for d in &mut ds {
        d.evidence.retain(|e| {
            !e.label.starts_with("Self-check")
                && !matches!(
                    e.label.as_str(),
                    "Token endpoint (discovered)"
                        | "client_id sent"
                        | "Secret sent"
                        | "Secret encoding"
                )
        });
    }
    if step == Step::Refresh {
        classify::refresh::failure(ds)
    } else {
        ds
    }
}

#[cfg(test)]
mod tests;
