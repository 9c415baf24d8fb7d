//! The one outbound HTTP client: redirects never followed (SSRF, RFC 9700 §4.11), connect and
//! total timeouts, a response size cap, TLS always verified. Every exchange is recorded,
//! redacted, into the launch's [`Recorder`].

use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::transcript::{self, Exchange};
use crate::config::HttpSettings;

/// Why no usable response came back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    #[error("name lookup failed: {0}")]
    Dns(String),
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("TLS failure: {0}")]
    Tls(String),
    #[error("no complete answer within {0} s")]
    Timeout(u64),
    #[error("answer larger than {0} bytes")]
    TooLarge(usize),
    #[error("the answer broke off: {0}")]
    Incomplete(String),
    #[error(
        "refused: {0} is a loopback, private or link-local address (allow_private_networks is off)"
    )]
    PrivateTarget(String),
    #[error("request failed: {0}")]
    Other(String),
}

/// The shared client and its limits. A guarded client (for FHIR bases nobody registered)
/// refuses loopback, private and link-local targets, checked on the resolved addresses so DNS
/// cannot point it inside the network.
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    settings: HttpSettings,
    guarded: bool,
}

/// Addresses an unregistered URL must not reach (SSRF): loopback, private, link-local, CGNAT,
/// unspecified, multicast, and their IPv4-mapped IPv6 forms.
pub fn is_private(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || o[0] == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
        }
    }
}

/// A resolver that refuses names resolving to private addresses.
struct GuardedResolver;

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = addrs.iter().find(|a| is_private(a.ip())) {
                let e: Box<dyn std::error::Error + Send + Sync> =
                    format!("private target {host} -> {}", bad.ip()).into();
                return Err(e);
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Collects the exchanges of one launch. Cheap to clone; shared with oauth2's HTTP closure.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<Exchange>>>);

impl Recorder {
    fn push(&self, e: Exchange) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(e);
    }
    /// Adds exchanges another request made on this one's behalf (a shared, single-flight fetch).
    pub fn extend(&self, exchanges: &[Exchange]) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(exchanges);
    }
    /// Everything recorded so far.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The server's TLS certificate (DER), attached to https responses.
#[derive(Clone, Debug)]
pub struct PeerCertificate(pub Vec<u8>);

/// A response read in full (up to the cap).
pub type Response = http::Response<Vec<u8>>;

impl Outbound {
    pub fn new(settings: HttpSettings) -> Result<Self, reqwest::Error> {
        Self::build(settings, false)
    }

    /// The client for FHIR bases nobody registered: private targets refused.
    pub fn guarded(settings: HttpSettings) -> Result<Self, reqwest::Error> {
        Self::build(settings, true)
    }

    fn build(settings: HttpSettings, guarded: bool) -> Result<Self, reqwest::Error> {
        let mut builder = reqwest::Client::builder();
        if guarded {
            // No proxy from HTTP(S)_PROXY/ALL_PROXY: through a proxy the resolver would only see
            // the proxy's name, never the target's, and the private-address check would not hold.
            builder = builder
                .dns_resolver(std::sync::Arc::new(GuardedResolver))
                .no_proxy();
        }
        if let Some(pem) = &settings.ca_pem {
            for cert in reqwest::Certificate::from_pem_bundle(pem)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .user_agent(concat!("smart-launch-doctor/", env!("CARGO_PKG_VERSION")))
            .tls_info(true)
            .build()?;
        Ok(Outbound {
            client,
            settings,
            guarded,
        })
    }

    /// `GET url` with an `Accept` header.
    pub async fn get(
        &self,
        url: &str,
        accept: &str,
        step: &str,
        rec: &Recorder,
    ) -> Result<Response, NetError> {
        let req = http::Request::get(url)
            .header(http::header::ACCEPT, accept)
            .body(Vec::new())
            .map_err(|e| NetError::Other(e.to_string()))?;
        self.send(req, step, rec).await
    }

    /// Sends `req`, reads the body up to the cap, records the exchange (redacted).
    pub async fn send(
        &self,
        req: http::Request<Vec<u8>>,
        step: &str,
        rec: &Recorder,
    ) -> Result<Response, NetError> {
        let started = Instant::now();
        let mut exchange = Exchange {
            step: step.to_string(),
            method: req.method().to_string(),
            url: transcript::redact_request_url(&req.uri().to_string()),
            request_headers: header_pairs(req.headers()),
            request_body: (!req.body().is_empty())
                .then(|| transcript::redact_body(&String::from_utf8_lossy(req.body()))),
            status: None,
            response_headers: Vec::new(),
            response_body: None,
            duration_ms: 0,
            error: None,
            cached: false,
        };
        let result = self.send_inner(req).await;
        exchange.duration_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(resp) => {
                exchange.status = Some(resp.status().as_u16());
                exchange.response_headers = header_pairs(resp.headers());
                exchange.response_body = Some(transcript::redact_body(&String::from_utf8_lossy(
                    resp.body(),
                )));
            }
            Err(e) => exchange.error = Some(e.to_string()),
        }
        rec.push(exchange);
        result
    }

