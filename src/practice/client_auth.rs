//! Client authentication at the token endpoint (RFC 6749 §2.3): `client_secret_basic`,
//! `client_secret_post`, `private_key_jwt` (checked in `assertion`), or a bare `client_id` for
//! public clients, and exactly one of them.
//!
//! HTTP Basic is read as §2.3.1 writes it: base64, split at the first `:`, then each half
//! `application/x-www-form-urlencoded`-decoded. A secret sent raw is therefore refused.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, header};

use super::wire::{self, OAuthError, Params};
use super::{ClientAuth, Ehr, Faults, PracticeClient, assertion};

/// Credentials found in an `Authorization: Basic` header.
struct Basic {
    client_id: String,
    secret: String,
    /// The secret as sent, before form-decoding, to tell a missing encoding from a wrong secret.
    raw_secret: String,
}

/// The client a token request names, before any check: the assertion's `iss`, else the Basic
/// user name, else the body's `client_id`. Only to pick the client's faults.
pub(super) fn claimed_client_id(headers: &HeaderMap, params: &Params) -> Option<String> {
    if let Some(jws) = params.get("client_assertion") {
        return assertion::claimed_issuer(jws);
    }
    if let Ok(Some(basic)) = basic_credentials(headers, true) {
        // The user name as sent, and form-decoded as RFC 6749 §2.3.1 has it.
        let decoded = wire::form_urldecode(&basic.client_id).unwrap_or(basic.client_id);
        return Some(decoded);
    }
    params.get("client_id").map(str::to_owned)
}

/// Finds and authenticates the client, recording a violation for each client bug; `endpoint`
/// is the token endpoint URL a client assertion must name as `aud`; `faults` are the client's.
pub(super) fn authenticate(
    ehr: &Ehr,
    faults: &Faults,
    headers: &HeaderMap,
    params: &Params,
    endpoint: &str,
) -> Result<PracticeClient, OAuthError> {
    if params.get("client_assertion").is_some() || params.get("client_assertion_type").is_some() {
        let skew = faults.assertion_clock_skew_secs.unwrap_or(0);
        return assertion::authenticate(ehr, headers, params, endpoint, skew);
    }
    let basic = basic_credentials(headers, faults.basic_raw_only).map_err(|why| {
        violation(ehr, &why);
        OAuthError::invalid_client(why, true)
    })?;
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    match basic {
        Some(basic) => with_basic(ehr, basic, body_id, body_secret),
        None => without_header(ehr, body_id, body_secret),
    }
}

/// The Basic credentials, `None` without an Authorization header, or why the header is unusable.
fn basic_credentials(headers: &HeaderMap, raw_only: bool) -> Result<Option<Basic>, String> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("more than one Authorization header".to_owned());
    }
    let value = value
        .to_str()
        .map_err(|_| "the Authorization header is not ASCII".to_owned())?;
    let (scheme, encoded) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(format!("Authorization scheme {scheme:?} is not Basic"));
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| "the Basic credentials are not valid base64".to_owned())?;
    let decoded =
        String::from_utf8(decoded).map_err(|_| "the Basic credentials are not UTF-8".to_owned())?;
    let Some((raw_id, raw_secret)) = decoded.split_once(':') else {
        return Err("the Basic credentials have no ':' between client_id and secret".to_owned());
    };
    if raw_only {
        return Ok(Some(Basic {
            client_id: raw_id.to_owned(),
            secret: raw_secret.to_owned(),
            raw_secret: raw_secret.to_owned(),
        }));
    }
    let client_id = wire::form_urldecode(raw_id).map_err(|e| {
        format!("client_secret_basic: the client_id is not form-urlencoded (RFC 6749 §2.3.1): {e}")
    })?;
    let secret = wire::form_urldecode(raw_secret).map_err(|e| {
        format!("client_secret_basic: the secret is not form-urlencoded (RFC 6749 §2.3.1): {e}")
    })?;
    Ok(Some(Basic {
        client_id,
        secret,
        raw_secret: raw_secret.to_owned(),
    }))
}

