//! The words pages use: downloads that say what they hold, notes that do not alarm, Back after a
//! finished sign-in, plain headlines, and each fact said once.

use reqwest::StatusCode;

use crate::support::practice_app::{csrf_of, serve_practice, sign_in_and_follow};
use crate::support::{Auth, Setup, TestApp, browser, location};

/// The `filename` of a download's Content-Disposition.
async fn filename(app: &TestApp, path: &str) -> String {
    let r = app.get(path).await;
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    let cd = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    cd.split("filename=\"")
        .nth(1)
        .unwrap()
        .trim_end_matches('"')
        .to_string()
}

#[tokio::test]
async fn downloads_are_named_for_whether_they_hold_the_patient() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let json = app.launch_to_result(app.open_ehr_launch().await).await;
    let id = json["id"].as_str().unwrap();
    let base = format!("/launches/{id}");
    assert_eq!(
        filename(&app, &format!("{base}/report.json")).await,
        format!("launch-{id}-redacted.json")
    );
    assert_eq!(
        filename(&app, &format!("{base}/report.json?reveal=patient")).await,
        format!("launch-{id}-with-patient.json")
    );
    assert_eq!(
        filename(&app, &format!("{base}/report.md")).await,
        format!("launch-{id}-redacted.md")
    );
    let page = app.get(&base).await.text().await.unwrap();
    assert!(page.contains("report.json?reveal=patient"), "{page}");
}

/// The redacted report.md says "the patient in context" without the reference; the one with
/// patient details names the patient, the reference once.
#[tokio::test]
async fn the_markdown_report_names_the_patient_only_with_patient_details_and_then_once() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let json = app.launch_to_result(app.open_ehr_launch().await).await;
    let id = json["id"].as_str().unwrap();
    let mut lines = Vec::new();
    for query in ["", "?reveal=patient"] {
        let md = app
            .get(&format!("/launches/{id}/report.md{query}"))
            .await
            .text()
            .await
            .unwrap();
        let line = md
            .lines()
            .find(|l| l.starts_with("- Patient in context:"))
            .unwrap_or_else(|| panic!("{md}"))
            .to_string();
        lines.push(line);
    }
    assert_eq!(
        lines[0],
        "- Patient in context: the patient in context (not named in a shared report)"
    );
    assert_eq!(
        lines[1].matches("Patient/patient-123").count(),
        1,
        "{}",
        lines[1]
    );
}

#[tokio::test]
async fn plain_http_to_this_machine_is_a_note_after_everything_else() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let json = app.launch_to_result(app.open_ehr_launch().await).await;
    let ids: Vec<&str> = json["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"launch.insecure_iss"), "{ids:?}");
    let insecure = json["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "launch.insecure_iss")
        .unwrap();
    // Catalogued a warning; listed everywhere as a note, and the JSON says so.
    assert_eq!(
        (&insecure["severity"], &insecure["shown_as"]),
        (&serde_json::json!("warn"), &serde_json::json!("note"))
    );
    let id = json["id"].as_str().unwrap();
    let md = app
        .get(&format!("/launches/{id}/report.md"))
        .await
        .text()
        .await
        .unwrap();
    assert!(md.contains("`launch.insecure_iss` (note)"), "{md}");
    let page = app
        .get(&format!("/launches/{}", json["id"].as_str().unwrap()))
        .await
        .text()
        .await
        .unwrap();
    let notes = page.find("id=\"notes-h\"").expect("a Notes section");
    let warnings = page.find("id=\"warn-h\"");
    assert!(warnings.is_none_or(|w| w < notes), "notes come last");
    let warned = warnings.map(|w| &page[w..notes]).unwrap_or("");
    assert!(!warned.contains("insecure_iss"), "not among the warnings");
    let list = app.get("/launches").await.text().await.unwrap();
    assert!(
        list.contains("note: <code>launch.<wbr>insecure_<wbr>iss"),
        "{list}"
    );
}

#[tokio::test]
async fn back_to_a_finished_sign_in_leads_to_its_result_without_alarm() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let (callback, first) = app.through_authorize(app.open_ehr_launch().await).await;
    let result = location(&first);
    let again = app.get(&callback).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    let page = again.text().await.unwrap();
    assert!(page.contains("This sign-in already finished"), "{page}");
    assert!(page.contains("headline notice") && !page.contains("role=\"alert\""));
    assert!(page.contains(&format!("href=\"{result}\"")), "{page}");
    // Another browser replaying the same callback still gets the alarm.
    let other = browser().get(&callback).send().await.unwrap();
    let other = other.text().await.unwrap();
    assert!(other.contains("sev-error") && !other.contains("already finished"));
}

#[tokio::test]
async fn a_backend_run_offers_no_patient_download_and_no_launch_context() {
    let (base, _) = serve_practice("").await;
    let b = browser();
    let csrf = csrf_of(&b, &base, "/").await;
    let r = b
        .post(format!("{base}/backend/practice-backend"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = b
        .get(format!("{base}{}", location(&r)))
        .send()
        .await
        .unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("Backend Services run succeeded"), "{page}");
    assert!(!page.contains("reveal=patient"), "{page}");
    assert!(!page.contains(">Launch context<"), "{page}");
}

#[tokio::test]
async fn an_unregistered_iss_names_each_registered_base_once() {
    let (base, state) = serve_practice("").await;
    let practice = state.config.practice_fhir_base();
    let b = browser();
    let r = b
        .get(format!(
            "{base}/launch?iss=https://elsewhere.example/fhir&launch=x"
        ))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let json: serde_json::Value = r.json().await.unwrap();
    let text = json.to_string();
    assert_eq!(text.matches(&practice).count(), 1, "{text}");
}

#[tokio::test]
async fn a_failure_headline_says_what_happened_then_the_step() {
    let (base, _) = serve_practice("").await;
    let b = browser();
    let csrf = csrf_of(&b, &base, "/gallery").await;
    let r = b
        .post(format!("{base}/gallery/oracle-unknown-client"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let (url, json) = sign_in_and_follow(&b, &base, r, "/practice").await;
    assert_eq!(json["step"], "token", "{json:#}");
    let page = b.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("<h1>The EHR did not accept this app (token step)</h1>"),
        "{page}"
    );
}

#[tokio::test]
async fn the_browsers_own_request_is_not_printed_as_an_error() {
    let (base, _) = serve_practice("").await;
    let b = browser();
    let csrf = csrf_of(&b, &base, "/gallery").await;
    let r = b
        .post(format!("{base}/gallery/access-denied"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let (url, json) = sign_in_and_follow(&b, &base, r, "/practice").await;
    assert_eq!(json["step"], "authorize", "{json:#}");
    let page = b.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("<p class=\"note-browser\">Sent by the browser"),
        "{page}"
    );
}

#[test]
fn a_name_that_does_not_resolve_is_not_told_to_wait() {
    let plain = smart_launch_doctor::diagnosis::catalog::entry("net.dns").plain;
    assert!(
        !plain.contains("few minutes") && plain.contains("typo"),
        "{plain}"
    );
}
