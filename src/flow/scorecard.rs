//! The server scorecard of a launch, and what it needs beyond the proof reads: the RFC 7662
//! introspection (one request, when discovery advertises an endpoint), the `fhirContext` reads
//! and the `smart_style_url` fetch. The checks themselves are `diagnosis::conformance`'s;
//! failed ones are added to the record as warn diagnoses.

use futures_util::future::join_all;
use serde_json::Value;

use crate::config::Registration;
use crate::diagnosis::conformance::{self, Check};
use crate::diagnosis::{classify, introspection, launch_context};
use crate::record::LaunchRecord;
use crate::smart::context::{self, ContextEvidence, ContextRead, StyleFetch};
use crate::smart::discovery::Discovered;
use crate::smart::http::{Outbound, Recorder, Response};
use crate::smart::id_token::Checked;
use crate::smart::introspect::{self, Introspection};
use crate::smart::token::{ClientCredentials, ExchangeError, Exchanged};
use crate::smart::token_response::SmartTokenResponse;
use crate::smart::transcript::{Exchange, ExchangeStep};

use super::prove::Deadline;

/// At most this many `fhirContext` references are read.
const MAX_CONTEXT_READS: usize = 5;

fn add(record: &mut LaunchRecord, checks: Vec<Check>) {
    let new = conformance::diagnoses_besides(&checks, record.diagnoses());
    record.found(new);
    record.checked(checks);
}

/// Discovery's part of the scorecard (a launch whose token request failed shows this much).
pub fn discovery(d: &Discovered, record: &mut LaunchRecord) {
    add(record, conformance::discovery(d));
}

/// The scorecard's evidence beyond the proof reads, with the exchanges that fetched it (in a
/// fixed order: introspection, `fhirContext` reads, style).
pub struct Extras {
    introspection: Option<Introspection>,
    context: Option<ContextEvidence>,
    exchanges: Vec<Exchange>,
}

/// Fetches the introspection, the `fhirContext` reads and the style document at once, each
/// settled by `deadline` (a request not finished by then is evidence that says so).
pub async fn gather(
    http: &Outbound,
    reg: &Registration,
    d: &Discovered,
    token: Option<&SmartTokenResponse>,
    base: &str,
    deadline: &Deadline,
) -> Extras {
    let access = token.map(|t| t.access_token.expose()).unwrap_or_default();
    let unfinished = |rec: &Recorder, step: ExchangeStep, method: &str, url: &str| {
        rec.extend(&[deadline.unfinished(step, method, url)]);
        Some(deadline.why())
    };
    let introspection_rec = Recorder::default();
    let introspection = async {
        let endpoint = d.introspection_endpoint().filter(|_| !access.is_empty())?;
        let creds = ClientCredentials {
            token_endpoint: &d.token_endpoint,
            client_id: &reg.client_id,
            auth: &reg.auth,
        };
        let rec = &introspection_rec;
        let asked = introspect::introspect(http, &endpoint, access, &creds, rec);
        Some(match deadline.run(asked).await {
            Some(answer) => answer,
            None => Introspection {
                error: unfinished(rec, ExchangeStep::Introspection, "POST", &endpoint),
                endpoint,
                status: None,
                answer: None,
                refused: None,
            },
        })
    };
    let references = token
        .map(|t| launch_context::references(t, MAX_CONTEXT_READS))
        .unwrap_or_default();
    let read_recs: Vec<Recorder> = references.iter().map(|_| Recorder::default()).collect();
    let reads = join_all(
        references
            .iter()
            .zip(&read_recs)
            .map(|(r, rec)| async move {
                let read = context::read_reference(http, base, r, access, rec);
                match deadline.run(read).await {
                    Some(read) => read,
                    None => ContextRead {
                        reference: r.clone(),
                        resource_type: String::new(),
                        name: None,
                        error: unfinished(rec, ExchangeStep::Fhir, "GET", &format!("{base}/{r}")),
                    },
                }
            }),
    );
    let style_rec = Recorder::default();
    let style = async {
        let url = token?.smart_style_url.as_deref()?;
        let rec = &style_rec;
        Some(
            match deadline.run(context::fetch_style(http, url, rec)).await {
                Some(fetched) => fetched,
                None => StyleFetch {
                    url: url.to_string(),
                    status: None,
                    members: Vec::new(),
                    error: unfinished(rec, ExchangeStep::Style, "GET", url),
                    refused: None,
                },
            },
        )
    };
    let (introspection, reads, style) = tokio::join!(introspection, reads, style);
    let evidence = ContextEvidence { reads, style };
    let exchanges = std::iter::once(&introspection_rec)
        .chain(&read_recs)
        .chain(std::iter::once(&style_rec))
        .flat_map(Recorder::exchanges)
        .collect();
    Extras {
        introspection,
        context: (!evidence.reads.is_empty() || evidence.style.is_some()).then_some(evidence),
        exchanges,
    }
}

