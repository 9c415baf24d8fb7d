//! Reading the two discovery documents: `.well-known/smart-configuration` and the
//! CapabilityStatement's `oauth-uris` extension, endpoints resolved against the issuer.

use serde_json::Value;

use super::{Discovered, Source};

const OAUTH_URIS: &str = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris";

fn strings(doc: &Value, key: &str) -> Option<Vec<String>> {
    doc.get(key)?.as_array().map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    })
}

/// Resolves a possibly relative endpoint against the issuer; notes when it had to.
pub(super) fn endpoint(iss: &str, raw: &str, resolved: &mut Vec<String>) -> Option<String> {
    if let Ok(u) = url::Url::parse(raw) {
        // Kept as written: a refusal then shows the URL the way the server wrote it.
        return matches!(u.scheme(), "http" | "https").then(|| raw.to_string());
    }
    let base = url::Url::parse(&format!("{iss}/")).ok()?;
    let joined = base.join(raw).ok()?;
    resolved.push(format!("{raw} → {joined}"));
    Some(joined.to_string())
}

pub(super) fn from_well_known(iss: &str, doc: &Value) -> Result<Discovered, Vec<String>> {
    let mut resolved = Vec::new();
    let mut get = |key: &str| {
        doc.get(key)
            .and_then(Value::as_str)
            .and_then(|s| endpoint(iss, s, &mut resolved))
    };
    let authorize = get("authorization_endpoint");
    let token = get("token_endpoint");
    let (Some(authorization_endpoint), Some(token_endpoint)) = (authorize.clone(), token.clone())
    else {
        let mut missing = Vec::new();
        if authorize.is_none() {
            missing.push("authorization_endpoint".to_string());
        }
        if token.is_none() {
            missing.push("token_endpoint".to_string());
        }
        return Err(missing);
    };
    let mut d = Discovered {
        iss: iss.to_string(),
        issuer: doc
            .get("issuer")
            .and_then(Value::as_str)
            .map(str::to_string),
        source: Source::WellKnown,
        authorization_endpoint,
        token_endpoint,
        token_endpoint_auth_methods_supported: strings(
            doc,
            "token_endpoint_auth_methods_supported",
        )
        .unwrap_or_default(),
        code_challenge_methods_supported: strings(doc, "code_challenge_methods_supported")
            .unwrap_or_default(),
        scopes_supported: strings(doc, "scopes_supported"),
        capabilities: strings(doc, "capabilities").unwrap_or_default(),
        absent: Vec::new(),
        resolved: Vec::new(),
        capability_statement: None,
        certificate: None,
        transcript: Vec::new(),
        fetched_at: 0,
        content_type: String::new(),
        document: None,
        oidc_warm: Default::default(),
    };
    d.absent = [
        "capabilities",
        "grant_types_supported",
        "code_challenge_methods_supported",
    ]
    .into_iter()
    .filter(|k| doc.get(*k).is_none())
    .map(str::to_string)
    .collect();
    d.resolved = resolved;
    Ok(d)
}

pub(super) fn from_capability_statement(iss: &str, cap: &Value) -> Option<Discovered> {
    let uris = cap
        .get("rest")?
        .as_array()?
        .iter()
        .filter_map(|r| r.pointer("/security/extension")?.as_array())
        .flatten()
        .find(|e| e.get("url").and_then(Value::as_str) == Some(OAUTH_URIS))?;
    let mut resolved = Vec::new();
    let mut find = |name: &str| {
        uris.get("extension")?
            .as_array()?
            .iter()
            .find(|e| e.get("url").and_then(Value::as_str) == Some(name))?
            .get("valueUri")
            .and_then(Value::as_str)
            .and_then(|s| endpoint(iss, s, &mut resolved))
    };
    let d = Discovered {
        iss: iss.to_string(),
        issuer: None,
        source: Source::CapabilityStatement,
        authorization_endpoint: find("authorize")?,
        token_endpoint: find("token")?,
        token_endpoint_auth_methods_supported: Vec::new(),
        code_challenge_methods_supported: Vec::new(),
        scopes_supported: None,
        capabilities: Vec::new(),
        absent: Vec::new(),
        resolved,
        capability_statement: None,
        certificate: None,
        transcript: Vec::new(),
        fetched_at: 0,
        content_type: String::new(),
        document: None,
        oidc_warm: Default::default(),
    };
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn relative_endpoints_are_resolved_against_the_issuer_and_noted() {
        let doc = json!({"authorization_endpoint": "auth/authorize", "token_endpoint": "https://t/token",
            "capabilities": [], "grant_types_supported": [], "code_challenge_methods_supported": ["S256"]});
        let d = from_well_known("https://h/fhir", &doc).unwrap();
        assert_eq!(d.authorization_endpoint, "https://h/fhir/auth/authorize");
        assert_eq!(
            d.resolved,
            ["auth/authorize → https://h/fhir/auth/authorize"]
        );
    }

    #[test]
    fn missing_endpoints_are_listed() {
        let err =
            from_well_known("https://h/fhir", &json!({"token_endpoint": "https://t"})).unwrap_err();
        assert_eq!(err, vec!["authorization_endpoint".to_string()]);
    }

    #[test]
    fn capability_statement_oauth_uris_are_read() {
        let cap = json!({"resourceType": "CapabilityStatement", "rest": [{"security": {"extension": [{
            "url": OAUTH_URIS, "extension": [
                {"url": "authorize", "valueUri": "https://h/auth"}, {"url": "token", "valueUri": "https://h/token"}]}]}}]});
        let d = from_capability_statement("https://h/fhir", &cap).unwrap();
        assert_eq!(d.token_endpoint, "https://h/token");
        assert_eq!(d.source, Source::CapabilityStatement);
    }
}
