//! The authorize step: an `error` the authorization server sent the browser back with, named
//! from Oracle Health URNs, Entra `AADSTS` codes and what the description says, then the code.

use super::super::vendor::CernerError;
use super::super::{Diagnosis, Id};
use super::{lexicon, with_cerner};

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
