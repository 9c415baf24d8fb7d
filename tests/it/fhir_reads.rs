//! The proof reads of hostile context: ids that are path segments (`.`, `..`) never become a
//! URL, and a read answered with another type of resource is a diagnosis, not a success line.

use serde_json::json;
use smart_launch_doctor::practice::Faults;

use crate::support::{Auth, TestApp, diagnosis_ids, error_ids};

/// A launch whose token response names `patient`; its JSON twin and the fake EHR's requests.
async fn launch_with_patient(patient: &str) -> (serde_json::Value, Vec<String>) {
    let faults = Faults {
        token_patch: vec![("patient".into(), Some(json!(patient)))],
        ..Faults::default()
    };
    let app = TestApp::with_faults(Auth::Basic, faults).await;
    let json = app.launch_to_result(app.open_ehr_launch().await).await;
    let bearer_paths = app
        .ehr
        .ehr
        .requests()
        .into_iter()
        .filter(|r| {
            r.headers
                .iter()
                .any(|(k, v)| k == "authorization" && v.starts_with("Bearer "))
        })
        .map(|r| r.path)
        .collect();
    (json, bearer_paths)
}

#[tokio::test]
async fn patient_ids_dot_and_dotdot_are_refused_like_other_path_injections() {
    let (injected, _) = launch_with_patient("x/y").await;
    assert_eq!(injected["outcome"], "error", "{injected:#}");
    let refused = error_ids(&injected);
    for id in [".", ".."] {
        let (json, paths) = launch_with_patient(id).await;
        assert_eq!(json["outcome"], "error", "{id}: {json:#}");
        assert_eq!(error_ids(&json), refused, "{id}: {json:#}");
        assert!(json["patient"].is_null(), "{id}: {json:#}");
        // The token went to no URL but a Type/id read (the user's), never the base or a type.
        for p in &paths {
            let segments: Vec<&str> = p.trim_end_matches('/').rsplit('/').take(2).collect();
            assert!(
                segments.len() == 2 && segments[1].starts_with(char::is_uppercase),
                "{id}: the token was sent to {p} (not a Type/id)"
            );
        }
    }
}

#[tokio::test]
async fn a_bundle_or_outcome_answering_the_patient_read_is_a_wrong_resource_type() {
    for answered in ["Bundle", "OperationOutcome"] {
        let faults = Faults {
            fhir_patch: vec![("resourceType".into(), json!(answered))],
            ..Faults::default()
        };
        let app = TestApp::with_faults(Auth::Basic, faults).await;
        let json = app.launch_to_result(app.open_ehr_launch().await).await;
        assert_eq!(json["outcome"], "error", "{answered}: {json:#}");
        assert!(
            error_ids(&json).contains(&"fhir.wrong_resource_type".to_string()),
            "{answered}: {:?}",
            diagnosis_ids(&json)
        );
        assert!(
            json["patient"].is_null(),
            "not Patient in context: {json:#}"
        );
        let d = json["diagnoses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == "fhir.wrong_resource_type")
            .unwrap();
        assert!(d["summary"].as_str().unwrap().contains(answered), "{d:#}");
        let page = app
            .get(&format!("/launches/{}", json["id"].as_str().unwrap()))
            .await
            .text()
            .await
            .unwrap();
        assert!(!page.contains("Patient in context"), "{page}");
    }
}
