//! The OpenID Connect id_token of a code exchange with `openid` in the scope (OpenID Connect
//! Core §2, SMART App Launch 2.2 `sso-openid-connect`): RS256, signed by the current key and
//! naming it by `kid`, or wrong in exactly one way under an [`IdTokenFault`].

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use super::keys::SigningKey;
use super::{Ehr, IdTokenFault, wire};

/// The user every launch signs in as: the `sub` and the `fhirUser` Practitioner.
pub(super) const PRACTITIONER_ID: &str = "practitioner-1";

/// The user's display name, in the `name` claim and on the login page.
pub(super) const USER_NAME: &str = "Dr. Adele Smith";

/// Lifetime of an id_token, in seconds.
const LIFETIME_SECS: i64 = 3600;

/// The `iss` under the `WrongIssuer` fault.
const WRONG_ISSUER: &str = "https://wrong-issuer.example/fhir";

/// The `aud` under the `WrongAudience` fault, the extra one under `ExtraAudience*`, the `azp`
/// under `WrongAzp`.
const WRONG_AUDIENCE: &str = "another-client";

/// The `kid` under the `UnpublishedKey` fault.
const GHOST_KID: &str = "ghost";

/// A signed id_token for `client_id`, wrong in the way `fault` says (the client's), or why the
/// fake could not make one.
pub(super) fn issue(
    ehr: &Ehr,
    client_id: &str,
    scope: &str,
    nonce: Option<&str>,
    fault: Option<IdTokenFault>,
) -> Result<String, String> {
    let claims = claims(&ehr.fhir_base(), client_id, scope, nonce, fault);
    let key = ehr
        .with(|s| s.keys.current().cloned())
        .ok_or("the fake EHR has no id_token signing key")?;
    let kid = Some(key.kid.clone());
    match fault {
        Some(IdTokenFault::AlgNone) => Ok(unsigned(&claims)),
        Some(IdTokenFault::Hs256) => {
            let secret = EncodingKey::from_secret(client_id.as_bytes()).map_err(jwt_error)?;
            sign(Algorithm::HS256, kid, &claims, &secret)
        }
        Some(IdTokenFault::BadSignature) => {
            sign(Algorithm::RS256, kid, &claims, &impostor(ehr)?.encoding)
        }
        Some(IdTokenFault::UnpublishedKey) => sign(
            Algorithm::RS256,
            Some(GHOST_KID.into()),
            &claims,
            &key.encoding,
        ),
        Some(IdTokenFault::NoKid) => sign(Algorithm::RS256, None, &claims, &key.encoding),
        _ => sign(Algorithm::RS256, kid, &claims, &key.encoding),
    }
}

/// The claims, with the claim-level faults applied.
fn claims(
    fhir_base: &str,
    client_id: &str,
    scope: &str,
    nonce: Option<&str>,
    fault: Option<IdTokenFault>,
) -> Value {
    let now = wire::unix_now();
    let (iat, exp) = match fault {
        Some(IdTokenFault::Expired) => (now - 7200, now - 7200),
        Some(IdTokenFault::FutureIat) => (now + 600, now + 600 + LIFETIME_SECS),
        _ => (now, now + LIFETIME_SECS),
    };
    let iss = match fault {
        Some(IdTokenFault::WrongIssuer) => WRONG_ISSUER.to_string(),
        Some(IdTokenFault::IssuerTrailingSlash) => format!("{fhir_base}/"),
        _ => fhir_base.to_string(),
    };
    let aud = match fault {
        Some(IdTokenFault::WrongAudience) => json!(WRONG_AUDIENCE),
        Some(IdTokenFault::ExtraAudience | IdTokenFault::ExtraAudienceNoAzp) => {
            json!([client_id, WRONG_AUDIENCE])
        }
        _ => json!(client_id),
    };
    let azp = match fault {
        Some(IdTokenFault::ExtraAudience) => Some(client_id),
        Some(IdTokenFault::WrongAzp) => Some(WRONG_AUDIENCE),
        _ => None,
    };
    let relative_user = format!("Practitioner/{PRACTITIONER_ID}");
    // SMART: fhirUser is an absolute URL when the scope asks for it.
    let fhir_user = match fault {
        Some(IdTokenFault::RelativeFhirUser) => Some(relative_user),
        _ if wire::has_scope(scope, "fhirUser") => Some(format!("{fhir_base}/{relative_user}")),
        _ => None,
    };
    let mut claims = json!({
        "iss": iss,
        "sub": PRACTITIONER_ID,
        "aud": aud,
        "iat": iat,
        "exp": exp,
        "name": USER_NAME,
    });
    if let Some(members) = claims.as_object_mut() {
        if let Some(fhir_user) = fhir_user {
            members.insert("fhirUser".into(), fhir_user.into());
        }
        if let Some(azp) = azp {
            members.insert("azp".into(), azp.into());
        }
        // OpenID Connect Core §3.1.2.1: a nonce sent to authorize comes back unchanged.
        if let Some(nonce) = nonce {
            members.insert("nonce".into(), nonce.into());
        }
    }
    claims
}

/// A JWS over `claims` with this algorithm and `kid`.
fn sign(
    alg: Algorithm,
    kid: Option<String>,
    claims: &Value,
    key: &EncodingKey,
) -> Result<String, String> {
    let mut header = Header::new(alg);
    header.kid = kid;
    jsonwebtoken::encode(&header, claims, key).map_err(jwt_error)
}

/// An unsecured JWT (RFC 7519 §6): `alg` none and an empty signature.
fn unsigned(claims: &Value) -> String {
    let header = json!({ "alg": "none", "typ": "JWT" });
    let part = |value: &Value| URL_SAFE_NO_PAD.encode(value.to_string());
    format!("{}.{}.", part(&header), part(claims))
}

/// The unpublished key of the `BadSignature` fault, made (outside the lock) on first use.
fn impostor(ehr: &Ehr) -> Result<SigningKey, String> {
    if let Some(key) = ehr.with(|s| s.keys.impostor()) {
        return Ok(key);
    }
    let key = SigningKey::generate("impostor")?;
    ehr.with(|s| s.keys.set_impostor(key.clone()));
    Ok(key)
}

fn jwt_error(error: jsonwebtoken::errors::Error) -> String {
    format!("could not sign the id_token: {error}")
}
