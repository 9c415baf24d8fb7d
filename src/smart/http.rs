//! The one outbound HTTP client: redirects never followed (SSRF, RFC 9700 §4.11), every URL
//! checked against the address policy (`net_policy`) before any connection, connect and
//! total timeouts, a response size cap, TLS always verified. Every exchange is recorded,
//! redacted, into the launch's [`Recorder`].

use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::net_policy::NetPolicy;
use super::transcript::{self, Exchange, ExchangeStep};
use crate::config::HttpSettings;

/// The shared clients and their limits. Every request goes through [`Outbound::send`] (or
/// [`Outbound::get`]), which parses the URL once (WHATWG), checks it against the one
/// [`NetPolicy`] and hands reqwest that same parsed URL. A handle trusts at most one origin,
/// a registered FHIR base's ([`Outbound::trusting`]); everything else gets the policy.
#[derive(Clone)]
pub struct Outbound {
    shared: Arc<Shared>,
    trusted: Option<url::Origin>,
}

struct Shared {
    /// For the trusted origin and allowed hosts: no address check.
    open: reqwest::Client,
    /// For everything else: the resolver refuses names answering with refused addresses.
    guarded: reqwest::Client,
    policy: Arc<NetPolicy>,
    settings: HttpSettings,
}

/// A resolver that refuses names resolving to addresses the policy refuses.
struct GuardedResolver(Arc<NetPolicy>);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        let policy = self.0.clone();
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = addrs.iter().find_map(|a| policy.refuses(a.ip())) {
                let e: Box<dyn std::error::Error + Send + Sync> =
                    format!("private target {host} -> {bad}").into();
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
    /// The clients, with redirects off, the timeouts and the CA bundle of `settings`, under
    /// `policy`. No origin trusted yet.
    pub fn new(settings: HttpSettings, policy: NetPolicy) -> Result<Self, reqwest::Error> {
        let policy = Arc::new(policy);
        let mut open = reqwest::Client::builder();
        // No proxy from HTTP(S)_PROXY/ALL_PROXY: through a proxy the resolver would only see
        // the proxy's name, never the target's, and the address check would not hold.
        let mut guarded = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver(policy.clone())))
            .no_proxy();
        #[cfg(target_os = "linux")]
        if policy.loopback == super::net_policy::Loopback::TestPublic127001 {
            // The test seam's belt: even a broken check cannot send a packet off this machine.
            (open, guarded) = (open.interface("lo"), guarded.interface("lo"));
        }
        let open = Self::client(&settings, open)?;
        let guarded = Self::client(&settings, guarded)?;
        Ok(Outbound {
            shared: Arc::new(Shared {
                open,
                guarded,
                policy,
                settings,
            }),
            trusted: None,
        })
    }

    fn client(
        settings: &HttpSettings,
        mut builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::Client, reqwest::Error> {
        if let Some(pem) = &settings.ca_pem {
            for cert in reqwest::Certificate::from_pem_bundle(pem)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        builder
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .user_agent(concat!("smart-launch-doctor/", env!("CARGO_PKG_VERSION")))
            .tls_info(true)
            .build()
    }

    /// The same clients trusting the origin (scheme, host, port) of `base` and nothing else:
    /// for a FHIR base the operator registered. Only `Core` decides which base that is.
    pub(crate) fn trusting(&self, base: &str) -> Outbound {
        Outbound {
            shared: self.shared.clone(),
            trusted: url::Url::parse(base).ok().map(|u| u.origin()),
        }
    }

    /// `GET url` (as written by whoever named it) with an `Accept` header.
    pub async fn get(
        &self,
        url: &str,
        accept: &str,
        step: ExchangeStep,
        rec: &Recorder,
    ) -> Result<Response, NetError> {
        let mut headers = http::HeaderMap::new();
        let accept =
            http::HeaderValue::from_str(accept).map_err(|e| NetError::Other(e.to_string()))?;
        headers.insert(http::header::ACCEPT, accept);
        self.exchange(http::Method::GET, url, headers, Vec::new(), step, rec)
            .await
    }

    /// Sends `req`, reads the body up to the cap, records the exchange (redacted).
    pub async fn send(
        &self,
        req: http::Request<Vec<u8>>,
        step: ExchangeStep,
        rec: &Recorder,
    ) -> Result<Response, NetError> {
        let (parts, body) = req.into_parts();
        let url = parts.uri.to_string();
        self.exchange(parts.method, &url, parts.headers, body, step, rec)
            .await
    }

    async fn exchange(
        &self,
        method: http::Method,
        written: &str,
        headers: http::HeaderMap,
        body: Vec<u8>,
        step: ExchangeStep,
        rec: &Recorder,
    ) -> Result<Response, NetError> {
        let started = Instant::now();
        let mut exchange = Exchange {
            step,
            method: method.to_string(),
            url: transcript::redact_request_url(written),
            request_headers: header_pairs(&headers),
            request_body: (!body.is_empty())
                .then(|| transcript::redact_body(&String::from_utf8_lossy(&body))),
            status: None,
            response_headers: Vec::new(),
            response_body: None,
            duration_ms: 0,
            error: None,
            cached: false,
        };
        let result = match self.target(written) {
            Ok((url, client)) => {
                let mut req = reqwest::Request::new(method, url);
                *req.headers_mut() = headers;
                if !body.is_empty() {
                    *req.body_mut() = Some(body.into());
                }
                self.send_inner(client, req, written).await
            }
            Err(e) => Err(e),
        };
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

    /// The URL parsed once (WHATWG: numeric, octal, hex and short IPv4 forms and trailing dots
    /// become the address they mean), its fragment dropped, checked against the policy, and
    /// the client to send it with. The same `Url` is what reqwest connects to.
    fn target(&self, written: &str) -> Result<(url::Url, &reqwest::Client), NetError> {
        let mut url = url::Url::parse(written.trim())
            .map_err(|e| NetError::Other(format!("not a usable URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(NetError::Other(format!(
                "not an http(s) URL: {}",
                url.scheme()
            )));
        }
        url.set_fragment(None);
        let policy = &self.shared.policy;
        if policy.allow_all || self.trusted.as_ref() == Some(&url.origin()) {
            return Ok((url, &self.shared.open));
        }
        let refused = |address: String| NetError::PrivateTarget {
            url: written.to_string(),
            address,
        };
        let ip = match url.host() {
            Some(url::Host::Ipv4(v4)) => std::net::IpAddr::V4(v4),
            Some(url::Host::Ipv6(v6)) => std::net::IpAddr::V6(v6),
            Some(url::Host::Domain(d)) => {
                let name = d.trim_end_matches('.').to_ascii_lowercase();
                if policy.allows_name(&name) {
                    return Ok((url, &self.shared.open));
                }
                // `localhost` is loopback by definition (RFC 6761), whatever DNS says.
                if name == "localhost" || name.ends_with(".localhost") {
                    return Err(refused(format!("{name} (loopback)")));
                }
                // Judged on its DNS answers by the guarded resolver.
                return Ok((url, &self.shared.guarded));
            }
            None => return Err(NetError::Other("the URL has no host".into())),
        };
        match policy.refuses(ip) {
            Some(r) => Err(refused(r.to_string())),
            // Literal addresses never reach a resolver: this was the check.
            None => Ok((url, &self.shared.open)),
        }
    }

    async fn send_inner(
        &self,
        client: &reqwest::Client,
        req: reqwest::Request,
        written: &str,
    ) -> Result<Response, NetError> {
        let mut resp = client
            .execute(req)
            .await
            .map_err(|e| self.classify(&e, written))?;
        let cap = self.shared.settings.max_body_bytes;
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
        let body_error = |e: reqwest::Error| match self.classify(&e, written) {
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

    /// Names the failure from reqwest's error and its causes; a refusal names `written`.
    fn classify(&self, e: &reqwest::Error, written: &str) -> NetError {
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
        match classify_chain(
            e.is_timeout() || io_timeout,
            e.is_connect(),
            &chain,
            self.shared.settings.timeout.as_secs(),
        ) {
            NetError::PrivateTarget { address, .. } => NetError::PrivateTarget {
                url: written.to_string(),
                address,
            },
            other => other,
        }
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
mod tests;

pub use super::net_error::{NetError, classify_chain};
