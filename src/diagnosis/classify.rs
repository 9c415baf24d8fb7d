//! Pure functions from collected evidence to diagnoses, step by step.

use std::time::SystemTime;

use serde_json::Value;

use super::transcript::fingerprint;
use super::vendor::{CernerError, entra_code};
use super::{Diagnosis, excerpt};
use crate::config::{AuthMethod, Secret};
use crate::smart::LaunchKind;
use crate::smart::discovery::{Attempt, Discovered};
use crate::smart::http::NetError;

/// A network failure on any outbound request.
pub fn net(e: &NetError, url: &str) -> Diagnosis {
    let id = match e {
        NetError::Dns(_) => "net.dns",
        NetError::Connect(_) | NetError::Other(_) => "net.connect",
        NetError::Tls(_) => "net.tls",
        NetError::Timeout(_) => "net.timeout",
        NetError::TooLarge(_) => "net.too_large",
    };
    Diagnosis::new(id, format!("The request to {url} failed: {e}."))
        .with("URL", url)
        .with("Failure", e.to_string())
}

/// A 3xx answer to an outbound request (redirects are never followed).
pub fn redirected(url: &str, status: u16, location: Option<&str>) -> Diagnosis {
    Diagnosis::new(
        "net.redirected",
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
            "discovery.missing_fields",
            format!(
                "The SMART configuration lacks {}, and the CapabilityStatement gave none either.",
                missing.join(" and ")
            ),
        )
        .with("Missing", missing.join(", "))
    } else if is_non_json_answer(wk) && (is_non_json_answer(md) || wk_ok) {
        Diagnosis::new(
            "discovery.not_json",
            "Discovery answered with a page that is not JSON: the FHIR base probably points at a portal, a login page or a proxy.",
        )
    } else if let Attempt::Answer {
        status: status @ 300..=399,
        location,
        ..
    } = wk
    {
        redirected(wk_url, *status, location.as_deref())
    } else {
        Diagnosis::new(
            "discovery.not_found",
            "Neither .well-known/smart-configuration nor the CapabilityStatement gave the SMART endpoints.",
        )
    };
    let d = attempt_evidence(d, "SMART configuration", wk_url, wk);
    attempt_evidence(d, "CapabilityStatement", md_url, md)
}

/// Conformance findings about a `.well-known` document that worked.
pub fn discovery_conformance(
    d: &Discovered,
    absent: &[&str],
    resolved: &[String],
) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    if !absent.is_empty() || !resolved.is_empty() {
        let mut w = Diagnosis::new(
            "discovery.incomplete",
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
                "discovery.pkce_not_advertised",
                "code_challenge_methods_supported does not say S256 only; PKCE S256 is sent anyway.",
            )
            .with("code_challenge_methods_supported", format!("{methods:?}")),
        );
    }
    out
}

