//! The token step: a failed exchange named from the server's answer (RFC 6749 §5.2 and vendor
//! formats) plus our own self-check; a successful one checked for conformance warnings.

use std::time::SystemTime;

use serde_json::Value;

use super::{probe, redirected, self_check, with_cerner};
use crate::config::{AuthMethod, Secret};
use crate::diagnosis::transcript::fingerprint;
use crate::diagnosis::vendor::{CernerError, Challenge, entra_code};
use crate::diagnosis::{Diagnosis, Id, excerpt};
use crate::smart::LaunchKind;
use crate::smart::token::SentCredentials;

/// What we sent and expected at the token step.
pub struct TokenContext<'a> {
    pub token_endpoint: &'a str,
    pub client_id: &'a str,
    pub auth: AuthMethod,
    pub secret: Option<&'a Secret>,
    pub requested_scope: &'a str,
    pub kind: LaunchKind,
    pub now: SystemTime,
    /// Discovery's `token_endpoint_auth_methods_supported`.
    pub auth_methods_supported: &'a [String],
    /// What actually went out, for the self-check (in memory only).
    pub sent: Option<&'a SentCredentials>,
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
                    "{} chars, hmac {}",
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
    skew_from_date(answer.header("date")?, now)
}

/// Server time minus ours, in seconds, from an HTTP `Date` value.
pub(super) fn skew_from_date(date: &str, now: SystemTime) -> Option<i64> {
    let date = httpdate_parse(date)?;
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

fn token_error_id_for(
    error: &str,
    desc: &str,
    body: &Value,
    cerner: Option<&CernerError>,
    ctx_auth: AuthMethod,
    raw: &str,
) -> Id {
    if ctx_auth.uses_secret() && probe::names_other_method(ctx_auth, raw).is_some() {
        return id!("token.auth_method_refused");
    }
    let id = token_error_id(error, desc, body, cerner);
    // With private_key_jwt every credential failure is about the assertion.
    if ctx_auth == AuthMethod::PrivateKeyJwt
        && matches!(
            id.id,
            "token.bad_client_credentials" | "token.unknown_client"
        )
    {
        id!("token.bad_client_assertion")
    } else {
        id
    }
}

/// Oracle Health token URNs (the part after `urn:cerner:error:authorization-server:`) and what
/// each means, in a sentence that becomes the first cause.
fn oracle_health_urn(code: &str) -> Option<(Id, &'static str)> {
    let last = code.rsplit(':').next().unwrap_or("");
    if code.contains("refresh-token") {
        return Some((
            id!("token.invalid_grant"),
            "Oracle Health: the refresh token is invalid, expired or revoked (the user's grant ended, or the app's access was removed)",
        ));
    }
    Some(match last {
        "invalid-authorization-header" => (
            id!("token.bad_auth_header"),
            "Oracle Health: the Authorization header is not a well-formed Basic header",
        ),
        "invalid-tenant" | "unknown-tenant" => (
            id!("token.invalid_tenant"),
            "Oracle Health: the tenant in the token URL does not exist (wrong tenant id, or a sandbox tenant used against production)",
        ),
        "unauthorized-client-for-tenant" => (
            id!("token.invalid_tenant"),
            "Oracle Health: the app is registered but not enabled for this tenant; the organisation must enable it",
        ),
        "empty-scopes" => (
            id!("token.invalid_scope"),
            "Oracle Health: no requested scope is granted to this app (none registered, or none left after filtering)",
        ),
        "invalid-signature" => (
            id!("token.bad_client_assertion"),
            "Oracle Health: the client assertion's signature does not verify against the registered key",
        ),
        "code-invalid-or-expired" => (
            id!("token.invalid_grant"),
            "Oracle Health: the authorization code is invalid or expired (codes live briefly and are single-use)",
        ),
        "terminated-client" => (
            id!("token.client_disabled"),
            "Oracle Health: the app's registration was terminated in the Code Console",
        ),
        _ => return None,
    })
}

/// What a Microsoft Entra ID `AADSTS` code names, and a sentence for the first cause.
fn entra(code: u64) -> Option<(Id, &'static str)> {
    Some(match code {
        700016 => (
            id!("token.unknown_client"),
            "Entra AADSTS700016: no application with this client_id in the tenant (wrong tenant, or the app was deleted)",
        ),
        90002 | 700005 => (
            id!("token.invalid_tenant"),
            "Entra: the tenant in the token URL is not the tenant the app or the code belongs to",
        ),
        7000215 => (
            id!("token.bad_client_credentials"),
            "Entra AADSTS7000215: the secret sent is not a valid secret of this app (often the secret's id sent instead of its value)",
        ),
        7000222 => (
            id!("token.client_secret_expired"),
            "Entra AADSTS7000222: the client secret has expired",
        ),
        7000218 => (
            id!("token.client_type_mismatch"),
            "Entra AADSTS7000218: the app is registered as confidential but no client_secret or client_assertion was sent",
        ),
        700025 => (
            id!("token.client_type_mismatch"),
            "Entra AADSTS700025: the app is registered as public but credentials were sent",
        ),
        7000112 => (
            id!("token.client_disabled"),
            "Entra AADSTS7000112: the application is disabled",
        ),
        70011 | 28002 | 28003 => (
            id!("token.invalid_scope"),
            "Entra: the scope is invalid or empty for this app",
        ),
        65001 => (
            id!("token.consent_required"),
            "Entra AADSTS65001: the user or an administrator has not consented to the app",
        ),
        54005 => (
            id!("token.code_reused"),
            "Entra AADSTS54005: the code was already redeemed",
        ),
        501481 => (
            id!("token.pkce_rejected"),
            "Entra AADSTS501481: the code_verifier does not match the code_challenge",
        ),
        700024 | 700027 => (
            id!("token.bad_client_assertion"),
            "Entra: the client assertion is outside its validity window or its signature does not verify",
        ),
        _ => return None,
    })
}

/// The vendor's own words for the failure, when a vendor code names it.
fn vendor_cause(body: &Value, cerner: Option<&CernerError>) -> Option<&'static str> {
    cerner
        .and_then(|c| oracle_health_urn(&c.code))
        .or_else(|| entra_code(body).and_then(entra))
        .map(|(_, cause)| cause)
}