/// The client used HTTP Basic: it must be registered for it, and use nothing else.
fn with_basic(
    ehr: &Ehr,
    basic: Basic,
    body_id: Option<&str>,
    body_secret: Option<&str>,
) -> Result<PracticeClient, OAuthError> {
    if body_secret.is_some() {
        // RFC 6749 §2.3: "The client MUST NOT use more than one authentication method".
        let why =
            "several client authentication methods: Basic header and client_secret in the body";
        violation(ehr, why);
        return Err(OAuthError::bad_request("invalid_request", why));
    }
    if let Some(body_id) = body_id.filter(|id| *id != basic.client_id) {
        let why = format!(
            "client_id {body_id:?} in the body differs from {:?} in the Basic header",
            basic.client_id
        );
        violation(ehr, &why);
        return Err(OAuthError::bad_request("invalid_request", why));
    }
    let Some(client) = ehr.with(|s| s.client(&basic.client_id)) else {
        return Err(OAuthError::invalid_client("unknown client", true));
    };
    match &client.auth {
        ClientAuth::SecretBasic(secret) if wire::same_secret(&basic.secret, secret) => Ok(client),
        ClientAuth::SecretBasic(secret) if wire::same_secret(&basic.raw_secret, secret) => {
            let why = "client_secret_basic: the secret was sent without form-urlencoding (RFC 6749 §2.3.1)";
            violation(ehr, why);
            Err(OAuthError::invalid_client(why, true))
        }
        ClientAuth::SecretBasic(_) => Err(OAuthError::invalid_client("wrong client secret", true)),
        ClientAuth::SecretPost(_) => {
            let why = format!(
                "client {:?} is registered for client_secret_post but used client_secret_basic",
                client.client_id
            );
            violation(ehr, &why);
            Err(OAuthError::invalid_client(why, true))
        }
        ClientAuth::None => {
            let why = format!(
                "public client {:?} sent an Authorization header",
                client.client_id
            );
            violation(ehr, &why);
            Err(OAuthError::invalid_client(why, true))
        }
        ClientAuth::PrivateKeyJwt { .. } => {
            let why = format!(
                "client {:?} is registered for private_key_jwt but used client_secret_basic",
                client.client_id
            );
            violation(ehr, &why);
            Err(OAuthError::invalid_client(why, true))
        }
    }
}

/// No Authorization header: the body must name the client (and carry the secret for post).
fn without_header(
    ehr: &Ehr,
    body_id: Option<&str>,
    body_secret: Option<&str>,
) -> Result<PracticeClient, OAuthError> {
    let Some(client_id) = body_id else {
        let why = "no client authentication: no Authorization header and no client_id in the body";
        violation(ehr, why);
        return Err(OAuthError::invalid_client(why, false));
    };
    let Some(client) = ehr.with(|s| s.client(client_id)) else {
        return Err(OAuthError::invalid_client("unknown client_id", false));
    };
    match (&client.auth, body_secret) {
        (ClientAuth::None, None) => Ok(client),
        (ClientAuth::None, Some(_)) => {
            let why = format!("public client {client_id:?} sent a client_secret");
            violation(ehr, &why);
            Err(OAuthError::invalid_client(why, false))
        }
        (ClientAuth::SecretPost(secret), Some(sent)) if wire::same_secret(sent, secret) => {
            Ok(client)
        }
        (ClientAuth::SecretPost(_), Some(_)) => {
            Err(OAuthError::invalid_client("wrong client secret", false))
        }
        (ClientAuth::SecretPost(_), None) => {
            let why =
                format!("client {client_id:?} uses client_secret_post but sent no client_secret");
            violation(ehr, &why);
            Err(OAuthError::invalid_client(why, false))
        }
        (auth @ (ClientAuth::SecretBasic(_) | ClientAuth::PrivateKeyJwt { .. }), sent) => {
            let used = match (sent, auth) {
                (Some(_), _) => "client_secret_post",
                (None, ClientAuth::PrivateKeyJwt { .. }) => "no client_assertion",
                (None, _) => "no secret",
            };
            let why = format!(
                "client {client_id:?} is registered for {} but used {used}",
                method_name(auth)
            );
            violation(ehr, &why);
            Err(OAuthError::invalid_client(why, false))
        }
    }
}

/// The RFC 7591 name of a registered authentication method.
pub(super) fn method_name(auth: &ClientAuth) -> &'static str {
    match auth {
        ClientAuth::None => "none",
        ClientAuth::SecretBasic(_) => "client_secret_basic",
        ClientAuth::SecretPost(_) => "client_secret_post",
        ClientAuth::PrivateKeyJwt { .. } => "private_key_jwt",
    }
}

fn violation(ehr: &Ehr, why: &str) {
    ehr.with(|s| s.violation(format!("token: {why}")));
}
