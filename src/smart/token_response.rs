//! A token endpoint's successful answer, typed (SMART App Launch 2.x §"Token response", RFC
//! 6749 §5.1): what the flows, the verdict and the views read instead of looking members up by
//! name. The tokens are [`TokenValue`]s: never printed by `Debug`, never serialized. Parsed
//! from the answer as received (kept raw beside it, for display and for the rules that judge
//! its JSON types): a member of the wrong JSON type reads as absent here and stays in `other`.

use std::fmt;

use serde_json::{Map, Value};

/// A token (access, refresh or id_token). `Debug` shows its length only; it never serializes.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenValue(String);

impl TokenValue {
    /// The token itself, for the one place that has to send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TokenValue([redacted, {} chars])",
            self.0.chars().count()
        )
    }
}

/// A SMART token response. Absent members are `None` (or empty).
#[derive(Clone, Debug, PartialEq)]
pub struct SmartTokenResponse {
    pub access_token: TokenValue,
    pub token_type: Option<String>,
    /// Seconds; a numeric string is read as its number.
    pub expires_in: Option<i64>,
    /// As granted (RFC 6749 §5.1: absent means as requested).
    pub scope: Option<String>,
    pub refresh_token: Option<TokenValue>,
    pub id_token: Option<TokenValue>,
    pub patient: Option<String>,
    pub encounter: Option<String>,
    pub need_patient_banner: Option<bool>,
    pub smart_style_url: Option<String>,
    pub intent: Option<String>,
    pub tenant: Option<String>,
    /// `fhirContext` items as sent.
    pub fhir_context: Vec<Value>,
    /// Every other member (and a known one of the wrong JSON type), as received.
    pub other: Map<String, Value>,
}

/// Why an answer is not a token response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotATokenResponse(pub String);

impl fmt::Display for NotATokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl SmartTokenResponse {
    /// `raw` typed; an answer without a string `access_token` is not a token response.
    pub fn parse(raw: &Map<String, Value>) -> Result<Self, NotATokenResponse> {
        let mut other = raw.clone();
        let mut string = |key: &str| match other.get(key) {
            Some(Value::String(s)) => {
                let s = s.clone();
                other.remove(key);
                Some(s)
            }
            _ => None,
        };
        let access_token = string("access_token")
            .map(TokenValue)
            .ok_or_else(|| NotATokenResponse("no access_token string".into()))?;
        let token_type = string("token_type");
        let scope = string("scope");
        let refresh_token = string("refresh_token").map(TokenValue);
        let id_token = string("id_token").map(TokenValue);
        let patient = string("patient");
        let encounter = string("encounter");
        let smart_style_url = string("smart_style_url");
        let intent = string("intent");
        let tenant = string("tenant");
        let expires_in = match other.get("expires_in") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        if expires_in.is_some() {
            other.remove("expires_in");
        }
        let need_patient_banner = other.get("need_patient_banner").and_then(Value::as_bool);
        if need_patient_banner.is_some() {
            other.remove("need_patient_banner");
        }
        let fhir_context = match other.get("fhirContext") {
            Some(Value::Array(items)) => items.clone(),
            _ => Vec::new(),
        };
        if !fhir_context.is_empty() {
            other.remove("fhirContext");
        }
        Ok(SmartTokenResponse {
            access_token,
            token_type,
            expires_in,
            scope,
            refresh_token,
            id_token,
            patient,
            encounter,
            need_patient_banner,
            smart_style_url,
            intent,
            tenant,
            fhir_context,
            other,
        })
    }

    /// The context id named `patient` or `encounter`.
    pub fn context_id(&self, key: &str) -> Option<&str> {
        match key {
            "patient" => self.patient.as_deref(),
            "encounter" => self.encounter.as_deref(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_are_typed_and_tokens_never_print() {
        let raw = json!({"access_token": "secret-access", "token_type": "Bearer",
            "expires_in": "3600", "scope": "openid", "refresh_token": "secret-refresh",
            "patient": "p1", "need_patient_banner": true, "fhirContext": [{"reference": "Group/1"}],
            "custom": 1, "encounter": 7});
        let t = SmartTokenResponse::parse(raw.as_object().unwrap()).unwrap();
        assert_eq!(t.access_token.expose(), "secret-access");
        assert_eq!(t.expires_in, Some(3600));
        assert_eq!(t.patient.as_deref(), Some("p1"));
        assert_eq!(t.encounter, None, "a number is no encounter id");
        let mut other: Vec<_> = t.other.keys().collect();
        other.sort();
        assert_eq!(other, ["custom", "encounter"]);
        assert_eq!(t.fhir_context.len(), 1);
        let shown = format!("{t:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(
            SmartTokenResponse::parse(json!({"token_type": "Bearer"}).as_object().unwrap())
                .is_err()
        );
    }
}
