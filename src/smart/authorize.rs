//! The authorization request: PKCE S256, a fresh single-use `state`, `aud` = the FHIR base,
//! `launch` on an EHR launch only.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use sha2::{Digest, Sha256};

/// A built authorization request and the secrets that must stay on our side.
pub struct AuthorizeRequest {
    /// Where to send the browser.
    pub url: String,
    /// 128 bits from the CSPRNG.
    pub state: String,
    /// 256 bits from the CSPRNG; only its S256 challenge leaves the server.
    pub verifier: String,
}

/// What the authorization request needs to know.
pub struct AuthorizeParams<'a> {
    pub authorization_endpoint: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub scope: &'a str,
    pub aud: &'a str,
    pub launch: Option<&'a str>,
}

/// Builds the authorization URL; an unusable endpoint URL is reported as text.
/// The PKCE S256 challenge of `verifier` (RFC 7636 §4.2).
fn challenge(verifier: &str) -> String {
    B64.encode(Sha256::digest(verifier.as_bytes()))
}

/// The authorization URL as a launch record shows it afterwards: rebuilt from the same
/// parameters, the code challenge derived from the kept verifier, and `state` (of which only a
/// hash is kept) as `[not kept]`.
pub fn shown(p: &AuthorizeParams<'_>, verifier: &str) -> Result<String, String> {
    request(p, &challenge(verifier), "[not kept]")
}

/// A fresh state (128 bits) and PKCE verifier (256 bits) from the CSPRNG (`rand`'s thread
/// generator, ChaCha12 reseeded from the OS), and the URL that carries the state and challenge.
pub fn build(p: &AuthorizeParams<'_>) -> Result<AuthorizeRequest, String> {
    let state = B64.encode(rand::random::<[u8; 16]>());
    let verifier = B64.encode(rand::random::<[u8; 32]>());
    let url = request(p, &challenge(&verifier), &state)?;
    Ok(AuthorizeRequest {
        url,
        state,
        verifier,
    })
}

/// The URL: the endpoint (its own query kept) plus the parameters in RFC 6749 §4.1.1 order,
/// built in one pass over one parse (this runs on every launch).
fn request(p: &AuthorizeParams<'_>, challenge: &str, state: &str) -> Result<String, String> {
    let mut url = url::Url::parse(p.authorization_endpoint)
        .map_err(|e| format!("authorization_endpoint {:?}: {e}", p.authorization_endpoint))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "authorization_endpoint {:?} is not an http(s) URL",
            p.authorization_endpoint
        ));
    }
    let scope = p.scope.split_whitespace().collect::<Vec<_>>().join(" ");
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", p.client_id)
            .append_pair("state", state)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("redirect_uri", p.redirect_uri)
            .append_pair("scope", &scope)
            .append_pair("aud", p.aud);
        if let Some(launch) = p.launch {
            q.append_pair("launch", launch);
        }
    }
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn params(launch: Option<&str>) -> HashMap<String, String> {
        let req = build(&AuthorizeParams {
            authorization_endpoint: "https://ehr.example/auth?tenant=t1",
            client_id: "app",
            redirect_uri: "http://127.0.0.1:8080/callback",
            scope: "launch  openid patient/*.read",
            aud: "https://ehr.example/fhir",
            launch,
        })
        .unwrap();
        let url = url::Url::parse(&req.url).unwrap();
        let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(q["state"], req.state);
        assert!(req.state.len() >= 22, "state carries at least 128 bits");
        assert!(req.verifier.len() >= 43);
        q
    }

    #[test]
    fn ehr_launch_sends_every_required_parameter() {
        let q = params(Some("L1"));
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "app");
        assert_eq!(q["redirect_uri"], "http://127.0.0.1:8080/callback");
        assert_eq!(q["scope"], "launch openid patient/*.read");
        assert_eq!(q["aud"], "https://ehr.example/fhir");
        assert_eq!(q["launch"], "L1");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["tenant"], "t1", "existing query parameters are kept");
    }

    #[test]
    fn standalone_launch_sends_no_launch_parameter() {
        assert!(!params(None).contains_key("launch"));
    }
}
