//! The token step: a failed exchange named from the server's answer (RFC 6749 §5.2 and vendor
//! formats) plus our own self-check; a successful one checked for conformance warnings.

use std::time::SystemTime;

use serde_json::Value;

mod ids;
mod success;

pub use success::{Accepted, missing_required, token_success};

use super::answer::{self, Shape};
use super::{lexicon, probe, redirected, self_check, with_cerner};
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
    /// An earlier step proved the server knows this client id (the authorize step issued a
    /// code for it, or tokens were issued before a refresh).
    pub client_known: bool,
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
    match d.id() {
        id if id == id!("token.auth_method_refused") => {
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
        id if id == id!("token.client_type_mismatch") => {
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
fn is_client_auth_failure(id: Id) -> bool {
    [
        id!("token.unknown_client"),
        id!("token.bad_client_credentials"),
        id!("token.bad_auth_header"),
        id!("token.bad_client_assertion"),
        id!("token.auth_method_refused"),
        id!("token.client_type_mismatch"),
    ]
    .contains(&id)
}

fn html_title(body: &str) -> Option<String> {
    let lower = body.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let open_end = start + lower[start..].find('>')? + 1;
    let close = open_end + lower[open_end..].find("</title")?;
    Some(excerpt(&body[open_end..close], 120))
}

/// The discovery finding that explains a credential failure when the configured method is not
/// one the server advertises (a Backend Services client whose server lists no
/// `private_key_jwt`): raised to lead the failure.
fn unadvertised_method(ctx: &TokenContext<'_>, chosen: &ids::Chosen) -> Option<Diagnosis> {
    let methods = ctx.auth_methods_supported;
    let credential_failure = [
        id!("token.bad_client_credentials"),
        id!("token.bad_client_assertion"),
        id!("token.unknown_client"),
    ]
    .contains(&chosen.id);
    if !chosen.code_only
        || !credential_failure
        || ctx.auth == AuthMethod::None
        || methods.is_empty()
        || methods.iter().any(|m| m == ctx.auth.as_str())
    {
        return None;
    }
    let d = Diagnosis::new(
        id!("discovery.auth_method_unsupported"),
        format!(
            "The token endpoint rejected the client, and its discovery does not list {}, the method this registration uses: the server most likely does not accept that method.",
            ctx.auth.as_str()
        ),
    )
    .raised()
    .with("Configured method", ctx.auth.as_str())
    .with("token_endpoint_auth_methods_supported", methods.join(", "))
    .with_first_cause(format!(
        "The server does not support {} for this client; it lists only {}",
        ctx.auth.as_str(),
        methods.join(", ")
    ));
    Some(d)
}

/// A token endpoint answer that is not a success.
pub fn token_failure(answer: &TokenAnswer<'_>, ctx: &TokenContext<'_>) -> Vec<Diagnosis> {
    if (300..400).contains(&answer.status) {
        let d = redirected(ctx.token_endpoint, answer.status, answer.header("location"));
        return vec![sent_evidence(d, ctx)];
    }
    let a = answer::read(
        answer.status,
        answer.header("www-authenticate"),
        answer.body,
    );
    let chosen = ids::choose(&a, ctx, answer.body);
    if a.code.is_empty() && chosen.found.is_none() && chosen.vendor_cause.is_none() {
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
    }
    let json: Option<Value> = serde_json::from_str(answer.body).ok();
    let body = json.unwrap_or(Value::Null);
    let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("");
    let cerner = a.oracle.clone();
    let error = if a.code.is_empty() {
        "(none)"
    } else {
        a.code.as_str()
    };
    let id = chosen.id;
    let mut d = Diagnosis::new(
        id,
        format!(
            "The token endpoint answered HTTP {} with error={error}.",
            answer.status
        ),
    )
    .with("Status", answer.status.to_string())
    .with("error", error)
    .with("error_description", a.description())
    .with("error_uri", field("error_uri"));
    if a.shape != Shape::OAuth {
        d = d.with("Answer shape", a.shape.as_str());
    }
    d = with_meaning(d, chosen.found.as_ref());
    // athenahealth: "Invalid audience parameter" is about aud, sent with the authorization request.
    if a.text().to_ascii_lowercase().contains("audience") && ctx.auth != AuthMethod::PrivateKeyJwt {
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
    if let Some(code) = a.aadsts {
        d = d
            .with("Entra ID error code", format!("AADSTS{code}"))
            .with("trace_id", field("trace_id"))
            .with("correlation_id", field("correlation_id"));
    }
    if let Some(cause) = chosen.vendor_cause {
        d = d.with_first_cause(cause);
    }
    d = explain(d, ctx, answer.body);
    d = in_case(d, ctx, &chosen);
    if id == id!("token.client_credentials_not_enabled") {
        d.summary.push_str(
            " No code is sent with client_credentials: the client was authenticated, but the server does not allow it this grant (it is not enabled for the client).",
        );
        d = d.with(
            "Client authenticated",
            "yes: the answer refuses the grant, not the client",
        );
    }
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
    if is_client_auth_failure(id) {
        for e in self_check::client_auth(ctx, answer.header("date")) {
            d.evidence.push(e);
        }
    }
    let mut out: Vec<Diagnosis> = unadvertised_method(ctx, &chosen).into_iter().collect();
    out.push(sent_evidence(d, ctx));
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

/// The meaning read from the answer's words, and the words, as evidence.
pub(super) fn with_meaning(d: Diagnosis, found: Option<&lexicon::Found>) -> Diagnosis {
    match found {
        Some(f) => d
            .with("What the answer says", f.meaning.as_str())
            .with("Matched phrase", format!("\u{201c}{}\u{201d}", f.phrase)),
        None => d,
    }
}

/// What the rest of the case settles when the answer's words did not.
fn in_case(mut d: Diagnosis, ctx: &TokenContext<'_>, chosen: &ids::Chosen) -> Diagnosis {
    if !chosen.code_only {
        return d;
    }
    match (ctx.auth, d.id()) {
        (AuthMethod::None, id) if id == id!("token.client_type_mismatch") => {
            d.summary.push_str(
                " No secret is configured, so none can be wrong; the authorization server had just accepted this client id at the authorize step, so it knows the client: it expects a confidential one.",
            );
            d.with(
                "Client id known to the server",
                "yes: the authorize step accepted it and issued a code",
            )
        }
        (AuthMethod::None, id) if id == id!("token.unknown_client") => {
            d.summary.push_str(
                " No secret is configured, so none can be wrong: the server does not know this client id, or has it registered as confidential (nothing here proved which).",
            );
            d.first_causes.splice(
                0..0,
                [
                    format!(
                        "client_id {:?} is not registered at this server (another environment or tenant, or a typo)",
                        ctx.client_id
                    ),
                    "The app is registered as confidential at the EHR but configured here as public: no secret was sent".to_string(),
                ],
            );
            d
        }
        _ => d,
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod vendor_tests;
