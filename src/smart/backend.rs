//! SMART Backend Services on the wire: the `client_credentials` token request with a client
//! assertion (built by [`super::token`] with [`super::client_auth`]), and two cheap probes of
//! the server's side of the rules, each labelled in the transcript: a bogus `grant_type` and a
//! bogus `client_assertion_type`, both with a freshly signed assertion. Evidence only.

use super::client_auth::{ASSERTION_TYPE, SigningKey};
use super::http::{NetError, Outbound, Recorder};
use super::token::{self, ClientCredentials, ExchangeError, Exchanged, Grant};
use crate::smart::transcript::ExchangeStep;

/// Transcript label of the token request.
pub const STEP: ExchangeStep = ExchangeStep::Token;
/// Transcript label of the bogus `grant_type` probe.
pub const PROBE_GRANT_TYPE: ExchangeStep = ExchangeStep::BackendGrantType;
/// Transcript label of the bogus `client_assertion_type` probe.
pub const PROBE_ASSERTION_TYPE: ExchangeStep = ExchangeStep::BackendAssertionType;
/// The grant type no server supports.
pub const BOGUS_GRANT_TYPE: &str = "urn:smart-launch-doctor:probe:not-a-grant-type";
/// The assertion type no server supports.
pub const BOGUS_ASSERTION_TYPE: &str = "urn:smart-launch-doctor:probe:not-an-assertion-type";

/// `client_credentials` with `scope`, authenticated with a client assertion.
pub async fn token(
    http: &Outbound,
    c: &ClientCredentials<'_>,
    scope: &str,
    rec: &Recorder,
) -> Result<Exchanged, ExchangeError> {
    token::request(http, c, &Grant::ClientCredentials { scope }, STEP, rec).await
}

/// A probe's answer: status and body.
pub struct Probed {
    pub status: u16,
    pub body: String,
}

/// The two probes' answers, `None` for one that got no HTTP answer.
pub struct Probes {
    pub grant_type: Option<Probed>,
    pub assertion_type: Option<Probed>,
}

/// Both probes, one after the other.
pub async fn probes(
    http: &Outbound,
    c: &ClientCredentials<'_>,
    key: &SigningKey,
    scope: &str,
    rec: &Recorder,
) -> Probes {
    let grant = [
        ("grant_type", BOGUS_GRANT_TYPE),
        ("scope", scope),
        ("client_assertion_type", ASSERTION_TYPE),
    ];
    let assertion = [
        ("grant_type", "client_credentials"),
        ("scope", scope),
        ("client_assertion_type", BOGUS_ASSERTION_TYPE),
    ];
    Probes {
        grant_type: probe(http, c, key, &grant, PROBE_GRANT_TYPE, rec)
            .await
            .ok(),
        assertion_type: probe(http, c, key, &assertion, PROBE_ASSERTION_TYPE, rec)
            .await
            .ok(),
    }
}

/// One form POST to the token endpoint with `fields` and a new assertion (a `jti` is never
/// reused, so the probe cannot be refused for a replay).
async fn probe(
    http: &Outbound,
    c: &ClientCredentials<'_>,
    key: &SigningKey,
    fields: &[(&str, &str)],
    step: ExchangeStep,
    rec: &Recorder,
) -> Result<Probed, NetError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let assertion = key
        .assertion(c.client_id, c.token_endpoint, now)
        .map_err(NetError::Other)?;
    // Built in a block: the serializer is not `Send` and must not live across the await.
    let body = {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            form.append_pair(k, v);
        }
        form.append_pair("client_assertion", &assertion).finish()
    };
    let req = http::Request::post(c.token_endpoint)
        .header(http::header::ACCEPT, "application/json")
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body.into_bytes())
        .map_err(|e| NetError::Other(e.to_string()))?;
    let resp = http.send(req, step, rec).await?;
    Ok(Probed {
        status: resp.status().as_u16(),
        body: String::from_utf8_lossy(resp.body()).into_owned(),
    })
}
