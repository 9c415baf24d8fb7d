//! Copies of a launch's case file as an output may show it: minimised for sharing (see
//! `crate::phi`), without its tokens, with its id_token's claims masked, with the browser's
//! authorization request in its transcript. A copy for showing is never stored.

use crate::smart::transcript::{Exchange, ExchangeStep};
use serde_json::Value;

use super::LaunchRecord;
use crate::smart::fhir::ReadResource;

/// The id_token claims kept in a shared view: protocol claims, no personal data.
const PROTOCOL_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "auth_time",
    "nonce",
    "azp",
    "at_hash",
    "c_hash",
    "acr",
    "amr",
    "sid",
    "jti",
    "fhirUser",
];

/// What replaces a withheld FHIR response body in a shared transcript.
pub const WITHHELD: &str = "[withheld: a FHIR resource may hold patient data; only the browser that made the launch sees it]";

/// The introspection members kept in a shared view (RFC 7662 token facts and SMART context ids).
const INTROSPECTION_FACTS: &[&str] = &[
    "active",
    "scope",
    "client_id",
    "token_type",
    "exp",
    "iat",
    "nbf",
    "aud",
    "iss",
    "patient",
    "encounter",
];

/// The record without patient or user display data: names and birth dates removed (references
/// kept), id_token claims limited to protocol claims, FHIR response bodies withheld.
pub(super) fn minimized(r: &LaunchRecord) -> LaunchRecord {
    let mut m = r.clone();
    for res in [&mut m.patient, &mut m.encounter] {
        if let Some(x) = res.as_mut() {
            strip(x);
        }
    }
    if let Some(i) = m.identity.as_mut() {
        if let Some(u) = i.user.as_mut() {
            strip(u);
        }
        if let Value::Object(claims) = &mut i.id_token.claims {
            claims.retain(|k, _| PROTOCOL_CLAIMS.contains(&k.as_str()));
        }
    }
    if let Some(c) = m.context.as_mut() {
        for read in &mut c.reads {
            read.name = None;
        }
    }
    if let Some(read) = m.backend.as_mut().and_then(|b| b.read.as_mut()) {
        strip(read);
    }
    // Introspection may name the user (`username`, `sub`…): keep the token's facts only.
    if let Some(Value::Object(answer)) = m.introspection.as_mut().and_then(|i| i.answer.as_mut()) {
        answer.retain(|k, _| INTROSPECTION_FACTS.contains(&k.as_str()));
    }
    for x in &mut m.transcript {
        if x.step == ExchangeStep::Fhir && x.response_body.is_some() {
            x.response_body = Some(WITHHELD.to_string());
        }
    }
    m
}

fn strip(r: &mut ReadResource) {
    r.name = None;
    r.birth_date = None;
}

impl LaunchRecord {
    /// The record without patient or user display data (see `crate::phi`).
    pub fn minimized(&self) -> LaunchRecord {
        minimized(self)
    }

    /// The record without its token responses, id_token claims or refreshes (what the
    /// redaction gate falls back to).
    pub fn without_tokens(&self) -> LaunchRecord {
        let mut copy = self.clone();
        copy.token_response = None;
        copy.identity = None;
        copy.refreshes.clear();
        copy
    }

    /// The record with `mask` applied to its id_token's header and claims.
    pub fn with_claims_masked(mut self, mask: impl Fn(&mut Value)) -> LaunchRecord {
        if let Some(i) = self.identity.as_mut() {
            mask(&mut i.id_token.header);
            mask(&mut i.id_token.claims);
        }
        self
    }

    /// The record with `x` (a request the browser sent, not this server) in its transcript
    /// after discovery, and where it was put.
    pub fn with_browser_request(mut self, x: Exchange) -> (LaunchRecord, usize) {
        let at = self
            .transcript
            .iter()
            .position(|x| !matches!(x.step, ExchangeStep::Discovery | ExchangeStep::Launch))
            .unwrap_or(self.transcript.len());
        self.transcript.insert(at, x);
        (self, at)
    }
}
