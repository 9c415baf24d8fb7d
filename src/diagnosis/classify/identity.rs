//! The identity token and the FHIR proof reads: pure checks and their diagnoses, from the
//! evidence `smart::id_token` and `smart::fhir` collect.

use serde_json::Value;

use super::super::vendor::Challenge;
use super::super::{Diagnosis, Id, excerpt};
pub use super::id_claims::claims;
use super::id_claims::{differs_by_trailing_slash, issuer_trailing_slash};
use super::{answer, lexicon};
use super::{net, redirected};
use crate::smart::fhir::ReadFailure;
use crate::smart::id_token::{Checked, IdTokenFailure, SignedClaims};

/// The diagnoses of one id_token check: its failure, or its claims checked. The token is to be
/// trusted when none is an error.
pub fn id_token(checked: &Checked) -> Vec<Diagnosis> {
    match checked {
        Ok(signed) => signed_claims(signed),
        Err(failure) => vec![id_token_failure(failure)],
    }
}

/// Why an id_token was not checked through to its claims.
pub fn id_token_failure(failure: &IdTokenFailure) -> Diagnosis {
    match failure {
        IdTokenFailure::Malformed => malformed(),
        IdTokenFailure::ConfigUnavailable { url, why } => config_unavailable(url, why),
        IdTokenFailure::Refused { url, error } => net(error, url),
        IdTokenFailure::ConfigIssuer {
            url,
            published,
            expected,
        } => config_issuer(url, published.as_deref(), expected),
        IdTokenFailure::BadSignature {
            why,
            header,
            jwks_kids,
        } => bad_signature(why, header).with("Key ids in the issuer's JWKS", jwks_kids.join(", ")),
    }
}

/// [`claims`] of a token whose signature verified.
pub fn signed_claims(s: &SignedClaims) -> Vec<Diagnosis> {
    claims(&s.claims, &s.issuer, &s.client_id, s.now, s.leeway)
}

pub fn malformed() -> Diagnosis {
    Diagnosis::new(
        id!("id_token.malformed"),
        "The id_token is not a decodable JWT (three base64url parts with JSON header and claims).",
    )
}

pub fn config_unavailable(url: &str, why: &str) -> Diagnosis {
    Diagnosis::new(
        id!("id_token.config_unavailable"),
        format!("The OpenID Connect keys could not be fetched: {why}."),
    )
    .with("URL", url)
    .with("Failure", why)
}

/// An OpenID configuration that names another issuer than the one it was fetched for (OpenID
/// Connect Discovery 1.0 §4.3): by a trailing slash only, its own finding; otherwise (or none)
/// its keys could not be used.
pub fn config_issuer(url: &str, published: Option<&str>, expected: &str) -> Diagnosis {
    let d = match published {
        Some(p) if differs_by_trailing_slash(p, expected) => issuer_trailing_slash(
            "The OpenID configuration's issuer differs from the issuer discovery named by a trailing slash; OpenID Connect requires them identical, so its keys are not used.",
        ),
        _ => {
            let why = match published {
                Some(p) => {
                    format!("it names the issuer {p:?}, not {expected:?}, which it was fetched for")
                }
                None => format!("it names no issuer (it was fetched for {expected:?})"),
            };
            Diagnosis::new(
                id!("id_token.config_unavailable"),
                format!("The OpenID configuration cannot be used: {why}."),
            )
            .with("Failure", why)
        }
    };
    d.with("URL", url)
        .with(
            "issuer in the OpenID configuration",
            published.unwrap_or("(absent)"),
        )
        .with("Issuer expected", expected)
}

pub fn bad_signature(why: &str, header: &Value) -> Diagnosis {
    Diagnosis::new(
        id!("id_token.bad_signature"),
        format!("The id_token cannot be trusted: {why}."),
    )
    .with("Header", header.to_string())
    .with(
        "kid of the id_token",
        header
            .get("kid")
            .and_then(Value::as_str)
            .unwrap_or("(none)"),
    )
}

/// Resource types `fhirUser` may name (SMART App Launch 2.2).
pub const FHIR_USER_TYPES: [&str; 5] = [
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "RelatedPerson",
    "Person",
];

pub fn fhiruser_unresolved(summary: &str, fhir_user: Option<&str>) -> Diagnosis {
    Diagnosis::new(id!("id_token.fhiruser_unresolved"), summary)
        .with("fhirUser", fhir_user.unwrap_or("(absent)"))
}

/// A read of `what` ("the patient in context") that gave no resource.
pub fn fhir_read(what: &str, failure: &ReadFailure) -> Diagnosis {
    match failure {
        ReadFailure::Setup { url, why } => fhir_read_failed(what, url, 0, None, "", why),
        ReadFailure::Net { url, error } => net(error, url),
        ReadFailure::Redirected {
            url,
            status,
            location,
        } => redirected(url, *status, location.as_deref()),
        ReadFailure::WrongType { url, expected, got } => Diagnosis::new(
            id!("fhir.wrong_resource_type"),
            format!(
                "Reading {what} answered a {got} resource, not the {expected} that was asked for."
            ),
        )
        .with("URL", url)
        .with("Asked for", expected)
        .with("resourceType answered", got),
        ReadFailure::Status {
            url,
            status,
            content_type,
            www_authenticate,
            body,
        } => fhir_read_failed(
            what,
            url,
            *status,
            www_authenticate.as_deref(),
            content_type,
            body,
        ),
    }
}

