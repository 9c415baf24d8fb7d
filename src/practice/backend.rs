//! SMART Backend Services on the EHR's side: `grant_type=client_credentials` (RFC 6749 §4.4)
//! for confidential clients (the `practice-backend` client authenticates with a client
//! assertion verified against its registered JWKS, in `assertion`), `system/` scopes only, a
//! five-minute access token and never a refresh token; and the FHIR search a backend client
//! proves its token with (`Patient?_count=1`), a searchset Bundle.

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::wire::{self, OAuthError, Params};
use super::{ClientAuth, Ehr, Faults, client_auth, data, fhir};

/// Lifetime of a backend access token: SMART says SHOULD be no more than five minutes.
const BACKEND_TOKEN_SECONDS: u64 = 300;

/// `POST /auth/token` with `grant_type=client_credentials`.
pub(super) fn client_credentials(
    ehr: &Ehr,
    faults: &Faults,
    headers: &HeaderMap,
    params: &Params,
    endpoint: &str,
) -> Response {
    match grant(ehr, faults, headers, params, endpoint) {
        Ok(Granted::Token(body)) => {
            (StatusCode::OK, wire::no_store_headers(), Json(body)).into_response()
        }
        Ok(Granted::Refused(status, body)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            let json = [(http::header::CONTENT_TYPE, "application/json")];
            (status, wire::no_store_headers(), json, body).into_response()
        }
        Err(error) => error.into_response(),
    }
}

/// What an authenticated client_credentials request gets.
enum Granted {
    Token(Value),
    /// [`Faults::client_credentials_refusal`]: status and body.
    Refused(u16, String),
}

fn grant(
    ehr: &Ehr,
    faults: &Faults,
    headers: &HeaderMap,
    params: &Params,
    endpoint: &str,
) -> Result<Granted, OAuthError> {
    if let Some(name) = params.duplicates.first() {
        let why = format!("parameter {name} sent more than once (RFC 6749 §3.2)");
        return Err(OAuthError::bad_request("invalid_request", why));
    }
    let client = client_auth::authenticate(ehr, faults, headers, params, endpoint)?;
    if matches!(client.auth, ClientAuth::None) {
        return Err(OAuthError::bad_request(
            "unauthorized_client",
            "public clients cannot use client_credentials",
        ));
    }
    if let Some((status, body)) = &faults.client_credentials_refusal {
        return Ok(Granted::Refused(*status, body.clone()));
    }
    let scope = params.get("scope").unwrap_or("").trim().to_owned();
    if scope.is_empty() {
        return Err(OAuthError::bad_request(
            "invalid_scope",
            "client_credentials needs a scope of system/ scopes",
        ));
    }
    if let Some(other) = scope
        .split_ascii_whitespace()
        .find(|s| !s.starts_with("system/"))
    {
        return Err(OAuthError::bad_request(
            "invalid_scope",
            format!("{other:?} is not a system/ scope (SMART Backend Services)"),
        ));
    }
    let access_token = wire::random_token();
    let lifetime = Duration::from_secs(BACKEND_TOKEN_SECONDS);
    ehr.with(|s| s.grant_access(&access_token, &client.client_id, lifetime));
    let mut body = json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": BACKEND_TOKEN_SECONDS,
        "scope": scope,
    });
    if let Some(map) = body.as_object_mut() {
        let patch = faults.client_credentials_patch.iter();
        wire::patch_object(map, patch.map(|(name, v)| (name.as_str(), v.as_ref())));
    }
    Ok(Granted::Token(body))
}

/// `GET {fhir}/{resource_type}?_count=…`: a searchset Bundle (patients of the chart; other
/// types are known but empty), behind the same Bearer check as a read.
pub(super) async fn search(
    State(ehr): State<Ehr>,
    Path(resource_type): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !resource_type.starts_with(|c: char| c.is_ascii_uppercase()) {
        return super::serve::not_found().await;
    }
    if let Err(why) = fhir::check_bearer(&ehr, &headers) {
        return fhir::unauthorized(&why);
    }
    let count = query
        .get("_count")
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let resources: Vec<Value> = match resource_type.as_str() {
        "Patient" => data::PATIENTS.iter().map(data::patient_json).collect(),
        "Encounter" | "Practitioner" => Vec::new(),
        _ => {
            let why = format!("{resource_type} is not searchable here");
            return fhir::outcome(StatusCode::NOT_FOUND, "not-supported", &why);
        }
    };
    let total = resources.len();
    let base = ehr.fhir_base();
    let entries: Vec<Value> = resources
        .into_iter()
        .take(count)
        .map(|r| {
            let url = format!("{base}/{resource_type}/{}", r["id"].as_str().unwrap_or(""));
            json!({ "fullUrl": url, "resource": r, "search": { "mode": "match" } })
        })
        .collect();
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "entry": entries,
    });
    fhir::fhir_json(StatusCode::OK, &bundle)
}
