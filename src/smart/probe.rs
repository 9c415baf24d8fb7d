//! The credential probe: a token request with a deliberately invalid code, authenticated exactly
//! as a real exchange. A server that authenticated the client answers `invalid_grant`; one that
//! rejected it answers `invalid_client`. Nothing is consumed and no user is involved.

use crate::smart::transcript::ExchangeStep;
use base64::Engine as _;

use super::http::{Outbound, Recorder};
use super::token::{self, ClientCredentials, ExchangeError, Exchanged, Grant, SentCredentials};

/// The code every probe sends: never a real one.
pub const PROBE_CODE: &str = "smart-launch-doctor-probe-not-a-real-code";
/// Transcript label of probe requests.
pub const STEP: ExchangeStep = ExchangeStep::Probe;

fn verifier() -> String {
    // 43 characters of the PKCE alphabet, so strict servers look at the code, not the verifier.
    format!("probe{}", "0".repeat(38))
}

/// The invalid-code probe, authenticated as configured.
pub async fn invalid_code(
    http: &Outbound,
    c: &ClientCredentials<'_>,
    redirect_uri: &str,
    rec: &Recorder,
) -> Result<Exchanged, ExchangeError> {
    let v = verifier();
    let grant = Grant::Code {
        code: PROBE_CODE,
        verifier: &v,
        redirect_uri,
    };
    token::request(http, c, &grant, STEP, rec).await
}

/// The same probe with Basic credentials *not* form-encoded first (what some servers expect,
/// against RFC 6749 §2.3.1). Built by hand: oauth2-rs always encodes.
pub async fn invalid_code_raw_basic(
    http: &Outbound,
    c: &ClientCredentials<'_>,
    redirect_uri: &str,
    rec: &Recorder,
) -> Result<Exchanged, ExchangeError> {
    let secret = c.auth.secret().map(|s| s.expose()).unwrap_or("");
    let credential =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{secret}", c.client_id));
    let authorization = format!("Basic {credential}");
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", PROBE_CODE)
        .append_pair("code_verifier", &verifier())
        .append_pair("redirect_uri", redirect_uri)
        .finish();
    let req = http::Request::post(c.token_endpoint)
        .header(http::header::ACCEPT, "application/json")
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(http::header::AUTHORIZATION, &authorization)
        .body(body.clone().into_bytes())
        .map_err(|e| ExchangeError::Setup(e.to_string()))?;
    let response = http
        .send(req, STEP, rec)
        .await
        .map_err(ExchangeError::Net)?;
    Ok(Exchanged {
        response,
        sent: SentCredentials {
            authorization: Some(authorization),
            body,
        },
    })
}

/// `client_credentials` with the registration's scope (backend clients).
pub async fn client_credentials(
    http: &Outbound,
    c: &ClientCredentials<'_>,
    scope: &str,
    rec: &Recorder,
) -> Result<Exchanged, ExchangeError> {
    token::request(http, c, &Grant::ClientCredentials { scope }, STEP, rec).await
}
