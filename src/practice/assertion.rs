//! `private_key_jwt` client authentication (RFC 7523 §2.2 and §3) as SMART App Launch 2.2
//! client-confidential-asymmetric profiles it: a JWS signed RS384 or ES384 with a key the
//! client registered, naming it by `kid`; `iss` = `sub` = client_id, `aud` = the token
//! endpoint URL, `exp` at most five minutes ahead, and a `jti` never used before.
//!
//! Every refusal is 401 `invalid_client`. What a correct client never does is also recorded as
//! a violation; an unknown key, a bad signature or an expired assertion are configuration or
//! clock problems and are not.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, header};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::wire::{self, OAuthError, Params};
use super::{ClientAuth, Ehr, PracticeClient, client_auth};

/// The only `client_assertion_type` (RFC 7523 §2.2).
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// SMART 2.2: `exp` no more than five minutes in the future.
const MAX_LIFETIME_SECS: f64 = 300.0;

/// Why an assertion is refused, and whether a correct client could have been refused so.
struct Refusal {
    why: String,
    violation: bool,
}

impl Refusal {
    /// Something a correct client never sends.
    fn bug(why: impl Into<String>) -> Self {
        Self {
            why: why.into(),
            violation: true,
        }
    }

    /// A registration, key or clock problem, not a bug in the client's code.
    fn setup(why: impl Into<String>) -> Self {
        Self {
            why: why.into(),
            violation: false,
        }
    }
}

/// Authenticates a token request that carries `client_assertion` or `client_assertion_type`.
/// `skew_secs` is the client's `assertion_clock_skew_secs` fault.
pub(super) fn authenticate(
    ehr: &Ehr,
    headers: &HeaderMap,
    params: &Params,
    endpoint: &str,
    skew_secs: i64,
) -> Result<PracticeClient, OAuthError> {
    let header_sent = headers.contains_key(header::AUTHORIZATION);
    let clock = Clock {
        endpoint,
        skew_secs,
    };
    check(ehr, header_sent, params, clock).map_err(|refusal| {
        if refusal.violation {
            ehr.with(|s| s.violation(format!("token: {}", refusal.why)));
        }
        OAuthError::invalid_client(refusal.why, header_sent)
    })
}

/// The unverified `iss` of an assertion, the client it claims to come from.
pub(super) fn claimed_issuer(jws: &str) -> Option<String> {
    let (_, claims) = parse(jws).ok()?;
    claims.get("iss").and_then(Value::as_str).map(str::to_owned)
}

/// What the claims are checked against: the token endpoint (`aud`) and the fake's clock.
#[derive(Clone, Copy)]
struct Clock<'a> {
    endpoint: &'a str,
    /// Seconds the fake's clock runs ahead (the `assertion_clock_skew_secs` fault).
    skew_secs: i64,
}

/// Every check, in the order a server can make them.
fn check(
    ehr: &Ehr,
    header_sent: bool,
    params: &Params,
    clock: Clock<'_>,
) -> Result<PracticeClient, Refusal> {
    if header_sent {
        // RFC 6749 §2.3: "MUST NOT use more than one authentication method".
        return Err(Refusal::bug(
            "client_assertion sent together with an Authorization header",
        ));
    }
    if params.get("client_secret").is_some() {
        return Err(Refusal::bug(
            "client_assertion sent together with a client_secret",
        ));
    }
    match params.get("client_assertion_type") {
        Some(ASSERTION_TYPE) => {}
        Some(other) => {
            let why = format!("client_assertion_type {other:?} must be {ASSERTION_TYPE}");
            return Err(Refusal::bug(why));
        }
        None => {
            let why = format!("client_assertion_type is missing; it must be {ASSERTION_TYPE}");
            return Err(Refusal::bug(why));
        }
    }
    let Some(jws) = params.get("client_assertion") else {
        return Err(Refusal::bug("client_assertion is missing"));
    };
    let (header, claims) = parse(jws)?;
    let alg = match header.get("alg").and_then(Value::as_str) {
        Some("RS384") => Algorithm::RS384,
        Some("ES384") => Algorithm::ES384,
        other => {
            let why = format!(
                "client_assertion alg {} is not RS384 or ES384",
                shown(other)
            );
            return Err(Refusal::bug(why));
        }
    };
    let Some(kid) = header.get("kid").and_then(Value::as_str) else {
        return Err(Refusal::bug("client_assertion header has no kid"));
    };
    let client = client_of(ehr, params, &claims)?;
    let ClientAuth::PrivateKeyJwt { jwks } = &client.auth else {
        let why = format!(
            "client {:?} is registered for {} but used private_key_jwt",
            client.client_id,
            client_auth::method_name(&client.auth)
        );
        return Err(Refusal::bug(why));
    };
    let key = find_key(jwks, kid, alg)?;
    verify_signature(jws, &key, alg)?;
    check_claims(&claims, clock)?;
    remember_jti(ehr, &client.client_id, &claims)?;
    Ok(client)
}

