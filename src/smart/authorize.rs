//! The authorization request: PKCE S256, a fresh single-use `state`, `aud` = the FHIR base,
//! `launch` on an EHR launch only.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};

/// A built authorization request and the secrets that must stay on our side.
pub struct AuthorizeRequest {
    /// Where to send the browser.
    pub url: String,
    /// 128 bits from the CSPRNG (oauth2's `CsrfToken::new_random`).
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
/// The authorization URL as a launch record shows it afterwards: rebuilt from the same
/// parameters, the code challenge derived from the kept verifier, and `state` (of which only a
/// hash is kept) as `[not kept]`.
pub fn shown(p: &AuthorizeParams<'_>, verifier: &str) -> Result<String, String> {
    let challenge =
        PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier.into()));
    let (url, _) = request(p, challenge, || CsrfToken::new("[not kept]".into()))?;
    Ok(url)
}

pub fn build(p: &AuthorizeParams<'_>) -> Result<AuthorizeRequest, String> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = request(p, challenge, CsrfToken::new_random)?;
    Ok(AuthorizeRequest {
        url,
        state,
        verifier: verifier.secret().clone(),
    })
}

fn request(
    p: &AuthorizeParams<'_>,
    challenge: PkceCodeChallenge,
    state: impl FnOnce() -> CsrfToken,
) -> Result<(String, String), String> {
    let auth_url = AuthUrl::new(p.authorization_endpoint.to_string())
        .map_err(|e| format!("authorization_endpoint {:?}: {e}", p.authorization_endpoint))?;
    let redirect = RedirectUrl::new(p.redirect_uri.to_string())
        .map_err(|e| format!("redirect_uri {:?}: {e}", p.redirect_uri))?;
    let client = BasicClient::new(ClientId::new(p.client_id.to_string()))
        .set_auth_uri(auth_url)
        .set_redirect_uri(redirect);
    let mut req = client
        .authorize_url(state)
        .set_pkce_challenge(challenge)
        .add_scopes(
            p.scope
                .split_whitespace()
                .map(|s| Scope::new(s.to_string())),
        )
        .add_extra_param("aud", p.aud);
    if let Some(launch) = p.launch {
        req = req.add_extra_param("launch", launch);
    }
    let (url, state) = req.url();
    Ok((url.to_string(), state.secret().clone()))
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
