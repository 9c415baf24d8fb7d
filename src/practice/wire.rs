//! Wire-level pieces shared by the fake's endpoints: parameter parsing as RFC 6749 §3.1
//! reads it, OAuth error answers (§5.2), random values and the small syntax checks.

use std::collections::HashMap;

use axum::Json;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderValue, StatusCode, header};

/// Form or query parameters, with repeats noted rather than silently resolved.
#[derive(Debug, Default)]
pub(super) struct Params {
    values: HashMap<String, String>,
    /// Names sent more than once, which RFC 6749 §3.1 forbids.
    pub(super) duplicates: Vec<String>,
}

impl Params {
    /// Parses `application/x-www-form-urlencoded` (a body or a query string).
    pub(super) fn parse(input: &[u8]) -> Self {
        let mut params = Self::default();
        let mut seen = Vec::new();
        for (name, value) in url::form_urlencoded::parse(input) {
            if seen.contains(&name) {
                if !params.duplicates.iter().any(|d| *d == name) {
                    params.duplicates.push(name.clone().into_owned());
                }
                continue;
            }
            seen.push(name.clone());
            // RFC 6749 §3.1: a parameter without a value is treated as omitted.
            if !value.is_empty() {
                params.values.insert(name.into_owned(), value.into_owned());
            }
        }
        params
    }

    /// The value of `name`, if sent with a value.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }
}

/// An OAuth 2.0 error answer from the token endpoint (RFC 6749 §5.2).
#[derive(Debug)]
pub(super) struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    /// Add `WWW-Authenticate: Basic` (when the client tried HTTP Basic, §5.2).
    basic_challenge: bool,
}

impl OAuthError {
    /// 400 with this error code.
    pub(super) fn bad_request(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
            basic_challenge: false,
        }
    }

    /// 500 `server_error`: the fake itself failed (e.g. it could not sign an id_token).
    pub(super) fn server_error(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: description.into(),
            basic_challenge: false,
        }
    }

    /// 401 `invalid_client`, challenging for Basic when the client used it.
    pub(super) fn invalid_client(description: impl Into<String>, basic_used: bool) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: description.into(),
            basic_challenge: basic_used,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": self.error,
            "error_description": self.description,
        });
        let mut response = (self.status, no_store_headers(), Json(body)).into_response();
        if self.basic_challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"fake-ehr\""),
            );
        }
        response
    }
}

/// `Cache-Control: no-store` and `Pragma: no-cache`, as RFC 6749 §5.1 asks of token answers.
pub(super) fn no_store_headers() -> [(header::HeaderName, &'static str); 2] {
    [
        (header::CACHE_CONTROL, "no-store"),
        (header::PRAGMA, "no-cache"),
    ]
}

/// Sets (`Some`) or removes (`None`) members of a JSON object, in order.
pub(super) fn patch_object<'a>(
    object: &mut serde_json::Map<String, serde_json::Value>,
    changes: impl IntoIterator<Item = (&'a str, Option<&'a serde_json::Value>)>,
) {
    for (name, value) in changes {
        match value {
            Some(value) => object.insert(name.to_owned(), value.clone()),
            None => object.remove(name),
        };
    }
}

/// An HTTP `Date` value (IMF-fixdate, RFC 9110 §5.6.7) for now plus `offset_secs`, or `None`
/// when that moment has no four-digit year.
pub(super) fn http_date(offset_secs: i64) -> Option<HeaderValue> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let when = time::OffsetDateTime::now_utc().checked_add(time::Duration::seconds(offset_secs))?;
    if !(0..=9999).contains(&when.year()) {
        return None;
    }
    let text = when.format(&format).ok()?;
    HeaderValue::from_str(&text).ok()
}

/// Seconds since the Unix epoch, the unit of JWT `iat` and `exp`.
pub(super) fn unix_now() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// 256 random bits, base64url without padding: codes, tokens, launch ids.
pub(super) fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether the space-separated `scope` contains exactly `word`.
pub(super) fn has_scope(scope: &str, word: &str) -> bool {
    scope.split_ascii_whitespace().any(|s| s == word)
}

/// A PKCE `code_challenge` as S256 makes it: 43–128 characters of the base64url alphabet.
pub(super) fn is_code_challenge(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A PKCE `code_verifier` (RFC 7636 §4.1): 43–128 unreserved characters.
pub(super) fn is_code_verifier(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// BASE64URL-NOPAD(SHA256(verifier)), the S256 transformation of RFC 7636 §4.2.
pub(super) fn s256(verifier: &str) -> String {
    use sha2::Digest;
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space, `%XX` a byte).
///
/// Fails when the text cannot be the output of that encoding: a character the encoder would
/// have escaped, or a `%` not followed by two hex digits. RFC 6749 §2.3.1 makes HTTP Basic
/// credentials go through this encoding, so a raw `:`, space or `%` is a client bug.
pub(super) fn form_urldecode(encoded: &str) -> Result<String, String> {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                let Some(byte) = hex else {
                    return Err("a '%' not followed by two hex digits".to_owned());
                };
                out.push(byte);
                i += 2;
            }
            // The serializer's untouched set, plus '~' which RFC 3986 encoders also leave.
            b if b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_' | b'~') => {
                out.push(b);
            }
            other => {
                return Err(format!(
                    "the character {:?} should have been percent-encoded",
                    char::from(other)
                ));
            }
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "the decoded bytes are not UTF-8".to_owned())
}

/// Compares secrets without stopping at the first differing byte.
pub(super) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
