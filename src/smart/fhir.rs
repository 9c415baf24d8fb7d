//! The proof reads: with the access token, read the signed-in user (`fhirUser`) and the patient
//! (and encounter) in context from the FHIR base the token was issued for (`aud`). The token is
//! never sent anywhere else.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::http::{Outbound, Recorder};
use crate::diagnosis::Diagnosis;
use crate::diagnosis::classify::{self, identity};

/// A resource that was read, as shown on the result page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadResource {
    pub reference: String,
    pub resource_type: String,
    pub name: Option<String>,
    pub birth_date: Option<String>,
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
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
    };
    if !valid(ty) || !valid(id) {
        return Err(format!("{reference} is not a Type/id reference"));
    }
    Ok((ty.to_string(), format!("{base}/{ty}/{id}")))
}

/// Reads `reference` (already resolved to `url`) with the access token.
pub async fn read(
    http: &Outbound,
    url: &str,
    what: &str,
    access_token: &str,
    rec: &Recorder,
) -> Result<ReadResource, Diagnosis> {
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
        .map_err(|e| identity::fhir_read_failed(what, url, 0, None, "", &e.to_string()))?;
    let resp = http
        .send(req, "fhir", rec)
        .await
        .map_err(|e| classify::net(&e, url))?;
    let header = |n| resp.headers().get(n).and_then(|v| v.to_str().ok());
    let body = String::from_utf8_lossy(resp.body());
    let status = resp.status().as_u16();
    if (300..400).contains(&status) {
        return Err(classify::redirected(
            url,
            status,
            header(http::header::LOCATION),
        ));
    }
    let resource = serde_json::from_str::<Value>(&body)
        .ok()
        .filter(|v| v.get("resourceType").is_some());
    match resource {
        Some(r) if resp.status().is_success() => Ok(ReadResource {
            reference: url.to_string(),
            resource_type: r["resourceType"].as_str().unwrap_or("").to_string(),
            name: identity::display_name(&r),
            birth_date: r
                .get("birthDate")
                .and_then(Value::as_str)
                .map(str::to_string),
        }),
        _ => Err(identity::fhir_read_failed(
            what,
            url,
            status,
            header(http::header::WWW_AUTHENTICATE),
            header(http::header::CONTENT_TYPE).unwrap_or(""),
            &body,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
