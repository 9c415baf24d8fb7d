//! OpenID Connect: the id_token's signature and claims. The issuer comes from SMART discovery,
//! never from the token; its `/.well-known/openid-configuration` gives the `jwks_uri` and must
//! name that issuer exactly (OpenID Connect Discovery 1.0 §4.3). Both are cached; the JWKS is
//! fetched again once when a `kid` is unknown (key rotation).

use crate::smart::transcript::ExchangeStep;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::flights::Flights;
use super::http::{NetError, Outbound, Recorder};
use super::net_policy::append_path;

/// Algorithms accepted for id_tokens: never `none`, never HMAC.
const ALLOWED: [&str; 4] = ["RS256", "RS384", "ES256", "ES384"];
/// Leeway for `exp` and `iat`.
pub const LEEWAY_SECS: i64 = 60;

/// OpenID configurations (issuer → `jwks_uri`) and JWKS (by URI), cached for the discovery
/// period; each fetched once at a time per key, a failure shared by those waiting for it.
pub struct Cache {
    configs: Flights<String>,
    jwks: Flights<Arc<JwkSet>>,
}

/// Most bytes the JWKS cache holds (weighed as `bounded::weight`): a few thousand ordinary
/// key sets; the configurations (one `jwks_uri` each) get [`CONFIG_CACHE_BYTES`].
pub const JWKS_CACHE_BYTES: u64 = 8 * 1024 * 1024;
/// Most bytes of cached `jwks_uri`s (the OpenID configurations keep nothing else).
pub const CONFIG_CACHE_BYTES: u64 = 1024 * 1024;

impl Cache {
    pub fn new(ttl: Duration) -> Self {
        Cache {
            configs: Flights::weighted(ttl, CONFIG_CACHE_BYTES, |uri: &String| {
                super::bounded::weight(uri.as_str())
            }),
            jwks: Flights::weighted(ttl, JWKS_CACHE_BYTES, |set: &Arc<JwkSet>| {
                super::bounded::weight(&**set)
            }),
        }
    }
}

/// Why an id_token was not checked through to its claims: what was found, not what it means
/// (`diagnosis::classify::identity` names it).
#[derive(Clone, Debug, PartialEq)]
pub enum IdTokenFailure {
    /// Not a decodable JWT (three base64url parts with JSON header and claims).
    Malformed,
    /// The OpenID configuration at `url`, or the JWKS at `url`, could not be fetched or used.
    ConfigUnavailable { url: String, why: String },
    /// The OpenID configuration or JWKS URL points at an address the policy refuses.
    Refused { url: String, error: NetError },
    /// The OpenID configuration at `url` names another `issuer` (or none) than the issuer it was
    /// fetched for; OpenID Connect Discovery 1.0 §4.3 requires them identical, so its keys are
    /// not used.
    ConfigIssuer {
        url: String,
        published: Option<String>,
        expected: String,
    },
    /// The signature cannot be trusted: an algorithm not accepted, no key for it, or it does not
    /// verify. `header` is the token's decoded header.
    BadSignature {
        why: String,
        header: Value,
        /// The key ids the issuer's JWKS holds (empty when it was not reached).
        jwks_kids: Vec<String>,
    },
}

/// A token whose signature verified: its claims and what `iss`, `aud`, `azp`, `exp` and `iat`
/// must match, for the claims check.
#[derive(Clone, Debug, PartialEq)]
pub struct SignedClaims {
    pub claims: Value,
    /// The issuer SMART discovery named, which its OpenID configuration named identically.
    pub issuer: String,
    pub client_id: String,
    pub now: i64,
    /// Leeway for `exp` and `iat`, in seconds.
    pub leeway: i64,
}

/// What checking one id_token found: its verified claims, or why it got no further.
pub type Checked = Result<SignedClaims, IdTokenFailure>;

/// The verdict on one id_token, with what was decoded for display.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IdTokenReport {
    pub verified: bool,
    pub header: Value,
    pub claims: Value,
    /// The `fhirUser` claim, trusted only when `verified`.
    pub fhir_user: Option<String>,
}

