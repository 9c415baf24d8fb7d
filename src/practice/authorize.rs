//! Authorization endpoint: RFC 6749 §4.1.1–4.1.2, RFC 7636 §4.3–4.4 and the SMART App
//! Launch 2.2 authorize request (`aud`, `launch`, `state`, PKCE S256 required).
//!
//! Strict on purpose: everything our client must always get right is checked, and each miss
//! is both an `invalid_request` redirect and a recorded violation. A request that passes is
//! decided in `reply`, at once or, with the login page on, after the user's click (`login`).

use std::time::Instant;

use axum::extract::{RawQuery, State};
use axum::response::Response;
use http::StatusCode;
use url::Url;

use super::reply::{self, Reply};
use super::state::PendingAuthorization;
use super::wire::{self, Params};
use super::{Ehr, LaunchContext, STANDALONE_PATIENT, html, login};

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
    /// Standalone with `launch/patient`: the patient is the user's pick.
    pick_patient: bool,
}

/// `GET /auth/authorize`.
pub(super) async fn authorize(State(ehr): State<Ehr>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref().unwrap_or_default().as_bytes());
    decide(&ehr, &params, StatusCode::FOUND)
}

/// `POST /auth/authorize` (SMART 2.2 `authorize-post`): the same parameters as a form body,
/// the same checks; the redirect back is a 303, so the browser follows it with a GET.
pub(super) async fn authorize_post(
    State(ehr): State<Ehr>,
    headers: http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let is_form = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|ct| {
            ct.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        ehr.with(|s| s.violation("authorize: POST body is not application/x-www-form-urlencoded"));
        return error_page(
            "The authorization request must be a form (application/x-www-form-urlencoded).",
        );
    }
    decide(&ehr, &Params::parse(&body), StatusCode::SEE_OTHER)
}

/// Checks an authorization request (from the query or a form) and answers it.
fn decide(ehr: &Ehr, params: &Params, status: StatusCode) -> Response {
    let (client_id, redirect) = match registered_redirect(ehr, params) {
        Ok(found) => found,
        Err(message) => return error_page(&message),
    };
    let approved = match validate(ehr, params) {
        Ok(approved) => approved,
        Err(problems) => {
            // Recorded even when a fault decides the answer: the client's bugs are still bugs.
            record_violations(ehr, &problems);
            let faults = ehr.with(|s| s.faults_for(Some(&client_id)));
            let mut reply = Reply::new(redirect, params.get("state"), status);
            reply.iss = faults.authorize_iss.clone();
            let answer = faults.canned_authorize_answer();
            return reply.send(&answer.unwrap_or_else(|| refusal(&problems).to_vec()));
        }
    };
    let pending = pending(client_id, redirect, params, approved);
    if ehr.with(|s| s.require_login) {
        return login::show(ehr, pending);
    }
    reply::approve(ehr, pending, status)
}

/// What the decision needs to know about an approved request.
fn pending(
    client_id: String,
    redirect: Url,
    params: &Params,
    approved: Approved,
) -> PendingAuthorization {
    let owned = |name: &str| params.get(name).map(str::to_owned);
    PendingAuthorization {
        client_id,
        redirect,
        // Kept as sent: the token request must repeat it byte for byte (RFC 6749 §4.1.3).
        redirect_uri: owned("redirect_uri").unwrap_or_default(),
        state: owned("state"),
        nonce: owned("nonce"),
        scope: approved.scope,
        code_challenge: approved.code_challenge,
        context: approved.context,
        pick_patient: approved.pick_patient,
        expires_at: Instant::now() + login::LIFETIME,
    }
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
    if !ehr
        .with(|s| s.faults_for(params.get("client_id")))
        .accept_foreign_aud
    {
        check_aud(ehr, params, &mut problems);
    }
    check_pkce(params, &mut problems);
    let context = launch_context(ehr, params, scope, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Approved {
        scope: scope.to_owned(),
        code_challenge: params.get("code_challenge").unwrap_or_default().to_owned(),
        context,
        pick_patient: params.get("launch").is_none() && wire::has_scope(scope, "launch/patient"),
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

/// The 400 page shown instead of redirecting to an untrusted redirect URI.
fn error_page(message: &str) -> Response {
    let why =
        "The practice EHR does not redirect back: the client or redirect URI cannot be trusted.";
    // A real EHR would stop here. The practice EHR serves the app's pages on the same origin,
    // so it offers the way back to the app's list of launches (a path: no client code here).
    let back = "<p><a class=\"button\" href=\"/launches\">Back to SMART Launch Doctor: your launches</a> \
                <span class=\"muted\">(practice only: a real EHR shows no such link)</span></p>";
    html::respond(
        StatusCode::BAD_REQUEST,
        "Authorization error",
        &format!(
            "<h1>Authorization error</h1><p>{}</p><p>{}</p>{back}",
            html::escape(message),
            html::escape(why)
        ),
    )
}
