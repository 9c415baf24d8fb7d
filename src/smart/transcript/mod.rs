//! The transcript: every outbound exchange of a launch, timed and redacted.
//!
//! Redaction happens when an exchange is recorded, so nothing downstream (pages, JSON, logs) can
//! show a secret by accident. A redacted value becomes a marker with its length and a short
//! fingerprint. Tokens keep a plain SHA-256 prefix (two people can tell whether they hold the same
//! token); client secrets, codes, verifiers and key material get an HMAC-SHA256 prefix under a
//! random per-process key, so a shared report cannot be used to test guesses offline.
//!
//! [`Gate`] is the last filter every output passes through (result page, JSON twin, reports): it
//! knows the configured secrets and removes each in every form it may take.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::spelling::Spelled;

/// Form fields, query parameters and JSON members whose values are secrets in any context.
/// `code` is not among them: it is a secret only in the callback query and the token request
/// (forms, see [`redact_form`]); FHIR resources carry `code` members that must stay readable.
const SECRET_FIELDS: &[&str] = &[
    "client_secret",
    "code_verifier",
    "client_assertion",
    "refresh_token",
    "access_token",
    "id_token",
    "password",
    "assertion",
    // RFC 7662 introspection request: the token being introspected.
    "token",
];

/// Bodies kept in a transcript are cut at this many bytes.
pub const BODY_CAP: usize = 16 * 1024;

mod gate;
mod redact;
mod step;
#[cfg(test)]
mod tests;

pub use gate::*;
pub use redact::*;
pub use step::ExchangeStep;

/// One outbound request and what came back (or why nothing did).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// The launch step it belongs to: `discovery`, `token`, …
    pub step: ExchangeStep,
    pub method: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    pub request_body: Option<String>,
    pub status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
    pub duration_ms: u64,
    /// The network or TLS failure, when there was no response.
    pub error: Option<String>,
    /// Made for an earlier launch and served from the cache (discovery documents).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
}

/// Shortens upstream text for evidence: at most `max` characters, control characters removed.
/// Only the head is looked at: an excerpt of a megabyte costs what one of a line does.
pub fn excerpt(text: &str, max: usize) -> String {
    let blank = |c: char| c.is_whitespace() || c.is_control();
    let mut chars = text.trim_start_matches(blank).chars();
    let head: String = chars
        .by_ref()
        .take(max)
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect();
    if chars.as_str().trim_end_matches(blank).is_empty() {
        head.trim_end().to_string()
    } else {
        format!("{head}…")
    }
}

/// Tokens: server-issued, high entropy; their markers keep a plain SHA-256 prefix.
pub(super) const TOKEN_FIELDS: &[&str] = &["access_token", "refresh_token", "id_token", "token"];

/// The per-process key of keyed fingerprints: random, never stored, never shown.
pub(super) fn fingerprint_key() -> &'static aws_lc_rs::hmac::Key {
    static KEY: OnceLock<aws_lc_rs::hmac::Key> = OnceLock::new();
    KEY.get_or_init(|| {
        aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &rand::random::<[u8; 32]>())
    })
}

pub(super) fn hex8(bytes: &[u8]) -> String {
    bytes[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// A keyed fingerprint for secrets (client secrets, key material, codes, verifiers): the first 8
/// hex digits of HMAC-SHA256 under a random per-process key. Stable within one process, so two
/// values can be compared on one page; useless for testing guesses offline.
pub fn fingerprint(value: &str) -> String {
    hex8(aws_lc_rs::hmac::sign(fingerprint_key(), value.as_bytes()).as_ref())
}

/// A plain fingerprint for tokens: the first 8 hex digits of SHA-256.
pub fn token_fingerprint(value: &str) -> String {
    hex8(&Sha256::digest(value.as_bytes()))
}

/// The marker that stands in for a secret value (keyed fingerprint).
pub fn marker(value: &str) -> String {
    format!(
        "[redacted: {} chars, hmac {}]",
        value.chars().count(),
        fingerprint(value)
    )
}

/// The marker that stands in for a token (plain SHA-256 fingerprint).
pub fn token_marker(value: &str) -> String {
    format!(
        "[redacted: {} chars, sha256 {}]",
        value.chars().count(),
        token_fingerprint(value)
    )
}