/// The endpoints came from the CapabilityStatement only.
pub fn legacy_metadata(d: &Discovered) -> Diagnosis {
    Diagnosis::new(
        "discovery.legacy_metadata",
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
                "discovery.auth_method_unsupported",
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
    };
    if !d.capabilities.is_empty() && !d.capabilities.iter().any(|c| c == launch_cap) {
        out.push(
            Diagnosis::new(
                "discovery.launch_unsupported",
                format!("The server does not advertise the {launch_cap} capability."),
            )
            .with("capabilities", d.capabilities.join(", ")),
        );
    }
    if let Some(supported) = &d.scopes_supported {
        let missing: Vec<&str> = scope
            .split_whitespace()
            .filter(|s| !supported.iter().any(|o| o == s))
            .collect();
        if !missing.is_empty() {
            out.push(
                Diagnosis::new(
                    "discovery.scope_unsupported",
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
    let id = match error {
        _ if cerner_code.ends_with("empty-scopes") => "authorize.invalid_scope",
        _ if cerner_code.ends_with("invalid-launch-code") => "authorize.invalid_request",
        "access_denied" => "authorize.access_denied",
        "invalid_scope" => "authorize.invalid_scope",
        "invalid_request" => "authorize.invalid_request",
        "unauthorized_client" => "authorize.unauthorized_client",
        "unsupported_response_type" => "authorize.unsupported_response_type",
        "server_error" | "temporarily_unavailable" => "authorize.server_error",
        _ => "authorize.other",
    };
    let d = Diagnosis::new(
        id,
        format!("The authorization server sent the browser back with error={error}."),
    )
    .with("error", error)
    .with("error_description", description.unwrap_or(""))
    .with("error_uri", uri.unwrap_or(""));
    with_cerner(d, cerner.as_ref())
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

/// What we sent and expected at the token step.
pub struct TokenContext<'a> {
    pub token_endpoint: &'a str,
    pub client_id: &'a str,
    pub auth: AuthMethod,
    pub secret: Option<&'a Secret>,
    pub requested_scope: &'a str,
    pub kind: LaunchKind,
    pub now: SystemTime,
}

/// The facts of the token endpoint's answer the diagnosis reads.
pub struct TokenAnswer<'a> {
    pub status: u16,
    pub headers: &'a http::HeaderMap,
    pub body: &'a str,
}

impl TokenAnswer<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Characters RFC 6749 §2.3.1 form-encoding changes before Basic authentication.
pub fn reserved_chars(secret: &str) -> String {
    let mut found: Vec<char> = secret
        .chars()
        .filter(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '*')))
        .collect();
    found.sort_unstable();
    found.dedup();
    found
        .iter()
        .map(|c| {
            if *c == ' ' {
                "space".to_string()
            } else {
                format!("'{c}'")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn sent_evidence(d: Diagnosis, ctx: &TokenContext<'_>) -> Diagnosis {
    let d = d
        .with("Token endpoint (discovered)", ctx.token_endpoint)
        .with("client_id sent", ctx.client_id)
        .with("Authentication method", ctx.auth.as_str());
    match ctx.secret {
        Some(s) => {
            let reserved = reserved_chars(s.expose());
            let encoding = if reserved.is_empty() {
                "none: form-encoding leaves it unchanged".to_string()
            } else if ctx.auth == AuthMethod::ClientSecretBasic {
                format!("contains {reserved}; form-encoded before Basic (RFC 6749 §2.3.1)")
            } else {
                format!("contains {reserved}; form-encoded in the body")
            };
            d.with(
                "Secret sent",
                format!(
                    "{} chars, sha256 {}",
                    s.expose().chars().count(),
                    fingerprint(s.expose())
                ),
            )
            .with("Secret encoding", encoding)
        }
        None => d.with("Secret sent", "none"),
    }
}

fn clock_skew(answer: &TokenAnswer<'_>, now: SystemTime) -> Option<i64> {
    let date = httpdate_parse(answer.header("date")?)?;
    let ours = now.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs() as i64;
    Some(date - ours)
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) to Unix seconds.
fn httpdate_parse(s: &str) -> Option<i64> {
    let fmt = time::format_description::well_known::Rfc2822;
    time::OffsetDateTime::parse(&s.replace("GMT", "+0000"), &fmt)
        .ok()
        .map(|t| t.unix_timestamp())
}

fn token_error_id(
    error: &str,
    desc: &str,
    body: &Value,
    cerner: Option<&CernerError>,
) -> &'static str {
    let d = desc.to_ascii_lowercase();
    if let Some(c) = cerner {
        match c.code.rsplit(':').next().unwrap_or("") {
            "invalid-authorization-header" => return "token.bad_auth_header",
            "invalid-tenant" => return "token.invalid_tenant",
            "empty-scopes" => return "token.invalid_scope",
            "invalid-signature" => return "token.bad_client_assertion",
            _ if c.client_unknown() => return "token.unknown_client",
            _ => {}
        }
    }
    match entra_code(body) {
        Some(700016 | 90002) => return "token.unknown_client",
        Some(7000215 | 7000218) => return "token.bad_client_credentials",
        Some(54005) => return "token.code_reused",
        Some(501481) => return "token.pkce_rejected",
        Some(700024 | 700027) => return "token.bad_client_assertion",
        _ => {}
    }
    let mentions = |words: &[&str]| words.iter().any(|w| d.contains(w));
    match error {
        // Keycloak answers wrong credentials with a non-standard unauthorized_client.
        "unauthorized_client" if mentions(&["unknown_client"]) => "token.unknown_client",
        "unauthorized_client" if mentions(&["invalid client"]) => "token.bad_client_credentials",
        "invalid_client" if mentions(&["unknown client", "client not found", "unknown_client"]) => {
            "token.unknown_client"
        }
        "invalid_client" => "token.bad_client_credentials",
        "invalid_grant" | "invalid_request"
            if mentions(&["verifier", "pkce", "code_challenge"]) =>
        {
            "token.pkce_rejected"
        }
        "invalid_grant" if mentions(&["redirect"]) => "token.redirect_mismatch",
        "invalid_grant" if mentions(&["already", "used", "redeemed", "replay"]) => {
            "token.code_reused"
        }
        "invalid_grant" => "token.invalid_grant",
        "invalid_request" => "token.invalid_request",
        "unauthorized_client" => "token.unauthorized_client",
        "unsupported_grant_type" => "token.unsupported_grant_type",
        "invalid_scope" => "token.invalid_scope",
        _ => "token.http_error",
    }
}

fn html_title(body: &str) -> Option<String> {
    let lower = body.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let open_end = start + lower[start..].find('>')? + 1;
    let close = open_end + lower[open_end..].find("</title")?;
    Some(excerpt(&body[open_end..close], 120))
}

/// A token endpoint answer that is not a success.
pub fn token_failure(answer: &TokenAnswer<'_>, ctx: &TokenContext<'_>) -> Vec<Diagnosis> {
    if (300..400).contains(&answer.status) {
        let d = redirected(ctx.token_endpoint, answer.status, answer.header("location"));
        return vec![sent_evidence(d, ctx)];
    }
    let json: Option<Value> = serde_json::from_str(answer.body).ok();
    let error = json
        .as_ref()
        .and_then(|j| j.get("error"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let Some(error) = error else {
        let d = Diagnosis::new(
            "token.http_error",
            format!(
                "The token endpoint answered HTTP {} without an OAuth error.",
                answer.status
            ),
        )
        .with("Status", answer.status.to_string())
        .with("Content-Type", answer.header("content-type").unwrap_or(""))
        .with("Page title", html_title(answer.body).unwrap_or_default())
        .with("Body (first bytes)", excerpt(answer.body, 300));
        return vec![sent_evidence(d, ctx)];
    };
    let body = json.unwrap_or(Value::Null);
    let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("");
    let cerner = CernerError::parse(field("error_uri"));
    let error = error.as_str();
    let id = token_error_id(error, field("error_description"), &body, cerner.as_ref());
    let mut d = Diagnosis::new(
        id,
        format!(
            "The token endpoint answered HTTP {} with error={error}.",
            answer.status
        ),
    )
    .with("Status", answer.status.to_string())
    .with("error", error)
    .with("error_description", field("error_description"))
    .with("error_uri", field("error_uri"));
    d = with_cerner(d, cerner.as_ref())
        .with(
            "Cerner-Correlation-Id header",
            answer.header("cerner-correlation-id").unwrap_or(""),
        )
        .with(
            "WWW-Authenticate",
            answer.header("www-authenticate").unwrap_or(""),
        );
    if let Some(code) = entra_code(&body) {
        d = d
            .with("Entra ID error code", format!("AADSTS{code}"))
            .with("trace_id", field("trace_id"))
            .with("correlation_id", field("correlation_id"));
    }
    if id == "token.unknown_client" && ctx.auth.uses_secret() {
        d = d.with_first_cause(format!(
            "The server did not recognise client_id {:?} with this secret: check both come from the same account",
            ctx.client_id
        ));
    }
    let mut out = vec![sent_evidence(d, ctx)];
    if let Some(skew) = clock_skew(answer, ctx.now).filter(|s| s.abs() > 30) {
        out.push(
            Diagnosis::new(
                "token.clock_skew",
                format!("The server's clock differs from ours by {skew} s."),
            )
            .with("Skew (server − ours)", format!("{skew} s"))
            .with("Server Date", answer.header("date").unwrap_or("")),
        );
    }
    out
}

/// A 2xx token answer: the parsed response and its warnings, or why it is unusable.
pub fn token_success(
    answer: &TokenAnswer<'_>,
    ctx: &TokenContext<'_>,
) -> Result<(serde_json::Map<String, Value>, Vec<Diagnosis>), Diagnosis> {
    let Ok(json) = serde_json::from_str::<Value>(answer.body) else {
        return Err(Diagnosis::new(
            "token.not_json",
            format!(
                "The token endpoint answered HTTP {} with a body that is not JSON.",
                answer.status
            ),
        )
        .with("Content-Type", answer.header("content-type").unwrap_or(""))
        .with("Page title", html_title(answer.body).unwrap_or_default())
        .with("Body (first bytes)", excerpt(answer.body, 300)));
    };
    let Value::Object(map) = json else {
        return Err(Diagnosis::new(
            "token.malformed_response",
            "The token response is JSON but not an object.",
        ));
    };
    let missing: Vec<&str> = ["access_token", "token_type"]
        .into_iter()
        .filter(|k| !map.get(*k).is_some_and(Value::is_string))
        .collect();
    if !missing.is_empty() {
        return Err(Diagnosis::new(
            "token.malformed_response",
            format!("The token response lacks {}.", missing.join(" and ")),
        )
        .with("Missing", missing.join(", "))
        .with(
            "Fields present",
            map.keys().cloned().collect::<Vec<_>>().join(", "),
        ));
    }
    Ok((map.clone(), token_warnings(&map, answer, ctx)))
}

fn token_warnings(
    map: &serde_json::Map<String, Value>,
    answer: &TokenAnswer<'_>,
    ctx: &TokenContext<'_>,
) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    let s = |k: &str| map.get(k).and_then(Value::as_str);
    let token_type = s("token_type").unwrap_or("");
    if !token_type.eq_ignore_ascii_case("bearer") {
        out.push(
            Diagnosis::new("token.not_bearer", format!("token_type is {token_type:?}."))
                .with("token_type", token_type),
        );
    }
    let cache = answer.header("cache-control").unwrap_or("");
    if !cache.to_ascii_lowercase().contains("no-store") {
        out.push(
            Diagnosis::new(
                "token.cache_headers",
                "The token response may be cached: Cache-Control lacks no-store.",
            )
            .with(
                "Cache-Control",
                if cache.is_empty() { "(absent)" } else { cache },
            ),
        );
    }
    let requested: Vec<&str> = ctx.requested_scope.split_whitespace().collect();
    // RFC 6749 §5.1: no scope in the answer means the requested scope was granted.
    let granted: Vec<&str> = s("scope")
        .map(|g| g.split_whitespace().collect())
        .unwrap_or_else(|| requested.clone());
    let not_granted: Vec<&str> = requested
        .iter()
        .copied()
        .filter(|r| !granted.contains(r))
        .collect();
    if !not_granted.is_empty() {
        out.push(
            Diagnosis::new(
                "token.scopes_reduced",
                format!(
                    "{} of {} requested scopes were not granted.",
                    not_granted.len(),
                    requested.len()
                ),
            )
            .with("Not granted", not_granted.join(" "))
            .with("Granted", granted.join(" ")),
        );
    }
    let has = |scope: &str| granted.contains(&scope);
    let patient_wanted = has("launch/patient") || (ctx.kind == LaunchKind::Ehr && has("launch"));
    if patient_wanted && s("patient").is_none() {
        out.push(
            Diagnosis::new(
                "token.missing_context",
                "Patient context was granted but the token response has no patient.",
            )
            .with("Missing", "patient"),
        );
    }
    if has("launch/encounter") && s("encounter").is_none() {
        out.push(
            Diagnosis::new(
                "token.missing_context",
                "Encounter context was granted but the token response has no encounter.",
            )
            .with("Missing", "encounter"),
        );
    }
    if requested.contains(&"openid") && s("id_token").is_none() {
        out.push(Diagnosis::new(
            "token.no_id_token",
            "openid was requested but the token response has no id_token.",
        ));
    }
    if (requested.contains(&"offline_access") || requested.contains(&"online_access"))
        && s("refresh_token").is_none()
    {
        out.push(Diagnosis::new(
            "token.no_refresh_token",
            "Offline or online access was requested but no refresh_token came back.",
        ));
    }
    out
}

#[cfg(test)]
mod tests;
