//! The id_token's header and claims, and the `fhirUser` read.

use serde_json::Value;

use super::Check;

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
