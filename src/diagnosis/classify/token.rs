//! The token step: a failed exchange named from the server's answer (RFC 6749 §5.2 and vendor
//! formats) plus our own self-check; a successful one checked for conformance warnings.

use std::time::SystemTime;

use serde_json::Value;

mod case;
mod ids;
mod success;

use case::{
    explain, in_case, is_client_auth_failure, oracle_health_unknown_client, unadvertised_method,
};

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

#[cfg(test)]
mod tests;
#[cfg(test)]
mod vendor_tests;
