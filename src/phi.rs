//! PHI minimization: what a launch record says about people (the signed-in user's and the
//! patient's names and birth dates, the id_token's personal claims, the FHIR resources in the
//! transcript) is shown to the browser that made the launch, on its result page. Everything
//! meant to be shared or seen by others (the support view, the report downloads, metrics, logs)
//! is built from [`minimized`], which keeps references and ids (needed to diagnose) and drops
//! the rest.
//!
//! At rest in Redis or SQLite these parts are sealed (see `store`), never in clear.

use crate::smart::transcript::ExchangeStep;
use serde_json::Value;

use crate::record::LaunchRecord;
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
pub fn minimized(r: &LaunchRecord) -> LaunchRecord {
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
