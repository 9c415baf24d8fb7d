//! CSRF protection for the POST forms without server-side state (OWASP's signed double-submit
//! cookie): a page with a form sets a token in an HttpOnly cookie and in the form; a POST passes
//! only when both carry the same token and the token is bound to this browser's session. Anonymous
//! visitors of `/` thus cost no stored session.
//!
//! The token is `nonce.mac`, the MAC (keyed by the sealing key, so every instance sharing it
//! agrees) over the nonce and the browser's session cookie: a token minted for one session does
//! not pass with another, so a cookie planted in a victim's browser (from a sibling subdomain or
//! over plain http) opens nothing there. On an https `public_url` the cookie is `__Host-sld_csrf`:
//! browsers accept a `__Host-` cookie only from that very origin over https, so it cannot be
//! planted at all. Plain http keeps `sld_csrf` (browsers refuse `__Host-` without `Secure`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

use super::AppState;
use super::session::{self, cookie};
use crate::config::{Config, CookieSameSite};
use crate::record::random_id;
use crate::seal::Sealer;

/// The CSRF cookie's name on plain http.
pub const COOKIE: &str = "sld_csrf";
/// The CSRF cookie's name when `public_url` is https.
pub const HOST_COOKIE: &str = "__Host-sld_csrf";

/// The cookie's name for this deployment.
pub fn cookie_name(config: &Config) -> &'static str {
    if config.public_url.scheme() == "https" {
        HOST_COOKIE
    } else {
        COOKIE
    }
}

/// This browser's CSRF token: the cookie's, or a new one to set with the response.
pub struct Csrf {
    pub token: String,
    fresh: bool,
}

impl FromRequestParts<AppState> for Csrf {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let name = cookie_name(&state.config);
        Ok(
            match cookie(&parts.headers, name).filter(|t| bound(&state.sealer, &parts.headers, t)) {
                Some(t) => Csrf {
                    token: t.to_string(),
                    fresh: false,
                },
                // None yet, or one minted for another session (the session id changes when a
                // session starts and after a token exchange): a new one.
                None => Csrf {
                    token: mint(&state.sealer, &parts.headers),
                    fresh: true,
                },
            },
        )
    }
}

/// The session the token is bound to: the session cookie's value, empty before there is one.
fn binding(headers: &HeaderMap) -> &str {
    cookie(headers, session::COOKIE).unwrap_or("")
}

fn mac(sealer: &Sealer, nonce: &str, binding: &str) -> String {
    sealer.mac(&["csrf", nonce, binding])
}

fn mint(sealer: &Sealer, headers: &HeaderMap) -> String {
    let nonce = random_id();
    let tag = mac(sealer, &nonce, binding(headers));
    format!("{nonce}.{tag}")
}

/// Whether `token` is well formed and was minted for this request's session.
fn bound(sealer: &Sealer, headers: &HeaderMap, token: &str) -> bool {
    let Some((nonce, tag)) = token.split_once('.') else {
        return false;
    };
    let ok = |s: &str| {
        (16..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    ok(nonce) && ok(tag) && equal(tag, &mac(sealer, nonce, binding(headers)))
}

/// Constant-time comparison.
fn equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
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
                "{}={}; Path=/; HttpOnly; SameSite={same_site}{secure}",
                cookie_name(config),
                self.token
            );
            if let Ok(v) = HeaderValue::from_str(&value) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        resp
    }
}

/// Whether the form's `token` equals the request's CSRF cookie (constant time) and that token
/// was minted for this browser's session.
pub fn verify(state: &AppState, headers: &HeaderMap, token: &str) -> bool {
    let Some(ours) = cookie(headers, cookie_name(&state.config)) else {
        return false;
    };
    equal(ours, token) && bound(&state.sealer, headers, ours)
}