/// A FHIR read that did not give a resource, named from its status and what its answer says
/// (OperationOutcome, the Bearer challenge, gateway faults, plain text: see `answer`).
pub fn fhir_read_failed(
    what: &str,
    url: &str,
    status: u16,
    www_authenticate: Option<&str>,
    content_type: &str,
    body: &str,
) -> Diagnosis {
    let a = answer::read(status, www_authenticate, body);
    let by_status = match status {
        401 => id!("fhir.invalid_token"),
        403 => id!("fhir.forbidden"),
        404 => id!("fhir.not_found"),
        200..=299 => id!("fhir.not_fhir"),
        _ => id!("fhir.server_error"),
    };
    // Only a refusal (401/403, or a 400 some servers send) is read for its words.
    let found = matches!(status, 400 | 401 | 403)
        .then(|| {
            lexicon::ranked(&a.text(), &a.code)
                .into_iter()
                .find_map(|f| fhir_id(f.meaning).map(|id| (id, f)))
        })
        .flatten();
    let id = found.as_ref().map(|(id, _)| *id).unwrap_or(by_status);
    let mut d = Diagnosis::new(
        id,
        format!("Reading {what} with the access token answered HTTP {status}."),
    )
    .with("URL", url)
    .with("Status", status.to_string())
    .with("Content-Type", content_type);
    if let Some(c) = www_authenticate.and_then(Challenge::parse) {
        d = d
            .with("WWW-Authenticate error", c.param("error").unwrap_or(""))
            .with(
                "WWW-Authenticate error_description",
                c.param("error_description").unwrap_or(""),
            );
    }
    if a.shape == answer::Shape::OperationOutcome {
        let text: Vec<&str> = a
            .texts
            .iter()
            .filter(|(from, _)| from.starts_with("issue"))
            .map(|(_, t)| t.as_str())
            .collect();
        d = d.with("OperationOutcome", text.join("; "));
    } else {
        d = d.with("Body (first bytes)", excerpt(body, 200));
    }
    if let Some((_, f)) = &found {
        d = d
            .with("What the answer says", f.meaning.as_str())
            .with("Matched phrase", format!("\u{201c}{}\u{201d}", f.phrase));
    }
    d
}

/// What a meaning names at a FHIR read.
fn fhir_id(m: lexicon::Meaning) -> Option<Id> {
    use lexicon::Meaning::*;
    match m {
        TokenExpired => Some(id!("fhir.token_expired")),
        TokenMissingContext => Some(id!("fhir.token_missing_launch_context")),
        ScopeInvalid => Some(id!("fhir.forbidden")),
        // At a FHIR read the only signature in play is the access token's.
        AssertionSignature => Some(id!("fhir.invalid_token")),
        GatewayKey => Some(id!("fhir.gateway_rejected")),
        _ => None,
    }
}

/// Seconds of the access token's lifetime left when a read was refused: `expires_in` from the
/// token response minus the seconds since it arrived; `None` without `expires_in`.
pub fn lifetime_left(
    token: Option<&crate::smart::token_response::SmartTokenResponse>,
    elapsed: i64,
) -> Option<i64> {
    Some(token?.expires_in? - elapsed)
}

/// A refused read ranked with the clock: a refusal after the token's own lifetime had passed is
/// the expired token; before it, expiry is ruled out (and said so); without `expires_in` it is
/// named as a possibility.
pub fn with_clock(mut d: Diagnosis, left: Option<i64>) -> Diagnosis {
    let refusal = [id!("fhir.invalid_token"), id!("fhir.forbidden")].contains(&d.id());
    match left {
        Some(left) if left <= 0 && refusal => {
            let mut e = Diagnosis::new(
                id!("fhir.token_expired"),
                format!(
                    "{} The token's own lifetime (expires_in) had passed {} s before: the token had expired.",
                    d.summary, -left
                ),
            );
            e.evidence = d.evidence;
            e.with("Token lifetime left at the read", format!("{left} s (expired)"))
        }
        Some(left) if left > 0 && d.id() == id!("fhir.invalid_token") => {
            d.summary.push_str(&format!(
                " The token was not expired: {left} s of its lifetime were left."
            ));
            d.with("Token lifetime left at the read", format!("{left} s"))
        }
        None if d.id() == id!("fhir.invalid_token") => d.with_first_cause(
            "Token expired (the token response gave no expires_in, so the clock cannot rule it out)",
        ),
        _ => d,
    }
}
