//! SMART 2.2 launch context beyond patient and encounter: the `fhirContext` references read
//! with the access token (under the FHIR base only) and the `smart_style_url` document fetched
//! (no token sent), both through the launch's HTTP client and its size cap. Evidence only.

use crate::smart::transcript::ExchangeStep;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fhir::{self, ReadFailure};
use super::http::{NetError, Outbound, Recorder};

/// One `fhirContext` reference and what reading it gave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextRead {
    pub reference: String,
    /// The type the read returned (empty when it failed).
    pub resource_type: String,
    pub name: Option<String>,
    /// Why the read failed, if it did.
    pub error: Option<String>,
}

/// The `smart_style_url` document as fetched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StyleFetch {
    pub url: String,
    pub status: Option<u16>,
    /// The JSON object's members (name, value), first 30; empty when it was not a JSON object.
    pub members: Vec<(String, String)>,
    pub error: Option<String>,
    /// The address policy refused the URL (not stored: the diagnosis made of it is).
    #[serde(skip)]
    pub refused: Option<NetError>,
}

/// The launch context evidence a record keeps.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextEvidence {
    pub reads: Vec<ContextRead>,
    pub style: Option<StyleFetch>,
}

fn failure(f: &ReadFailure) -> String {
    match f {
        ReadFailure::Setup { why, .. } => why.clone(),
        ReadFailure::Net { error, .. } => error.to_string(),
        ReadFailure::Redirected { status, .. } => format!("{status} redirect (not followed)"),
        ReadFailure::WrongType { expected, got, .. } => {
            format!("answered a {got}, not the {expected} asked for")
        }
        ReadFailure::Status {
            status,
            content_type,
            ..
        } => format!("{status} {content_type}"),
    }
}

/// Reads one reference (relative `Type/id`) under `base` with the access token.
pub async fn read_reference(
    http: &Outbound,
    base: &str,
    reference: &str,
    access_token: &str,
    rec: &Recorder,
) -> ContextRead {
    let mut read = ContextRead {
        reference: reference.to_string(),
        resource_type: String::new(),
        name: None,
        error: None,
    };
    match fhir::resolve(base, reference) {
        Err(why) => read.error = Some(why),
        Ok((ty, url)) => match fhir::read_as(http, &url, &ty, access_token, rec).await {
            Ok(r) => {
                read.resource_type = r.resource_type;
                read.name = r.name;
            }
            Err(f) => read.error = Some(failure(&f)),
        },
    }
    read
}

/// Fetches the style document (http or https only; no credentials sent).
pub async fn fetch_style(http: &Outbound, url: &str, rec: &Recorder) -> StyleFetch {
    let mut out = StyleFetch {
        url: url.to_string(),
        status: None,
        members: Vec::new(),
        error: None,
        refused: None,
    };
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        out.error = Some("not an http(s) URL; not fetched".into());
        return out;
    }
    match http
        .get(url, "application/json", ExchangeStep::Style, rec)
        .await
    {
        Ok(resp) => {
            out.status = Some(resp.status().as_u16());
            match serde_json::from_slice::<Value>(resp.body()) {
                Ok(Value::Object(m)) => {
                    out.members = m
                        .iter()
                        .take(30)
                        .map(|(k, v)| {
                            let v = match v {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            };
                            (k.clone(), super::transcript::excerpt(&v, 120))
                        })
                        .collect();
                }
                _ => out.error = Some("the answer is not a JSON object".into()),
            }
        }
        Err(e) => {
            out.error = Some(e.to_string());
            out.refused = matches!(e, NetError::PrivateTarget { .. }).then_some(e);
        }
    }
    out
}
