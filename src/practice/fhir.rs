//! The FHIR reads a client makes to prove a launch worked: `Patient`, `Practitioner` and
//! `Encounter` by id, as FHIR R4 JSON, only with a Bearer access token this fake issued and
//! that has not expired (RFC 6750). Failures are OperationOutcomes; a refused token also gets
//! the `WWW-Authenticate: Bearer` challenge. The faults are those of the client the token was
//! issued to (the global ones for an unknown token).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use super::{Ehr, data};

/// The FHIR JSON media type.
pub(super) const FHIR_JSON: &str = "application/fhir+json";

/// `GET {fhir}/{resource_type}/{id}`.
pub(super) async fn read(
    State(ehr): State<Ehr>,
    Path((resource_type, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    // FHIR type names start with a capital; anything else (e.g. `.well-known/other`) is not a
    // FHIR read and gets the fake's plain 404.
    if !resource_type.starts_with(|c: char| c.is_ascii_uppercase()) {
        return super::serve::not_found().await;
    }
    let faults = ehr.with(|s| {
        let client = bearer_token(&headers).and_then(|t| s.access_tokens.get(t));
        s.faults_for(client.map(|grant| grant.client_id.as_str()))
    });
    if let Some(canned) = faults.fhir_answer {
        return super::token::canned_response(canned);
    }
    if let Some(status) = faults.fhir_status {
        return status_fault(status);
    }
    if faults.fhir_not_fhir {
        return not_fhir_page();
    }
    if let Err(why) = check_bearer(&ehr, &headers) {
        return unauthorized(&why);
    }
    match resource(&ehr, &resource_type, &id) {
        Some(mut resource) => {
            if let Some(members) = resource.as_object_mut() {
                for (k, v) in &faults.fhir_patch {
                    members.insert(k.clone(), v.clone());
                }
            }
            fhir_json(StatusCode::OK, &resource)
        }
        None => outcome(
            StatusCode::NOT_FOUND,
            "not-found",
            &format!("{resource_type}/{id} is not known to the fake EHR"),
        ),
    }
}

/// The token of a single well-formed `Authorization: Bearer` header, unchecked.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next()?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (values.next().is_none() && scheme.eq_ignore_ascii_case("bearer")).then(|| token.trim())
}

/// The access token must be one this fake issued and still valid.
pub(super) fn check_bearer(ehr: &Ehr, headers: &HeaderMap) -> Result<(), String> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        // A client that has a token always sends it: reading without one is a bug.
        ehr.with(|s| s.violation("fhir: read without an Authorization header"));
        return Err("no access token".to_owned());
    };
    if values.next().is_some() {
        ehr.with(|s| s.violation("fhir: more than one Authorization header"));
        return Err("more than one Authorization header".to_owned());
    }
    let value = value.to_str().unwrap_or_default();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        let why = format!("Authorization scheme {scheme:?} is not Bearer (RFC 6750 §2.1)");
        ehr.with(|s| s.violation(format!("fhir: {why}")));
        return Err(why);
    }
    let expires_at = ehr.with(|s| s.access_tokens.get(token.trim()).map(|t| t.expires_at));
    match expires_at {
        None => Err("unknown access token".to_owned()),
        Some(at) if std::time::Instant::now() >= at => Err("access token expired".to_owned()),
        Some(_) => Ok(()),
    }
}

/// The resource, if the fake knows it: the chart's, else patients and encounters that a
/// launch put in context (any id a test mints a launch for is readable).
fn resource(ehr: &Ehr, resource_type: &str, id: &str) -> Option<Value> {
    match resource_type {
        "Patient" => match data::patient(id) {
            Some(patient) => Some(data::patient_json(patient)),
            None => {
                let known = ehr.with(|s| {
                    s.launches
                        .values()
                        .any(|l| l.patient.as_deref() == Some(id))
                });
                known.then(|| launch_patient(id))
            }
        },
        "Practitioner" => data::practitioner_json(id),
        "Location" => data::location_json(id),
        "Encounter" => match data::encounter(id) {
            Some(encounter) => Some(data::encounter_json(encounter)),
            None => {
                let subject = ehr.with(|s| {
                    s.launches
                        .values()
                        .find(|l| l.encounter.as_deref() == Some(id))
                        .map(|l| l.patient.clone())
                })?;
                Some(launch_encounter(id, subject.as_deref()))
            }
        },
        _ => None,
    }
}

/// Jane Doe, for a launch patient that is not in the chart.
fn launch_patient(id: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "id": id,
        "active": true,
        "name": [{ "use": "official", "given": ["Jane"], "family": "Doe" }],
        "gender": "female",
        "birthDate": "1970-01-01",
    })
}

/// An ambulatory Encounter in progress, for a launch encounter that is not in the chart.
fn launch_encounter(id: &str, patient: Option<&str>) -> Value {
    let mut resource = json!({
        "resourceType": "Encounter",
        "id": id,
        "status": "in-progress",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
            "display": "ambulatory",
        },
    });
    if let (Some(patient), Some(members)) = (patient, resource.as_object_mut()) {
        let subject = json!({ "reference": format!("Patient/{patient}") });
        members.insert("subject".into(), subject);
    }
    resource
}

/// The `fhir_status` fault: 401 with the challenge, any other status with an OperationOutcome.
pub(super) fn status_fault(status: u16) -> Response {
    let Ok(status) = StatusCode::from_u16(status) else {
        let why = format!("fhir_status fault: invalid HTTP status {status}");
        return (StatusCode::INTERNAL_SERVER_ERROR, why).into_response();
    };
    let code = match status {
        StatusCode::UNAUTHORIZED => {
            return unauthorized("access token refused (fhir_status fault)");
        }
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not-found",
        _ => "exception",
    };
    let text = format!("the fake EHR answers {status} (fhir_status fault)");
    outcome(status, code, &text)
}

/// 401 with `WWW-Authenticate: Bearer realm="fake-ehr", error="invalid_token", …`.
pub(super) fn unauthorized(why: &str) -> Response {
    // The description is a quoted-string: keep quotes and backslashes out of it.
    let plain: String = why.chars().filter(|c| !matches!(c, '"' | '\\')).collect();
    let challenge = format!(
        "Bearer realm=\"fake-ehr\", error=\"invalid_token\", error_description=\"{plain}\""
    );
    let mut response = outcome(StatusCode::UNAUTHORIZED, "login", why);
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// An OperationOutcome with one error issue.
pub(super) fn outcome(status: StatusCode, code: &str, text: &str) -> Response {
    let body = json!({
        "resourceType": "OperationOutcome",
        "issue": [{ "severity": "error", "code": code, "diagnostics": text }],
    });
    fhir_json(status, &body)
}

/// A FHIR JSON answer.
pub(super) fn fhir_json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, FHIR_JSON)],
        body.to_string(),
    )
        .into_response()
}

/// The `fhir_not_fhir` fault: 200 with a sign-in page, as a misrouted proxy would send.
pub(super) fn not_fhir_page() -> Response {
    let body = "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Sign in</title>\
                </head><body><h1>Sign in</h1><p>Your session has ended. Please sign in to the \
                portal again.</p></body></html>\n";
    axum::response::Html(body).into_response()
}