/// The whole scorecard after a successful code exchange and the proof reads, with the evidence
/// [`gather`] fetched alongside them and the id_token's verdict (`None`: no id_token).
pub fn after_token(
    d: &Discovered,
    result: &Result<Exchanged, ExchangeError>,
    record: &mut LaunchRecord,
    extras: Extras,
    id_token: Option<&Checked>,
    now: i64,
) {
    let Some(body) = record.token_response().cloned() else {
        discovery(d, record);
        return;
    };
    let received_at = record.finished_at().unwrap_or(now);
    let mut checks = conformance::discovery(d);
    if let Ok(x) = result {
        let headers = x.response.headers();
        checks.extend(conformance::token(
            headers,
            &body,
            record.granted_scope(),
            record.kind(),
        ));
    }
    if let Some(i) = record.identity() {
        let read = i.user.as_ref().map(|u| u.resource_type.as_str());
        checks.extend(conformance::id_token(
            &i.id_token.header,
            &i.id_token.claims,
            i.id_token.verified,
            read,
        ));
    }
    if let Some(checked) = id_token {
        checks.extend(conformance::id_token_claims(checked));
    }
    if let Some(answer) = extras.introspection {
        let client_id = record.app().client_id.clone();
        if let Some(e) = &answer.refused {
            record.found([classify::net(e, &answer.endpoint)]);
        }
        let expected = introspection::Expected {
            token: &body,
            granted: record.granted_scope(),
            client_id: &client_id,
            received_at,
            now,
        };
        checks.extend(introspection::checks(
            answer.status.unwrap_or(0),
            answer.answer.as_ref(),
            &expected,
        ));
        record.introspected(answer);
    }
    if let Some(style) = extras.context.as_ref().and_then(|c| c.style.as_ref())
        && let Some(e) = &style.refused
    {
        // Named, never fatal: the launch itself succeeded.
        record.found([classify::net(e, &style.url)]);
    }
    if let Some(c) = extras.context {
        record.context_read(c);
    }
    record.transcribed(extras.exchanges);
    add(record, checks);
}

/// A refresh answer's checks (kept with the refresh: the scorecard shows the newest refresh's)
/// and the failed ones as the refresh's own warn diagnoses, besides those already said.
pub fn refresh(
    record: &LaunchRecord,
    response: &Response,
    original: &str,
    already: &[crate::diagnosis::Diagnosis],
) -> (Vec<Check>, Vec<crate::diagnosis::Diagnosis>) {
    let body = serde_json::from_slice::<Value>(response.body())
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    let checks = conformance::refresh(response.headers(), &body, original);
    let said: Vec<_> = record
        .refreshes()
        .iter()
        .flat_map(|r| r.diagnoses.iter().cloned())
        .chain(already.iter().cloned())
        .collect();
    let failed = conformance::diagnoses_besides(&checks, &said);
    (checks, failed)
}