fn token_error_id(error: &str, desc: &str, body: &Value, cerner: Option<&CernerError>) -> Id {
    let d = desc.to_ascii_lowercase();
    if let Some(c) = cerner {
        if let Some((id, _)) = oracle_health_urn(&c.code) {
            return id;
        }
        if c.client_unknown() {
            return id!("token.unknown_client");
        }
    }
    if let Some((id, _)) = entra_code(body).and_then(entra) {
        return id;
    }
    let mentions = |words: &[&str]| words.iter().any(|w| d.contains(w));
    if mentions(&["for confidential apps", "for confidential clients"])
        && mentions(&["client id is required", "client_id is required"])
    {
        // athenahealth: "Client ID is required in the Authorization header for confidential apps".
        return id!("token.client_type_mismatch");
    }
    match error {
        // Keycloak answers wrong credentials with a non-standard unauthorized_client.
        "unauthorized_client" if mentions(&["unknown_client"]) => id!("token.unknown_client"),
        "unauthorized_client" if mentions(&["invalid client"]) => {
            id!("token.bad_client_credentials")
        }
        "invalid_client"
            if mentions(&[
                "unknown client",
                "client not found",
                "unknown_client",
                "invalid client_id",
                "invalid client id",
            ]) =>
        {
            id!("token.unknown_client")
        }
        "invalid_client" => id!("token.bad_client_credentials"),
        "invalid_grant" | "invalid_request"
            if mentions(&["verifier", "pkce", "code_challenge"]) =>
        {
            id!("token.pkce_rejected")
        }
        "invalid_grant" if mentions(&["redirect"]) => id!("token.redirect_mismatch"),
        "invalid_grant" if mentions(&["already", "used", "redeemed", "replay"]) => {
            id!("token.code_reused")
        }
        "invalid_grant" => id!("token.invalid_grant"),
        "invalid_request" => id!("token.invalid_request"),
        "unauthorized_client" => id!("token.unauthorized_client"),
        "unsupported_grant_type" => id!("token.unsupported_grant_type"),
        "invalid_scope" => id!("token.invalid_scope"),
        _ => id!("token.http_error"),
    }
}

