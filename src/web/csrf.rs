//! CSRF protection for the POST forms without server-side state (OWASP's double-submit cookie):
//! a page with a form sets a random token in an HttpOnly cookie and in the form; a POST passes
//! only when both carry the same token. Anonymous visitors of `/` thus cost no stored session.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

use super::session::cookie;
use crate::config::{Config, CookieSameSite};
use crate::record::random_id;

/// The CSRF cookie's name.
pub const COOKIE: &str = "sld_csrf";

/// This browser's CSRF token: the cookie's, or a new one to set with the response.
pub struct Csrf {
    pub token: String,
    fresh: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Csrf {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(
            match cookie(&parts.headers, COOKIE).filter(|t| well_formed(t)) {
                Some(t) => Csrf {
                    token: t.to_string(),
                    fresh: false,
                },
                None => Csrf {
                    token: random_id(),
                    fresh: true,
                },
            },
        )
    }
}

fn well_formed(t: &str) -> bool {
    (16..=64).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Csrf {
    /// Sets the cookie on `resp` when the token is new.
    pub fn attach(&self, config: &Config, mut resp: Response) -> Response {
        if self.fresh {
            let same_site = match config.cookie_same_site {
                CookieSameSite::Lax => "Lax",
                CookieSameSite::None => "None",
            };
            let secure = if config.public_url.scheme() == "https" {
                "; Secure"
            } else {
                ""
            };
            let value = format!(
                "{COOKIE}={}; Path=/; HttpOnly; SameSite={same_site}{secure}",
                self.token
            );
            if let Ok(v) = HeaderValue::from_str(&value) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        resp
    }
}

/// Whether the form's `token` equals the request's CSRF cookie (constant time).
pub fn verify(headers: &HeaderMap, token: &str) -> bool {
    let Some(ours) = cookie(headers, COOKIE) else {
        return false;
    };
    let ours = ours.as_bytes();
    ours.len() >= 16
        && ours.len() == token.len()
        && ours
            .iter()
            .zip(token.as_bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}
