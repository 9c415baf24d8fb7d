//! The support view's token: read from the environment at start-up, compared in constant time
//! (`subtle`), and the value of the sign-in cookie it implies (an HMAC of a fixed label keyed
//! with the token: never the token, and void once the token changes).

use axum::http::{HeaderMap, header};
use subtle::ConstantTimeEq;

use super::admin::COOKIE;
use super::session::cookie;
use crate::config::Secret;

/// The shortest token accepted at start-up.
const MIN_TOKEN_CHARS: usize = 16;
const COOKIE_LABEL: &[u8] = b"smart-launch-doctor support view cookie v1";

/// The token (from the environment, at start-up) and the cookie value it implies.
pub struct AdminToken {
    token: Secret,
    cookie: String,
}

impl AdminToken {
    /// The token held by the environment variable `var`: at least 16 characters.
    pub fn from_env(var: &str) -> Result<Self, String> {
        let token =
            std::env::var(var).map_err(|_| format!("the environment variable {var} is not set"))?;
        let token = token.trim().to_string();
        if token.chars().count() < MIN_TOKEN_CHARS {
            return Err(format!(
                "{var} must hold a token of at least {MIN_TOKEN_CHARS} characters"
            ));
        }
        Ok(AdminToken::new(&token))
    }

    pub fn new(token: &str) -> Self {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, token.as_bytes());
        let tag = aws_lc_rs::hmac::sign(&key, COOKIE_LABEL);
        let cookie = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        AdminToken {
            token: Secret::new(token),
            cookie,
        }
    }

    pub(super) fn token_is(&self, given: &str) -> bool {
        bool::from(
            self.token
                .expose()
                .as_bytes()
                .ct_eq(given.trim().as_bytes()),
        )
    }

    /// Whether the request carries the token (Bearer) or the sign-in cookie.
    pub(super) fn admits(&self, headers: &HeaderMap) -> bool {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| self.token_is(t));
        let cookie = cookie(headers, COOKIE)
            .is_some_and(|c| bool::from(self.cookie.as_bytes().ct_eq(c.as_bytes())));
        bearer || cookie
    }
}

impl AdminToken {
    /// The sign-in cookie's value.
    pub(super) fn cookie(&self) -> &str {
        &self.cookie
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use axum::http::HeaderValue;

    #[test]
    fn bearer_or_cookie_admits_and_nothing_else() {
        let a = AdminToken::new("a-support-token-of-some-length");
        let mut h = HeaderMap::new();
        assert!(!a.admits(&h));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer a-support-token-of-some-length"),
        );
        assert!(a.admits(&h));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer a-support-token-of-some-lengtH"),
        );
        assert!(!a.admits(&h));
        let mut c = HeaderMap::new();
        let cookie = format!("sld_admin={}", a.cookie);
        c.insert(header::COOKIE, HeaderValue::from_str(&cookie).unwrap());
        assert!(a.admits(&c));
        assert!(!a.cookie.contains("support-token"));
        assert!(!AdminToken::new("another-support-token-here").admits(&c));
    }
}
