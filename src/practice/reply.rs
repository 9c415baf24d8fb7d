//! The authorization response (RFC 6749 §4.1.2, §4.1.2.1): the redirect back to the client,
//! and the decision that ends an authorize request that passed its checks: a fault's answer,
//! `access_denied`, or a fresh code. Authorize decides at once; with the login page on, the
//! user's click decides later, through the same code.

use std::time::{Duration, Instant};

use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use url::Url;

use super::state::PendingAuthorization;
use super::wire;
use super::{Ehr, IssuedCode};

/// How long an authorization code can be exchanged (RFC 6749 §4.1.2 recommends ≤ 10 minutes).
const CODE_LIFETIME: Duration = Duration::from_secs(60);

/// Where an authorization response goes, and what every response carries besides its own
/// parameters.
pub(super) struct Reply {
    pub(super) redirect: Url,
    /// Echoed when the client sent one (RFC 6749 §4.1.2).
    pub(super) state: Option<String>,
    /// RFC 9207 `iss`, only under the `authorize_iss` fault.
    pub(super) iss: Option<String>,
    /// 302 for authorize itself; 303 after the login form, so the browser turns the POST into
    /// a GET (OAuth 2.0 Security BCP §4.12 rules out 307).
    pub(super) status: StatusCode,
}

impl Reply {
    /// A redirect to the registered `redirect` URI with `status`.
    pub(super) fn new(redirect: Url, state: Option<&str>, status: StatusCode) -> Self {
        Self {
            redirect,
            state: state.map(str::to_owned),
            iss: None,
            status,
        }
    }

    /// Redirects to the redirect URI with `pairs`, `state` and `iss` added to its query;
    /// existing query parameters are kept and every value is encoded.
    pub(super) fn send(self, pairs: &[(&str, String)]) -> Response {
        let mut redirect = self.redirect;
        {
            let mut query = redirect.query_pairs_mut();
            for (name, value) in pairs {
                query.append_pair(name, value);
            }
            let extra = [("state", &self.state), ("iss", &self.iss)];
            for (name, value) in extra {
                if let Some(value) = value {
                    query.append_pair(name, value);
                }
            }
        }
        (self.status, [(header::LOCATION, redirect.to_string())]).into_response()
    }
}

/// Ends an approved request as the client's faults say: their canned answer, `access_denied`,
/// or a code for the (possibly reduced) scope. `status` is the redirect's.
pub(super) fn approve(ehr: &Ehr, pending: PendingAuthorization, status: StatusCode) -> Response {
    let faults = ehr.with(|s| s.faults_for(Some(&pending.client_id)));
    let mut reply = Reply::new(pending.redirect.clone(), pending.state.as_deref(), status);
    reply.iss = faults.authorize_iss.clone();
    if let Some(pairs) = faults.canned_authorize_answer() {
        return reply.send(&pairs);
    }
    if faults.deny_authorization {
        let denied = "The user denied the request (deny_authorization fault)";
        return reply.send(&[
            ("error", "access_denied".to_owned()),
            ("error_description", denied.to_owned()),
        ]);
    }
    let scope = faults
        .reduce_scopes_to
        .unwrap_or_else(|| pending.scope.clone());
    let code = issue_code(ehr, pending, scope);
    reply.send(&[("code", code)])
}

/// The user pressed Cancel on the login page: `access_denied`.
pub(super) fn cancel(ehr: &Ehr, pending: PendingAuthorization, status: StatusCode) -> Response {
    let faults = ehr.with(|s| s.faults_for(Some(&pending.client_id)));
    let mut reply = Reply::new(pending.redirect, pending.state.as_deref(), status);
    reply.iss = faults.authorize_iss;
    reply.send(&[
        ("error", "access_denied".to_owned()),
        (
            "error_description",
            "The user cancelled the sign-in".to_owned(),
        ),
    ])
}

/// Remembers a fresh code for the token endpoint and returns it.
fn issue_code(ehr: &Ehr, pending: PendingAuthorization, scope: String) -> String {
    let code = wire::random_token();
    let issued = IssuedCode {
        client_id: pending.client_id,
        redirect_uri: pending.redirect_uri,
        code_challenge: pending.code_challenge,
        scope,
        nonce: pending.nonce,
        context: pending.context,
        expires_at: Instant::now() + CODE_LIFETIME,
        used: false,
        access_token: None,
        refresh_token: None,
    };
    ehr.with(|s| s.codes.insert(code.clone(), issued));
    code
}
