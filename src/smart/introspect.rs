//! RFC 7662 introspection of a launch's access token at the discovered
//! `introspection_endpoint`, authenticated as the registration authenticates at the token
//! endpoint; a public client sends the access token itself as Bearer. Returns the raw answer
//! (evidence); `diagnosis::introspection` compares it with the token response.

use crate::smart::transcript::ExchangeStep;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client_auth::ASSERTION_TYPE;
use super::http::{NetError, Outbound, Recorder};
use super::token::ClientCredentials;
use crate::config::ClientAuth;

/// What the introspection endpoint answered: status and JSON body (tokens redacted before it is
/// stored: `transcript::redact_json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Introspection {
    pub endpoint: String,
    /// `None` when no HTTP answer came back (`error` says why).
    pub status: Option<u16>,
    pub answer: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The address policy refused the endpoint (not stored: the diagnosis made of it is).
    #[serde(skip)]
    pub refused: Option<NetError>,
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// One introspection request for `access_token` at `endpoint`.
pub async fn introspect(
    http: &Outbound,
    endpoint: &str,
    access_token: &str,
    c: &ClientCredentials<'_>,
    rec: &Recorder,
) -> Introspection {
    let mut out = Introspection {
        endpoint: endpoint.to_string(),
        status: None,
        answer: None,
        error: None,
        refused: None,
    };
    let mut pairs: Vec<(&str, String)> = vec![
        ("token", access_token.to_string()),
        ("token_type_hint", "access_token".into()),
    ];
    let mut authorization = None;
    match c.auth {
        ClientAuth::None => authorization = Some(format!("Bearer {access_token}")),
        ClientAuth::Basic(s) => {
            // RFC 6749 §2.3.1: form-encode both before base64, as at the token endpoint.
            let enc =
                |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
            let raw = format!("{}:{}", enc(c.client_id), enc(s.expose()));
            authorization = Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            ));
        }
        ClientAuth::Post(s) => {
            pairs.push(("client_id", c.client_id.to_string()));
            pairs.push(("client_secret", s.expose().to_string()));
        }
        ClientAuth::PrivateKeyJwt(key) => {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            match key.assertion(c.client_id, endpoint, now) {
                Ok(a) => {
                    pairs.push(("client_assertion_type", ASSERTION_TYPE.to_string()));
                    pairs.push(("client_assertion", a));
                }
                Err(why) => {
                    out.error = Some(why);
                    return out;
                }
            }
        }
    }
    let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut req = http::Request::post(endpoint)
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(http::header::ACCEPT, "application/json");
    if let Some(a) = authorization {
        req = req.header(http::header::AUTHORIZATION, a);
    }
    let req = match req.body(form(&borrowed).into_bytes()) {
        Ok(r) => r,
        Err(e) => {
            out.error = Some(e.to_string());
            return out;
        }
    };
    match http.send(req, ExchangeStep::Introspection, rec).await {
        Ok(resp) => {
            out.status = Some(resp.status().as_u16());
            out.answer = serde_json::from_slice::<Value>(resp.body())
                .ok()
                .filter(Value::is_object)
                .map(|mut v| {
                    super::transcript::redact_json(&mut v);
                    v
                });
        }
        Err(e) => {
            out.error = Some(e.to_string());
            out.refused = matches!(e, NetError::PrivateTarget { .. }).then_some(e);
        }
    }
    out
}
