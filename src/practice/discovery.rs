//! Discovery: the SMART configuration document (SMART App Launch 2.2 §2.4), the FHIR R4
//! CapabilityStatement with the `oauth-uris` extension that older clients fall back to, and
//! the OpenID Connect discovery document with the JWKS it points at.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use serde_json::json;

use super::{Ehr, IdTokenFault, paths, wire};

/// Client authentication methods the token endpoint accepts.
const AUTH_METHODS: [&str; 3] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
];

/// Signing algorithms accepted for `private_key_jwt` assertions (SMART 2.2 requires these two).
const ASSERTION_ALGS: [&str; 2] = ["RS384", "ES384"];

/// `GET {fhir}/.well-known/smart-configuration`, or 404 under the `no_well_known` fault.
/// CORS for browser apps on discovery and the CapabilityStatement: a request with an `Origin`
/// gets `Access-Control-Allow-Origin: *` (both documents are public), unless the `no_cors` fault.
pub(super) async fn cors(
    State(ehr): State<Ehr>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = req.uri().path().to_owned();
    let public = path.ends_with(paths::SMART_CONFIGURATION) || path.ends_with(paths::METADATA);
    let origin = req.headers().contains_key(http::header::ORIGIN);
    let mut resp = next.run(req).await;
    if public && origin && !ehr.faults().no_cors {
        resp.headers_mut().insert(
            http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
            http::HeaderValue::from_static("*"),
        );
    }
    resp
}

pub(super) async fn smart_configuration(State(ehr): State<Ehr>) -> Response {
    let faults = ehr.faults();
    if faults.no_well_known {
        return (
            StatusCode::NOT_FOUND,
            "no .well-known/smart-configuration here",
        )
            .into_response();
    }
    // SMART 2.2 §2.4 requires `issuer` with `sso-openid-connect`; it is the FHIR base, which
    // is also what an RFC 9207 `iss` from authorize must equal.
    let mut config = json!({
        "issuer": ehr.fhir_base(),
        "authorization_endpoint": ehr.url(paths::AUTHORIZE),
        "token_endpoint": ehr.url(paths::TOKEN),
        "jwks_uri": ehr.url(paths::JWKS),
        "introspection_endpoint": ehr.url(paths::INTROSPECT),
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "scopes_supported": [
            "openid", "fhirUser", "launch", "launch/patient", "patient/*.read", "patient/*.rs",
            "offline_access", "online_access", "system/*.read", "system/*.rs"
        ],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "capabilities": [
            "launch-ehr", "launch-standalone", "client-public", "client-confidential-symmetric",
            "client-confidential-asymmetric", "context-ehr-patient", "context-standalone-patient", "permission-offline",
            "permission-patient", "permission-v1", "permission-v2", "sso-openid-connect", "authorize-post"
        ],
    });
    if let Some(members) = config.as_object_mut() {
        let omitted = faults
            .well_known_omit
            .iter()
            .map(|name| (name.as_str(), None));
        let patched = faults
            .well_known_patch
            .iter()
            .map(|(name, v)| (name.as_str(), Some(v)));
        wire::patch_object(members, omitted.chain(patched));
    }
    match faults.well_known_content_type {
        // Served with another media type (a web server's default for a static file).
        Some(ct) => ([(header::CONTENT_TYPE, ct)], config.to_string()).into_response(),
        None => Json(config).into_response(),
    }
}

/// `GET {fhir}/metadata`: a minimal R4 CapabilityStatement carrying the OAuth endpoints.
pub(super) async fn metadata(State(ehr): State<Ehr>) -> Response {
    let token = if ehr.faults().metadata_disagrees {
        paths::TOKEN_LEGACY
    } else {
        paths::TOKEN
    };
    let body = json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2024-01-01",
        "kind": "instance",
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "implementation": {
            "description": "smart-launch-doctor fake EHR",
            "url": ehr.fhir_base(),
        },
        "rest": [{
            "mode": "server",
            "security": {
                "service": [{
                    "coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                        "code": "SMART-on-FHIR",
                    }],
                }],
                "extension": [{
                    "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                    "extension": [
                        { "url": "authorize", "valueUri": ehr.url(paths::AUTHORIZE) },
                        { "url": "token", "valueUri": ehr.url(token) },
                    ],
                }],
            },
        }],
    });
    (
        [(header::CONTENT_TYPE, "application/fhir+json")],
        body.to_string(),
    )
        .into_response()
}

/// `GET {fhir}/.well-known/openid-configuration`: OpenID Connect Discovery 1.0 §3, with the
/// FHIR base as issuer (the id_token's `iss`), or the `openid_issuer` fault's.
pub(super) async fn openid_configuration(State(ehr): State<Ehr>) -> Response {
    let issuer = ehr
        .faults()
        .openid_issuer
        .unwrap_or_else(|| ehr.fhir_base());
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": ehr.url(paths::AUTHORIZE),
        "token_endpoint": ehr.url(paths::TOKEN),
        "jwks_uri": ehr.url(paths::JWKS),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "scopes_supported": ["openid", "fhirUser", "profile"],
        "claims_supported": ["iss", "sub", "aud", "iat", "exp", "name", "fhirUser", "nonce"],
    }))
    .into_response()
}

/// `GET /auth/jwks`: the public id_token signing keys, old ones included after a rotation;
/// only the current one under the `NoKid` fault, so that a kid-less token has exactly one
/// candidate.
pub(super) async fn jwks(State(ehr): State<Ehr>) -> Response {
    let only_current = ehr.faults().id_token_fault == Some(IdTokenFault::NoKid);
    let jwks = ehr.with(|s| {
        s.jwks_fetches += 1;
        s.keys.jwks(only_current)
    });
    Json(jwks).into_response()
}

/// `GET /smart-style.json`: the style document `smart_style_url` points at.
pub(super) async fn smart_style() -> Response {
    Json(json!({
        "color_background": "#edeae3",
        "color_error": "#9e2d2d",
        "color_highlight": "#69b5ce",
        "color_modal_backdrop": "",
        "color_success": "#498e49",
        "color_text": "#303030",
        "dim_border_radius": "6px",
        "dim_font_size": "13px",
        "dim_spacing_size": "20px",
        "font_family_body": "Georgia, Times, 'Times New Roman', serif",
        "font_family_heading": "'HelveticaNeue-Light', Helvetica, Arial, sans-serif",
    }))
    .into_response()
}
