//! Reading a launch's case file: one getter per part, and the few facts read from several.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::{
    AppRef, AppSummary, BackendReport, Endpoints, Identity, LaunchRecord, Outcome, RefreshRecord,
    TokenExchange,
};
use crate::diagnosis::Diagnosis;
use crate::diagnosis::conformance::Check;
use crate::diagnosis::transcript::Exchange;
use crate::smart::context::ContextEvidence;
use crate::smart::fhir::ReadResource;
use crate::smart::introspect::Introspection;
use crate::smart::token_response::{SmartTokenResponse, TokenValue};
use crate::smart::{LaunchKind, Step};

impl LaunchRecord {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn kind(&self) -> LaunchKind {
        self.kind
    }

    pub fn app(&self) -> &AppSummary {
        &self.app
    }

    pub fn started_at(&self) -> i64 {
        self.started_at
    }

    pub fn finished_at(&self) -> Option<i64> {
        self.finished_at
    }

    /// The outcome recorded so far (the verdict is `diagnosis::assess`'s, which also knows
    /// what time alone decides).
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// The step reached, or the one that failed.
    pub fn step(&self) -> Step {
        self.step
    }

    pub fn requested_scope(&self) -> &str {
        &self.requested_scope
    }

    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    pub fn endpoints(&self) -> Option<&Endpoints> {
        self.endpoints.as_ref()
    }

    /// Where the browser was sent (state and challenge only; no secrets).
    pub fn authorize_url(&self) -> Option<&str> {
        self.authorize_url.as_deref()
    }

    /// The diagnoses as found (in order; the verdict ranks them).
    pub fn diagnoses(&self) -> &[Diagnosis] {
        &self.diagnoses
    }

    /// The code exchange's token response as received. Holds tokens: rendered masked unless
    /// revealed; read [`token`](Self::token) for what it says.
    pub fn token_response(&self) -> Option<&Map<String, Value>> {
        self.token_response.as_ref().map(TokenExchange::raw)
    }

    /// The code exchange's token response, typed (`None` without one).
    pub fn token(&self) -> Option<&SmartTokenResponse> {
        self.token_response.as_ref().and_then(TokenExchange::token)
    }

    pub fn transcript(&self) -> &[Exchange] {
        &self.transcript
    }

    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    pub fn patient(&self) -> Option<&ReadResource> {
        self.patient.as_ref()
    }

    pub fn encounter(&self) -> Option<&ReadResource> {
        self.encounter.as_ref()
    }

    /// Refreshes made from the result page, oldest first.
    pub fn refreshes(&self) -> &[RefreshRecord] {
        &self.refreshes
    }

    pub fn app_ref(&self) -> Option<&AppRef> {
        self.app_ref.as_ref()
    }

    /// The browser that made the launch: only it sees the record.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn backend(&self) -> Option<&BackendReport> {
        self.backend.as_ref()
    }

    /// The id of the request that finished the launch (the callback, or the launch request
    /// when it failed before the redirect).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// Every request id the launch answers to: `request_id` first, then the launch's other
    /// requests (the `/launch` request of a launch its callback finished).
    pub fn request_ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.request_id.as_str())
            .chain(self.request_ids.iter().map(String::as_str))
            .filter(|r| !r.is_empty())
    }

    /// The launch's other requests, as stored (`request_ids`).
    pub fn earlier_request_ids(&self) -> &[String] {
        &self.request_ids
    }

    /// The scorecard: the launch's checks, each replaced by the newest refresh that checked the
    /// same rule (every refresh keeps its own checks in the case; the scorecard shows the
    /// newest).
    pub fn conformance(&self) -> Cow<'_, [Check]> {
        if self.refreshes.iter().all(|r| r.checks.is_empty()) {
            return Cow::Borrowed(&self.conformance);
        }
        let mut shown = self.conformance.clone();
        for refresh in &self.refreshes {
            shown.retain(|c| !refresh.checks.iter().any(|n| n.id == c.id));
            shown.extend(refresh.checks.iter().cloned());
        }
        Cow::Owned(shown)
    }

    pub fn introspection(&self) -> Option<&Introspection> {
        self.introspection.as_ref()
    }

    pub fn context(&self) -> Option<&ContextEvidence> {
        self.context.as_ref()
    }

    /// The newest refresh token: from the latest refresh that returned one, else from the code
    /// exchange (refresh tokens rotate; keep the newest).
    pub fn newest_refresh_token(&self) -> Option<&TokenValue> {
        fn of(t: &Option<TokenExchange>) -> Option<&TokenValue> {
            t.as_ref()
                .and_then(TokenExchange::token)
                .and_then(|t| t.refresh_token.as_ref())
        }
        self.refreshes
            .iter()
            .rev()
            .find_map(|r| of(&r.token_response))
            .or_else(|| of(&self.token_response))
    }

    /// When the access token in force expires (Unix seconds), and whether it came from a
    /// refresh: the latest refresh that returned a token replaced the code exchange's (its
    /// `expires_in` counts from the refresh; the code exchange's from the launch's end). `None`
    /// when that token has no `expires_in`.
    pub fn access_token_expiry(&self) -> Option<(i64, bool)> {
        let refreshed = self.refreshes.iter().rev().find_map(|r| {
            let token = r.token_response.as_ref()?.token()?;
            Some((r.at, token.expires_in))
        });
        match refreshed {
            Some((at, lifetime)) => Some((at + lifetime?, true)),
            None => {
                let received = self.finished_at.unwrap_or(self.started_at);
                Some((received + self.token()?.expires_in?, false))
            }
        }
    }

    /// The scope granted by the code exchange (RFC 6749 §5.1: absent means as requested).
    pub fn granted_scope(&self) -> &str {
        self.token()
            .and_then(|t| t.scope.as_deref())
            .unwrap_or(&self.requested_scope)
    }
}
