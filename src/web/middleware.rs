//! Cross-cutting layers: a request id on every request and response (and in the log line), and
//! the security headers.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::config::Config;

/// The per-request id, as a request extension.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Tags the request with an id, logs one line per request. Only the path is logged: query
/// strings carry codes and states.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = oauth2::CsrfToken::new_random().secret()[..12].to_string();
    req.extensions_mut().insert(RequestId(id.clone()));
    let span =
        tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path());
    let started = std::time::Instant::now();
    let mut resp = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = resp.status().as_u16(),
            ms = started.elapsed().as_millis() as u64,
            "answered"
        )
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    resp
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
