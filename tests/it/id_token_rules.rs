//! The strict id_token rules of OpenID Connect Core 1.0 §3.1.3.7 and Discovery 1.0 §4.3, each
//! produced by the practice EHR: an `iss` or OpenID configuration `issuer` that differs by a
//! trailing slash, another issuer in the configuration, untrusted extra audiences, `azp`.

use serde_json::{Value, json};
use smart_launch_doctor::practice::{Faults, IdTokenFault};

use crate::support::{Auth, Setup, TestApp, diagnosis_ids, evidence, has};

async fn ehr_launch(app: &TestApp) -> Value {
    app.launch_to_result(app.open_ehr_launch().await).await
}

/// The launch failed at the id_token with `id`, the identity untrusted, the patient still read.
fn assert_rejected(json: &Value, id: &str) {
    assert!(has(json, id), "{id} expected in {:?}", diagnosis_ids(json));
    assert_eq!(json["outcome"], "error", "{json:#}");
    assert_eq!(json["step"], "id_token", "{json:#}");
    assert_eq!(json["identity"]["verified"], false);
    assert_eq!(
        json["patient"]["id"], "patient-123",
        "the patient read still ran"
    );
}

/// The scorecard's status of check `id` (`passed`, `failed`, `not_tested`).
fn check(json: &Value, id: &str) -> String {
    let found = json["conformance"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["id"] == id));
    let found = found.unwrap_or_else(|| panic!("no {id} in {:#}", json["conformance"]));
    found["status"].as_str().unwrap().to_string()
}

/// The scorecard fails `failed` among the id_token claims checks and passes the others; the
/// launch's own error says it, so no warning repeats it.
fn assert_scorecard(json: &Value, failed: &[&str]) {
    for id in [
        "server.id_token_iss",
        "server.id_token_aud",
        "server.id_token_azp",
    ] {
        let want = if failed.contains(&id) {
            "failed"
        } else {
            "passed"
        };
        assert_eq!(check(json, id), want, "{id}");
        assert!(!has(json, id), "{id} said twice: {:?}", diagnosis_ids(json));
    }
    assert!(json["conformance_counts"]["failed"].as_u64() >= Some(failed.len() as u64));
}

async fn with_id_token_fault(fault: IdTokenFault) -> Value {
    let faults = Faults {
        id_token_fault: Some(fault),
        ..Faults::default()
    };
    ehr_launch(&TestApp::with_faults(Auth::None, faults).await).await
}

/// A world whose discovery (`.well-known/smart-configuration`) names `smart_issuer` and whose
/// OpenID configuration names `openid_issuer`, each given the FHIR base.
async fn with_issuers(
    smart_issuer: fn(&str) -> String,
    openid_issuer: fn(&str) -> String,
) -> Value {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let base = app.ehr.fhir_base();
    app.ehr.ehr.set_faults(Faults {
        well_known_patch: vec![("issuer".into(), json!(smart_issuer(&base)))],
        openid_issuer: Some(openid_issuer(&base)),
        ..Faults::default()
    });
    ehr_launch(&app).await
}

#[tokio::test]
async fn id_token_iss_with_a_trailing_slash_is_id_token_issuer_trailing_slash() {
    let json = with_id_token_fault(IdTokenFault::IssuerTrailingSlash).await;
    let id = "id_token.issuer_trailing_slash";
    assert_rejected(&json, id);
    assert!(
        !has(&json, "id_token.wrong_issuer"),
        "{:?}",
        diagnosis_ids(&json)
    );
    let iss = evidence(&json, id, "iss in the token").unwrap();
    let expected = evidence(&json, id, "Issuer expected").unwrap();
    assert_eq!(iss, format!("{expected}/"));
    // The scorecard says it too (it said "22 of 22 passed" while the diagnosis blamed the EHR).
    assert_scorecard(&json, &["server.id_token_iss"]);
}

/// The scorecard points to where a failed check is repeated: `server.id_token_iss` is covered
/// by the error under "What went wrong", and the page has no Warnings to point to.
#[tokio::test]
async fn the_scorecard_points_to_the_section_that_repeats_a_failed_check() {
    let faults = Faults {
        id_token_fault: Some(IdTokenFault::IssuerTrailingSlash),
        ..Faults::default()
    };
    let app = TestApp::with_faults(Auth::None, faults).await;
    let (_, resp) = app.through_authorize(app.open_ehr_launch().await).await;
    let result = crate::support::location(&resp);
    let json = app.settled_json(&result).await;
    assert_eq!(check(&json, "server.id_token_iss"), "failed");
    let page = app.get(&result).await.text().await.unwrap();
    let sentence = page
        .split("Inferno test kit: ")
        .nth(1)
        .and_then(|s| s.split("</p>").next())
        .unwrap_or_else(|| panic!("no scorecard sentence in {page}"));
    assert!(sentence.contains("failed"), "{sentence}");
    assert!(
        !page.contains("id=\"warn-h\""),
        "no Warnings section expected"
    );
    assert!(
        sentence.contains("(also under What went wrong)"),
        "points to where the check is said: {sentence}"
    );
}

