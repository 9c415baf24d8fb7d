//! A 2xx token answer: usable or not, and the conformance warnings it carries.

use serde_json::Value;

use super::{TokenAnswer, TokenContext, html_title};
use crate::diagnosis::{Diagnosis, excerpt};
use crate::smart::LaunchKind;

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
    // Only for a granted offline/online access: one that was not granted is already named by
    // token.scopes_reduced, and no refresh token then follows from it.
    if (has("offline_access") || has("online_access")) && s("refresh_token").is_none() {
        out.push(Diagnosis::new(
            id!("token.no_refresh_token"),
            "Offline or online access was requested but no refresh_token came back.",
        ));
    }
    out
}
