//! Pure functions from collected evidence to diagnoses, step by step: network, discovery,
//! launch and authorization here; the token step in [`token`].

pub mod answer;
mod authorize;
pub mod backend;
mod id_claims;
pub mod identity;
pub mod lexicon;
pub mod probe;
pub mod refresh;
mod self_check;
mod token;

pub use authorize::authorize_error;

pub use token::{
    Accepted, TokenAnswer, TokenContext, reserved_chars, token_failure, token_success,
};

use super::vendor::CernerError;
use super::{Diagnosis, excerpt};
use crate::config::AuthMethod;
use crate::smart::LaunchKind;
use crate::smart::discovery::{Attempt, Discovered, DiscoveryFailure, Source};
use crate::smart::net_error::NetError;

/// A network failure on any outbound request.
pub fn net(e: &NetError, url: &str) -> Diagnosis {
    let id = match e {
        NetError::Dns(_) => id!("net.dns"),
        NetError::Connect(_) | NetError::Other(_) => id!("net.connect"),
        NetError::Tls(_) => id!("net.tls"),
        NetError::Timeout(_) => id!("net.timeout"),
        NetError::TooLarge(_) => id!("net.too_large"),
        NetError::PrivateTarget { .. } => id!("net.private_target"),
        NetError::Incomplete(_) => id!("net.incomplete"),
    };
    let d = Diagnosis::new(id, format!("The request to {url} failed: {e}."))
        .with("URL", url)
        .with("Failure", e.to_string());
    match e {
        NetError::PrivateTarget {
            url: written,
            address,
        } => d
            .with("URL as written", written.as_str())
            .with("Address it means", address.as_str()),
        _ => d,
    }
}

/// A 3xx answer to an outbound request (redirects are never followed).
pub fn redirected(url: &str, status: u16, location: Option<&str>) -> Diagnosis {
    Diagnosis::new(
        id!("net.redirected"),
        format!("{url} answered {status} and points elsewhere; redirects are not followed."),
    )
    .with("URL", url)
    .with("Status", status.to_string())
    .with("Location", location.unwrap_or("(none)"))
}

fn attempt_evidence(d: Diagnosis, label: &str, url: &str, a: &Attempt) -> Diagnosis {
    match a {
        Attempt::Net(e) => d.with(label, format!("{url} → {e}")),
        Attempt::Answer {
            status,
            content_type,
            body,
            ..
        } => d
            .with(label, format!("{url} → {status} {content_type}"))
            .with(&format!("{label}: first bytes"), excerpt(body, 200)),
    }
}

fn is_non_json_answer(a: &Attempt) -> bool {
    match a {
        Attempt::Answer {
            content_type, body, ..
        } => {
            !body.is_empty()
                && (body.trim_start().starts_with('<')
                    || !(content_type.contains("json") || body.trim_start().starts_with('{')))
        }
        Attempt::Net(_) => false,
    }
}

/// Neither the `.well-known` document nor the CapabilityStatement gave usable endpoints.
pub fn discovery_failed(
    (wk_url, wk): (&str, &Attempt),
    (md_url, md): (&str, &Attempt),
    missing: &[String],
) -> Diagnosis {
    let wk_ok = matches!(wk, Attempt::Answer { status, .. } if (200..300).contains(status));
    let d = if !missing.is_empty() {
        Diagnosis::new(
            id!("discovery.missing_fields"),
            format!(
                "The SMART configuration lacks {}, and the CapabilityStatement gave none either.",
                missing.join(" and ")
            ),
        )
        .with("Missing", missing.join(", "))
    } else if let Attempt::Answer {
        status: status @ 300..=399,
        location,
        ..
    } = wk
    {
        // Before "not JSON": servers send an HTML body with their redirects.
        redirected(wk_url, *status, location.as_deref())
    } else if is_non_json_answer(wk) && (is_non_json_answer(md) || wk_ok) {
        Diagnosis::new(
            id!("discovery.not_json"),
            "Discovery answered with a page that is not JSON: the FHIR base probably points at a portal, a login page or a proxy.",
        )
    } else {
        Diagnosis::new(
            id!("discovery.not_found"),
            "Neither .well-known/smart-configuration nor the CapabilityStatement gave the SMART endpoints.",
        )
    };
    let d = attempt_evidence(d, "SMART configuration", wk_url, wk);
    attempt_evidence(d, "CapabilityStatement", md_url, md)
}

/// Conformance findings about a `.well-known` document that worked.
/// What discovery's failure evidence means.
pub fn discovery_failure(f: &DiscoveryFailure) -> Diagnosis {
    match f {
        DiscoveryFailure::Net { url, error } => net(error, url),
        DiscoveryFailure::NotFound {
            well_known,
            metadata,
            missing,
        } => discovery_failed(
            (&well_known.0, &well_known.1),
            (&metadata.0, &metadata.1),
            missing,
        ),
    }
}

/// Findings about a discovered document itself (`discovery.*` warnings).
pub fn discovery_warnings(d: &Discovered) -> Vec<Diagnosis> {
    if d.source == Source::CapabilityStatement {
        return vec![legacy_metadata(d)];
    }
    let absent: Vec<&str> = d.absent.iter().map(String::as_str).collect();
    let mut out = discovery_conformance(d, &absent, &d.resolved);
    if let Some(w) = d
        .capability_statement
        .as_deref()
        .and_then(|other| sources_disagree(d, other))
    {
        out.push(w);
    }
    out
}