/// Header and claims of a compact JWS, both JSON objects, before any verification.
fn parse(jws: &str) -> Result<(Value, Value), Refusal> {
    let parts: Vec<&str> = jws.split('.').collect();
    let [header, claims, _signature] = parts.as_slice() else {
        return Err(Refusal::bug(
            "client_assertion is not a compact JWS (three parts)",
        ));
    };
    let object = |part: &str, what: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .filter(Value::is_object)
            .ok_or_else(|| {
                Refusal::bug(format!(
                    "client_assertion {what} is not base64url-encoded JSON"
                ))
            })
    };
    Ok((object(header, "header")?, object(claims, "payload")?))
}

/// The client the assertion's `iss` names, which a body `client_id` must agree with.
fn client_of(ehr: &Ehr, params: &Params, claims: &Value) -> Result<PracticeClient, Refusal> {
    let Some(iss) = claims.get("iss").and_then(Value::as_str) else {
        return Err(Refusal::bug("client_assertion has no iss"));
    };
    if let Some(body_id) = params.get("client_id").filter(|id| *id != iss) {
        let why =
            format!("client_id {body_id:?} in the body differs from the assertion's iss {iss:?}");
        return Err(Refusal::bug(why));
    }
    ehr.with(|s| s.client(iss))
        .ok_or_else(|| Refusal::setup(format!("unknown client {iss:?}")))
}

/// The registered key named `kid` that can verify `alg`.
fn find_key(jwks: &Value, kid: &str, alg: Algorithm) -> Result<DecodingKey, Refusal> {
    let Some(keys) = jwks.get("keys").and_then(Value::as_array) else {
        return Err(Refusal::setup("the registered JWKS has no keys array"));
    };
    let named: Vec<&Value> = keys
        .iter()
        .filter(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
        .collect();
    if named.is_empty() {
        return Err(Refusal::setup(format!("unknown kid {kid:?}")));
    }
    let Some(key) = named.into_iter().find(|k| fits(k, alg)) else {
        let why = format!("no registered key {kid:?} has the kty and alg to verify {alg:?}");
        return Err(Refusal::setup(why));
    };
    serde_json::from_value::<Jwk>(key.clone())
        .ok()
        .and_then(|jwk| DecodingKey::from_jwk(&jwk).ok())
        .ok_or_else(|| Refusal::setup(format!("the registered key {kid:?} is not a usable JWK")))
}

/// Whether a JWK's `kty` (and `crv`, and `alg` when given) suit `alg`.
fn fits(key: &Value, alg: Algorithm) -> bool {
    let member = |name: &str| key.get(name).and_then(Value::as_str);
    let kind_fits = match alg {
        Algorithm::RS384 => member("kty") == Some("RSA"),
        Algorithm::ES384 => member("kty") == Some("EC") && member("crv") == Some("P-384"),
        _ => false,
    };
    let alg_name = format!("{alg:?}");
    kind_fits && member("alg").is_none_or(|a| a == alg_name)
}

/// The signature check alone; the claims are checked separately for precise messages.
fn verify_signature(jws: &str, key: &DecodingKey, alg: Algorithm) -> Result<(), Refusal> {
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    match jsonwebtoken::decode::<Value>(jws, key, &validation) {
        Ok(_) => Ok(()),
        Err(e) if *e.kind() == jsonwebtoken::errors::ErrorKind::InvalidSignature => Err(
            Refusal::setup("client_assertion signature does not verify with the registered key"),
        ),
        Err(e) => Err(Refusal::setup(format!(
            "client_assertion could not be verified: {e}"
        ))),
    }
}

/// `sub`, `aud` and `exp`, by the fake's (possibly skewed) clock.
fn check_claims(claims: &Value, clock: Clock<'_>) -> Result<(), Refusal> {
    let endpoint = clock.endpoint;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("sub") != text("iss") {
        let why = format!(
            "client_assertion sub {} must equal iss {}",
            shown(text("sub")),
            shown(text("iss"))
        );
        return Err(Refusal::bug(why));
    }
    if text("aud") != Some(endpoint) {
        return Err(Refusal::bug(format!("aud must be {endpoint}")));
    }
    let Some(exp) = claims.get("exp").and_then(Value::as_f64) else {
        return Err(Refusal::bug("client_assertion has no numeric exp"));
    };
    let now = wire::unix_now().saturating_add(clock.skew_secs) as f64;
    if exp <= now {
        return Err(Refusal::setup("client_assertion expired"));
    }
    if exp - now > MAX_LIFETIME_SECS {
        let why = format!(
            "client_assertion exp is {:.0} s ahead; at most 300 s are allowed",
            exp - now
        );
        return Err(Refusal::bug(why));
    }
    Ok(())
}

/// A string claim or header member for a message: quoted, or "(none)".
fn shown(value: Option<&str>) -> String {
    value.map_or_else(|| "(none)".to_owned(), |v| format!("{v:?}"))
}

/// Accepts the `jti` once per client (RFC 7523 §3 item 7): a second use is a replay.
fn remember_jti(ehr: &Ehr, client_id: &str, claims: &Value) -> Result<(), Refusal> {
    let Some(jti) = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty())
    else {
        return Err(Refusal::bug("client_assertion has no jti"));
    };
    let fresh = ehr.with(|s| {
        let seen = s.assertion_ids.entry(client_id.to_owned()).or_default();
        seen.insert(jti.to_owned(), ())
    });
    if fresh {
        Ok(())
    } else {
        Err(Refusal::bug("jti replayed"))
    }
}
