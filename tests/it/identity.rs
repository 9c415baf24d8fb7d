//! After the token: private_key_jwt, the id_token, the proof reads and refresh, against the
//! fake EHR (which verifies every assertion claim and signature).

use reqwest::StatusCode;
use serde_json::Value;
use smart_launch_doctor::practice::{Faults, IdTokenFault};

use crate::support::{Auth, Setup, TestApp, diagnosis_ids, evidence, form_value, has, location};

async fn ehr_launch(app: &TestApp) -> Value {
    app.launch_to_result(app.open_ehr_launch().await).await
}

fn assert_signed_in(json: &Value) {
    assert_eq!(json["outcome"], "success", "{json:#}");
    assert_eq!(json["identity"]["verified"], true);
    assert_eq!(json["identity"]["name"], "Dr. Adele Smith");
    assert_eq!(json["identity"]["resource_type"], "Practitioner");
    assert!(
        json["identity"]["fhir_user"]
            .as_str()
            .unwrap()
            .ends_with("/Practitioner/practitioner-1")
    );
    assert_eq!(json["patient"]["id"], "patient-123");
    assert!(json["patient"]["name"].is_string(), "{json:#}");
}

// --- private_key_jwt -----------------------------------------------------------------------

#[tokio::test]
async fn private_key_jwt_with_rs384_signs_in() {
    let app = TestApp::start(Setup::new(Auth::Jwt("RS384"))).await;
    assert_signed_in(&ehr_launch(&app).await);
    app.assert_no_violations();
    let body = app.token_request().body;
    assert!(!body.contains("client_secret"));
    assert_eq!(
        form_value(&body, "client_assertion_type"),
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
}

#[tokio::test]
async fn private_key_jwt_with_es384_signs_in_and_refreshes() {
    let app = TestApp::start(Setup::new(Auth::Jwt("ES384"))).await;
    let json = ehr_launch(&app).await;
    assert_signed_in(&json);
    let refreshed = refresh(&app, &json).await;
    assert_eq!(
        refreshed["refreshes"][0]["outcome"], "success",
        "{refreshed:#}"
    );
    app.assert_no_violations();
}

#[tokio::test]
async fn our_jwks_publishes_the_configured_key() {
    let app = TestApp::start(Setup::new(Auth::Jwt("RS384"))).await;
    let (_, jwks) = app.get_json("/.well-known/jwks.json").await;
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS384");
    assert!(key.get("d").is_none(), "no private member");
}

#[tokio::test]
async fn unregistered_kid_is_token_bad_client_assertion_with_the_self_check() {
    let setup = Setup {
        key_id: Some("not-registered".into()),
        ..Setup::new(Auth::Jwt("RS384"))
    };
    let app = TestApp::start(setup).await;
    let json = ehr_launch(&app).await;
    assert_eq!(json["step"], "token");
    let id = "token.bad_client_assertion";
    assert!(has(&json, id), "{json:#}");
    let header = evidence(&json, id, "Self-check: assertion header").unwrap();
    assert!(header.contains("kid \"not-registered\""), "{header}");
    let claims = evidence(&json, id, "Self-check: assertion claims").unwrap();
    assert!(
        claims.starts_with("iss = sub = client_id ✓; aud = token endpoint ✓"),
        "{claims}"
    );
    app.assert_no_violations();
}

#[tokio::test]
async fn expired_assertion_is_token_bad_client_assertion() {
    let faults = Faults {
        assertion_clock_skew_secs: Some(600),
        ..Faults::default()
    };
    let app = TestApp::with_faults(Auth::Jwt("ES384"), faults).await;
    let json = ehr_launch(&app).await;
    assert!(has(&json, "token.bad_client_assertion"), "{json:#}");
    assert!(
        evidence(&json, "token.bad_client_assertion", "error_description")
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test]
async fn transcript_keeps_the_assertion_claims_but_not_its_signature() {
    let app = TestApp::start(Setup::new(Auth::Jwt("RS384"))).await;
    let json = ehr_launch(&app).await;
    let sent = app.token_request().body;
    let assertion = form_value(&sent, "client_assertion");
    let signature = assertion.rsplit('.').next().unwrap();
    let text = json.to_string();
    assert!(!text.contains(signature), "no signature in the JSON");
    assert!(
        text.contains(assertion.split('.').nth(1).unwrap()),
        "the claims stay readable"
    );
}

// --- id_token ------------------------------------------------------------------------------

async fn with_id_token_fault(fault: IdTokenFault) -> Value {
    let app = TestApp::with_faults(
        Auth::None,
        Faults {
            id_token_fault: Some(fault),
            ..Faults::default()
        },
    )
    .await;
    let json = ehr_launch(&app).await;
    assert!(
        json["token_response"]["access_token"].is_string(),
        "the token response is never hidden"
    );
    json
}

macro_rules! id_token_case {
    ($name:ident, $fault:expr, $id:literal) => {
        #[tokio::test]
        async fn $name() {
            let json = with_id_token_fault($fault).await;
            assert!(
                has(&json, $id),
                "{} expected in {:?}",
                $id,
                diagnosis_ids(&json)
            );
            assert_eq!(json["outcome"], "error");
            assert_eq!(json["step"], "id_token");
            assert_eq!(json["identity"]["verified"], false);
            assert_eq!(
                json["patient"]["id"], "patient-123",
                "the patient read still ran"
            );
            if $id == "id_token.bad_signature" {
                let summary = json["diagnoses"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|d| d["id"] == $id)
                    .map(|d| d["summary"].to_string())
                    .unwrap();
                assert!(!summary.contains("InvalidSignature"), "{summary}");
            }
        }
    };
}

id_token_case!(
    id_token_with_bad_signature_is_id_token_bad_signature,
    IdTokenFault::BadSignature,
    "id_token.bad_signature"
);
id_token_case!(
    id_token_from_another_issuer_is_id_token_wrong_issuer,
    IdTokenFault::WrongIssuer,
    "id_token.wrong_issuer"
);
id_token_case!(
    id_token_for_another_client_is_id_token_wrong_audience,
    IdTokenFault::WrongAudience,
    "id_token.wrong_audience"
);
id_token_case!(
    expired_id_token_is_id_token_expired,
    IdTokenFault::Expired,
    "id_token.expired"
);
id_token_case!(
    id_token_issued_in_the_future_is_id_token_expired,
    IdTokenFault::FutureIat,
    "id_token.expired"
);
id_token_case!(
    id_token_signed_by_an_unpublished_key_is_id_token_bad_signature,
    IdTokenFault::UnpublishedKey,
    "id_token.bad_signature"
);
id_token_case!(
    unsigned_id_token_is_id_token_bad_signature,
    IdTokenFault::AlgNone,
    "id_token.bad_signature"
);
id_token_case!(
    hmac_id_token_is_id_token_bad_signature,
    IdTokenFault::Hs256,
    "id_token.bad_signature"
);

#[tokio::test]
async fn id_token_without_kid_is_accepted_when_the_jwks_has_one_key() {
    let json = with_id_token_fault(IdTokenFault::NoKid).await;
    assert_signed_in(&json);
}

#[tokio::test]
async fn relative_fhir_user_is_resolved_against_the_fhir_base() {
    let json = with_id_token_fault(IdTokenFault::RelativeFhirUser).await;
    assert_eq!(json["identity"]["name"], "Dr. Adele Smith", "{json:#}");
}

#[tokio::test]
async fn rotated_signing_key_is_found_by_fetching_the_jwks_again_once() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    assert_signed_in(&ehr_launch(&app).await);
    assert_eq!(app.ehr.ehr.jwks_fetches(), 1);
    app.ehr.ehr.rotate_signing_key();
    assert_signed_in(&ehr_launch(&app).await);
    assert_eq!(
        app.ehr.ehr.jwks_fetches(),
        2,
        "one refetch for the unknown kid"
    );
    assert_signed_in(&ehr_launch(&app).await);
    assert_eq!(app.ehr.ehr.jwks_fetches(), 2, "then cached again");
}

// --- FHIR proof reads ------------------------------------------------------------------------

async fn with_fhir_fault(faults: Faults) -> Value {
    let app = TestApp::with_faults(Auth::None, faults).await;
    let json = ehr_launch(&app).await;
    assert_eq!(json["outcome"], "error");
    assert_eq!(json["step"], "fhir");
    assert!(
        json["token_response"]["access_token"].is_string(),
        "the token response is never hidden"
    );
    json
}

#[tokio::test]
async fn fhir_401_is_fhir_invalid_token_with_the_bearer_challenge() {
    let json = with_fhir_fault(Faults {
        fhir_status: Some(401),
        ..Faults::default()
    })
    .await;
    assert!(has(&json, "fhir.invalid_token"), "{json:#}");
    assert_eq!(
        evidence(&json, "fhir.invalid_token", "WWW-Authenticate error").as_deref(),
        Some("invalid_token")
    );
    // Every read got the 401: one diagnosis, not one per read.
    let ids = crate::support::diagnosis_ids(&json);
    assert_eq!(
        ids.iter().filter(|i| *i == "fhir.invalid_token").count(),
        1,
        "{ids:?}"
    );
}

#[tokio::test]
async fn fhir_403_is_fhir_forbidden() {
    let json = with_fhir_fault(Faults {
        fhir_status: Some(403),
        ..Faults::default()
    })
    .await;
    assert!(has(&json, "fhir.forbidden"));
}

#[tokio::test]
async fn fhir_404_is_fhir_not_found() {
    let json = with_fhir_fault(Faults {
        fhir_status: Some(404),
        ..Faults::default()
    })
    .await;
    assert!(has(&json, "fhir.not_found"));
}

#[tokio::test]
async fn fhir_html_is_fhir_not_fhir() {
    let json = with_fhir_fault(Faults {
        fhir_not_fhir: true,
        ..Faults::default()
    })
    .await;
    assert!(has(&json, "fhir.not_fhir"));
}

#[tokio::test]
async fn fhir_500_is_fhir_server_error() {
    let json = with_fhir_fault(Faults {
        fhir_status: Some(500),
        ..Faults::default()
    })
    .await;
    assert!(has(&json, "fhir.server_error"));
}

#[tokio::test]
async fn result_page_says_who_signed_in_and_which_patient() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let (_, cb) = app.through_authorize(app.open_ehr_launch().await).await;
    let page = app.get(&location(&cb)).await.text().await.unwrap();
    assert!(
        page.contains("Signed in as Dr. Adele Smith (Practitioner)."),
        "headline"
    );
    assert!(page.contains("Patient in context:"));
}

