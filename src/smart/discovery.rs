//! Discovery: `{iss}/.well-known/smart-configuration`, falling back to the CapabilityStatement's
//! `oauth-uris` extension at `{iss}/metadata`. Successful results are cached per issuer.

use crate::smart::transcript::ExchangeStep;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::bounded;
use super::flights::Flights;
use super::http::{NetError, Outbound, PeerCertificate, Recorder, Response};
use super::tls::CertInfo;
use super::transcript::{Exchange, excerpt};
use document::{endpoint, from_capability_statement, from_well_known};

mod document;

/// Where the endpoints came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    WellKnown,
    CapabilityStatement,
}

/// The endpoints and capabilities of one issuer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovered {
    pub iss: String,
    /// The `issuer` the document names, if any (checked against RFC 9207 `iss`).
    pub issuer: Option<String>,
    pub source: Source,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
    pub scopes_supported: Option<Vec<String>>,
    pub capabilities: Vec<String>,
    /// Recommended `.well-known` keys the document lacks (evidence for the conformance findings).
    #[serde(default)]
    pub absent: Vec<String>,
    /// Relative endpoints that were resolved against the issuer, as `raw → resolved`.
    #[serde(default)]
    pub resolved: Vec<String>,
    /// The CapabilityStatement's endpoints, when it answered alongside `.well-known`.
    #[serde(default)]
    pub capability_statement: Option<Box<Discovered>>,
    /// The TLS certificate the `.well-known` answer came with (https only).
    #[serde(default)]
    pub certificate: Option<CertInfo>,
    /// The exchanges of the fetch that produced this document, and when it happened (Unix
    /// seconds): launches served from the cache show them as cached.
    #[serde(default)]
    pub transcript: Vec<Exchange>,
    #[serde(default)]
    pub fetched_at: i64,
    /// The `.well-known` answer's Content-Type (empty for the CapabilityStatement fallback).
    #[serde(default)]
    pub content_type: String,
    /// The `.well-known` JSON document as served (evidence for the server scorecard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<Value>,
    /// Set once a launch found the issuer's OpenID configuration and JWKS cached: the launches
    /// after it, served this same document, do not look again (both caches live as long as
    /// this one; a key set dropped early is fetched by the callback that needs it).
    #[serde(skip)]
    pub oidc_warm: WarmFlag,
}

/// A flag that is not part of the document: a copy starts unset, and it never makes two
/// documents differ.
#[derive(Debug, Default)]
pub struct WarmFlag(std::sync::atomic::AtomicBool);