impl IdTokenReport {
    /// Marks the token trusted (signature and claims both accepted) and takes its `fhirUser`.
    pub fn trust(&mut self) {
        self.verified = true;
        self.fhir_user = self
            .claims
            .get("fhirUser")
            .and_then(Value::as_str)
            .map(str::to_string);
    }
}

/// Decodes a JWT's header and payload without verifying anything (for display).
pub fn decode_unverified(token: &str) -> Option<(Value, Value)> {
    let mut parts = token.split('.');
    let (h, p) = (parts.next()?, parts.next()?);
    let _signature = parts.next()?;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header: Value = serde_json::from_slice(&b64.decode(h.trim_end_matches('=')).ok()?).ok()?;
    let claims: Value = serde_json::from_slice(&b64.decode(p.trim_end_matches('=')).ok()?).ok()?;
    (header.is_object() && claims.is_object()).then_some((header, claims))
}

async fn json_object(http: &Outbound, url: &str, rec: &Recorder) -> Result<Value, IdTokenFailure> {
    let resp = http
        .get(url, "application/json", ExchangeStep::IdToken, rec)
        .await
        .map_err(|e| match e {
            NetError::PrivateTarget { .. } => IdTokenFailure::Refused {
                url: url.to_string(),
                error: e,
            },
            e => unavailable(url, e.to_string()),
        })?;
    if !resp.status().is_success() {
        return Err(unavailable(url, format!("HTTP {}", resp.status().as_u16())));
    }
    serde_json::from_slice::<Value>(resp.body())
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| unavailable(url, "the answer is not a JSON object".to_string()))
}

fn unavailable(url: &str, why: String) -> IdTokenFailure {
    IdTokenFailure::ConfigUnavailable {
        url: url.to_string(),
        why,
    }
}

async fn jwks_uri(
    http: &Outbound,
    cache: &Cache,
    issuer: &str,
    rec: &Recorder,
) -> Result<String, IdTokenFailure> {
    let load = || async {
        // Joined to the issuer's path: a `#` or `?` in it cannot swallow the suffix.
        let url = append_path(issuer, "/.well-known/openid-configuration");
        let doc = json_object(http, &url, rec).await?;
        let published = doc.get("issuer").and_then(Value::as_str);
        if published != Some(issuer) {
            return Err(IdTokenFailure::ConfigIssuer {
                url,
                published: published.map(str::to_string),
                expected: issuer.to_string(),
            });
        }
        doc.get("jwks_uri")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| unavailable(&url, "no jwks_uri".to_string()))
    };
    cache.configs.get_or_load(issuer, rec, load).await
}

/// The JWKS at `uri`. With `stale` (a set that lacked the token's `kid`), that set is dropped
/// first, unless someone already fetched a newer one: many tokens signed with a new key make
/// one fetch, not one each.
async fn jwks(
    http: &Outbound,
    cache: &Cache,
    uri: &str,
    stale: Option<&Arc<JwkSet>>,
    rec: &Recorder,
) -> Result<Arc<JwkSet>, IdTokenFailure> {
    if let Some(stale) = stale {
        cache.jwks.forget_if(uri, stale, Arc::ptr_eq).await;
    }
    let load = || async {
        let doc = json_object(http, uri, rec).await?;
        let set: JwkSet = serde_json::from_value(doc)
            .map_err(|e| unavailable(uri, format!("not a JWKS: {e}")))?;
        Ok(Arc::new(set))
    };
    cache.jwks.get_or_load(uri, rec, load).await
}

/// Whether `issuer`'s OpenID configuration or JWKS is missing from the cache (never when
/// caching is off: a warm-up would be thrown away).
pub async fn needs_warming(cache: &Cache, issuer: &str) -> bool {
    if !cache.configs.enabled() {
        return false;
    }
    match cache.configs.peek(issuer).await {
        Some(uri) => cache.jwks.peek(&uri).await.is_none(),
        None => true,
    }
}

/// Fetches `issuer`'s OpenID configuration and JWKS into the cache, so the callback of a launch
/// that asked for `openid` finds them there. A failure is not kept: the callback tries again and
/// diagnoses it.
pub async fn warm(http: &Outbound, cache: &Cache, issuer: &str) {
    let rec = Recorder::default();
    if let Ok(uri) = jwks_uri(http, cache, issuer, &rec).await {
        let _ = jwks(http, cache, &uri, None, &rec).await;
    }
}