/// Oracle Health said `client=unknown`: it could not even tell which client this was.
fn oracle_health_unknown_client(
    mut d: Diagnosis,
    c: &CernerError,
    ctx: &TokenContext<'_>,
) -> Diagnosis {
    let tenant = c
        .tenant
        .as_deref()
        .map(|t| format!(" in tenant {t}"))
        .unwrap_or_default();
    d.summary = format!(
        "The token endpoint rejected the client's credentials, and Oracle Health could not even identify the client (client=unknown){tenant}. The id and secret sent do not belong together in its records."
    );
    d.first_causes.insert(
        0,
        format!(
            "Oracle Health: a confidential app authenticates with its System Account id and that account's secret; client_id {:?} and the secret sent are not such a pair (an id and a secret from different accounts, or a rotated secret)",
            ctx.client_id
        ),
    );
    d.first_fixes.insert(
        0,
        "In Cerner Central, open the app's System Account; copy its id into client_id and a current secret into client_secret, both from that same account".into(),
    );
    if let Some(id) = &c.correlation_id {
        d.last_fixes.push(format!(
            "If it still fails, give Oracle Health support the correlation id {id}"
        ));
    }
    d
}

/// What this case adds to the refused-method and client-type findings.
fn explain(d: Diagnosis, ctx: &TokenContext<'_>, raw: &str) -> Diagnosis {
    let configured = ctx.auth.as_str();
    let advertised = ctx.auth_methods_supported.iter().any(|m| m == configured);
    match d.entry.id {
        "token.auth_method_refused" => {
            let named = probe::names_other_method(ctx.auth, raw)
                .map(AuthMethod::as_str)
                .unwrap_or("client_secret_basic");
            let refused = if advertised {
                format!("{configured} (advertised in token_endpoint_auth_methods_supported)")
            } else {
                format!("{configured} (not advertised either)")
            };
            let mut d = d
                .with("Refused method", refused)
                .with("Method the server names", named)
                .with(
                    "token_endpoint_auth_methods_supported",
                    ctx.auth_methods_supported.join(", "),
                );
            d.summary = format!(
                "{} The server refuses {configured}{} and names {named}: only one method was sent, so this is not a mixed-methods error.",
                d.summary,
                if advertised {
                    ", which it advertises,"
                } else {
                    ""
                },
            );
            d.first_fixes.insert(0, format!("Use {named}"));
            d.with_first_cause(format!(
                "The server accepts {named} only{}",
                if advertised {
                    format!(" although discovery advertises {configured}")
                } else {
                    String::new()
                }
            ))
        }
        "token.client_type_mismatch" => {
            let d = d.with("Configured method", configured);
            match ctx.auth {
                AuthMethod::ClientSecretPost
                    if raw.to_ascii_lowercase().contains("authorization header") =>
                {
                    d.with_first_cause(
                        "The server wants a confidential client's id and secret in the Authorization header (client_secret_basic), not in the body",
                    )
                }
                AuthMethod::None if vendor_free(raw) => d.with_first_cause(
                    "The app is registered as confidential at the EHR but configured here as public: no secret was sent",
                ),
                _ => d,
            }
        }
        _ => d,
    }
}

fn vendor_free(raw: &str) -> bool {
    serde_json::from_str::<Value>(raw)
        .ok()
        .and_then(|b| entra_code(&b))
        .is_none()
}

