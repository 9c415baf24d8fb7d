//! Vendor error formats that carry more than RFC 6749 asks for: Oracle Health (Cerner)
//! `error_uri`s and Microsoft Entra ID `AADSTS` codes.

/// The parts of an Oracle Health / Cerner `error_uri`:
/// `https://authorization.cerner.com/errors/{urn}/instances/{id}?[persona=…&]client=…&tenant=…`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CernerError {
    /// The URN after `urn:cerner:error:authorization-server:`, e.g. `oauth2:token:invalid-client-credentials`.
    pub code: String,
    pub urn: String,
    /// The instance id; equals the `Cerner-Correlation-Id` header. Support asks for it.
    pub correlation_id: Option<String>,
    /// The client id the server identified, or `unknown` when it could not.
    pub client: Option<String>,
    pub tenant: Option<String>,
    pub persona: Option<String>,
}

const CERNER_PREFIX: &str = "urn:cerner:error:authorization-server:";

impl CernerError {
    /// Parses an `error_uri`; `None` unless it has the Cerner shape.
    pub fn parse(error_uri: &str) -> Option<Self> {
        let url = url::Url::parse(error_uri).ok()?;
        let segments: Vec<&str> = url.path_segments()?.collect();
        let at = segments.iter().position(|s| *s == "errors")?;
        let urn_raw = segments.get(at + 1)?;
        let urn = percent_decode(urn_raw);
        if !urn.starts_with("urn:cerner:error:") {
            return None;
        }
        let correlation_id = match (segments.get(at + 2), segments.get(at + 3)) {
            (Some(&"instances"), Some(id)) if !id.is_empty() => Some(id.to_string()),
            _ => None,
        };
        let q = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        Some(CernerError {
            code: urn.strip_prefix(CERNER_PREFIX).unwrap_or(&urn).to_string(),
            urn,
            correlation_id,
            client: q("client"),
            tenant: q("tenant"),
            persona: q("persona"),
        })
    }

    /// The server could not identify the client at all.
    pub fn client_unknown(&self) -> bool {
        self.client.as_deref() == Some("unknown")
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The first `AADSTSnnnn` code of a Microsoft Entra ID error, from `error_codes` or the description.
pub fn entra_code(body: &serde_json::Value) -> Option<u64> {
    if let Some(code) = body
        .get("error_codes")
        .and_then(|c| c.as_array())
        .and_then(|a| a.first())
        .and_then(|c| c.as_u64())
    {
        return Some(code);
    }
    let desc = body.get("error_description")?.as_str()?;
    let rest = desc.strip_prefix("AADSTS")?;
    rest.chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

/// An RFC 6750 / RFC 7235 challenge: `Bearer realm="x", error="invalid_token", …`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// Parses the first challenge of a `WWW-Authenticate` value; quoted strings may hold commas.
    pub fn parse(header: &str) -> Option<Self> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        if scheme.is_empty() {
            return None;
        }
        let mut params = Vec::new();
        let mut chars = rest.chars().peekable();
        loop {
            let name: String = chars
                .by_ref()
                .skip_while(|c| *c == ',' || c.is_whitespace())
                .take_while(|c| *c != '=')
                .collect();
            if name.is_empty() {
                break;
            }
            let mut value = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next()),
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                value = chars
                    .by_ref()
                    .take_while(|c| *c != ',')
                    .collect::<String>()
                    .trim()
                    .to_string();
            }
            params.push((name.trim().to_ascii_lowercase(), value));
        }
        Some(Challenge {
            scheme: scheme.to_string(),
            params,
        })
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenge_parameters_are_read_with_quoted_commas() {
        let c = Challenge::parse(r#"Bearer realm="fhir", error="invalid_token", error_description="expired, or for another tenant""#).unwrap();
        assert_eq!(c.scheme, "Bearer");
        assert_eq!(c.param("error"), Some("invalid_token"));
        assert_eq!(
            c.param("error_description"),
            Some("expired, or for another tenant")
        );
        assert_eq!(
            Challenge::parse("Basic realm=x").unwrap().param("realm"),
            Some("x")
        );
    }

    #[test]
    fn seed_case_error_uri_is_taken_apart() {
        let uri = "https://authorization.cerner.com/errors/urn%3Acerner%3Aerror%3Aauthorization-server%3Aoauth2%3Atoken%3Ainvalid-client-credentials/instances/14c93355-be14-47c0-9f4a-132ef6124fe5?client=unknown&tenant=ec2458f2-1e24-41c8-b71b-0e701af7583d";
        let e = CernerError::parse(uri).unwrap();
        assert_eq!(e.code, "oauth2:token:invalid-client-credentials");
        assert_eq!(
            e.correlation_id.as_deref(),
            Some("14c93355-be14-47c0-9f4a-132ef6124fe5")
        );
        assert_eq!(
            e.tenant.as_deref(),
            Some("ec2458f2-1e24-41c8-b71b-0e701af7583d")
        );
        assert!(e.client_unknown());
    }

    #[test]
    fn other_error_uris_are_not_cerner() {
        assert!(CernerError::parse("https://example.org/errors/x").is_none());
        assert!(CernerError::parse("not a url").is_none());
    }

    #[test]
    fn entra_code_comes_from_error_codes_or_the_description() {
        let a = serde_json::json!({"error_codes": [7000215]});
        let b = serde_json::json!({"error_description": "AADSTS700016: Application not found"});
        assert_eq!(entra_code(&a), Some(7000215));
        assert_eq!(entra_code(&b), Some(700016));
    }
}
