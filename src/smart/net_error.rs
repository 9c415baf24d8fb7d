//! Why no usable response came back ([`NetError`]), and naming it from reqwest's error chain:
//! evidence without the HTTP client, so diagnosis reads it without reaching into `http`, and the
//! rules can be tested without network traffic.

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
    /// Refused before any connection: `url` as written, `address` the address it means.
    #[error(
        "refused before connecting: {url} means {address}, a loopback, private or link-local address (allow_private_networks is off)"
    )]
    PrivateTarget { url: String, address: String },
    #[error("request failed: {0}")]
    Other(String),
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
        let target = c.split("private target ").nth(1).unwrap_or("");
        let (host, address) = target.split_once(" -> ").unwrap_or((target, ""));
        return NetError::PrivateTarget {
            url: host.to_string(),
            address: address.to_string(),
        };
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
