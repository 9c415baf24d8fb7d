//! Naming a failed request from reqwest's error chain, apart from reqwest's types so the rules
//! can be tested without network traffic.

use super::NetError;

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
