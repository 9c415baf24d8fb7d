//! Cross-cutting layers: a request id on every request and response (and in the log line), and
//! the security headers.
//!
//! Request ids are `tower_http::request_id`'s: [`SetRequestIdLayer`] stores a [`RequestId`] in
//! the request's extensions (and header), [`PropagateRequestIdLayer`] copies it onto the
//! response, and the trace layer puts it in the request's span. An `x-request-id` sent by the
//! client is dropped, never reused: ids end up in log lines and on error pages, and a client must
//! not be able to choose, forge or collide with another request's id. Every id is ours: 16 random
//! bytes in hex.
//!
//! [`SetRequestIdLayer`]: tower_http::request_id::SetRequestIdLayer
//! [`PropagateRequestIdLayer`]: tower_http::request_id::PropagateRequestIdLayer

use std::time::Duration;

use axum::extract::Request;
use axum::http::{Extensions, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::request_id::{MakeRequestId, RequestId};
use tower_http::trace::{MakeSpan, OnResponse};
use tracing::Span;

use crate::config::Config;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Makes a fresh id for every request: 16 random bytes, hex.
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &http::Request<B>) -> Option<RequestId> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let bytes: [u8; 16] = rand::random();
        let mut hex = [0u8; 32];
        for (i, b) in bytes.iter().enumerate() {
            hex[2 * i] = HEX[usize::from(b >> 4)];
            hex[2 * i + 1] = HEX[usize::from(b & 0xf)];
        }
        // Every byte is an ASCII hex digit: always a valid header value.
        HeaderValue::from_bytes(&hex).ok().map(RequestId::new)
    }
}

/// Drops any `x-request-id` the client sent, so that [`RandomRequestId`] makes every id.
pub async fn ignore_client_request_id(mut req: Request) -> Request {
    req.headers_mut().remove(REQUEST_ID_HEADER);
    req
}

/// The current request's id ("" outside the request-id layers).
pub fn current_request_id(extensions: &Extensions) -> String {
    extensions
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// The span of one request: its id, method and path (only the path: query strings carry codes
/// and states).
#[derive(Clone, Copy, Debug)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, req: &http::Request<B>) -> Span {
        tracing::info_span!(
            "request",
            id = %current_request_id(req.extensions()),
            method = %req.method(),
            path = %req.uri().path()
        )
    }
}

/// One log line per request, in its span.
#[derive(Clone, Copy, Debug)]
pub struct Answered;

/// The launch a response started, for its log line (set by the launch handlers).
#[derive(Clone, Debug)]
pub struct LaunchStarted {
    pub launch: String,
    pub registration: String,
}

impl<B> OnResponse<B> for Answered {
    fn on_response(self, resp: &http::Response<B>, latency: Duration, _: &Span) {
        let (status, ms) = (resp.status().as_u16(), latency.as_millis() as u64);
        // One line per request; a launch names itself on it rather than on a second line.
        match resp.extensions().get::<LaunchStarted>() {
            Some(l) => tracing::info!(
                status,
                ms,
                launch = %l.launch,
                registration = %l.registration,
                "answered: launch started"
            ),
            None => tracing::info!(status, ms, "answered"),
        }
    }
}

/// The security headers, computed once from the configuration.
#[derive(Clone)]
pub struct SecurityHeaders {
    csp: HeaderValue,
    /// `X-Frame-Options: DENY` unless framing EHRs are listed.
    deny_frames: bool,
    hsts: bool,
}

impl SecurityHeaders {
    pub fn new(config: &Config) -> Self {
        let ancestors = if config.frame_ancestors.is_empty() {
            "'none'".to_string()
        } else {
            config.frame_ancestors.join(" ")
        };
        // No form-action: browsers apply it to the redirect after a form, and authorization
        // endpoints live on origins discovery names at run time.
        let csp = format!(
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors {ancestors}"
        );
        SecurityHeaders {
            csp: HeaderValue::from_str(&csp)
                .unwrap_or(HeaderValue::from_static("default-src 'none'")),
            deny_frames: config.frame_ancestors.is_empty(),
            hsts: config.public_url.scheme() == "https",
        }
    }
}

/// CSP without inline script, no sniffing, no referrer (URLs carry codes), no caching of pages
/// that may hold tokens, HSTS on https, and no framing unless EHR origins are configured.
pub async fn security_headers(h: SecurityHeaders, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let headers = resp.headers_mut();
    // Room for all of them (and the request id and session cookie) at once: the map would
    // otherwise grow twice on the way.
    headers.reserve(8);
    headers.insert(header::CONTENT_SECURITY_POLICY, h.csp.clone());
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if h.deny_frames {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    if h.hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_32_hex_digits_and_differ() {
        let req = http::Request::new(());
        let mut make = RandomRequestId;
        let a = make.make_request_id(&req).unwrap();
        let b = make.make_request_id(&req).unwrap();
        let a = a.header_value().to_str().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b.header_value().to_str().unwrap());
    }

    fn config(extra: &str) -> Config {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 8080));
        Config::from_toml(extra, "test", addr).unwrap()
    }

    #[test]
    fn https_gets_hsts_and_listed_ehrs_may_frame() {
        let h = SecurityHeaders::new(&config(
            "public_url = \"https://app.example\"\nframe_ancestors = [\"https://ehr.example\"]",
        ));
        assert!(h.hsts);
        assert!(!h.deny_frames);
        assert!(
            h.csp
                .to_str()
                .unwrap()
                .ends_with("frame-ancestors https://ehr.example")
        );
        let plain = SecurityHeaders::new(&config(""));
        assert!(!plain.hsts && plain.deny_frames);
        assert!(!plain.csp.to_str().unwrap().contains("unsafe-inline"));
    }
}