/// The real-world shape: `issuer` published with a trailing slash in both configurations, the
/// id_token signed without it.
#[tokio::test]
async fn issuer_published_with_a_slash_and_a_token_without_is_id_token_issuer_trailing_slash() {
    let json = with_issuers(|b| format!("{b}/"), |b| format!("{b}/")).await;
    let id = "id_token.issuer_trailing_slash";
    assert_rejected(&json, id);
    let iss = evidence(&json, id, "iss in the token").unwrap();
    assert_eq!(
        evidence(&json, id, "Issuer expected").unwrap(),
        format!("{iss}/")
    );
}

#[tokio::test]
async fn openid_configuration_issuer_differing_by_a_slash_is_id_token_issuer_trailing_slash() {
    let json = with_issuers(str::to_string, |b| format!("{b}/")).await;
    let id = "id_token.issuer_trailing_slash";
    assert_rejected(&json, id);
    let published = evidence(&json, id, "issuer in the OpenID configuration").unwrap();
    assert!(published.ends_with("/fhir/"), "{published}");
    assert_eq!(check(&json, "server.id_token_iss"), "failed");
    assert_eq!(check(&json, "server.id_token_aud"), "not_tested");
}

#[tokio::test]
async fn openid_configuration_of_another_issuer_is_not_used() {
    let json = with_issuers(str::to_string, |_| "https://login.example/".into()).await;
    let id = "id_token.config_unavailable";
    assert_rejected(&json, id);
    assert_eq!(
        evidence(&json, id, "issuer in the OpenID configuration").unwrap(),
        "https://login.example/"
    );
}

#[tokio::test]
async fn an_untrusted_extra_audience_is_id_token_untrusted_audience() {
    let json = with_id_token_fault(IdTokenFault::ExtraAudience).await;
    let id = "id_token.untrusted_audience";
    assert_rejected(&json, id);
    assert_eq!(
        evidence(&json, id, "Audiences not trusted").unwrap(),
        "another-client"
    );
    assert!(!has(&json, "id_token.azp_mismatch"), "azp is ours");
    assert!(!has(&json, "id_token.wrong_audience"), "aud holds ours");
    assert_scorecard(&json, &["server.id_token_aud"]);
}

#[tokio::test]
async fn several_audiences_without_azp_are_also_id_token_azp_mismatch() {
    let json = with_id_token_fault(IdTokenFault::ExtraAudienceNoAzp).await;
    assert_rejected(&json, "id_token.azp_mismatch");
    assert!(has(&json, "id_token.untrusted_audience"));
    assert_eq!(
        evidence(&json, "id_token.azp_mismatch", "azp in the token").unwrap(),
        "absent"
    );
}

#[tokio::test]
async fn azp_of_another_client_is_id_token_azp_mismatch() {
    let json = with_id_token_fault(IdTokenFault::WrongAzp).await;
    let id = "id_token.azp_mismatch";
    assert_rejected(&json, id);
    assert_eq!(
        evidence(&json, id, "azp in the token").unwrap(),
        "\"another-client\""
    );
    assert!(!has(&json, "id_token.untrusted_audience"), "one audience");
    assert_scorecard(&json, &["server.id_token_azp"]);
}

/// The reads after an id_token failure are amber, and the twin and the page's step bar say why.
#[tokio::test]
async fn an_amber_step_after_the_id_token_failure_says_why() {
    let faults = Faults {
        id_token_fault: Some(IdTokenFault::IssuerTrailingSlash),
        ..Faults::default()
    };
    let app = TestApp::with_faults(Auth::None, faults).await;
    let json = ehr_launch(&app).await;
    let why = "ran after the id_token step failed; its result is not trusted";
    let steps = json["steps"].as_array().unwrap();
    let fhir = steps.iter().find(|s| s["step"] == "fhir").unwrap();
    assert_eq!(
        (&fhir["status"], &fhir["reason"]),
        (&json!("warned"), &json!(why))
    );
    // Only the amber step has a reason.
    assert_eq!(
        steps.iter().filter(|s| s.get("reason").is_some()).count(),
        1
    );
    let id = json["id"].as_str().unwrap();
    let html = app
        .get(&format!("/launches/{id}"))
        .await
        .text()
        .await
        .unwrap();
    let why = why.replace('\'', "&#39;");
    assert!(
        html.contains(&format!(
            "<li class=\"step-warned\" title=\"{why}\"><span>fhir</span>"
        )),
        "{html}"
    );
    assert!(html.contains(&format!("(warned: {why})")), "{html}");
}
