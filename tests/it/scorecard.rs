//! The server scorecard, introspection, launch context and granular scopes, from real launches
//! against the built-in practice EHR (conformant), its sloppy twin and a gallery fault.

use serde_json::Value;

use crate::support::browser;
use crate::support::practice_app::{csrf_of, serve_practice, sign_in_and_follow};

/// The app with the practice EHRs, no launch limit; its base URL.
async fn serve() -> String {
    serve_practice("launch_rate_limit_per_minute = 0\nhttp_timeout_seconds = 5")
        .await
        .0
}

async fn gallery(b: &reqwest::Client, base: &str, id: &str, prefix: &str) -> (String, Value) {
    let csrf = csrf_of(b, base, "/gallery").await;
    let start = b
        .post(format!("{base}/gallery/{id}"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    sign_in_and_follow(b, base, start, prefix).await
}

fn checks(json: &Value) -> Vec<(String, bool)> {
    json["conformance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["passed"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn exchanges(json: &Value, step: &str) -> usize {
    json["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["step"] == step)
        .count()
}

#[tokio::test]
async fn a_practice_launch_has_a_full_passing_scorecard_introspection_and_context() {
    let base = serve().await;
    let b = browser();
    let start = b
        .get(format!("{base}/standalone/practice"))
        .send()
        .await
        .unwrap();
    let (page_url, json) = sign_in_and_follow(&b, &base, start, "/practice").await;
    assert_eq!(json["outcome"], "success", "{json:#}");
    let checks = checks(&json);
    assert!(checks.len() >= 15, "{checks:?}");
    let failed: Vec<_> = checks.iter().filter(|(_, ok)| !ok).collect();
    assert!(failed.is_empty(), "{failed:?}");
    for id in [
        "server.discovery_content_type",
        "server.token_no_store",
        "server.id_token_alg",
        "server.fhir_context",
        "server.introspection_mismatch",
    ] {
        assert!(checks.iter().any(|(c, _)| c == id), "{id} in {checks:?}");
    }
    // Introspection: one request, its answer shown with the token redacted.
    assert_eq!(exchanges(&json, "introspection"), 1);
    assert_eq!(json["introspection"]["answer"]["active"], true);
    assert_eq!(json["introspection"]["answer"]["client_id"], "practice-app");
    let sent = json["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["step"] == "introspection")
        .unwrap();
    assert!(
        sent["request_body"]
            .as_str()
            .unwrap()
            .contains("token=[redacted"),
        "{sent:#}"
    );
    // Launch context: the fhirContext reference read, the style fetched, fields explained.
    let ctx = &json["launch_context"];
    assert_eq!(ctx["reads"][0]["reference"], "Location/practice-clinic");
    assert_eq!(ctx["reads"][0]["resource_type"], "Location");
    assert!(
        ctx["style"]["members"].as_array().unwrap().len() > 3,
        "{ctx:#}"
    );
    let names: Vec<&str> = ctx["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for n in [
        "patient",
        "fhirContext",
        "need_patient_banner",
        "smart_style_url",
    ] {
        assert!(names.contains(&n), "{names:?}");
    }
    // v2 breakdown of the granted scopes.
    let granular = json["scopes"]["granular"].as_array().unwrap();
    let star = granular
        .iter()
        .find(|g| g["scope"] == "patient/*.read")
        .unwrap();
    assert_eq!(star["permissions"], "rs");
    assert_eq!(star["other_version"], "patient/*.rs");
    // No warnings from a conformant launch but plain http on loopback.
    let warns: Vec<&Value> = json["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["id"] != "launch.insecure_iss")
        .collect();
    assert!(warns.is_empty(), "{warns:#?}");
    // The page shows the scorecard and the context.
    let html = b.get(&page_url).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Server scorecard"));
    assert!(html.contains("Location/practice-clinic"));
    assert!(html.contains("resource × permissions × filter"));
}

#[tokio::test]
async fn a_sloppy_server_launch_succeeds_and_names_each_deviation() {
    let base = serve().await;
    let b = browser();
    let (page_url, json) = gallery(&b, &base, "sloppy-server", "/practice-sloppy").await;
    assert_eq!(json["outcome"], "success", "{json:#}");
    let checks = checks(&json);
    let failed: Vec<&str> = checks
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(c, _)| c.as_str())
        .collect();
    for id in [
        "server.discovery_content_type",
        "server.discovery_capabilities",
        "server.discovery_pkce_plain",
        "server.token_scope",
        "server.token_expires_in",
        "server.token_no_store",
        "server.token_pragma",
    ] {
        assert!(failed.contains(&id), "{id} not failed in {failed:?}");
    }
    let ids: Vec<&str> = json["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    // Each failed check is said once: by its own id, or by the older finding that names it.
    for id in [
        "server.discovery_content_type",
        "server.token_scope",
        "server.token_pragma",
    ] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    assert!(ids.contains(&"discovery.pkce_not_advertised"), "{ids:?}");
    assert!(!ids.contains(&"server.discovery_pkce_plain"), "{ids:?}");
    let html = b.get(&page_url).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("check-failed"));
    let md = b
        .get(format!("{page_url}/report.md"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(md.contains("## Server scorecard"), "{md}");
    assert!(
        md.contains("- Failed `server.token_scope`: scope is absent"),
        "{md}"
    );
}

#[tokio::test]
async fn an_introspection_mismatch_is_named_with_the_fields_that_differ() {
    let base = serve().await;
    let b = browser();
    let (_, json) = gallery(&b, &base, "introspection-mismatch", "/practice").await;
    assert_eq!(json["outcome"], "success", "{json:#}");
    assert_eq!(exchanges(&json, "introspection"), 1);
    let d = json["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "server.introspection_mismatch")
        .unwrap_or_else(|| panic!("{json:#}"));
    let summary = d["summary"].as_str().unwrap();
    assert!(
        summary.contains("scope:") && summary.contains("patient:"),
        "{summary}"
    );
    assert!(!summary.contains("client_id:"), "{summary}");
}

#[tokio::test]
async fn check_reports_the_discovery_scorecard_without_a_login() {
    let base = serve().await;
    let b = browser();
    let json: Value = b
        .get(format!("{base}/check/practice"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let checks = json["conformance"]
        .as_array()
        .unwrap_or_else(|| panic!("{json:#}"));
    assert!(checks.len() >= 6, "{checks:?}");
    // Every check that ran passed; the active probes (off here) are not tested, never passed.
    assert!(
        checks
            .iter()
            .all(|c| c["passed"] == true || (c["status"] == "not_tested" && c["passed"] == false)),
        "{checks:?}"
    );
    assert_eq!(json["conformance_counts"]["failed"], 0, "{json:#}");
}

#[tokio::test]
async fn a_registration_needing_an_unlisted_capability_gets_capability_missing_in_check_and_launch()
{
    // The practice EHR lists neither permission-online nor permission-user.
    let (base, _) = serve_practice(
        "launch_rate_limit_per_minute = 0\n\
         [[registration]]\nid = \"online\"\nname = \"Online\"\niss = \"{base}/practice/fhir\"\n\
         client_id = \"practice-app\"\nauth = \"none\"\n\
         scope = \"launch openid fhirUser user/*.rs online_access\"\n\
         standalone_scope = \"launch/patient openid fhirUser patient/*.rs user/Patient.rs online_access\"\n",
    )
    .await;
    let b = browser();
    let report: Value = b
        .get(format!("{base}/check/online"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let found = report["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "discovery.capability_missing")
        .unwrap_or_else(|| panic!("{report:#}"));
    let labels: Vec<&str> = found["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["label"].as_str().unwrap())
        .collect();
    assert!(labels.contains(&"Missing: permission-online"), "{labels:?}");
    assert!(labels.contains(&"Missing: permission-user"), "{labels:?}");
    // The same on a launch, before anyone signs in (the pending record).
    let start = b
        .get(format!("{base}/standalone/online"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), reqwest::StatusCode::SEE_OTHER);
    let json: Value = b
        .get(format!("{base}/launches"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids = json["launches"][0]["diagnoses"].as_array().unwrap();
    assert!(
        ids.iter().any(|i| i == "discovery.capability_missing"),
        "{json:#}"
    );
}

/// An EHR launch (patient and encounter in context) by each kind of client: the scorecard passes
/// and introspection authenticates as the token request did, without a violation at the EHR.
#[tokio::test]
async fn ehr_launches_of_every_client_type_pass_the_scorecard_and_introspect_as_they_authenticate()
{
    use crate::support::{Auth, TestApp};
    for auth in [Auth::None, Auth::Basic, Auth::Post, Auth::Jwt("RS384")] {
        let app = TestApp::with_faults(auth, Default::default()).await;
        let json = app.launch_to_result(app.open_ehr_launch().await).await;
        assert_eq!(json["outcome"], "success", "{json:#}");
        let checks = checks(&json);
        let failed: Vec<_> = checks.iter().filter(|(_, ok)| !ok).collect();
        assert!(checks.len() >= 15 && failed.is_empty(), "{checks:?}");
        assert_eq!(json["introspection"]["status"], 200, "{json:#}");
        assert_eq!(json["introspection"]["answer"]["encounter"], "encounter-9");
        app.assert_no_violations();
    }
}
