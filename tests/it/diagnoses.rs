//! One reproduction per catalogue id not covered elsewhere, through the fake EHR's faults or a
//! deliberately broken upstream, asserting the id and its key evidence in the JSON twin.

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};
use smart_launch_doctor::practice::{CannedAnswer, Faults};

use crate::support::upstream::serve;
use crate::support::{Auth, Setup, TestApp, diagnosis_ids, error_ids, evidence, has};

/// A successful launch whose result carries warning `id`.
async fn warns(faults: Faults, id: &str) -> Value {
    let app = TestApp::with_faults(Auth::Basic, faults).await;
    let json = app.launch_to_result(app.open_ehr_launch().await).await;
    assert_eq!(json["outcome"], "success", "{json:#}");
    assert!(
        has(&json, id),
        "{id} expected in {:?}",
        diagnosis_ids(&json)
    );
    app.assert_no_violations();
    json
}

fn patch(members: &[(&str, Option<Value>)]) -> Vec<(String, Option<Value>)> {
    members
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

// --- Discovery ---------------------------------------------------------------------------

#[tokio::test]
async fn well_known_without_token_endpoint_and_no_fallback_is_discovery_missing_fields() {
    let doc =
        json!({"authorization_endpoint": "https://ehr.example/authorize", "capabilities": []});
    let origin = serve(Router::new().route(
        "/fhir/.well-known/smart-configuration",
        get(move || async move { axum::Json(doc.clone()) }),
    ))
    .await;
    let app = TestApp::start(Setup {
        iss_override: Some(format!("{origin}/fhir")),
        ..Setup::new(Auth::None)
    })
    .await;
    let json = app.standalone_result().await;
    assert_eq!(error_ids(&json), ["discovery.missing_fields"]);
    assert_eq!(
        evidence(&json, "discovery.missing_fields", "Missing").as_deref(),
        Some("token_endpoint")
    );
}

#[tokio::test]
async fn well_known_without_required_fields_is_discovery_incomplete() {
    let faults = Faults {
        well_known_omit: vec!["grant_types_supported".into()],
        ..Faults::default()
    };
    let json = warns(faults, "discovery.incomplete").await;
    assert_eq!(
        evidence(&json, "discovery.incomplete", "Missing").as_deref(),
        Some("grant_types_supported")
    );
}

#[tokio::test]
async fn plain_pkce_in_discovery_is_discovery_pkce_not_advertised() {
    let faults = Faults {
        well_known_patch: vec![("code_challenge_methods_supported".into(), json!(["plain"]))],
        ..Faults::default()
    };
    warns(faults, "discovery.pkce_not_advertised").await;
}

#[tokio::test]
async fn unadvertised_client_auth_method_is_discovery_auth_method_unsupported() {
    let faults = Faults {
        well_known_patch: vec![(
            "token_endpoint_auth_methods_supported".into(),
            json!(["private_key_jwt"]),
        )],
        ..Faults::default()
    };
    let json = warns(faults, "discovery.auth_method_unsupported").await;
    assert_eq!(
        evidence(
            &json,
            "discovery.auth_method_unsupported",
            "Configured method"
        )
        .as_deref(),
        Some("client_secret_basic")
    );
}

#[tokio::test]
async fn missing_launch_capability_is_discovery_launch_unsupported() {
    let faults = Faults {
        well_known_patch: vec![(
            "capabilities".into(),
            json!(["launch-standalone", "client-confidential-symmetric"]),
        )],
        ..Faults::default()
    };
    warns(faults, "discovery.launch_unsupported").await;
}

#[tokio::test]
async fn differing_capability_statement_is_discovery_sources_disagree() {
    let json = warns(
        Faults {
            metadata_disagrees: true,
            ..Faults::default()
        },
        "discovery.sources_disagree",
    )
    .await;
    let cap = evidence(
        &json,
        "discovery.sources_disagree",
        "token: CapabilityStatement",
    )
    .unwrap();
    assert_ne!(
        Some(cap),
        evidence(&json, "discovery.sources_disagree", "token: .well-known")
    );
}

#[tokio::test]
async fn scopes_missing_from_scopes_supported_are_discovery_scope_unsupported() {
    let faults = Faults {
        well_known_patch: vec![("scopes_supported".into(), json!(["openid", "launch"]))],
        ..Faults::default()
    };
    let json = warns(faults, "discovery.scope_unsupported").await;
    assert_eq!(
        evidence(&json, "discovery.scope_unsupported", "Not offered").as_deref(),
        Some("fhirUser patient/*.read offline_access")
    );
}

// --- Authorization -----------------------------------------------------------------------

async fn authorize_error(error: &str, uri: Option<&str>) -> Value {
    let faults = Faults {
        authorize_error: Some((
            error.into(),
            Some(format!("{error} for the test")),
            uri.map(str::to_string),
        )),
        ..Faults::default()
    };
    let app = TestApp::with_faults(Auth::None, faults).await;
    let json = app.launch_to_result(app.open_ehr_launch().await).await;
    assert_eq!(json["step"], "authorize");
    assert!(
        !app.ehr
            .ehr
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/token")),
        "no token request after an error"
    );
    json
}

macro_rules! authorize_case {
    ($name:ident, $error:literal, $id:literal) => {
        #[tokio::test]
        async fn $name() {
            let json = authorize_error($error, None).await;
            assert_eq!(diagnosis_ids(&json)[..1], [$id], "{json:#}");
            assert_eq!(evidence(&json, $id, "error").as_deref(), Some($error));
            assert_eq!(
                evidence(&json, $id, "error_description").as_deref(),
                Some(concat!($error, " for the test"))
            );
        }
    };
}

authorize_case!(
    invalid_scope_at_authorize_is_authorize_invalid_scope,
    "invalid_scope",
    "authorize.invalid_scope"
);
authorize_case!(
    invalid_request_at_authorize_is_authorize_invalid_request,
    "invalid_request",
    "authorize.invalid_request"
);
authorize_case!(
    unauthorized_client_at_authorize_is_authorize_unauthorized_client,
    "unauthorized_client",
    "authorize.unauthorized_client"
);
authorize_case!(
    unsupported_response_type_is_authorize_unsupported_response_type,
    "unsupported_response_type",
    "authorize.unsupported_response_type"
);
authorize_case!(
    temporarily_unavailable_is_authorize_server_error,
    "temporarily_unavailable",
    "authorize.server_error"
);
authorize_case!(
    unknown_error_code_is_authorize_other,
    "interaction_required",
    "authorize.other"
);

#[tokio::test]
async fn cerner_stale_launch_code_is_authorize_invalid_request_with_its_urn() {
    let uri = "https://authorization.cerner.com/errors/urn%3Acerner%3Aerror%3Aauthorization-server%3Asmart-v1%3Agrant%3Alaunch%3Ainvalid-launch-code/instances/abc-123?client=test-app&tenant=t-1";
    let json = authorize_error("server_error", Some(uri)).await;
    assert!(has(&json, "authorize.invalid_request"), "{json:#}");
    assert_eq!(
        evidence(
            &json,
            "authorize.invalid_request",
            "Correlation id (quote it to support)"
        )
        .as_deref(),
        Some("abc-123")
    );
}

#[tokio::test]
async fn launch_with_no_callback_is_flagged_authorize_never_returned() {
    let setup = Setup {
        // Discovery's cached answer expires before the launch is judged (2 whole seconds
        // after it started): the settled launch must still say discovery succeeded.
        extra_toml: "never_returned_after_seconds = 2\ndiscovery_cache_seconds = 1".into(),
        ..Setup::new(Auth::None)
    };
    let app = TestApp::start(setup).await;
    let launch = app.open_ehr_launch().await;
    assert_eq!(launch.status(), reqwest::StatusCode::SEE_OTHER);
    // Past never_returned_after_seconds the launch has failed (polled, with a deadline).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let list = loop {
        let (_, list) = app.get_json("/launches").await;
        if list["launches"][0]["outcome"] != "pending" || std::time::Instant::now() > deadline {
            break list;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(list["launches"][0]["outcome"], "error");
    let ids: Vec<&str> = list["launches"][0]["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(ids.contains(&"authorize.never_returned"), "{ids:?}");
    // It failed where it stopped: at the authorize step, not at discovery (which succeeded).
    assert_eq!(list["launches"][0]["step"], "authorize", "{list:#}");
}

// --- Callback ----------------------------------------------------------------------------

#[tokio::test]
async fn foreign_iss_on_the_authorization_response_is_callback_issuer_mismatch() {
    let app = TestApp::with_faults(
        Auth::None,
        Faults {
            authorize_iss: Some("https://evil.example".into()),
            ..Faults::default()
        },
    )
    .await;
    let json = app.launch_to_result(app.open_ehr_launch().await).await;
    assert_eq!(json["step"], "callback");
    assert!(has(&json, "callback.issuer_mismatch"), "{json:#}");
    assert_eq!(
        evidence(&json, "callback.issuer_mismatch", "iss received").as_deref(),
        Some("https://evil.example")
    );
    assert!(
        !app.ehr
            .ehr
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/token")),
        "no code exchanged on a mix-up"
    );
}

#[tokio::test]
async fn matching_iss_on_the_authorization_response_is_accepted() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    app.ehr.ehr.set_faults(Faults {
        authorize_iss: Some(app.ehr.fhir_base()),
        ..Faults::default()
    });
    let json = app.launch_to_result(app.open_ehr_launch().await).await;
    assert_eq!(json["outcome"], "success", "{json:#}");
}

#[tokio::test]
async fn callback_with_state_only_is_callback_missing_code() {
    let app = TestApp::with_faults(
        Auth::None,
        Faults {
            authorize_no_code: true,
            ..Faults::default()
        },
    )
    .await;
    let json = app.launch_to_result(app.open_ehr_launch().await).await;
    assert!(has(&json, "callback.missing_code"));
}

// --- Token exchange: errors --------------------------------------------------------------

fn cerner_uri(urn_tail: &str, client: &str) -> String {
    format!(
        "https://authorization.cerner.com/errors/urn%3Acerner%3Aerror%3Aauthorization-server%3A{}/instances/c0ffee-1?client={client}&tenant=t-42",
        urn_tail.replace(':', "%3A")
    )
}

/// A launch whose token endpoint answers `status` + JSON `body`.
async fn token_error(
    auth: Auth,
    status: u16,
    body: Value,
    headers: Vec<(String, String)>,
) -> Value {
    let mut headers = headers;
    headers.push(("content-type".into(), "application/json".into()));
    let faults = Faults {
        token_answer: Some(CannedAnswer {
            status,
            headers,
            body: body.to_string(),
        }),
        ..Faults::default()
    };
    let app = TestApp::with_faults(auth, faults).await;
    let json = app.launch_to_result(app.open_ehr_launch().await).await;
    assert_eq!(json["outcome"], "error");
    assert_eq!(json["step"], "token");
    json
}

macro_rules! token_case {
    ($name:ident, $status:literal, $body:expr, $id:literal) => {
        #[tokio::test]
        async fn $name() {
            let json = token_error(Auth::Basic, $status, $body, vec![]).await;
            assert_eq!(diagnosis_ids(&json)[..1], [$id], "{json:#}");
            assert_eq!(
                evidence(&json, $id, "Status").as_deref(),
                Some(stringify!($status))
            );
        }
    };
}

token_case!(
    cerner_invalid_authorization_header_is_token_bad_auth_header,
    401,
    json!({"error": "invalid_client", "error_uri": cerner_uri("oauth2:token:invalid-authorization-header", "unknown")}),
    "token.bad_auth_header"
);
token_case!(
    cerner_invalid_signature_is_token_bad_client_assertion,
    401,
    json!({"error": "invalid_client", "error_uri": cerner_uri("client-assertion:jwt-bearer:invalid-signature", "test-app")}),
    "token.bad_client_assertion"
);
token_case!(
    cerner_invalid_tenant_is_token_invalid_tenant,
    400,
    json!({"error": "invalid_request", "error_uri": cerner_uri("oauth2:token:invalid-tenant", "test-app")}),
    "token.invalid_tenant"
);
token_case!(
    used_code_is_token_code_reused,
    400,
    json!({"error": "invalid_grant", "error_description": "authorization code already used"}),
    "token.code_reused"
);
token_case!(
    redirect_uri_complaint_is_token_redirect_mismatch,
    400,
    json!({"error": "invalid_grant", "error_description": "redirect_uri does not match the authorization request"}),
    "token.redirect_mismatch"
);
token_case!(
    verifier_complaint_is_token_pkce_rejected,
    400,
    json!({"error": "invalid_grant", "error_description": "PKCE verification failed: code_verifier"}),
    "token.pkce_rejected"
);
token_case!(
    other_invalid_grant_is_token_invalid_grant,
    400,
    json!({"error": "invalid_grant", "error_description": "code expired"}),
    "token.invalid_grant"
);
token_case!(
    invalid_request_at_token_is_token_invalid_request,
    400,
    json!({"error": "invalid_request", "error_description": "multiple client credentials"}),
    "token.invalid_request"
);
token_case!(
    unauthorized_client_at_token_is_token_unauthorized_client,
    400,
    json!({"error": "unauthorized_client"}),
    "token.unauthorized_client"
);
token_case!(
    unsupported_grant_type_is_token_unsupported_grant_type,
    400,
    json!({"error": "unsupported_grant_type"}),
    "token.unsupported_grant_type"
);
token_case!(
    invalid_scope_at_token_is_token_invalid_scope,
    400,
    json!({"error": "invalid_scope"}),
    "token.invalid_scope"
);
token_case!(
    entra_unknown_application_is_token_unknown_client,
    401,
    json!({"error": "invalid_client", "error_description": "AADSTS700016: Application with identifier 'x' was not found", "error_codes": [700016], "trace_id": "t-1", "correlation_id": "c-1"}),
    "token.unknown_client"
);

#[tokio::test]
async fn invalid_client_runs_the_self_check_on_what_was_sent() {
    let json = token_error(Auth::Basic, 401, json!({"error": "invalid_client"}), vec![]).await;
    let id = "token.bad_client_credentials";
    let header = evidence(&json, id, "Self-check: Authorization header").unwrap();
    assert!(header.starts_with("Basic: client_id \"test-app\" (matches the configuration); secret of 10 chars (matches the configuration); form-encoding applied"), "{header}");
    assert_eq!(
        evidence(&json, id, "Self-check: body credentials").as_deref(),
        Some("client_id absent; client_secret absent")
    );
    assert!(
        evidence(&json, id, "Self-check: method vs discovery")
            .unwrap()
            .starts_with("client_secret_basic fits")
    );
}

#[tokio::test]
async fn server_clock_far_from_ours_is_token_clock_skew() {
    let faults = Faults {
        token_date_offset_secs: Some(600),
        token_error: Some((
            401,
            r#"{"error":"invalid_client","error_description":"assertion expired"}"#.into(),
        )),
        ..Faults::default()
    };
    let app = TestApp::with_faults(Auth::Basic, faults).await;
    let json = app.launch_to_result(app.open_ehr_launch().await).await;
    assert!(has(&json, "token.clock_skew"), "{json:#}");
    let skew: i64 = evidence(&json, "token.clock_skew", "Skew (server − ours)")
        .unwrap()
        .trim_end_matches(" s")
        .parse()
        .unwrap();
    assert!((590..=610).contains(&skew), "{skew}");
}

#[tokio::test]
async fn html_200_from_the_token_endpoint_is_token_not_json() {
    let answer = CannedAnswer {
        status: 200,
        headers: vec![("content-type".into(), "text/html".into())],
        body: "<html><title>Portal</title></html>".into(),
    };
    let app = TestApp::with_faults(
        Auth::None,
        Faults {
            token_answer: Some(answer),
            ..Faults::default()
        },
    )
    .await;
    let json = app.launch_to_result(app.open_ehr_launch().await).await;
    assert!(has(&json, "token.not_json"));
    assert_eq!(
        evidence(&json, "token.not_json", "Page title").as_deref(),
        Some("Portal")
    );
}

// --- Token exchange: success with findings -------------------------------------------------

#[tokio::test]
async fn token_response_without_token_type_is_token_malformed_response() {
    let app = TestApp::with_faults(
        Auth::None,
        Faults {
            token_patch: patch(&[("token_type", None)]),
            ..Faults::default()
        },
    )
    .await;
    let json = app.launch_to_result(app.open_ehr_launch().await).await;
    assert_eq!(json["outcome"], "error");
    assert!(has(&json, "token.malformed_response"));
    assert_eq!(
        evidence(&json, "token.malformed_response", "Missing").as_deref(),
        Some("token_type")
    );
}

#[tokio::test]
async fn non_bearer_token_type_is_token_not_bearer() {
    warns(
        Faults {
            token_patch: patch(&[("token_type", Some(json!("mac")))]),
            ..Faults::default()
        },
        "token.not_bearer",
    )
    .await;
}

#[tokio::test]
async fn missing_no_store_is_token_cache_headers() {
    warns(
        Faults {
            no_cache_headers: true,
            ..Faults::default()
        },
        "token.cache_headers",
    )
    .await;
}

#[tokio::test]
async fn fewer_granted_scopes_is_token_scopes_reduced() {
    let json = warns(
        Faults {
            token_patch: patch(&[("scope", Some(json!("launch openid patient/*.read")))]),
            ..Faults::default()
        },
        "token.scopes_reduced",
    )
    .await;
    assert_eq!(
        evidence(&json, "token.scopes_reduced", "Not granted").as_deref(),
        Some("fhirUser offline_access")
    );
    assert_eq!(
        json["scopes"]["granted"],
        json!(["launch", "openid", "patient/*.read"])
    );
}

#[tokio::test]
async fn no_patient_after_launch_is_token_missing_context() {
    warns(
        Faults {
            token_patch: patch(&[("patient", None)]),
            ..Faults::default()
        },
        "token.missing_context",
    )
    .await;
}

#[tokio::test]
async fn no_refresh_token_with_offline_access_is_token_no_refresh_token() {
    warns(
        Faults {
            token_patch: patch(&[("refresh_token", None)]),
            ..Faults::default()
        },
        "token.no_refresh_token",
    )
    .await;
}