/// The key for `kid`, or with no `kid` the only key of the right type.
fn pick<'a>(set: &'a JwkSet, kid: Option<&str>, alg: Algorithm) -> Option<&'a Jwk> {
    match kid {
        Some(kid) => set.find(kid),
        None => {
            let rsa = matches!(alg, Algorithm::RS256 | Algorithm::RS384);
            let fits: Vec<&Jwk> = set
                .keys
                .iter()
                .filter(|k| {
                    matches!(k.algorithm, jsonwebtoken::jwk::AlgorithmParameters::RSA(_)) == rsa
                })
                .collect();
            (fits.len() == 1).then(|| fits[0])
        }
    }
}

/// What the check needs to know.
pub struct Expected<'a> {
    /// The issuer SMART discovery named (its `issuer`, else the FHIR base).
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub now: i64,
}

/// Checks `token`: algorithm, signature against the issuer's JWKS; a token whose signature
/// verifies comes back with its claims, for `iss`, `aud`, `exp` and `iat` to be checked. The
/// report is never marked verified here: see [`IdTokenReport::trust`].
pub async fn check(
    http: &Outbound,
    cache: &Cache,
    expected: &Expected<'_>,
    token: &str,
    rec: &Recorder,
) -> (IdTokenReport, Checked) {
    let Some((header, claims)) = decode_unverified(token) else {
        return (IdTokenReport::default(), Err(IdTokenFailure::Malformed));
    };
    let report = IdTokenReport {
        verified: false,
        header: header.clone(),
        claims: claims.clone(),
        fhir_user: None,
    };
    let bad = |why: String| IdTokenFailure::BadSignature {
        why,
        header: header.clone(),
        jwks_kids: Vec::new(),
    };
    let bad_with = |why: String, set: &JwkSet| IdTokenFailure::BadSignature {
        why,
        header: header.clone(),
        jwks_kids: set
            .keys
            .iter()
            .map(|k| k.common.key_id.clone().unwrap_or_else(|| "(no kid)".into()))
            .collect(),
    };
    let alg_name = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let alg = match (ALLOWED.contains(&alg_name), alg_name.parse::<Algorithm>()) {
        (true, Ok(alg)) => alg,
        _ => {
            let why = format!(
                "alg {alg_name:?} is not accepted (only {})",
                ALLOWED.join(", ")
            );
            return (report, Err(bad(why)));
        }
    };
    let kid = header.get("kid").and_then(Value::as_str);
    let uri = match jwks_uri(http, cache, expected.issuer, rec).await {
        Ok(u) => u,
        Err(f) => return (report, Err(f)),
    };
    let mut set = match jwks(http, cache, &uri, None, rec).await {
        Ok(s) => s,
        Err(f) => return (report, Err(f)),
    };
    if pick(&set, kid, alg).is_none() && kid.is_some() {
        // Key rotation: one fresh look before calling the kid unknown.
        set = match jwks(http, cache, &uri, Some(&set), rec).await {
            Ok(s) => s,
            Err(f) => return (report, Err(f)),
        };
    }
    let Some(jwk) = pick(&set, kid, alg) else {
        let why = match kid {
            Some(k) => {
                format!("kid {k:?} is not in the JWKS at {uri}, even after fetching it again")
            }
            None => format!("no kid, and the JWKS at {uri} does not hold exactly one suitable key"),
        };
        return (report, Err(bad_with(why, &set)));
    };
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let verified = DecodingKey::from_jwk(jwk)
        .map_err(|e| e.to_string())
        .and_then(|key| {
            jsonwebtoken::decode::<Value>(token, &key, &validation).map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                    "it was not made with the matching key of the issuer's JWKS".to_string()
                }
                _ => e.to_string(),
            })
        });
    if let Err(why) = verified {
        let why = format!("the signature does not verify: {why}");
        return (report, Err(bad_with(why, &set)));
    }
    let signed = SignedClaims {
        claims,
        issuer: expected.issuer.to_string(),
        client_id: expected.client_id.to_string(),
        now: expected.now,
        leeway: LEEWAY_SECS,
    };
    (report, Ok(signed))
}