impl WarmFlag {
    pub fn is_set(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn set(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Clone for WarmFlag {
    fn clone(&self) -> Self {
        WarmFlag::default()
    }
}

impl PartialEq for WarmFlag {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for WarmFlag {}

impl Discovered {
    /// The RFC 7662 `introspection_endpoint` the `.well-known` document advertises (absolute,
    /// http or https).
    pub fn introspection_endpoint(&self) -> Option<String> {
        let raw = self
            .document
            .as_ref()?
            .get("introspection_endpoint")?
            .as_str()?;
        endpoint(&self.iss, raw, &mut Vec::new())
    }
}

/// Why discovery found no usable document: evidence for the diagnosis.
#[derive(Clone, Debug)]
pub enum DiscoveryFailure {
    /// `.well-known` could not be fetched at all (the fallback is on the same host).
    Net { url: String, error: NetError },
    /// Neither source named both endpoints.
    NotFound {
        well_known: (String, Attempt),
        metadata: (String, Attempt),
        /// Endpoints a `.well-known` JSON document lacked.
        missing: Vec<String>,
    },
}

/// Successful discoveries, per issuer, for a configured time (a zero time turns caching off).
/// Fetches are single-flight per issuer: a thousand launches arriving together make one request,
/// not a thousand; when that request fails they all get its diagnosis, and nothing is cached.
pub struct Cache {
    entries: Flights<Arc<Discovered>>,
}

/// Most bytes the discovery cache holds, weighed as [`bounded::weight`] (a document and the
/// exchanges that fetched it, each body capped at 16 KiB, the `.well-known` JSON at
/// [`DOCUMENT_CAP`]): about a thousand ordinary issuers, a few dozen hostile ones.
pub const CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// The `.well-known` document is kept (for the scorecard) up to this size; larger members are cut.
const DOCUMENT_CAP: usize = 64 * 1024;

impl Cache {
    pub fn new(ttl: Duration) -> Self {
        Cache {
            entries: Flights::weighted(ttl, CACHE_BYTES, |d: &Arc<Discovered>| {
                bounded::weight(&**d)
            }),
        }
    }

    /// The cached document for `iss`, without fetching.
    pub async fn peek(&self, iss: &str) -> Option<Arc<Discovered>> {
        self.entries.peek(iss).await
    }

    /// Drops every cached document, as if each had expired (tests: no waiting for the TTL).
    pub fn expire_all(&self) {
        self.entries.expire_all();
    }
}

/// What one discovery request produced, for the diagnosis.
#[derive(Clone, Debug)]
pub enum Attempt {
    Net(NetError),
    Answer {
        status: u16,
        content_type: String,
        location: Option<String>,
        body: String,
    },
}

impl Attempt {
    fn from(result: Result<Response, NetError>) -> (Self, Option<Value>) {
        match result {
            Err(e) => (Attempt::Net(e), None),
            Ok(resp) => {
                let header = |name| {
                    resp.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                let body = String::from_utf8_lossy(resp.body()).into_owned();
                // Strict UTF-8 (RFC 8259 §8.1): the raw bytes, not the lossy text.
                let json = if resp.status().is_success() {
                    serde_json::from_slice::<Value>(resp.body())
                        .ok()
                        .filter(Value::is_object)
                } else {
                    None
                };
                let attempt = Attempt::Answer {
                    status: resp.status().as_u16(),
                    content_type: header(http::header::CONTENT_TYPE).unwrap_or_default(),
                    location: header(http::header::LOCATION),
                    body: excerpt(&body, 300),
                };
                (attempt, json)
            }
        }
    }
}

/// How long a launch waits for the CapabilityStatement once `.well-known` has answered: it is
/// fetched alongside only to compare the two sources.
const METADATA_GRACE: Duration = Duration::from_secs(2);

/// The discovery document for `iss` (no trailing slash), from the cache or the server (one fetch
/// at a time per issuer).
pub async fn discover(
    http: &Outbound,
    cache: &Cache,
    iss: &str,
    rec: &Recorder,
) -> Result<Arc<Discovered>, DiscoveryFailure> {
    cache
        .entries
        .get_or_load(iss, rec, || fetch_recorded(http, iss, rec))
        .await
}

/// [`fetch`] with its own recorder, so the document keeps the exchanges that produced it.
async fn fetch_recorded(
    http: &Outbound,
    iss: &str,
    rec: &Recorder,
) -> Result<Arc<Discovered>, DiscoveryFailure> {
    let own = Recorder::default();
    let result = fetch(http, iss, &own).await;
    let exchanges = own.exchanges();
    rec.extend(&exchanges);
    result.map(|mut d| {
        if let Some(d) = Arc::get_mut(&mut d) {
            d.transcript = exchanges;
            d.fetched_at = time::OffsetDateTime::now_utc().unix_timestamp();
        }
        d
    })
}

/// Fetches `.well-known` and the CapabilityStatement together: the second is the fallback, and
/// a check that both name the same endpoints.
async fn fetch(
    http: &Outbound,
    iss: &str,
    rec: &Recorder,
) -> Result<Arc<Discovered>, DiscoveryFailure> {
    let well_known_url = format!("{iss}/.well-known/smart-configuration");
    let metadata_url = format!("{iss}/metadata");
    let metadata_task = {
        let (http, rec, url) = (http.clone(), rec.clone(), metadata_url.clone());
        tokio::spawn(async move {
            Attempt::from(
                http.get(
                    &url,
                    "application/fhir+json, application/json",
                    ExchangeStep::Discovery,
                    &rec,
                )
                .await,
            )
        })
    };
    let answer = http
        .get(
            &well_known_url,
            "application/json",
            ExchangeStep::Discovery,
            rec,
        )
        .await;
    let certificate = answer
        .as_ref()
        .ok()
        .and_then(|r| r.extensions().get::<PeerCertificate>())
        .and_then(|c| CertInfo::from_der(&c.0, time::OffsetDateTime::now_utc().unix_timestamp()));
    let (well_known, json) = Attempt::from(answer);
    let content_type = match &well_known {
        Attempt::Answer { content_type, .. } => content_type.clone(),
        Attempt::Net(_) => String::new(),
    };
    if let Attempt::Net(e) = &well_known {
        // The fallback is on the same host: it fails the same way.
        metadata_task.abort();
        return Err(DiscoveryFailure::Net {
            url: well_known_url,
            error: e.clone(),
        });
    }
    let mut missing_in_well_known = Vec::new();
    if let Some(doc) = &json {
        match from_well_known(iss, doc) {
            Ok(mut d) => {
                d.certificate = certificate;
                d.content_type = content_type;
                let mut kept = doc.clone();
                bounded::shrink(&mut kept, DOCUMENT_CAP);
                d.document = Some(kept);
                let abort = metadata_task.abort_handle();
                if let Ok(Ok((_, Some(cap)))) =
                    tokio::time::timeout(METADATA_GRACE, metadata_task).await
                    && let Some(other) = from_capability_statement(iss, &cap)
                {
                    d.capability_statement = Some(Box::new(other));
                }
                abort.abort();
                return Ok(Arc::new(d));
            }
            Err(missing) => missing_in_well_known = missing,
        }
    }
    let (metadata, cap_json) = match metadata_task.await {
        Ok(result) => result,
        Err(e) => (Attempt::Net(NetError::Other(e.to_string())), None),
    };
    if let Some(d) = cap_json
        .as_ref()
        .and_then(|c| from_capability_statement(iss, c))
    {
        return Ok(Arc::new(d));
    }
    Err(DiscoveryFailure::NotFound {
        well_known: (well_known_url, well_known),
        metadata: (metadata_url, metadata),
        missing: missing_in_well_known,
    })
}
