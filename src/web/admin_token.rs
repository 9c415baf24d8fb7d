//! The support view's token: read from the environment at start-up, compared in constant time
//! (`subtle`), and the sign-in cookies it authenticates.
//!
//! A cookie value is `v2.ISSUED.NONCE.TAG`: `ISSUED` the Unix time of the sign-in (seconds),
//! `NONCE` 16 random bytes and `TAG` an HMAC-SHA256 keyed with the token over a label, `ISSUED`
//! and `NONCE` (both base64url without padding). Every sign-in issues a distinct value; the
//! server refuses one whose tag does not match (compared in constant time), that is older than
//! 8 hours, or whose nonce was signed out (`POST /admin/logout` puts the nonce in a bounded
//! in-memory cache that keeps it 8 hours, the cookie's lifetime, and a hash of it in the shared
//! store when Redis or SQLite is configured, so every instance refuses it: `web::admin`). The value never holds the
//! token, and every value stops working when the token changes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use subtle::ConstantTimeEq;

use super::admin::COOKIE;
use super::session::cookie;
use crate::config::Secret;

/// The shortest token accepted at start-up.
const MIN_TOKEN_CHARS: usize = 16;
const COOKIE_LABEL: &[u8] = b"smart-launch-doctor support view cookie v2";
const VERSION: &str = "v2";
/// How long a sign-in lasts (also the cookie's `Max-Age`).
pub const LIFETIME_SECS: u64 = 8 * 60 * 60;
/// How far in the future an issue time may lie (clocks of several instances differ a little).
const SKEW_SECS: u64 = 5 * 60;
/// Signed-out nonces remembered at most (each sign-in is rate limited, so this is generous).
const MAX_REVOKED: u64 = 100_000;

/// The token (from the environment, at start-up), the HMAC key it implies and the nonces of
/// cookies signed out in the last 8 hours.
pub struct AdminToken {
    token: Secret,
    key: aws_lc_rs::hmac::Key,
    revoked: moka::sync::Cache<String, ()>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
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
        AdminToken {
            token: Secret::new(token),
            key: aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, token.as_bytes()),
            revoked: moka::sync::Cache::builder()
                .max_capacity(MAX_REVOKED)
                .time_to_live(Duration::from_secs(LIFETIME_SECS))
                .build(),
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

