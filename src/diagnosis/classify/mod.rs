//! Pure functions from collected evidence to diagnoses, step by step: network, discovery,
//! launch and authorization here; the token step in [`token`].

pub mod answer;
pub mod backend;
pub mod identity;
pub mod lexicon;
pub mod probe;
pub mod refresh;
mod self_check;
mod token;

pub use token::{
    Accepted, TokenAnswer, TokenContext, reserved_chars, token_failure, token_success,
};

use super::vendor::CernerError;
use super::{Diagnosis, Id, excerpt};
use crate::config::AuthMethod;
use crate::smart::LaunchKind;
use crate::smart::discovery::{Attempt, Discovered, DiscoveryFailure, Source};
use crate::smart::http::NetError;

/// A network failure on any outbound request.
pub fn net(e: &NetError, url: &str) -> Diagnosis {
    let id = match e {
        NetError::Dns(_) => id!("net.dns"),
        NetError::Connect(_) | NetError::Other(_) => id!("net.connect"),
        NetError::Tls(_) => id!("net.tls"),
        NetError::Timeout(_) => id!("net.timeout"),
        NetError::TooLarge(_) => id!("net.too_large"),
        NetError::PrivateTarget(_) => id!("net.private_target"),
        NetError::Incomplete(_) => id!("net.incomplete"),
    };
    Diagnosis::new(id, format!("The request to {url} failed: {e}."))
        .with("URL", url)
        .with("Failure", e.to_string())
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
            .filter(|s| !supported.iter().any(|o| super::scopes::covers(o, s)))
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

/// An `error` returned to our callback by the authorization server.
pub fn authorize_error(error: &str, description: Option<&str>, uri: Option<&str>) -> Diagnosis {
    let cerner = uri.and_then(CernerError::parse);
    let cerner_code = cerner.as_ref().map(|c| c.code.as_str()).unwrap_or("");
    let desc = description.unwrap_or("").to_ascii_lowercase();
    let mentions = |words: &[&str]| words.iter().any(|w| desc.contains(w));
    let oracle = |suffixes: &[&str]| suffixes.iter().any(|s| cerner_code.ends_with(s));
    let read = authorize_meaning(error, description.unwrap_or(""));
    let id = match error {
        _ if oracle(&["empty-scopes"]) => id!("authorize.invalid_scope"),
        _ if oracle(&["invalid-launch-code"]) => id!("authorize.invalid_request"),
        _ if oracle(&["client-persona-mismatch"]) => id!("authorize.persona_mismatch"),
        _ if oracle(&["invalid-redirect-uri", "redirect-uri-not-registered"])
            || cerner_code.contains("invalid-redirect-uri") =>
        {
            id!("authorize.redirect_uri_mismatch")
        }
        _ if oracle(&["unknown-client"]) => id!("authorize.unknown_client"),
        // What the words (or an Entra code) say wins over the code.
        _ if read.is_some() => read.as_ref().map(|r| r.0).unwrap_or(id!("authorize.other")),
        // Entra: AADSTS50011 (reply URL mismatch); others name the parameter in the description.
        "invalid_request" | "invalid_client" | "unauthorized_client"
            if mentions(&[
                "aadsts50011",
                "redirect_uri",
                "redirect uri",
                "reply url",
                "reply address",
            ]) =>
        {
            id!("authorize.redirect_uri_mismatch")
        }
        // Not an authorization-endpoint error in RFC 6749, but servers send it for unknown ids.
        "invalid_client" => id!("authorize.unknown_client"),
        "invalid_request" | "unauthorized_client"
            if mentions(&[
                "aadsts700016",
                "unknown client",
                "client not found",
                "invalid client",
                "client_id is invalid",
            ]) =>
        {
            id!("authorize.unknown_client")
        }
        "access_denied" => id!("authorize.access_denied"),
        "invalid_scope" => id!("authorize.invalid_scope"),
        "invalid_request" => id!("authorize.invalid_request"),
        "unauthorized_client" => id!("authorize.unauthorized_client"),
        "unsupported_response_type" => id!("authorize.unsupported_response_type"),
        "server_error" | "temporarily_unavailable" => id!("authorize.server_error"),
        _ => id!("authorize.other"),
    };
    let mut d = Diagnosis::new(
        id,
        format!("The authorization server sent the browser back with error={error}."),
    )
    .with("error", error)
    .with("error_description", description.unwrap_or(""))
    .with("error_uri", uri.unwrap_or(""));
    if let Some((_, said)) = &read {
        d = d.with("What the answer says", said.0.as_str());
        d = match &said.1 {
            Some(phrase) => d.with("Matched phrase", format!("\u{201c}{phrase}\u{201d}")),
            None => d,
        };
    }
    // The description names what it objects to: that cause goes first.
    if id == id!("authorize.invalid_request") {
        let named = [
            (
                &["aud", "audience"][..],
                "The server objects to aud: it must be the FHIR base URL exactly (iss), without a trailing slash difference",
            ),
            (
                &["launch"][..],
                "The server objects to the launch parameter: a stale or reused EHR launch code, or launch sent on a standalone launch",
            ),
            (
                &["code_challenge", "pkce"][..],
                "The server objects to PKCE: it wants code_challenge_method=S256 with a code_challenge",
            ),
            (&["scope"][..], "The server objects to the scope parameter"),
            (&["state"][..], "The server objects to the state parameter"),
            (
                &["response_type"][..],
                "The server objects to response_type",
            ),
        ];
        if let Some((_, cause)) = named.iter().find(|(words, _)| mentions(words)) {
            d = d.with_first_cause(*cause);
        }
    }
    with_cerner(d, cerner.as_ref())
}

/// What an authorization error's description (or its Entra code) says, as an authorize id, the
/// meaning, and the matched words (none when the code decided).
fn authorize_meaning(
    error: &str,
    description: &str,
) -> Option<(Id, (lexicon::Meaning, Option<String>))> {
    use lexicon::Meaning::*;
    let id_of = |m: lexicon::Meaning| match m {
        RedirectMismatch => Some(id!("authorize.redirect_uri_mismatch")),
        ClientUnknown => Some(id!("authorize.unknown_client")),
        ScopeInvalid => Some(id!("authorize.invalid_scope")),
        GrantNotAllowed => Some(id!("authorize.unauthorized_client")),
        _ => None,
    };
    let entra = description
        .strip_prefix("AADSTS")
        .or_else(|| description.find("AADSTS").map(|i| &description[i + 6..]))
        .and_then(|rest| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()
        })
        .and_then(lexicon::aadsts);
    if let Some(m) = entra {
        return id_of(m).map(|id| (id, (m, None)));
    }
    // A user's refusal is what it says, whatever words come with it.
    if error == "access_denied" {
        return None;
    }
    lexicon::ranked(description, error)
        .into_iter()
        .find_map(|f| id_of(f.meaning).map(|id| (id, (f.meaning, Some(f.phrase)))))
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
