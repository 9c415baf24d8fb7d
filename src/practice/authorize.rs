//! Authorization endpoint: RFC 6749 §4.1.1–4.1.2, RFC 7636 §4.3–4.4 and the SMART App
//! Launch 2.2 authorize request (`aud`, `launch`, `state`, PKCE S256 required).
//!
//! Strict on purpose: everything our client must always get right is checked, and each miss
//! is both an `invalid_request` redirect and a recorded violation.

use std::time::{Duration, Instant};

use axum::extract::{RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use http::{StatusCode, header};
use url::Url;

use super::wire::{self, Params};
use super::{Ehr, IssuedCode, LaunchContext, STANDALONE_PATIENT};

/// How long an authorization code can be exchanged (RFC 6749 §4.1.2 recommends ≤ 10 minutes).
const CODE_LIFETIME: Duration = Duration::from_secs(60);

/// Shortest `state` accepted: about 96 bits of base64url, enough to resist guessing.
const MIN_STATE_LEN: usize = 16;

/// One reason to refuse an authorize request.
struct Problem {
    error: &'static str,
    description: String,
    /// Whether this is a deviation our client must never make (then it is recorded).
    violation: bool,
}

impl Problem {
    fn client_bug(error: &'static str, description: impl Into<String>) -> Self {
        let description = description.into();
        Self {
            error,
            description,
            violation: true,
        }
    }
}

/// A request that passed every check.
struct Approved {
    scope: String,
    code_challenge: String,
    context: LaunchContext,
}

/// `GET /auth/authorize`.
pub(super) async fn authorize(State(ehr): State<Ehr>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref().unwrap_or_default().as_bytes());
    let (client_id, redirect) = match registered_redirect(&ehr, &params) {
        Ok(found) => found,
        Err(message) => return error_page(&message),
    };
    let faults = ehr.faults();
    let reply = Reply {
        redirect,
        state: params.get("state"),
        iss: faults.authorize_iss.as_deref(),
    };
    let checked = validate(&ehr, &params);
    if let Err(problems) = &checked {
        // Recorded even when a fault decides the answer: the client's bugs are still bugs.
        record_violations(&ehr, problems);
    }
    if let Some(pairs) = faults.canned_authorize_answer() {
        return reply.send(&pairs);
    }
    let approved = match checked {
        Ok(approved) => approved,
        Err(problems) => return reply.send(&refusal(&problems)),
    };
    if faults.deny_authorization {
        let denied = "The user denied the request (deny_authorization fault)";
        return reply.send(&[
            ("error", "access_denied".to_owned()),
            ("error_description", denied.to_owned()),
        ]);
    }
    let code = issue_code(&ehr, client_id, &params, approved);
    reply.send(&[("code", code)])
}

/// Remembers a fresh code for the token endpoint and returns it.
fn issue_code(ehr: &Ehr, client_id: String, params: &Params, approved: Approved) -> String {
    let code = wire::random_token();
    let issued = IssuedCode {
        client_id,
        // Kept as sent: the token request must repeat it byte for byte (RFC 6749 §4.1.3).
        redirect_uri: params.get("redirect_uri").unwrap_or_default().to_owned(),
        code_challenge: approved.code_challenge,
        scope: approved.scope,
        nonce: params.get("nonce").map(str::to_owned),
        context: approved.context,
        expires_at: Instant::now() + CODE_LIFETIME,
        used: false,
        access_token: None,
        refresh_token: None,
    };
    ehr.with(|s| s.codes.insert(code.clone(), issued));
    code
}

/// The client and its redirect URI, or the error page RFC 6749 §4.1.2.1 asks for instead of a
/// redirect: a request naming an unknown client or unregistered URI must not bounce anywhere.
fn registered_redirect(ehr: &Ehr, params: &Params) -> Result<(String, Url), String> {
    let Some(client_id) = params.get("client_id") else {
        return Err("The request has no client_id.".to_owned());
    };
    let Some(client) = ehr.with(|s| s.client(client_id)) else {
        return Err(format!("Unknown client_id {client_id:?}."));
    };
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return Err("The request has no redirect_uri.".to_owned());
    };
    // Exact string match, as RFC 6749 §3.1.2.3 and OAuth security BCP want: no normalising.
    if !client.redirect_uris.iter().any(|r| r == redirect_uri) {
        return Err(format!(
            "redirect_uri {redirect_uri:?} is not registered for client {client_id:?}."
        ));
    }
    match Url::parse(redirect_uri) {
        Ok(url) => Ok((client.client_id, url)),
        Err(_) => Err(format!(
            "The registered redirect_uri {redirect_uri:?} is not an absolute URL."
        )),
    }
}

/// Checks everything after client and redirect URI; all problems are collected.
fn validate(ehr: &Ehr, params: &Params) -> Result<Approved, Vec<Problem>> {
    let mut problems = Vec::new();
    for name in &params.duplicates {
        problems.push(Problem::client_bug(
            "invalid_request",
            format!("parameter {name} sent more than once (RFC 6749 §3.1)"),
        ));
    }
    match params.get("response_type") {
        Some("code") => {}
        None => problems.push(Problem::client_bug(
            "invalid_request",
            "response_type is missing",
        )),
        Some(other) => problems.push(Problem::client_bug(
            "unsupported_response_type",
            format!("response_type {other:?} is not supported; use \"code\""),
        )),
    }
    let scope = params.get("scope").unwrap_or_default();
    if scope.trim().is_empty() {
        problems.push(Problem::client_bug("invalid_request", "scope is missing"));
    }
    match params.get("state") {
        None => problems.push(Problem::client_bug("invalid_request", "state is missing")),
        Some(s) if s.len() < MIN_STATE_LEN => problems.push(Problem::client_bug(
            "invalid_request",
            format!(
                "state is {} characters; at least {MIN_STATE_LEN} are required",
                s.len()
            ),
        )),
        Some(_) => {}
    }
    check_aud(ehr, params, &mut problems);
    check_pkce(params, &mut problems);
    let context = launch_context(ehr, params, scope, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Approved {
        scope: scope.to_owned(),
        code_challenge: params.get("code_challenge").unwrap_or_default().to_owned(),
        context,
    })
}

