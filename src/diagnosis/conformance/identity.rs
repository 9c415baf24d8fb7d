//! The id_token's header and claims (`iss`, `aud`, `azp` as the token was judged), and the
//! `fhirUser` read.

use serde_json::Value;

use super::Check;
use crate::diagnosis::classify::identity::claims;
use crate::smart::id_token::{Checked, IdTokenFailure};

/// What the id_token shows: `alg` RS256 (Inferno; a warning), `kid` (needed when the JWKS has
/// several keys, so a verified token without one passes), `sub`, and `fhirUser` with the type
/// its read returned.
pub fn id_token(
    header: &Value,
    claims: &Value,
    verified: bool,
    fhir_user_read: Option<&str>,
) -> Vec<Check> {
    let mut out = Vec::new();
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    out.push(
        Check::from_entry(
            id!("server.id_token_alg"),
            alg == "RS256",
            format!("alg: {alg}"),
        )
        .warning(),
    );
    let kid = header.get("kid").and_then(Value::as_str);
    out.push(Check::from_entry(
        id!("server.id_token_kid"),
        kid.is_some() || verified,
        match kid {
            Some(k) => format!("kid: {k}"),
            None if verified => "no kid; the JWKS has one suitable key".into(),
            None => "no kid, and the token could not be matched to one key".into(),
        },
    ));
    let sub = claims.get("sub").and_then(Value::as_str);
    out.push(Check::from_entry(
        id!("server.id_token_sub"),
        sub.is_some_and(|s| !s.is_empty() && s.chars().count() <= 255),
        match sub {
            Some(s) => format!("sub: {} chars", s.chars().count()),
            None => "sub is absent".into(),
        },
    ));
    if let Some(user) = claims.get("fhirUser").and_then(Value::as_str) {
        let ty = user
            .trim_end_matches('/')
            .rsplit('/')
            .nth(1)
            .unwrap_or_default();
        let allowed = ["Patient", "Practitioner", "RelatedPerson", "Person"].contains(&ty);
        // Not read (the app stops after a bad signature, or the read failed): only the type
        // can be judged; a check the server had no chance to pass is not listed.
        match (allowed, fhir_user_read) {
            (true, None) => {}
            (_, Some(read)) => out.push(Check::from_entry(
                id!("server.fhir_user"),
                allowed && read == ty,
                format!("fhirUser {user}: a {ty}; the read returned a {read}"),
            )),
            (false, None) => out.push(Check::from_entry(
                id!("server.fhir_user"),
                false,
                format!("fhirUser {user}: a {ty}, not one of Patient, Practitioner, RelatedPerson, Person"),
            )),
        }
    }
    out
}

/// The id_token's `iss`, `aud` and `azp` as OpenID Connect Core §3.1.3.7 items 2–5 require,
/// judged by the rules that reject the token (`classify::identity::claims`), so a check fails
/// exactly when the launch names its finding: `server.id_token_iss` with
/// `id_token.wrong_issuer` or `id_token.issuer_trailing_slash`, `server.id_token_aud` with
/// `id_token.wrong_audience` or `id_token.untrusted_audience`, `server.id_token_azp` with
/// `id_token.azp_mismatch`. The claims of a token whose signature was not verified are not
/// tested, except that an OpenID configuration naming another issuer fails the issuer check
/// (Discovery §4.3: one issuer string everywhere).
pub fn id_token_claims(checked: &Checked) -> Vec<Check> {
    let ids = [
        id!("server.id_token_iss"),
        id!("server.id_token_aud"),
        id!("server.id_token_azp"),
    ];
    let s = match checked {
        Ok(s) => s,
        Err(IdTokenFailure::ConfigIssuer {
            published,
            expected,
            ..
        }) => {
            let why = "the id_token's signature was not checked: its OpenID configuration names another issuer";
            let published = published.as_deref().unwrap_or("(absent)");
            let iss = Check::from_entry(
                ids[0],
                false,
                format!("issuer in the OpenID configuration {published:?}; issuer {expected:?}"),
            );
            let rest = ids[1..].iter().map(|id| Check::not_tested(*id, why));
            return std::iter::once(iss).chain(rest).collect();
        }
        Err(failure) => {
            let why = match failure {
                IdTokenFailure::Malformed => "the id_token is not a decodable JWT",
                _ => "the id_token's signature was not verified, so its claims were not checked",
            };
            return ids.iter().map(|id| Check::not_tested(*id, why)).collect();
        }
    };
    let found = claims(&s.claims, &s.issuer, &s.client_id, s.now, s.leeway);
    let text = |k: &str| {
        s.claims
            .get(k)
            .map_or_else(|| "absent".into(), Value::to_string)
    };
    let (iss, aud, azp) = (text("iss"), text("aud"), text("azp"));
    let client_id = &s.client_id;
    let rules = [
        (
            ids[0],
            &[
                id!("id_token.wrong_issuer"),
                id!("id_token.issuer_trailing_slash"),
            ][..],
            format!("iss {iss}; issuer {:?}", s.issuer),
        ),
        (
            ids[1],
            &[
                id!("id_token.wrong_audience"),
                id!("id_token.untrusted_audience"),
            ][..],
            format!("aud {aud}; client_id {client_id:?}"),
        ),
        (
            ids[2],
            &[id!("id_token.azp_mismatch")][..],
            format!("azp {azp}; aud {aud}; client_id {client_id:?}"),
        ),
    ];
    rules
        .into_iter()
        .map(
            |(id, by, observed)| match found.iter().find(|d| by.contains(&d.id())) {
                Some(d) => Check::from_entry(id, false, format!("{} {observed}", d.summary)),
                None => Check::from_entry(id, true, observed),
            },
        )
        .collect()
}