    /// Whether the request carries the token (`Bearer`, scheme in any case) or a live sign-in
    /// cookie.
    pub(super) fn admits(&self, headers: &HeaderMap) -> bool {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim_start().split_once(' '))
            .is_some_and(|(scheme, t)| scheme.eq_ignore_ascii_case("bearer") && self.token_is(t));
        bearer || self.signed_in(headers)
    }

    /// Whether the request carries the token as a Bearer (no cookie involved).
    pub(super) fn bearer(&self, headers: &HeaderMap) -> bool {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim_start().split_once(' '))
            .is_some_and(|(scheme, t)| scheme.eq_ignore_ascii_case("bearer") && self.token_is(t))
    }

    /// The key a signed-out sign-in is shared under (a hash of its nonce, never the cookie),
    /// when the request carries a live sign-in cookie.
    pub(super) fn shared_key(&self, headers: &HeaderMap) -> Option<String> {
        use sha2::Digest;
        let nonce = cookie(headers, COOKIE).and_then(|c| self.verify_at(c, now_secs()))?;
        let digest = sha2::Sha256::digest(format!("sld-admin-signout|{nonce}").as_bytes());
        Some(B64.encode(digest))
    }

    /// Whether the request carries a sign-in cookie that is authentic, recent and not signed out.
    fn signed_in(&self, headers: &HeaderMap) -> bool {
        cookie(headers, COOKIE)
            .and_then(|c| self.verify_at(c, now_secs()))
            .is_some()
    }

    /// A new sign-in cookie's value.
    pub(super) fn issue(&self) -> String {
        self.issue_at(now_secs(), &B64.encode(rand::random::<[u8; 16]>()))
    }

    fn issue_at(&self, issued: u64, nonce: &str) -> String {
        let tag = self.tag(issued, nonce);
        format!("{VERSION}.{issued}.{nonce}.{}", B64.encode(tag.as_ref()))
    }

    fn tag(&self, issued: u64, nonce: &str) -> aws_lc_rs::hmac::Tag {
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&self.key);
        ctx.update(COOKIE_LABEL);
        ctx.update(format!("|{issued}|{nonce}").as_bytes());
        ctx.sign()
    }

    /// The nonce of `value` when it is authentic, issued within 8 hours before `now` and not
    /// signed out.
    fn verify_at(&self, value: &str, now: u64) -> Option<String> {
        let mut parts = value.split('.');
        let (version, issued, nonce, tag) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || version != VERSION || nonce.is_empty() {
            return None;
        }
        let issued_at: u64 = issued.parse().ok()?;
        let given = B64.decode(tag).ok()?;
        let expected = self.tag(issued_at, nonce);
        let authentic = bool::from(expected.as_ref().ct_eq(given.as_slice()));
        // Only the canonical spelling of the time (no leading zeros or signs).
        let canonical = issued_at.to_string() == issued;
        let fresh = issued_at <= now.saturating_add(SKEW_SECS)
            && now.saturating_sub(issued_at) < LIFETIME_SECS;
        (authentic && canonical && fresh && !self.revoked.contains_key(nonce))
            .then(|| nonce.to_string())
    }

    /// Signs out the cookie the request carries, if it is a live one: its nonce is refused for
    /// the rest of its lifetime. Values that do not verify are not remembered.
    pub(super) fn revoke(&self, headers: &HeaderMap) {
        if let Some(nonce) = cookie(headers, COOKIE).and_then(|c| self.verify_at(c, now_secs())) {
            self.revoked.insert(nonce, ());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use axum::http::HeaderValue;

    fn with_cookie(value: &str) -> HeaderMap {
        let mut c = HeaderMap::new();
        let cookie = format!("sld_admin={value}");
        c.insert(header::COOKIE, HeaderValue::from_str(&cookie).unwrap());
        c
    }

    #[test]
    fn bearer_or_cookie_admits_and_nothing_else() {
        let a = AdminToken::new("a-support-token-of-some-length");
        let mut h = HeaderMap::new();
        assert!(!a.admits(&h));
        for ok in [
            "Bearer a-support-token-of-some-length",
            "bearer a-support-token-of-some-length",
            "BEARER  a-support-token-of-some-length",
        ] {
            h.insert(header::AUTHORIZATION, HeaderValue::from_static(ok));
            assert!(a.admits(&h), "{ok}");
        }
        for bad in [
            "Bearer a-support-token-of-some-lengtH",
            "Basic a-support-token-of-some-length",
            "Bearera-support-token-of-some-length",
            "a-support-token-of-some-length",
        ] {
            h.insert(header::AUTHORIZATION, HeaderValue::from_static(bad));
            assert!(!a.admits(&h), "{bad}");
        }
        let value = a.issue();
        let c = with_cookie(&value);
        assert!(a.admits(&c));
        assert!(!value.contains("support-token"));
        assert!(!AdminToken::new("another-support-token-here").admits(&c));
    }

    #[test]
    fn each_sign_in_is_distinct_and_signing_out_revokes_only_that_one() {
        let a = AdminToken::new("a-support-token-of-some-length");
        let (one, two) = (a.issue(), a.issue());
        assert_ne!(one, two);
        a.revoke(&with_cookie(&one));
        assert!(!a.admits(&with_cookie(&one)));
        assert!(a.admits(&with_cookie(&two)));
        // A value that does not verify is not remembered.
        a.revoke(&with_cookie("v2.1.x.y"));
        a.revoked.run_pending_tasks();
        assert_eq!(a.revoked.entry_count(), 1);
    }

    #[test]
    fn cookies_expire_after_eight_hours_and_forgeries_fail() {
        let a = AdminToken::new("a-support-token-of-some-length");
        let t = 1_800_000_000;
        let v = a.issue_at(t, "bm9uY2Utbm9uY2Utbm9uY2U");
        assert!(a.verify_at(&v, t).is_some());
        assert!(a.verify_at(&v, t + LIFETIME_SECS - 1).is_some());
        assert!(a.verify_at(&v, t + LIFETIME_SECS).is_none(), "expired");
        assert!(a.verify_at(&v, t - SKEW_SECS).is_some(), "small skew");
        assert!(
            a.verify_at(&v, t - SKEW_SECS - 1).is_none(),
            "from the future"
        );
        // Changing any part breaks the tag.
        let moved = v.replacen(&t.to_string(), &(t + 3600).to_string(), 1);
        assert!(a.verify_at(&moved, t + LIFETIME_SECS).is_none());
        let padded = v.replacen(&t.to_string(), &format!("0{t}"), 1);
        assert!(a.verify_at(&padded, t).is_none());
        let other_nonce = v.replacen("bm9uY2U", "bm9uY2X", 1);
        assert!(a.verify_at(&other_nonce, t).is_none());
        for junk in [
            "",
            "v2",
            "v2...",
            "v1.1.a.b",
            &format!("{v}.x"),
            &v[..v.len() - 2],
        ] {
            assert!(a.verify_at(junk, t).is_none(), "{junk}");
        }
        // Another token's key.
        let b = AdminToken::new("another-support-token-here");
        assert!(b.verify_at(&v, t).is_none());
    }
}