/// SMART requires `aud` to be the FHIR base URL, compared exactly (no trailing-slash leniency).
fn check_aud(ehr: &Ehr, params: &Params, problems: &mut Vec<Problem>) {
    let base = ehr.fhir_base();
    match params.get("aud") {
        Some(aud) if aud == base => {}
        Some(aud) => problems.push(Problem::client_bug(
            "invalid_request",
            format!("aud {aud:?} is not the FHIR base URL {base:?}"),
        )),
        None => problems.push(Problem::client_bug("invalid_request", "aud is missing")),
    }
}

/// PKCE is mandatory in SMART 2.x, and only S256 is offered.
fn check_pkce(params: &Params, problems: &mut Vec<Problem>) {
    match params.get("code_challenge") {
        Some(c) if wire::is_code_challenge(c) => {}
        Some(c) => problems.push(Problem::client_bug(
            "invalid_request",
            format!("code_challenge {c:?} is not 43-128 characters of base64url"),
        )),
        None => problems.push(Problem::client_bug(
            "invalid_request",
            "code_challenge is missing",
        )),
    }
    match params.get("code_challenge_method") {
        Some("S256") => {}
        // RFC 7636 §4.3 defaults a missing method to "plain", which this server refuses.
        None => problems.push(Problem::client_bug(
            "invalid_request",
            "code_challenge_method is missing (it would mean plain); S256 is required",
        )),
        Some(other) => problems.push(Problem::client_bug(
            "invalid_request",
            format!("code_challenge_method {other:?} is not supported; use S256"),
        )),
    }
}

/// The context this launch grants: from the EHR launch code, or a standalone patient pick.
fn launch_context(
    ehr: &Ehr,
    params: &Params,
    scope: &str,
    problems: &mut Vec<Problem>,
) -> LaunchContext {
    let wants_launch = wire::has_scope(scope, "launch");
    match params.get("launch") {
        Some(launch) => {
            if !wants_launch {
                // Not refused (a real EHR would carry on), but the context was not asked for.
                ehr.with(|s| {
                    s.violation("authorize: launch parameter sent without the launch scope")
                });
            }
            match ehr.with(|s| s.launches.get(launch).cloned()) {
                Some(context) => context,
                None => {
                    // Tests send stale or forged launch codes on purpose: not a client bug.
                    problems.push(Problem {
                        error: "invalid_request",
                        description: "invalid launch code".to_owned(),
                        violation: false,
                    });
                    LaunchContext::default()
                }
            }
        }
        None if wants_launch => {
            problems.push(Problem::client_bug(
                "invalid_request",
                "scope has launch but no launch parameter was sent",
            ));
            LaunchContext::default()
        }
        None if wire::has_scope(scope, "launch/patient") => LaunchContext {
            patient: Some(STANDALONE_PATIENT.to_owned()),
            encounter: None,
        },
        None => LaunchContext::default(),
    }
}

/// Notes every problem that is a client bug.
fn record_violations(ehr: &Ehr, problems: &[Problem]) {
    ehr.with(|s| {
        problems
            .iter()
            .filter(|p| p.violation)
            .for_each(|p| s.violation(format!("authorize: {}", p.description)));
    });
}

/// The error answer for refused checks: the first error code and every description.
fn refusal(problems: &[Problem]) -> [(&'static str, String); 2] {
    let error = problems.first().map_or("invalid_request", |p| p.error);
    let description = problems
        .iter()
        .map(|p| p.description.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    [
        ("error", error.to_owned()),
        ("error_description", description),
    ]
}

/// Where an authorization response goes, and what every response carries besides its own
/// parameters.
struct Reply<'a> {
    redirect: Url,
    /// Echoed when the client sent one (RFC 6749 §4.1.2).
    state: Option<&'a str>,
    /// RFC 9207 `iss`, only under the `authorize_iss` fault.
    iss: Option<&'a str>,
}

impl Reply<'_> {
    /// 302 to the redirect URI with `pairs`, `state` and `iss` added to its query; existing
    /// query parameters are kept and every value is encoded.
    fn send(self, pairs: &[(&str, String)]) -> Response {
        let mut redirect = self.redirect;
        {
            let mut query = redirect.query_pairs_mut();
            for (name, value) in pairs {
                query.append_pair(name, value);
            }
            let extra = [("state", self.state), ("iss", self.iss)];
            for (name, value) in extra {
                if let Some(value) = value {
                    query.append_pair(name, value);
                }
            }
        }
        (
            StatusCode::FOUND,
            [(header::LOCATION, redirect.to_string())],
        )
            .into_response()
    }
}

/// The 400 page shown instead of redirecting to an untrusted redirect URI.
fn error_page(message: &str) -> Response {
    let body = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Authorization error</title></head>\
         <body><h1>Authorization error</h1><p>{}</p>\
         <p>The fake EHR does not redirect back: the client or redirect URI cannot be trusted.</p>\
         </body></html>\n",
        wire::html_escape(message)
    );
    (StatusCode::BAD_REQUEST, Html(body)).into_response()
}