    async fn send_inner(&self, req: http::Request<Vec<u8>>) -> Result<Response, NetError> {
        // IP literals never reach the resolver: check them here.
        if self.guarded
            && let Some(host) = req.uri().host()
            && let Ok(ip) = host.trim_matches(['[', ']']).parse::<std::net::IpAddr>()
            && is_private(ip)
        {
            return Err(NetError::PrivateTarget(host.to_string()));
        }
        let req = reqwest::Request::try_from(req).map_err(|e| NetError::Other(e.to_string()))?;
        let mut resp = self
            .client
            .execute(req)
            .await
            .map_err(|e| self.classify(&e))?;
        let cap = self.settings.max_body_bytes;
        if resp.content_length().is_some_and(|n| n as usize > cap) {
            return Err(NetError::TooLarge(cap));
        }
        let mut builder = http::Response::builder().status(resp.status());
        if let Some(der) = resp
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|i| i.peer_certificate())
        {
            builder = builder.extension(PeerCertificate(der.to_vec()));
        }
        for (k, v) in resp.headers() {
            builder = builder.header(k, v);
        }
        let mut body = Vec::new();
        // Headers arrived: a failure now is a body that broke off (or a timeout).
        let body_error = |e: reqwest::Error| match self.classify(&e) {
            NetError::Timeout(s) => NetError::Timeout(s),
            other => NetError::Incomplete(other.to_string()),
        };
        while let Some(chunk) = resp.chunk().await.map_err(body_error)? {
            if body.len() + chunk.len() > cap {
                return Err(NetError::TooLarge(cap));
            }
            body.extend_from_slice(&chunk);
        }
        builder
            .body(body)
            .map_err(|e| NetError::Other(e.to_string()))
    }

    /// Names the failure from reqwest's error and its causes.
    fn classify(&self, e: &reqwest::Error) -> NetError {
        let mut chain = Vec::new();
        let mut io_timeout = false;
        let mut cur: Option<&dyn std::error::Error> = Some(e);
        while let Some(err) = cur {
            chain.push(err.to_string());
            io_timeout |= err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut);
            cur = err.source();
        }
        classify_chain(
            e.is_timeout() || io_timeout,
            e.is_connect(),
            &chain,
            self.settings.timeout.as_secs(),
        )
    }
}

/// Names a failure from its error chain (outermost first). Kept apart from reqwest's types so the
/// rules can be tested without network traffic (a DNS failure cannot be provoked on loopback).
pub fn classify_chain(
    timeout: bool,
    connect: bool,
    chain: &[String],
    timeout_secs: u64,
) -> NetError {
    if timeout {
        return NetError::Timeout(timeout_secs);
    }
    let detail = chain.last().cloned().unwrap_or_default();
    if let Some(c) = chain.iter().find(|c| c.contains("private target ")) {
        let target = c.split("private target ").nth(1).unwrap_or("").to_string();
        return NetError::PrivateTarget(target);
    }
    let all = chain.join(": ").to_ascii_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| all.contains(w));
    if any(&[
        "dns error",
        "failed to lookup",
        "name or service not known",
        "no address associated",
    ]) {
        NetError::Dns(detail)
    } else if any(&[
        "certificate",
        "tls",
        "handshake",
        "invalidcontenttype",
        "corrupt message",
    ]) {
        NetError::Tls(detail)
    } else if connect {
        NetError::Connect(detail)
    } else {
        NetError::Other(chain.join(": "))
    }
}

fn header_pairs(h: &http::HeaderMap) -> Vec<(String, String)> {
    h.iter()
        .map(|(k, v)| {
            let v = String::from_utf8_lossy(v.as_bytes());
            (k.to_string(), transcript::redact_header(k.as_str(), &v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn lookup_failures_are_dns() {
        let c = chain(&[
            "error sending request",
            "client error (Connect)",
            "dns error",
            "failed to lookup address information: Name or service not known",
        ]);
        assert!(matches!(
            classify_chain(false, true, &c, 5),
            NetError::Dns(_)
        ));
    }

    #[test]
    fn certificate_failures_are_tls() {
        let c = chain(&[
            "error sending request",
            "client error (Connect)",
            "invalid peer certificate: UnknownIssuer",
        ]);
        assert!(matches!(
            classify_chain(false, true, &c, 5),
            NetError::Tls(_)
        ));
    }

    #[test]
    fn refused_connections_are_connect_and_timeouts_win() {
        let c = chain(&[
            "error sending request",
            "tcp connect error",
            "Connection refused (os error 111)",
        ]);
        assert_eq!(
            classify_chain(false, true, &c, 5),
            NetError::Connect("Connection refused (os error 111)".into())
        );
        assert_eq!(classify_chain(true, true, &c, 5), NetError::Timeout(5));
    }
}

#[cfg(test)]
mod private_tests {
    use super::is_private;

    /// A proxy in the environment must not carry the guarded client past its check: with the
    /// proxy honoured the resolver would only see the proxy's address.
    #[tokio::test]
    async fn guarded_client_ignores_proxy_environment() {
        let settings = crate::config::HttpSettings {
            ca_pem: None,
            connect_timeout: std::time::Duration::from_secs(2),
            timeout: std::time::Duration::from_secs(3),
            max_body_bytes: 1024,
        };
        // nextest runs each test in its own process: the variables touch no other test. They are
        // removed again right after the client is built (reqwest reads them at build time).
        let proxy = "http://93.184.216.34:3128";
        let names = [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
        ];
        // SAFETY: no other thread of this test reads the environment meanwhile.
        unsafe {
            for n in names {
                std::env::set_var(n, proxy);
            }
            std::env::remove_var("NO_PROXY");
            std::env::remove_var("no_proxy");
        }
        let guarded = super::Outbound::guarded(settings);
        // SAFETY: as above.
        unsafe {
            for n in names {
                std::env::remove_var(n);
            }
        }
        let guarded = guarded.unwrap();
        let rec = super::Recorder::default();
        let err = guarded
            .get(
                "http://localhost:9/fhir/metadata",
                "application/json",
                "discovery",
                &rec,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, super::NetError::PrivateTarget(_)),
            "a private target behind a proxy setting: {err:?}"
        );
    }

    #[test]
    fn private_loopback_link_local_and_mapped_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }
}
