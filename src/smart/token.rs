//! The code exchange at the discovered token endpoint, with the registration's client
//! authentication (none, client_secret_basic per RFC 6749 §2.3.1, client_secret_post).
//! oauth2-rs builds the request; our HTTP adapter records it and keeps the raw answer, which
//! the diagnosis reads.

use std::sync::{Arc, Mutex};

use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, TokenUrl,
};

use super::http::{NetError, Outbound, Recorder, Response};
use crate::config::{AuthMethod, Secret};

/// What the exchange needs.
pub struct ExchangeParams<'a> {
    pub token_endpoint: &'a str,
    pub client_id: &'a str,
    pub auth: AuthMethod,
    pub secret: Option<&'a Secret>,
    pub code: &'a str,
    pub verifier: &'a str,
    pub redirect_uri: &'a str,
}

/// The client credentials as they went out, for the self-check. Lives in memory for one
/// classification only; `Debug` shows nothing.
pub struct SentCredentials {
    pub authorization: Option<String>,
    pub body: String,
}

impl std::fmt::Debug for SentCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SentCredentials([redacted])")
    }
}

/// The raw answer and what was sent.
pub struct Exchanged {
    pub response: Response,
    pub sent: SentCredentials,
}

/// Why the exchange produced no HTTP answer at all.
#[derive(Debug)]
pub enum ExchangeError {
    /// Our side could not build the request (bad endpoint URL, unsupported method).
    Setup(String),
    Net(NetError),
}

/// Exchanges the code; returns the raw HTTP answer, whatever its status.
pub async fn exchange_code(
    http: &Outbound,
    p: &ExchangeParams<'_>,
    rec: &Recorder,
) -> Result<Exchanged, ExchangeError> {
    let token_url = TokenUrl::new(p.token_endpoint.to_string())
        .map_err(|e| ExchangeError::Setup(format!("token_endpoint {:?}: {e}", p.token_endpoint)))?;
    let redirect = RedirectUrl::new(p.redirect_uri.to_string())
        .map_err(|e| ExchangeError::Setup(format!("redirect_uri {:?}: {e}", p.redirect_uri)))?;
    let mut client = BasicClient::new(ClientId::new(p.client_id.to_string()))
        .set_token_uri(token_url)
        .set_redirect_uri(redirect);
    client = match (p.auth, p.secret) {
        // No secret: oauth2-rs puts client_id in the body, as public clients must.
        (AuthMethod::None, _) => client.set_auth_type(AuthType::RequestBody),
        (AuthMethod::ClientSecretBasic, Some(s)) => client
            .set_auth_type(AuthType::BasicAuth)
            .set_client_secret(ClientSecret::new(s.expose().to_string())),
        (AuthMethod::ClientSecretPost, Some(s)) => client
            .set_auth_type(AuthType::RequestBody)
            .set_client_secret(ClientSecret::new(s.expose().to_string())),
        (AuthMethod::PrivateKeyJwt, _) => {
            return Err(ExchangeError::Setup(
                "private_key_jwt is not supported yet".into(),
            ));
        }
        (m, None) => {
            return Err(ExchangeError::Setup(format!(
                "{} needs a client secret",
                m.as_str()
            )));
        }
    };
    // oauth2-rs parses the answer and drops it; the adapter keeps the raw one for diagnosis.
    let raw: Arc<Mutex<Option<Exchanged>>> = Arc::default();
    // Owned clones: a future borrowing them would not be `Send` for every lifetime axum needs.
    let (outbound, recorder, slot) = (http.clone(), rec.clone(), raw.clone());
    let adapter = move |req: oauth2::HttpRequest| {
        let (http, rec, raw) = (outbound.clone(), recorder.clone(), slot.clone());
        async move {
            let sent = SentCredentials {
                authorization: req
                    .headers()
                    .get(http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
                body: String::from_utf8_lossy(req.body()).into_owned(),
            };
            let resp = http.send(req, "token", &rec).await?;
            let response = clone_response(&resp);
            *raw.lock().unwrap_or_else(|p| p.into_inner()) = Some(Exchanged { response, sent });
            Ok::<_, NetError>(resp)
        }
    };
    let result = client
        .exchange_code(AuthorizationCode::new(p.code.to_string()))
        .set_pkce_verifier(PkceCodeVerifier::new(p.verifier.to_string()))
        .request_async(&adapter)
        .await;
    if let Err(RequestTokenError::Request(e)) = result {
        return Err(ExchangeError::Net(e));
    }
    let kept = raw.lock().unwrap_or_else(|p| p.into_inner()).take();
    kept.ok_or_else(|| ExchangeError::Setup("the token request was not sent".into()))
}

fn clone_response(resp: &Response) -> Response {
    let mut out = http::Response::new(resp.body().clone());
    *out.status_mut() = resp.status();
    *out.headers_mut() = resp.headers().clone();
    out
}
