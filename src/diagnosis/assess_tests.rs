//! `assess` on a table of cases: each edge case where views used to disagree.

use super::*;
use crate::diagnosis::transcript::Exchange;
use crate::record::RefreshRecord;

const CFG: AssessConfig = AssessConfig {
    never_returned_after_seconds: 300,
};
const STARTED: i64 = 1_800_000_000;

fn case(outcome: &str, step: &str) -> LaunchRecord {
    case_of("standalone", outcome, step)
}

fn case_of(kind: &str, outcome: &str, step: &str) -> LaunchRecord {
    serde_json::from_value(serde_json::json!({
        "id": "l1", "kind": kind,
        "app": {"id": "practice", "name": "Practice app", "iss": "https://ehr.example/fhir",
                "client_id": "app", "auth": "none", "adhoc": false},
        "started_at": STARTED, "finished_at": null, "outcome": outcome, "step": step,
        "requested_scope": "openid fhirUser launch/patient", "redirect_uri": "https://sld.example/callback",
        "endpoints": null, "authorize_url": "https://ehr.example/authorize?client_id=app",
        "diagnoses": [], "token_response": null, "transcript": [],
    }))
    .unwrap()
}

fn ran(step: &str) -> Exchange {
    Exchange {
        step: serde_json::from_value(serde_json::json!(step)).unwrap(),
        method: "GET".into(),
        url: "https://ehr.example/fhir/Patient/1".into(),
        request_headers: Vec::new(),
        request_body: None,
        status: Some(200),
        response_headers: Vec::new(),
        response_body: None,
        duration_ms: 1,
        error: None,
        cached: false,
    }
}

fn status(a: &Assessment, name: &str) -> Status {
    a.steps.iter().find(|s| s.name == name).unwrap().status
}

fn ids(a: &Assessment) -> Vec<&str> {
    a.diagnoses.iter().map(|d| d.id().as_str()).collect()
}

#[test]
fn a_pending_launch_waits_then_never_returned_at_the_authorize_step() {
    let c = case("pending", "authorize");
    let waiting = assess(&c, &CFG, STARTED + 299);
    assert_eq!(
        (waiting.outcome, waiting.step),
        (Outcome::Pending, Step::Authorize)
    );
    assert_eq!(waiting.headline, "Launch in progress");
    assert_eq!(status(&waiting, "authorize"), Status::Pending);
    assert!(ids(&waiting).is_empty());
    let late = assess(&c, &CFG, STARTED + 300);
    assert_eq!((late.outcome, late.step), (Outcome::Error, Step::Authorize));
    assert_eq!(ids(&late), ["authorize.never_returned"]);
    assert_eq!(
        late.headline,
        "The sign-in at the EHR did not finish (authorize step)"
    );
    assert_eq!(late.plain, late.diagnoses[0].plain());
    assert_eq!(status(&late, "discovery"), Status::Passed);
    assert_eq!(status(&late, "authorize"), Status::Failed);
    assert_eq!(status(&late, "callback"), Status::NotReached);
    // The evidence keeps what was sent.
    let ev = &late.diagnoses[0].evidence;
    assert!(ev.iter().any(|e| e.value == "https://sld.example/callback"));
}

#[test]
fn a_launch_waiting_on_the_token_endpoint_is_never_never_returned() {
    let a = assess(&case("pending", "token"), &CFG, STARTED + 10_000);
    assert_eq!((a.outcome, a.step), (Outcome::Pending, Step::Token));
    assert_eq!(status(&a, "token"), Status::Pending);
}

