//! Token requests at the discovered token endpoint: the code exchange and the refresh, with the
//! registration's client authentication (none; client_secret_basic, form-encoded per RFC 6749
//! §2.3.1; client_secret_post; private_key_jwt). oauth2-rs builds the request; our HTTP adapter
//! records it and keeps the raw answer, which the diagnosis reads.

use crate::smart::transcript::ExchangeStep;
use std::sync::{Arc, Mutex};

use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, PkceCodeVerifier, RedirectUrl,
    RefreshToken, RequestTokenError, TokenUrl,
};

use super::client_auth::ASSERTION_TYPE;
use super::http::{NetError, Outbound, Recorder, Response};
use crate::config::ClientAuth;

/// Who is asking and how it authenticates.
pub struct ClientCredentials<'a> {
    pub token_endpoint: &'a str,
    pub client_id: &'a str,
    pub auth: &'a ClientAuth,
}

/// What is being exchanged.
pub enum Grant<'a> {
    Code {
        code: &'a str,
        verifier: &'a str,
        redirect_uri: &'a str,
    },
    Refresh {
        refresh_token: &'a str,
    },
    /// SMART Backend Services / RFC 6749 §4.4.
    ClientCredentials {
        scope: &'a str,
    },
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

/// Why the request produced no HTTP answer at all.
#[derive(Debug)]
pub enum ExchangeError {
    /// Our side could not build the request (bad endpoint URL, an assertion that would not sign).
    Setup(String),
    Net(NetError),
}

fn setup(e: impl std::fmt::Display) -> ExchangeError {
    ExchangeError::Setup(e.to_string())
}

/// Sends one token request; returns the raw HTTP answer, whatever its status.
pub async fn request(
    http: &Outbound,
    c: &ClientCredentials<'_>,
    grant: &Grant<'_>,
    step: ExchangeStep,
    rec: &Recorder,
) -> Result<Exchanged, ExchangeError> {
    let token_url = TokenUrl::new(c.token_endpoint.to_string())
        .map_err(|e| setup(format!("token_endpoint {:?}: {e}", c.token_endpoint)))?;
    let mut client =
        BasicClient::new(ClientId::new(c.client_id.to_string())).set_token_uri(token_url);
    let mut extra: Vec<(&str, String)> = Vec::new();
    client = match c.auth {
        // No secret set: oauth2-rs puts client_id in the body, as public clients must.
        ClientAuth::None => client.set_auth_type(AuthType::RequestBody),
        ClientAuth::Basic(s) => client
            .set_auth_type(AuthType::BasicAuth)
            .set_client_secret(ClientSecret::new(s.expose().to_string())),
        ClientAuth::Post(s) => client
            .set_auth_type(AuthType::RequestBody)
            .set_client_secret(ClientSecret::new(s.expose().to_string())),
        ClientAuth::PrivateKeyJwt(key) => {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let assertion = key
                .assertion(c.client_id, c.token_endpoint, now)
                .map_err(setup)?;
            extra.push(("client_assertion_type", ASSERTION_TYPE.to_string()));
            extra.push(("client_assertion", assertion));
            client.set_auth_type(AuthType::RequestBody)
        }
    };
    // oauth2-rs parses the answer and drops it; the adapter keeps the raw one for diagnosis.
    let raw: Arc<Mutex<Option<Exchanged>>> = Arc::default();
    // Owned clones: a future borrowing them would not be `Send` for every lifetime axum needs.
    let (outbound, recorder, slot, step) = (http.clone(), rec.clone(), raw.clone(), step);
    let adapter = move |req: oauth2::HttpRequest| {
        let (http, rec, raw, step) = (outbound.clone(), recorder.clone(), slot.clone(), step);
        async move {
            let sent = SentCredentials {
                authorization: req
                    .headers()
                    .get(http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
                body: String::from_utf8_lossy(req.body()).into_owned(),
            };
            let resp = http.send(req, step, &rec).await?;
            let response = clone_response(&resp);
            *raw.lock().unwrap_or_else(|p| p.into_inner()) = Some(Exchanged { response, sent });
            Ok::<_, NetError>(resp)
        }
    };
    let result = match grant {
        Grant::Code {
            code,
            verifier,
            redirect_uri,
        } => {
            let redirect = RedirectUrl::new(redirect_uri.to_string())
                .map_err(|e| setup(format!("redirect_uri {redirect_uri:?}: {e}")))?;
            let client = client.set_redirect_uri(redirect);
            let mut req = client
                .exchange_code(AuthorizationCode::new(code.to_string()))
                .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()));
            for (k, v) in &extra {
                req = req.add_extra_param(*k, v.clone());
            }
            req.request_async(&adapter).await.map(|_| ())
        }
        Grant::ClientCredentials { scope } => {
            let mut req = client.exchange_client_credentials();
            for s in scope.split_whitespace() {
                req = req.add_scope(oauth2::Scope::new(s.to_string()));
            }
            for (k, v) in &extra {
                req = req.add_extra_param(*k, v.clone());
            }
            req.request_async(&adapter).await.map(|_| ())
        }
        Grant::Refresh { refresh_token } => {
            let token = RefreshToken::new(refresh_token.to_string());
            let mut req = client.exchange_refresh_token(&token);
            for (k, v) in &extra {
                req = req.add_extra_param(*k, v.clone());
            }
            req.request_async(&adapter).await.map(|_| ())
        }
    };
    if let Err(RequestTokenError::Request(e)) = result {
        return Err(ExchangeError::Net(e));
    }
    let kept = raw.lock().unwrap_or_else(|p| p.into_inner()).take();
    kept.ok_or_else(|| setup("the token request was not sent"))
}

fn clone_response(resp: &Response) -> Response {
    let mut out = http::Response::new(resp.body().clone());
    *out.status_mut() = resp.status();
    *out.headers_mut() = resp.headers().clone();
    out
}