// --- refresh ---------------------------------------------------------------------------------

async fn result_page(app: &TestApp, json: &Value) -> String {
    let path = format!("/launches/{}", json["id"].as_str().unwrap());
    app.get(&path).await.text().await.unwrap()
}

async fn refresh(app: &TestApp, json: &Value) -> Value {
    let path = format!("/launches/{}", json["id"].as_str().unwrap());
    let page = result_page(app, json).await;
    let at =
        page.find("name=\"csrf\" value=\"").expect("refresh form") + "name=\"csrf\" value=\"".len();
    let csrf = page[at..].split('"').next().unwrap().to_string();
    let resp = app
        .post_form(&format!("{path}/refresh"), &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    app.get_json(&path).await.1
}

#[tokio::test]
async fn rotating_refresh_tokens_are_followed() {
    let app = TestApp::with_faults(
        Auth::Basic,
        Faults {
            refresh_rotation: true,
            ..Faults::default()
        },
    )
    .await;
    let json = ehr_launch(&app).await;
    assert!(
        result_page(&app, &json)
            .await
            .contains("Access token expires at <time")
    );
    let first = refresh(&app, &json).await;
    let second = refresh(&app, &first).await;
    assert_eq!(second["refreshes"][0]["outcome"], "success");
    assert_eq!(
        second["refreshes"][1]["outcome"], "success",
        "the newest refresh token was used: {second:#}"
    );
    // Each refresh keeps its own checks; the scorecard shows each refresh rule once, the newest.
    let rules = |id: &str| {
        second["conformance"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["id"] == id)
            .count()
    };
    for id in ["server.refresh_fields", "server.refresh_scope_subset"] {
        assert_eq!(rules(id), 1, "{id}: {:#}", second["conformance"]);
    }
    for r in 0..2 {
        let kept = second["refreshes"][r]["checks"].as_array().map(Vec::len);
        assert_eq!(kept, Some(3), "refresh {r}: {:#}", second["refreshes"][r]);
    }
    // The expiry the page counts down is the newest token's.
    let newest = &second["refreshes"][1];
    let at =
        newest["at"].as_i64().unwrap() + newest["token_response"]["expires_in"].as_i64().unwrap();
    let page = result_page(&app, &second).await;
    let said = format!(
        "The newest access token (from the last refresh) expires at <time datetime=\"{at}\""
    );
    assert!(page.contains(&said), "{said}");
    assert!(page.contains("The table below is the launch's own token response"));
    app.assert_no_violations();
}

#[tokio::test]
async fn rejected_refresh_is_refresh_rejected() {
    let app = TestApp::with_faults(
        Auth::Post,
        Faults {
            refresh_reject: true,
            ..Faults::default()
        },
    )
    .await;
    let json = refresh(&app, &ehr_launch(&app).await).await;
    let ids: Vec<&str> = json["refreshes"][0]["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["id"].as_str())
        .collect();
    assert_eq!(ids, ["refresh.rejected"]);
    assert_eq!(
        json["outcome"], "success",
        "the launch itself stays a success"
    );
    let headline = json["headline"].as_str().unwrap();
    assert!(
        headline.contains("The last token refresh failed."),
        "the headline says so: {headline}"
    );
    // The page's heading says both, and nothing says the completed sign-in cannot complete.
    let page = app
        .get(&format!("/launches/{}", json["id"].as_str().unwrap()))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Launch succeeded; the last token refresh failed"),
        "{page}"
    );
    assert!(!page.contains("can no longer be completed"), "{page}");
}

#[tokio::test]
async fn widened_scope_on_refresh_is_refresh_scope_widened() {
    let app = TestApp::with_faults(
        Auth::None,
        Faults {
            refresh_widen_scope: true,
            ..Faults::default()
        },
    )
    .await;
    let json = refresh(&app, &ehr_launch(&app).await).await;
    let ids: Vec<&str> = json["refreshes"][0]["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["id"].as_str())
        .collect();
    assert_eq!(ids, ["refresh.scope_widened"]);
}

#[tokio::test]
async fn refresh_without_the_csrf_token_is_refused() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let json = ehr_launch(&app).await;
    let resp = app
        .post_form(
            &format!("/launches/{}/refresh", json["id"].as_str().unwrap()),
            &[("csrf", "forged")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn id_token_that_is_not_a_jwt_is_id_token_malformed() {
    let faults = Faults {
        token_patch: vec![("id_token".into(), Some(serde_json::json!("not-a-jwt")))],
        ..Faults::default()
    };
    let json = ehr_launch(&TestApp::with_faults(Auth::None, faults).await).await;
    assert!(has(&json, "id_token.malformed"), "{json:#}");
    assert_eq!(json["step"], "id_token");
}

#[tokio::test]
async fn unreachable_openid_configuration_is_id_token_config_unavailable() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!(
        "http://127.0.0.1:{}/fhir",
        dead.local_addr().unwrap().port()
    );
    drop(dead);
    let faults = Faults {
        well_known_patch: vec![("issuer".into(), serde_json::json!(issuer))],
        ..Faults::default()
    };
    // The issuer is on another loopback port than the FHIR base: allowed deliberately.
    let app = TestApp::start(Setup {
        faults,
        extra_toml: "allow_private_hosts = [\"127.0.0.1\"]".into(),
        ..Setup::new(Auth::None)
    })
    .await;
    let json = ehr_launch(&app).await;
    assert!(has(&json, "id_token.config_unavailable"), "{json:#}");
    assert!(
        evidence(&json, "id_token.config_unavailable", "URL")
            .unwrap()
            .ends_with("/fhir/.well-known/openid-configuration")
    );
}

#[tokio::test]
async fn granted_fhir_user_without_the_claim_is_id_token_fhiruser_unresolved() {
    // The request lacks fhirUser, so the id_token has no fhirUser claim; the answer claims it was granted.
    let setup = Setup {
        scope: Some("launch openid patient/*.read"),
        faults: Faults {
            token_patch: vec![(
                "scope".into(),
                Some(serde_json::json!("launch openid fhirUser patient/*.read")),
            )],
            ..Faults::default()
        },
        ..Setup::new(Auth::None)
    };
    let json = ehr_launch(&TestApp::start(setup).await).await;
    assert_eq!(json["outcome"], "success", "a warning only: {json:#}");
    assert!(has(&json, "id_token.fhiruser_unresolved"));
}
