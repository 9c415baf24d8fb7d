//! The proof reads: with the access token, read the signed-in user (`fhirUser`) and the patient
//! (and encounter) in context from the FHIR base the token was issued for (`aud`). The token is
//! never sent anywhere else.

use crate::smart::transcript::ExchangeStep;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::http::{NetError, Outbound, Recorder};

/// A resource that was read, as shown on the result page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadResource {
    pub reference: String,
    pub resource_type: String,
    pub name: Option<String>,
    pub birth_date: Option<String>,
}

/// Why a read gave no resource: what was sent and received, not what it means
/// (`diagnosis::classify::identity::fhir_read` names it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadFailure {
    /// The request to `url` could not be built.
    Setup { url: String, why: String },
    /// No usable answer came back from `url`.
    Net { url: String, error: NetError },
    /// `url` answered 3xx; redirects are not followed.
    Redirected {
        url: String,
        status: u16,
        location: Option<String>,
    },
    /// `url` answered 2xx with a resource of another type than the one asked for (a Bundle or
    /// an OperationOutcome for a Patient read).
    WrongType {
        url: String,
        expected: String,
        got: String,
    },
    /// `url` answered, but not 2xx with a FHIR resource. `body` is the whole (bounded) body.
    Status {
        url: String,
        status: u16,
        content_type: String,
        www_authenticate: Option<String>,
        body: String,
    },
}

/// Where `reference` lives, if it is inside `base`: a relative `Type/id`, or an absolute URL
/// under the base. Anything else is refused, so the token cannot leak to another server.
pub fn resolve(base: &str, reference: &str) -> Result<(String, String), String> {
    let base = base.trim_end_matches('/');
    let relative = match reference.strip_prefix(base) {
        Some(rest) if rest.starts_with('/') => rest.trim_start_matches('/'),
        Some(_) => return Err(format!("{reference} is not under the FHIR base {base}")),
        None if reference.contains("://") => {
            return Err(format!(
                "{reference} is on another server than the FHIR base {base}; the token is not sent there"
            ));
        }
        None => reference,
    };
    let mut parts = relative.split('/');
    let (Some(ty), Some(id), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("{reference} is not a Type/id reference"));
    };
    // `.` and `..` are FHIR-id characters but path segments: a URL parser resolves them, so
    // `Patient/..` would send the token to the base itself.
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
            && !s.chars().all(|c| c == '.')
    };
    if !valid(ty) || !valid(id) {
        return Err(format!("{reference} is not a Type/id reference"));
    }
    Ok((ty.to_string(), format!("{base}/{ty}/{id}")))
}

/// Reads `url` (a reference already resolved with [`resolve`]) with the access token.
pub async fn read(
    http: &Outbound,
    url: &str,
    access_token: &str,
    rec: &Recorder,
) -> Result<ReadResource, ReadFailure> {
    let req = http::Request::get(url)
        .header(
            http::header::ACCEPT,
            "application/fhir+json, application/json",
        )
        .header(
            http::header::AUTHORIZATION,
            format!("Bearer {access_token}"),
        )
        .body(Vec::new())
        .map_err(|e| ReadFailure::Setup {
            url: url.to_string(),
            why: e.to_string(),
        })?;
    let resp = http
        .send(req, ExchangeStep::Fhir, rec)
        .await
        .map_err(|error| ReadFailure::Net {
            url: url.to_string(),
            error,
        })?;
    let header = |n| {
        resp.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let body = String::from_utf8_lossy(resp.body());
    let status = resp.status().as_u16();
    if (300..400).contains(&status) {
        return Err(ReadFailure::Redirected {
            url: url.to_string(),
            status,
            location: header(http::header::LOCATION),
        });
    }
    // Only the members shown are parsed: a hostile body costs one pass, not a tree of values.
    let resource =
        super::bounded::json_members(&body, &["resourceType", "id", "name", "birthDate"])
            .map(Value::Object)
            .filter(|v| v.get("resourceType").is_some());
    match resource {
        Some(r) if resp.status().is_success() => Ok(ReadResource {
            reference: url.to_string(),
            resource_type: r["resourceType"].as_str().unwrap_or("").to_string(),
            name: display_name(&r),
            birth_date: r
                .get("birthDate")
                .and_then(Value::as_str)
                .map(str::to_string),
        }),
        _ => Err(ReadFailure::Status {
            url: url.to_string(),
            status,
            content_type: header(http::header::CONTENT_TYPE).unwrap_or_default(),
            www_authenticate: header(http::header::WWW_AUTHENTICATE),
            body: body.into_owned(),
        }),
    }
}

/// [`read`], and the answer must be a `expected` resource: anything else (a Bundle, an
/// OperationOutcome, another type) is [`ReadFailure::WrongType`], not the resource in context.
pub async fn read_as(
    http: &Outbound,
    url: &str,
    expected: &str,
    access_token: &str,
    rec: &Recorder,
) -> Result<ReadResource, ReadFailure> {
    let r = read(http, url, access_token, rec).await?;
    if r.resource_type != expected {
        return Err(ReadFailure::WrongType {
            url: url.to_string(),
            expected: expected.to_string(),
            got: r.resource_type,
        });
    }
    Ok(r)
}

/// A display name from a FHIR resource's `name` (HumanName list or string).
pub fn display_name(resource: &Value) -> Option<String> {
    let name = resource.get("name")?;
    if let Some(s) = name.as_str() {
        return Some(s.to_string());
    }
    let first = name.as_array()?.first()?;
    if let Some(text) = first.get("text").and_then(Value::as_str) {
        return Some(text.to_string());
    }
    let words = |k: &str| -> Vec<String> {
        match first.get(k) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    };
    let parts: Vec<String> = [words("prefix"), words("given"), words("family")].concat();
    (!parts.is_empty()).then(|| parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_resolve_inside_the_base_only() {
        let base = "https://ehr.example/fhir";
        assert_eq!(
            resolve(base, "Practitioner/p1").unwrap().1,
            "https://ehr.example/fhir/Practitioner/p1"
        );
        assert_eq!(
            resolve(base, "https://ehr.example/fhir/Patient/x")
                .unwrap()
                .0,
            "Patient"
        );
        assert!(resolve(base, "https://evil.example/fhir/Patient/x").is_err());
        assert!(resolve(base, "https://ehr.example/fhir2/Patient/x").is_err());
        assert!(resolve(base, "Patient/../../x").is_err());
        assert!(resolve(base, "Patient").is_err());
        for id in [".", "..", "..."] {
            assert!(resolve(base, &format!("Patient/{id}")).is_err(), "{id}");
            assert!(resolve(base, &format!("{id}/x")).is_err(), "{id}");
        }
        assert!(
            resolve(base, "Patient/a.b").is_ok(),
            "dots inside an id are fine"
        );
    }

    #[test]
    fn display_names_come_from_text_or_parts() {
        assert_eq!(
            display_name(
                &json!({"name": [{"prefix": ["Dr."], "given": ["Adele"], "family": "Smith"}]})
            )
            .as_deref(),
            Some("Dr. Adele Smith")
        );
        assert_eq!(
            display_name(&json!({"name": [{"text": "Amy Shaw"}]})).as_deref(),
            Some("Amy Shaw")
        );
        assert_eq!(display_name(&json!({"id": "x"})), None);
    }
}
