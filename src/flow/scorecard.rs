//! The server scorecard of a launch, and what it needs beyond the proof reads: the RFC 7662
//! introspection (one request, when discovery advertises an endpoint), the `fhirContext` reads
//! and the `smart_style_url` fetch. The checks themselves are `diagnosis::conformance`'s;
//! failed ones are added to the record as warn diagnoses.

use serde_json::Value;

use crate::config::Registration;
use crate::diagnosis::conformance::{self, Check};
use crate::diagnosis::{classify, introspection, launch_context};
use crate::record::{LaunchRecord, now};
use crate::smart::client_auth::SigningKey;
use crate::smart::context::{self, ContextEvidence};
use crate::smart::discovery::Discovered;
use crate::smart::http::{Recorder, Response};
use crate::smart::introspect;
use crate::smart::token::{ClientCredentials, ExchangeError, Exchanged};
use crate::state::Core;

/// At most this many `fhirContext` references are read.
const MAX_CONTEXT_READS: usize = 5;

fn add(record: &mut LaunchRecord, checks: Vec<Check>) {
    let new = conformance::diagnoses_besides(&checks, &record.diagnoses);
    record.diagnoses.extend(new);
    record.conformance.extend(checks);
}

/// Discovery's part of the scorecard (a launch whose token request failed shows this much).
pub fn discovery(d: &Discovered, record: &mut LaunchRecord) {
    add(record, conformance::discovery(d));
}

/// The whole scorecard after a successful code exchange and the proof reads.
pub async fn after_token(
    core: &Core,
    (reg, key): (&Registration, Option<&SigningKey>),
    d: &Discovered,
    result: &Result<Exchanged, ExchangeError>,
    record: &mut LaunchRecord,
) {
    let Some(body) = record.token_response.clone() else {
        discovery(d, record);
        return;
    };
    let received_at = record.finished_at.unwrap_or_else(now);
    let mut checks = conformance::discovery(d);
    if let Ok(x) = result {
        let headers = x.response.headers();
        checks.extend(conformance::token(
            headers,
            &body,
            record.granted_scope(),
            record.kind,
        ));
    }
    if let Some(i) = &record.identity {
        let read = i.user.as_ref().map(|u| u.resource_type.as_str());
        checks.extend(conformance::id_token(
            &i.id_token.header,
            &i.id_token.claims,
            i.id_token.verified,
            read,
        ));
    }
    let rec = Recorder::default();
    let http = core.outbound_for(&record.app.iss);
    let access = body
        .get("access_token")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if let Some(endpoint) = d.introspection_endpoint().filter(|_| !access.is_empty()) {
        let creds = ClientCredentials {
            token_endpoint: &d.token_endpoint,
            client_id: &reg.client_id,
            auth: reg.auth,
            secret: reg.client_secret.as_ref(),
            key,
        };
        let answer = introspect::introspect(http, &endpoint, &access, &creds, &rec).await;
        if let Some(e) = &answer.refused {
            record.diagnoses.push(classify::net(e, &endpoint));
        }
        let expected = introspection::Expected {
            token: &body,
            granted: record.granted_scope(),
            client_id: &reg.client_id,
            received_at,
            now: now(),
        };
        checks.extend(introspection::checks(
            answer.status.unwrap_or(0),
            answer.answer.as_ref(),
            &expected,
        ));
        record.introspection = Some(answer);
    }
    let mut evidence = ContextEvidence::default();
    let references = launch_context::references(&body, MAX_CONTEXT_READS);
    if !references.is_empty() {
        evidence.reads =
            context::read_references(http, &record.app.iss, &references, &access, &rec).await;
    }
    if let Some(url) = body.get("smart_style_url").and_then(Value::as_str) {
        let style = context::fetch_style(http, url, &rec).await;
        if let Some(e) = &style.refused {
            // Named, never fatal: the launch itself succeeded.
            record.diagnoses.push(classify::net(e, url));
        }
        evidence.style = Some(style);
    }
    if !evidence.reads.is_empty() || evidence.style.is_some() {
        record.context = Some(evidence);
    }
    record.transcript.extend(rec.exchanges());
    add(record, checks);
    let answer = record
        .introspection
        .as_ref()
        .and_then(|i| i.answer.as_ref());
    introspection::reconcile(&mut record.diagnoses, answer, &body);
}

/// A refresh answer's checks, added to the scorecard; the failed ones are returned as the
/// refresh's own warn diagnoses.
pub fn refresh(
    record: &mut LaunchRecord,
    response: &Response,
    original: &str,
    already: &[crate::diagnosis::Diagnosis],
) -> Vec<crate::diagnosis::Diagnosis> {
    let body = serde_json::from_slice::<Value>(response.body())
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    let checks = conformance::refresh(response.headers(), &body, original);
    // A later refresh replaces the earlier refresh's results: the scorecard shows the newest.
    record
        .conformance
        .retain(|c| !checks.iter().any(|n| n.id == c.id));
    let said: Vec<_> = record
        .refreshes
        .iter()
        .flat_map(|r| r.diagnoses.iter().cloned())
        .chain(already.iter().cloned())
        .collect();
    let failed = conformance::diagnoses_besides(&checks, &said);
    record.conformance.extend(checks);
    failed
}
