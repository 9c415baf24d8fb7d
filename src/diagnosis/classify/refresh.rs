//! The refresh step: a rejected refresh token, a malformed answer, a widened scope.

use serde_json::Value;

use super::super::Diagnosis;

/// A 2xx refresh answer: the response and its warnings, or why it is unusable.
pub fn success(body: &str, original_scope: &str) -> Result<super::Accepted, Diagnosis> {
    let map = match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(m)) => m,
        _ => {
            return Err(Diagnosis::new(
                id!("refresh.malformed_response"),
                "The refresh answer is not a JSON object.",
            ));
        }
    };
    let missing = super::token::missing_required(&map);
    if !missing.is_empty() {
        return Err(Diagnosis::new(
            id!("refresh.malformed_response"),
            format!("The refresh answer lacks {}.", missing.join(" and ")),
        )
        .with("Missing", missing.join(", ")));
    }
    let mut warnings = Vec::new();
    if let Some(scope) = map.get("scope").and_then(Value::as_str) {
        let original: Vec<&str> = original_scope.split_whitespace().collect();
        let wider: Vec<&str> = scope
            .split_whitespace()
            .filter(|s| !original.contains(s))
            .collect();
        if !wider.is_empty() {
            warnings.push(
                Diagnosis::new(
                    id!("refresh.scope_widened"),
                    "The refreshed token has scopes the original grant did not.",
                )
                .with("Added", wider.join(" "))
                .with("Original scope", original_scope),
            );
        }
    }
    Ok((map, warnings))
}

/// A failed refresh: `invalid_grant` is `refresh.rejected`; other failures keep their token ids.
pub fn failure(diagnoses: Vec<Diagnosis>) -> Vec<Diagnosis> {
    diagnoses
        .into_iter()
        .map(|d| {
            if [id!("token.invalid_grant"), id!("token.code_reused")].contains(&d.id()) {
                let mut r = Diagnosis::new(
                    id!("refresh.rejected"),
                    "The token endpoint rejected the refresh token (invalid_grant).",
                );
                r.evidence = d.evidence;
                r
            } else {
                d
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_answer_without_access_token_is_refresh_malformed_response() {
        let d = success(r#"{"token_type":"Bearer"}"#, "openid").unwrap_err();
        assert_eq!(d.id(), "refresh.malformed_response");
        assert_eq!(d.evidence[0].value, "access_token");
        assert_eq!(
            success("<html>", "openid").unwrap_err().id(),
            "refresh.malformed_response"
        );
    }

    #[test]
    fn invalid_grant_on_refresh_is_refresh_rejected() {
        let out = failure(vec![
            Diagnosis::new(id!("token.invalid_grant"), "x").with("error", "invalid_grant"),
        ]);
        assert_eq!(out[0].id(), "refresh.rejected");
        assert_eq!(out[0].evidence[0].value, "invalid_grant");
    }
}
