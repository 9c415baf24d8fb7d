//! HAR import: a browser's HAR export read (bounded), its SMART exchanges found and rebuilt as
//! one case per launch, each step's answer named by the same classifiers a launch of ours uses
//! plus the client-side rules (`diagnosis::client_rules`), and a redacted copy to keep or show.
//!
//! The HAR types are our own serde structs (the few members a diagnosis reads), not the `har`
//! crate: its full 1.2/1.3 model would be parsed and kept for nothing, and we bound every copy.

pub mod cases;
pub mod diagnose;
pub mod exchanges;
pub mod redact;
pub mod text;

use serde::{Deserialize, Serialize};

pub use diagnose::{Report, diagnose};

/// A HAR file (or upload) larger than this is refused before it is parsed.
pub const MAX_BYTES: usize = 8 * 1024 * 1024;
/// Entries read at most; a HAR with more is refused.
pub const MAX_ENTRIES: usize = 10_000;
/// Response bodies larger than this (decoded) are cut before any classifier reads them.
pub const MAX_BODY: usize = 64 * 1024;

/// Why a HAR could not be read. The messages name no content of the file (a parse error
/// from serde can quote a value: only its position is kept).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HarError {
    #[error("the HAR is {0} bytes; at most {max} are read", max = MAX_BYTES)]
    TooLarge(usize),
    #[error("the file is not JSON ({0})")]
    NotJson(String),
    #[error("the JSON is not a HAR: {0}")]
    NotHar(String),
    #[error("the HAR has {0} entries; at most {max} are read", max = MAX_ENTRIES)]
    TooManyEntries(usize),
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Har {
    pub log: Log,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Log {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub creator: Creator,
    #[serde(default)]
    pub entries: Vec<Entry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Creator {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Entry {
    #[serde(rename = "startedDateTime", default)]
    pub started: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pageref: Option<String>,
    #[serde(default)]
    pub time: f64,
    pub request: Request,
    pub response: Response,
    #[serde(default)]
    pub cache: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub timings: Timings,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Timings {
    #[serde(default)]
    pub send: f64,
    #[serde(default)]
    pub wait: f64,
    #[serde(default)]
    pub receive: f64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct NameValue {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Request {
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub url: String,
    #[serde(rename = "httpVersion", default)]
    pub http_version: String,
    #[serde(default)]
    pub headers: Vec<NameValue>,
    #[serde(rename = "queryString", default)]
    pub query_string: Vec<NameValue>,
    #[serde(default)]
    pub cookies: Vec<serde_json::Value>,
    #[serde(rename = "headersSize", default = "minus_one")]
    pub headers_size: i64,
    #[serde(rename = "bodySize", default = "minus_one")]
    pub body_size: i64,
    #[serde(rename = "postData", default, skip_serializing_if = "Option::is_none")]
    pub post_data: Option<PostData>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PostData {
    #[serde(rename = "mimeType", default)]
    pub mime_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<Param>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Param {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Response {
    /// 0 (or -1) when the browser got no answer (blocked, CORS, aborted).
    #[serde(default)]
    pub status: i64,
    #[serde(rename = "statusText", default)]
    pub status_text: String,
    #[serde(rename = "httpVersion", default)]
    pub http_version: String,
    #[serde(default)]
    pub headers: Vec<NameValue>,
    #[serde(default)]
    pub cookies: Vec<serde_json::Value>,
    #[serde(default)]
    pub content: Content,
    #[serde(rename = "redirectURL", default)]
    pub redirect_url: String,
    #[serde(rename = "headersSize", default = "minus_one")]
    pub headers_size: i64,
    #[serde(rename = "bodySize", default = "minus_one")]
    pub body_size: i64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Content {
    #[serde(default)]
    pub size: i64,
    #[serde(rename = "mimeType", default)]
    pub mime_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

fn minus_one() -> i64 {
    -1
}

/// Reads a HAR: at most [`MAX_BYTES`] and [`MAX_ENTRIES`]; serde_json's 128-level depth limit.
pub fn parse(bytes: &[u8]) -> Result<Har, HarError> {
    if bytes.len() > MAX_BYTES {
        return Err(HarError::TooLarge(bytes.len()));
    }
    // A UTF-8 byte order mark (some tools write one) is not JSON.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        HarError::NotJson(format!(
            "{:?} error at line {}, column {}",
            e.classify(),
            e.line(),
            e.column()
        ))
    })?;
    let count = value
        .pointer("/log/entries")
        .and_then(serde_json::Value::as_array)
        .map(Vec::len)
        .ok_or_else(|| HarError::NotHar("it has no log.entries array".into()))?;
    if count > MAX_ENTRIES {
        return Err(HarError::TooManyEntries(count));
    }
    // Typed: the error names the path only, never a value.
    serde_json::from_value::<Har>(value).map_err(|e| {
        let what = e.to_string();
        let member = what
            .split('`')
            .nth(1)
            .filter(|m| m.len() < 40)
            .map(|m| format!(" (member `{m}`)"))
            .unwrap_or_default();
        HarError::NotHar(format!("an entry does not have the HAR shape{member}"))
    })
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The query parameters, decoded (from the URL itself: `queryString` may be absent).
    pub fn query(&self) -> Vec<(String, String)> {
        url::Url::parse(&self.url)
            .map(|u| u.query_pairs().into_owned().collect())
            .unwrap_or_default()
    }

    /// The form body's parameters, decoded (from `text`, else `params`).
    pub fn form(&self) -> Vec<(String, String)> {
        let Some(p) = &self.post_data else {
            return Vec::new();
        };
        if let Some(text) = &p.text
            && !text.trim_start().starts_with('{')
        {
            return url::form_urlencoded::parse(text.as_bytes())
                .into_owned()
                .collect();
        }
        p.params
            .iter()
            .map(|x| {
                let dec = |s: &str| {
                    url::form_urlencoded::parse(format!("a={s}").as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default()
                };
                (dec(&x.name), dec(x.value.as_deref().unwrap_or("")))
            })
            .collect()
    }
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The body as text, base64 decoded when the HAR says so, cut at [`MAX_BODY`].
    pub fn body(&self) -> String {
        let Some(text) = &self.content.text else {
            return String::new();
        };
        let text = if self.content.encoding.as_deref() == Some("base64") {
            use base64::Engine as _;
            let head: String = text.chars().take(MAX_BODY * 4 / 3 + 4).collect();
            let head = &head[..head.len() - head.len() % 4];
            base64::engine::general_purpose::STANDARD
                .decode(head.trim())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        } else {
            text.clone()
        };
        cut(&text, MAX_BODY).to_string()
    }

    /// Where a 3xx sent the browser (`redirectURL`, else `Location`).
    pub fn location(&self) -> Option<&str> {
        Some(self.redirect_url.as_str())
            .filter(|s| !s.is_empty())
            .or_else(|| self.header("location"))
    }
}

fn header<'a>(headers: &'a [NameValue], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

/// `s` cut to at most `max` bytes on a character boundary.
pub fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_har_without_quoting_it() {
        assert!(matches!(parse(b"{"), Err(HarError::NotJson(_))));
        assert!(matches!(parse(b"{\"a\":1}"), Err(HarError::NotHar(_))));
        let e = parse(br#"{"log":{"entries":[{"request":{"url":"sekret-value-123"},"response":{"status":"sekret-value-456"}}]}}"#)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("sekret"), "{e}");
        let big = vec![b' '; MAX_BYTES + 1];
        assert!(matches!(parse(&big), Err(HarError::TooLarge(_))));
        let deep = "[".repeat(10_000);
        assert!(matches!(parse(deep.as_bytes()), Err(HarError::NotJson(_))));
    }

    #[test]
    fn reads_a_minimal_har() {
        let har = parse(br#"{"log":{"entries":[{"request":{"method":"GET","url":"https://x/a?b=c%20d"},"response":{"status":200}}]}}"#).unwrap();
        assert_eq!(har.log.entries.len(), 1);
        assert_eq!(
            har.log.entries[0].request.query(),
            vec![("b".to_string(), "c d".to_string())]
        );
    }
}
