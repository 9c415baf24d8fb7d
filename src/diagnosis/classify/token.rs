//! The token step: a failed exchange named from the server's answer (RFC 6749 §5.2 and vendor
//! formats) plus our own self-check; a successful one checked for conformance warnings.

use std::time::SystemTime;

use serde_json::Value;

use super::{redirected, self_check, with_cerner};
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
    auth: AuthMethod,
) -> Id {
    let id = token_error_id(error, desc, body, cerner);
    // With private_key_jwt every credential failure is about the assertion.
    if auth == AuthMethod::PrivateKeyJwt
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

fn token_error_id(error: &str, desc: &str, body: &Value, cerner: Option<&CernerError>) -> Id {
    let d = desc.to_ascii_lowercase();
    if let Some(c) = cerner {
        match c.code.rsplit(':').next().unwrap_or("") {
            "invalid-authorization-header" => return id!("token.bad_auth_header"),
            "invalid-tenant" => return id!("token.invalid_tenant"),
            "empty-scopes" => return id!("token.invalid_scope"),
            "invalid-signature" => return id!("token.bad_client_assertion"),
            _ if c.client_unknown() => return id!("token.unknown_client"),
            _ => {}
        }
    }
    match entra_code(body) {
        Some(700016 | 90002) => return id!("token.unknown_client"),
        Some(7000215 | 7000218) => return id!("token.bad_client_credentials"),
        Some(54005) => return id!("token.code_reused"),
        Some(501481) => return id!("token.pkce_rejected"),
        Some(700024 | 700027) => return id!("token.bad_client_assertion"),
        _ => {}
    }
    let mentions = |words: &[&str]| words.iter().any(|w| d.contains(w));
    match error {
        // Keycloak answers wrong credentials with a non-standard unauthorized_client.
        "unauthorized_client" if mentions(&["unknown_client"]) => id!("token.unknown_client"),
        "unauthorized_client" if mentions(&["invalid client"]) => {
            id!("token.bad_client_credentials")
        }
        "invalid_client" if mentions(&["unknown client", "client not found", "unknown_client"]) => {
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

/// The ids after which the client-authentication self-check runs.
fn is_client_auth_failure(id: &str) -> bool {
    matches!(
        id,
        "token.unknown_client"
            | "token.bad_client_credentials"
            | "token.bad_auth_header"
            | "token.bad_client_assertion"
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
    let error = json
        .as_ref()
        .and_then(|j| j.get("error"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let Some(error) = error else {
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
    let id = token_error_id_for(
        error,
        field("error_description"),
        &body,
        cerner.as_ref(),
        ctx.auth,
    );
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
    if let Some(c) = cerner.as_ref().filter(|c| c.client_unknown()) {
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
            .with("Missing", "patient"),
        );
    }
    if has("launch/encounter") && s("encounter").is_none() {
        out.push(
            Diagnosis::new(
                id!("token.missing_context"),
                "Encounter context was granted but the token response has no encounter.",
            )
            .with("Missing", "encounter"),
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
