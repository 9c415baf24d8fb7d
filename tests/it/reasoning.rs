//! Verdicts read from the whole case, not from one answer alone: each server answer is
//! reproduced body for body in the fake EHR, and the verdict depends on what else the case
//! shows (no secret configured and a code issued; discovery's methods; the token's own lifetime;
//! an introspection endpoint that refuses the app; the patient introspection names).

use serde_json::{Value, json};
use smart_launch_doctor::practice::{CannedAnswer, Faults};

use crate::support::{Auth, Setup, TestApp, diagnosis_ids, error_ids, evidence, has};

fn canned(status: u16, body: &str) -> Option<CannedAnswer> {
    Some(CannedAnswer {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.into(),
    })
}

async fn ehr_launch(auth: Auth, faults: Faults) -> Value {
    let app = TestApp::with_faults(auth, faults).await;
    app.launch_to_result(app.open_ehr_launch().await).await
}

/// Presses "Run" for the backend registration `app` and returns the result's JSON twin.
async fn backend_run(t: &TestApp) -> Value {
    let home = t.get("/").await.text().await.unwrap();
    let csrf = crate::support::practice_app::hidden(&home, "csrf");
    let r = t
        .post_form("/backend/app", &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    t.get_json(&crate::support::location(&r)).await.1
}

#[tokio::test]
async fn a_public_app_registered_as_confidential_is_client_type_mismatch_not_a_wrong_secret() {
    // django-oauth-toolkit, for a public app registered there as confidential: 401, this body.
    let faults = Faults {
        token_answer: canned(401, r#"{"error": "invalid_client"}"#),
        ..Faults::default()
    };
    let json = ehr_launch(Auth::None, faults).await;
    assert_eq!(json["step"], "token", "{json:#}");
    assert_eq!(error_ids(&json), ["token.client_type_mismatch"], "{json:#}");
    assert!(!has(&json, "token.bad_client_credentials"));
    assert!(
        evidence(
            &json,
            "token.client_type_mismatch",
            "Client id known to the server"
        )
        .unwrap()
        .contains("authorize step accepted it")
    );
}

#[tokio::test]
async fn a_backend_run_whose_discovery_lists_no_private_key_jwt_leads_with_that() {
    let setup = Setup {
        registration_extra: "backend = true",
        scope: Some("system/*.read"),
        faults: Faults {
            well_known_patch: vec![(
                "token_endpoint_auth_methods_supported".into(),
                json!(["client_secret_basic", "client_secret_post"]),
            )],
            token_answer: canned(
                401,
                r#"{"error":"invalid_client","error_description":"client authentication failed"}"#,
            ),
            ..Faults::default()
        },
        ..Setup::new(Auth::Jwt("ES384"))
    };
    let t = TestApp::start(setup).await;
    let json = backend_run(&t).await;
    assert_eq!(json["outcome"], "error", "{json:#}");
    let errors = error_ids(&json);
    assert_eq!(errors[0], "discovery.auth_method_unsupported", "{json:#}");
    let ids = diagnosis_ids(&json);
    let said = ids
        .iter()
        .filter(|i| *i == "discovery.auth_method_unsupported")
        .count();
    assert_eq!(said, 1, "said once, as the error: {ids:?}");
    assert!(
        json["headline"]
            .as_str()
            .is_none_or(|h| !h.contains("does not stop a sign-in")),
        "{}",
        json["headline"]
    );
}

#[tokio::test]
async fn a_fhir_refusal_after_the_tokens_own_lifetime_passed_is_an_expired_token() {
    let faults = Faults {
        token_patch: vec![("expires_in".into(), Some(json!(0)))],
        fhir_status: Some(403),
        ..Faults::default()
    };
    let json = ehr_launch(Auth::Basic, faults).await;
    assert_eq!(json["step"], "fhir", "{json:#}");
    assert_eq!(error_ids(&json), ["fhir.token_expired"], "{json:#}");
    assert!(!has(&json, "fhir.forbidden"));
}

#[tokio::test]
async fn a_fhir_refusal_with_time_left_rules_expiry_out() {
    let faults = Faults {
        fhir_status: Some(401),
        ..Faults::default()
    };
    let json = ehr_launch(Auth::Basic, faults).await;
    assert_eq!(error_ids(&json), ["fhir.invalid_token"], "{json:#}");
    let d = json["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "fhir.invalid_token")
        .unwrap();
    let causes = d["causes"].to_string().to_ascii_lowercase();
    assert!(!causes.contains("expired"), "{causes}");
    assert!(
        evidence(
            &json,
            "fhir.invalid_token",
            "Token lifetime left at the read"
        )
        .is_some(),
        "{d:#}"
    );
}

#[tokio::test]
async fn a_fhir_server_that_needs_the_launch_context_in_the_token_is_named() {
    let body = r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","diagnostics":"Access denied: the access token carries no patient launch context"}]}"#;
    let faults = Faults {
        fhir_answer: Some(CannedAnswer {
            status: 403,
            headers: vec![("content-type".into(), "application/fhir+json".into())],
            body: body.into(),
        }),
        ..Faults::default()
    };
    let json = ehr_launch(Auth::Basic, faults).await;
    let id = "fhir.token_missing_launch_context";
    assert_eq!(error_ids(&json), [id], "{json:#}");
    assert_eq!(
        evidence(&json, id, "Matched phrase").as_deref(),
        Some("\u{201c}launch context\u{201d}")
    );
}

#[tokio::test]
async fn an_introspection_endpoint_that_refuses_the_app_is_introspection_refused() {
    let faults = Faults {
        introspection_answer: canned(401, r#"{"error":"invalid_client"}"#),
        ..Faults::default()
    };
    let json = ehr_launch(Auth::Basic, faults).await;
    assert_eq!(json["outcome"], "success", "{json:#}");
    assert!(
        has(&json, "introspection.refused"),
        "{:?}",
        diagnosis_ids(&json)
    );
    assert!(!has(&json, "server.introspection_fields"));
}

#[tokio::test]
async fn an_inactive_answer_for_an_expired_token_raises_no_warning() {
    let faults = Faults {
        token_patch: vec![("expires_in".into(), Some(json!(0)))],
        introspection_answer: Some(CannedAnswer {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: r#"{"active": false}"#.into(),
        }),
        ..Faults::default()
    };
    let json = ehr_launch(Auth::Basic, faults).await;
    let ids = diagnosis_ids(&json);
    assert!(!ids.iter().any(|i| i.contains("introspection")), "{ids:?}");
}

#[tokio::test]
async fn a_patient_introspection_names_but_the_token_lacks_blames_the_server_once() {
    let faults = Faults {
        token_patch: vec![("patient".into(), None)],
        ..Faults::default()
    };
    let json = ehr_launch(Auth::Basic, faults).await;
    let ids = diagnosis_ids(&json);
    assert!(has(&json, "token.missing_context"), "{ids:?}");
    assert!(!has(&json, "server.introspection_mismatch"), "{ids:?}");
    let d = json["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "token.missing_context")
        .unwrap();
    let first = d["causes"][0].as_str().unwrap();
    assert!(first.contains("introspection names it"), "{first}");
}

#[tokio::test]
async fn check_of_a_public_client_the_server_refuses_does_not_blame_a_secret() {
    let setup = Setup {
        faults: Faults {
            token_answer: canned(401, r#"{"error": "invalid_client"}"#),
            ..Faults::default()
        },
        ..Setup::new(Auth::None)
    };
    let app = TestApp::start(setup).await;
    let (_, json) = app.get_json("/check/app").await;
    assert_eq!(json["credentials"]["verdict"], "rejected", "{json:#}");
    let reason = json["credentials"]["reason"].as_str().unwrap_or("");
    assert!(reason.contains("no secret is configured"), "{json:#}");
    assert!(
        has(&json, "token.unknown_client"),
        "{:?}",
        diagnosis_ids(&json)
    );
    assert!(!has(&json, "token.bad_client_credentials"));
}
