//! The authorization request: PKCE S256, a fresh single-use `state`, `aud` = the FHIR base,
//! `launch` on an EHR launch only.

use std::sync::Arc;

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

impl AuthorizeRequest {
    /// The URL as a launch record shows it: the same request with `state` (of which only a hash
    /// is kept) as `[not kept]`, as [`shown`] rebuilds it later.
    pub fn shown(&self) -> String {
        // `state` is URL-safe base64 (the same encoded) and random: it occurs only as itself, and
        // wherever it occurs it is withheld. Written into one allocation of the final size.
        const WITHHELD: &str = "%5Bnot+kept%5D";
        let mut shown = String::with_capacity(self.url.len() + WITHHELD.len());
        let mut rest = 0;
        for (at, _) in self.url.match_indices(&self.state) {
            shown.push_str(&self.url[rest..at]);
            shown.push_str(WITHHELD);
            rest = at + self.state.len();
        }
        shown.push_str(&self.url[rest..]);
        shown
    }
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

/// The URL: the endpoint (its own query kept) plus the parameters of RFC 6749 §4.1.1 and SMART.
/// Everything but `state`, `code_challenge` and `launch` depends only on the endpoint and the
/// registration, so that part is parsed and encoded once (see [`prefix`]) and each launch appends
/// its own three values.
fn request(p: &AuthorizeParams<'_>, challenge: &str, state: &str) -> Result<String, String> {
    let prefix = prefix(p)?;
    let launch_len = p.launch.map_or(0, |l| l.len() * 3 + 8);
    let mut url = String::with_capacity(prefix.len() + 80 + state.len() + launch_len);
    url.push_str(&prefix);
    // The query starts after the prefix's `?` (it always has one: the prefix appended pairs).
    let query_start = prefix.find('?').map_or(prefix.len(), |i| i + 1);
    let mut q = url::form_urlencoded::Serializer::for_suffix(url, query_start);
    q.append_pair("state", state)
        .append_pair("code_challenge", challenge);
    if let Some(launch) = p.launch {
        q.append_pair("launch", launch);
    }
    Ok(q.finish())
}

/// Authorization URLs without their per-launch values, by endpoint and registration (a pure
/// function of its key, so one table serves the whole process; bounded).
static PREFIXES: std::sync::LazyLock<moka::sync::Cache<Box<str>, Prefix>> =
    std::sync::LazyLock::new(|| moka::sync::Cache::new(1_000));

/// A prefix, or why the endpoint is unusable.
type Prefix = Result<Arc<str>, String>;

/// The endpoint with `response_type`, `client_id`, `code_challenge_method`, `redirect_uri`,
/// `scope` and `aud` appended, or why the endpoint is unusable. A fragment is dropped: an
/// authorization endpoint must not have one (RFC 6749 §3.1), and browsers never send it.
fn prefix(p: &AuthorizeParams<'_>) -> Result<Arc<str>, String> {
    let key: Box<str> = [
        p.authorization_endpoint,
        p.client_id,
        p.redirect_uri,
        p.scope,
        p.aud,
    ]
    .join("\0")
    .into();
    PREFIXES.get_with(key, || {
        let mut url = url::Url::parse(p.authorization_endpoint)
            .map_err(|e| format!("authorization_endpoint {:?}: {e}", p.authorization_endpoint))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "authorization_endpoint {:?} is not an http(s) URL",
                p.authorization_endpoint
            ));
        }
        url.set_fragment(None);
        let scope = p.scope.split_whitespace().collect::<Vec<_>>().join(" ");
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", p.client_id)
            .append_pair("code_challenge_method", "S256")
            .append_pair("redirect_uri", p.redirect_uri)
            .append_pair("scope", &scope)
            .append_pair("aud", p.aud);
        Ok(Arc::from(String::from(url)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn the_request_as_shown_is_the_one_rebuilt_from_its_verifier() {
        let p = AuthorizeParams {
            authorization_endpoint: "https://ehr.example/auth?tenant=t1",
            client_id: "app",
            redirect_uri: "http://127.0.0.1:8080/callback",
            scope: "launch openid patient/*.read",
            aud: "https://ehr.example/fhir",
            launch: Some("xyz"),
        };
        let req = build(&p).unwrap();
        let shown = req.shown();
        assert_eq!(shown, super::shown(&p, &req.verifier).unwrap());
        assert!(!shown.contains(&req.state));
        assert!(shown.contains("state=%5Bnot+kept%5D"));
    }

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
    fn each_launch_appends_its_own_values_to_the_shared_part() {
        let p = AuthorizeParams {
            authorization_endpoint: "https://ehr.example/auth?x=1#frag",
            client_id: "a b",
            redirect_uri: "http://127.0.0.1:8080/callback",
            scope: "openid",
            aud: "https://ehr.example/fhir",
            launch: Some("L&1"),
        };
        let (one, two) = (build(&p).unwrap(), build(&p).unwrap());
        assert_ne!(one.url, two.url, "fresh state and challenge each time");
        assert!(!one.url.contains('#'), "fragment dropped: {}", one.url);
        let url = url::Url::parse(&one.url).unwrap();
        let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(q["x"], "1");
        assert_eq!(q["client_id"], "a b");
        assert_eq!(q["launch"], "L&1");
        assert_eq!(q["state"], one.state);
        assert_eq!(q["code_challenge"], challenge(&one.verifier));
        let bad = AuthorizeParams {
            authorization_endpoint: "ftp://ehr.example/auth",
            ..p
        };
        assert!(build(&bad).is_err());
    }

    #[test]
    fn standalone_launch_sends_no_launch_parameter() {
        assert!(!params(None).contains_key("launch"));
    }
}