/// The ids after which the client-authentication self-check runs.
fn is_client_auth_failure(id: &str) -> bool {
    matches!(
        id,
        "token.unknown_client"
            | "token.bad_client_credentials"
            | "token.bad_auth_header"
            | "token.bad_client_assertion"
            | "token.auth_method_refused"
            | "token.client_type_mismatch"
    )
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
    let (error, desc) = probe::oauth_error(answer.body);
    let Some(error) = Some(error).filter(|e| !e.is_empty()) else {
        let d = Diagnosis::new(
            id!("token.http_error"),
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
    let id = token_error_id_for(error, &desc, &body, cerner.as_ref(), ctx.auth, answer.body);
    let mut d = Diagnosis::new(
        id,
        format!(
            "The token endpoint answered HTTP {} with error={error}.",
            answer.status
        ),
    )
    .with("Status", answer.status.to_string())
    .with("error", error)
    .with("error_description", desc.as_str())
    .with("error_uri", field("error_uri"));
    // athenahealth: "Invalid audience parameter" is about aud, sent with the authorization request.
    if desc.to_ascii_lowercase().contains("audience") {
        d = d.with_first_cause(
            "The server objects to the audience: aud in the authorization request must be this server's FHIR base URL exactly (iss, no trailing slash difference)",
        );
    }
    d = with_cerner(d, cerner.as_ref())
        .with(
            "Cerner-Correlation-Id header",
            answer.header("cerner-correlation-id").unwrap_or(""),
        )
        .with(
            "WWW-Authenticate",
            answer.header("www-authenticate").unwrap_or(""),
        );
    if let Some(c) = answer.header("www-authenticate").and_then(Challenge::parse) {
        d = d
            .with("WWW-Authenticate error", c.param("error").unwrap_or(""))
            .with(
                "WWW-Authenticate error_description",
                c.param("error_description").unwrap_or(""),
            );
    }
    if let Some(code) = entra_code(&body) {
        d = d
            .with("Entra ID error code", format!("AADSTS{code}"))
            .with("trace_id", field("trace_id"))
            .with("correlation_id", field("correlation_id"));
    }
    if let Some(cause) = vendor_cause(&body, cerner.as_ref()) {
        d = d.with_first_cause(cause);
    }
    d = explain(d, ctx, answer.body);
    if let Some(c) = cerner
        .as_ref()
        .filter(|c| c.client_unknown() && id == id!("token.unknown_client"))
    {
        d = oracle_health_unknown_client(d, c, ctx);
    } else if id == id!("token.unknown_client") && ctx.auth.uses_secret() {
        d = d.with_first_cause(format!(
            "The server did not recognise client_id {:?} with this secret: check both come from the same account",
            ctx.client_id
        ));
    }
    if is_client_auth_failure(id.id) {
        for e in self_check::client_auth(ctx, answer.header("date")) {
            d.evidence.push(e);
        }
    }
    let mut out = vec![sent_evidence(d, ctx)];
    if let Some(skew) = clock_skew(answer, ctx.now).filter(|s| s.abs() > 30) {
        out.push(
            Diagnosis::new(
                id!("token.clock_skew"),
                format!("The server's clock differs from ours by {skew} s."),
            )
            .with("Skew (server − ours)", format!("{skew} s"))
            .with("Server Date", answer.header("date").unwrap_or("")),
        );
    }
    out
}

/// A usable token response and the warnings it carries.
pub type Accepted = (serde_json::Map<String, Value>, Vec<Diagnosis>);

/// The members RFC 6749 §5.1 requires that a token answer lacks (or has as non-strings).
pub fn missing_required(map: &serde_json::Map<String, Value>) -> Vec<&'static str> {
    ["access_token", "token_type"]
        .into_iter()
        .filter(|k| !map.get(*k).is_some_and(Value::is_string))
        .collect()
}

/// A 2xx token answer: the parsed response and its warnings, or why it is unusable.
pub fn token_success(
    answer: &TokenAnswer<'_>,
    ctx: &TokenContext<'_>,
) -> Result<Accepted, Diagnosis> {
    let Ok(json) = serde_json::from_str::<Value>(answer.body) else {
        return Err(Diagnosis::new(
            id!("token.not_json"),
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
            id!("token.malformed_response"),
            "The token response is JSON but not an object.",
        ));
    };
    let missing = missing_required(&map);
    if !missing.is_empty() {
        return Err(Diagnosis::new(
            id!("token.malformed_response"),
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
            Diagnosis::new(
                id!("token.not_bearer"),
                format!("token_type is {token_type:?}."),
            )
            .with("token_type", token_type),
        );
    }
    let cache = answer.header("cache-control").unwrap_or("");
    if !cache.to_ascii_lowercase().contains("no-store") {
        out.push(
            Diagnosis::new(
                id!("token.cache_headers"),
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
    // Wildcards and v1/v2 spellings count: `patient/*.rs` grants `patient/Patient.read`.
    let not_granted: Vec<&str> = requested
        .iter()
        .copied()
        .filter(|r| !crate::diagnosis::scopes::covered(&granted, r))
        .collect();
    if !not_granted.is_empty() {
        out.push(
            Diagnosis::new(
                id!("token.scopes_reduced"),
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
                id!("token.missing_context"),
                "Patient context was granted but the token response has no patient.",
            )
            .with("Missing", "patient")
            .with("Granted scope", granted.join(" ")),
        );
    }
    if has("launch/encounter") && s("encounter").is_none() {
        out.push(
            Diagnosis::new(
                id!("token.missing_context"),
                "Encounter context was granted but the token response has no encounter.",
            )
            .with("Missing", "encounter")
            .with("Granted scope", granted.join(" ")),
        );
    }
    if requested.contains(&"openid") && s("id_token").is_none() {
        out.push(Diagnosis::new(
            id!("token.no_id_token"),
            "openid was requested but the token response has no id_token.",
        ));
    }
    if (requested.contains(&"offline_access") || requested.contains(&"online_access"))
        && s("refresh_token").is_none()
    {
        out.push(Diagnosis::new(
            id!("token.no_refresh_token"),
            "Offline or online access was requested but no refresh_token came back.",
        ));
    }
    out
}

#[cfg(test)]
mod tests;