#[test]
fn a_failed_refresh_after_success_keeps_the_success_and_fails_the_refresh_step() {
    let mut c = case("success", "fhir");
    c.refreshed(RefreshRecord {
        at: STARTED + 60,
        outcome: Outcome::Error,
        token_response: None,
        diagnoses: vec![Diagnosis::new(id!("refresh.rejected"), "no")],
    });
    let a = assess(&c, &CFG, STARTED + 61);
    assert_eq!((a.outcome, a.step), (Outcome::Success, Step::Fhir));
    assert_eq!(
        a.headline,
        "Launch succeeded; the last token refresh failed"
    );
    assert!(a.refresh_failed);
    assert_eq!(status(&a, "fhir"), Status::Passed);
    assert_eq!(status(&a, "refresh"), Status::Failed);
    assert!(
        a.plain.contains("The last token refresh failed."),
        "{}",
        a.plain
    );
    // A refresh that worked since clears it.
    c.refreshed(RefreshRecord {
        at: STARTED + 90,
        outcome: Outcome::Success,
        token_response: None,
        diagnoses: Vec::new(),
    });
    let a = assess(&c, &CFG, STARTED + 91);
    assert_eq!(a.headline, "Launch succeeded");
    assert_eq!(status(&a, "refresh"), Status::Passed);
}

#[test]
fn a_step_after_a_failed_step_is_never_green() {
    let mut c = case("error", "id_token");
    c.found([Diagnosis::new(id!("id_token.bad_signature"), "no")]);
    c.transcribed([ran("token")]);
    c.transcribed([ran("fhir")]);
    let a = assess(&c, &CFG, STARTED + 5);
    assert_eq!((a.outcome, a.step), (Outcome::Error, Step::IdToken));
    assert_eq!(status(&a, "token"), Status::Passed);
    assert_eq!(status(&a, "id_token"), Status::Failed);
    assert_eq!(status(&a, "fhir"), Status::Warned);
    assert!(
        a.steps
            .iter()
            .skip_while(|s| s.status != Status::Failed)
            .skip(1)
            .all(|s| s.status != Status::Passed)
    );
    assert_eq!(
        a.headline,
        "The EHR's proof of who signed in did not check out (id_token step)"
    );
    // No refresh step without a refresh.
    assert!(a.steps.iter().all(|s| s.name != "refresh"));
}

#[test]
fn diagnoses_rank_errors_then_warnings_then_notes_and_the_first_error_heads() {
    let mut c = case("error", "token");
    c.found([Diagnosis::new(id!("launch.insecure_iss"), "plain http")
        .with("iss", "http://127.0.0.1:1/fhir")]);
    c.found([Diagnosis::new(id!("token.scopes_reduced"), "fewer")]);
    c.found([Diagnosis::new(id!("token.unknown_client"), "no").with("client_id", "app")]);
    let a = assess(&c, &CFG, STARTED);
    assert_eq!(
        ids(&a),
        [
            "token.unknown_client",
            "token.scopes_reduced",
            "launch.insecure_iss"
        ]
    );
    assert_eq!(a.diagnoses[0].evidence[0].value, "app");
    assert_eq!(a.plain, a.diagnoses[0].plain());
    assert_eq!(a.headline, "The EHR did not accept this app (token step)");
    let mut c = case("error", "token");
    c.found([Diagnosis::new(id!("net.timeout"), "slow")]);
    assert_eq!(
        assess(&c, &CFG, STARTED).headline,
        "The EHR could not be reached (token step)"
    );
}

#[test]
fn a_backend_run_has_no_browser_steps() {
    let c = case_of("backend", "success", "fhir");
    let a = assess(&c, &CFG, STARTED);
    assert_eq!(a.headline, "Backend Services run succeeded");
    for (name, want) in [
        ("launch", Status::Skipped),
        ("discovery", Status::Passed),
        ("authorize", Status::Skipped),
        ("callback", Status::Skipped),
        ("token", Status::Passed),
        ("id_token", Status::Skipped),
        ("fhir", Status::Passed),
    ] {
        assert_eq!(status(&a, name), want, "{name}");
    }
}

#[test]
fn a_success_names_who_signed_in_and_the_patient_in_context() {
    let mut c = case("success", "fhir");
    c.token_exchanged(
        serde_json::from_value(serde_json::json!({"access_token": "a", "patient": "p1"})).unwrap(),
    );
    let a = assess(&c, &CFG, STARTED);
    assert_eq!(
        a.plain,
        "Signed in to Practice app. Patient in context: p1."
    );
    assert!(a.steps.iter().all(|s| s.status == Status::Passed));
}