pub fn discovery_conformance(
    d: &Discovered,
    absent: &[&str],
    resolved: &[String],
) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    if !absent.is_empty() || !resolved.is_empty() {
        let mut w = Diagnosis::new(
            id!("discovery.incomplete"),
            "The SMART configuration lacks fields SMART App Launch 2 requires, or uses relative URLs.",
        );
        if !absent.is_empty() {
            w = w.with("Missing", absent.join(", "));
        }
        if !resolved.is_empty() {
            w = w.with("Relative URLs resolved", resolved.join("; "));
        }
        out.push(w);
    }
    let methods = &d.code_challenge_methods_supported;
    if !methods.iter().any(|m| m == "S256") || methods.iter().any(|m| m == "plain") {
        out.push(
            Diagnosis::new(
                id!("discovery.pkce_not_advertised"),
                "code_challenge_methods_supported does not say S256 only; PKCE S256 is sent anyway.",
            )
            .with("code_challenge_methods_supported", format!("{methods:?}")),
        );
    }
    out
}

/// `.well-known` and the CapabilityStatement name different endpoints.
pub fn sources_disagree(well_known: &Discovered, capability: &Discovered) -> Option<Diagnosis> {
    let pairs = [
        (
            "authorize",
            &well_known.authorization_endpoint,
            &capability.authorization_endpoint,
        ),
        (
            "token",
            &well_known.token_endpoint,
            &capability.token_endpoint,
        ),
    ];
    let differing: Vec<_> = pairs.iter().filter(|(_, a, b)| a != b).collect();
    if differing.is_empty() {
        return None;
    }
    let mut d = Diagnosis::new(
        id!("discovery.sources_disagree"),
        ".well-known/smart-configuration and the CapabilityStatement name different endpoints; the .well-known ones are used.",
    );
    for (name, a, b) in differing {
        d = d
            .with(&format!("{name}: .well-known"), a.as_str())
            .with(&format!("{name}: CapabilityStatement"), b.as_str());
    }
    Some(d)
}

/// The endpoints came from the CapabilityStatement only.
pub fn legacy_metadata(d: &Discovered) -> Diagnosis {
    Diagnosis::new(
        id!("discovery.legacy_metadata"),
        "The server has no .well-known/smart-configuration; the endpoints came from its CapabilityStatement (SMART v1).",
    )
    .with("Authorization endpoint", &d.authorization_endpoint)
    .with("Token endpoint", &d.token_endpoint)
}

/// The registration compared with what discovery advertises.
pub fn registration_vs_discovery(
    d: &Discovered,
    auth: AuthMethod,
    kind: LaunchKind,
    scope: &str,
) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    let methods = &d.token_endpoint_auth_methods_supported;
    let capability = match auth {
        AuthMethod::None => "client-public",
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => {
            "client-confidential-symmetric"
        }
        AuthMethod::PrivateKeyJwt => "client-confidential-asymmetric",
    };
    let method_missing = auth != AuthMethod::None
        && !methods.is_empty()
        && !methods.iter().any(|m| m == auth.as_str());
    let capability_missing =
        !d.capabilities.is_empty() && !d.capabilities.iter().any(|c| c == capability);
    if method_missing || capability_missing {
        out.push(
            Diagnosis::new(
                id!("discovery.auth_method_unsupported"),
                format!(
                    "This registration authenticates with {}, which the server does not advertise.",
                    auth.as_str()
                ),
            )
            .with("Configured method", auth.as_str())
            .with("token_endpoint_auth_methods_supported", methods.join(", "))
            .with(
                "Capability expected",
                if capability_missing {
                    format!("{capability} (absent)")
                } else {
                    format!("{capability} (present)")
                },
            ),
        );
    }
    let launch_cap = match kind {
        LaunchKind::Ehr => "launch-ehr",
        LaunchKind::Standalone => "launch-standalone",
        // Backend Services has no launch capability of its own (SMART 2.2 lists none).
        LaunchKind::Backend => "",
    };
    if !launch_cap.is_empty()
        && !d.capabilities.is_empty()
        && !d.capabilities.iter().any(|c| c == launch_cap)
    {
        out.push(
            Diagnosis::new(
                id!("discovery.launch_unsupported"),
                format!("The server does not advertise the {launch_cap} capability."),
            )
            .with("capabilities", d.capabilities.join(", ")),
        );
    }
    out.extend(super::capabilities::missing(
        &d.capabilities,
        auth,
        kind,
        scope,
    ));
    if let Some(supported) = &d.scopes_supported {
        let missing: Vec<&str> = scope
            .split_whitespace()
            .filter(|s| {
                // Listed as requested (the usual case) before any is parsed.
                !supported.iter().any(|o| o == s)
                    && !supported.iter().any(|o| super::scopes::covers(o, s))
            })
            .collect();
        if !missing.is_empty() {
            out.push(
                Diagnosis::new(
                    id!("discovery.scope_unsupported"),
                    "Some requested scopes are not in the server's scopes_supported.",
                )
                .with("Not offered", missing.join(" "))
                .with("scopes_supported", supported.join(" ")),
            );
        }
    }
    out
}

fn with_cerner(d: Diagnosis, c: Option<&CernerError>) -> Diagnosis {
    let Some(c) = c else { return d };
    d.with("Oracle Health error", &c.code)
        .with(
            "Correlation id (quote it to support)",
            c.correlation_id.clone().unwrap_or_default(),
        )
        .with(
            "Client as the server identified it",
            c.client.clone().unwrap_or_default(),
        )
        .with("Tenant", c.tenant.clone().unwrap_or_default())
        .with("Persona", c.persona.clone().unwrap_or_default())
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod word_tests;
