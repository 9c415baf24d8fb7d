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
    let refresh = |at, outcome, diagnoses| RefreshRecord {
        at,
        outcome,
        token_response: None,
        diagnoses,
        checks: Vec::new(),
    };
    let rejected = vec![Diagnosis::new(id!("refresh.rejected"), "no")];
    c.refreshed(refresh(STARTED + 60, Outcome::Error, rejected));
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
    c.refreshed(refresh(STARTED + 90, Outcome::Success, Vec::new()));
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
    // The amber step says why it is amber; the others need no reason.
    let fhir = a.steps.iter().find(|s| s.name == "fhir").unwrap();
    assert_eq!(
        fhir.reason.as_deref(),
        Some("ran after the id_token step failed; its result is not trusted")
    );
    let json = serde_json::to_value(fhir).unwrap();
    assert_eq!(
        json["reason"],
        "ran after the id_token step failed; its result is not trusted"
    );
    let token = a.steps.iter().find(|s| s.name == "token").unwrap();
    assert_eq!(token.reason, None);
    assert!(serde_json::to_value(token).unwrap().get("reason").is_none());
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

// --- a `check` as a case: the credential probe's expected refusal --------------------------

fn probed(ids: &[crate::diagnosis::DiagnosisId]) -> LaunchRecord {
    let mut c = case("pending", "token");
    c.discovered(crate::record::Endpoints {
        source: ".well-known/smart-configuration".into(),
        authorization_endpoint: "https://ehr.example/authorize".into(),
        token_endpoint: "https://ehr.example/token".into(),
    });
    c.found(ids.iter().map(|id| Diagnosis::new(*id, "x")));
    c
}

fn probe(invalid_code: Refusal, cc: Option<Verdict>) -> Probe {
    Probe {
        invalid_code,
        client_credentials: cc,
    }
}

use crate::diagnosis::classify::probe::Verdict;

#[test]
fn the_probes_expected_refusal_passes_the_token_step() {
    let a = assess_probe(
        &probed(&[id!("jwks.duplicate_key")]),
        &probe(Refusal::Expected, None),
    );
    assert_eq!((a.outcome, a.step), (Outcome::Success, Step::Token));
    assert_eq!(a.headline, "Check passed");
    // The case's app is a public client: no credentials to have accepted.
    assert!(
        a.plain
            .starts_with("The EHR knows Practice app's client id (a public client, no secret)"),
        "{}",
        a.plain
    );
    for (name, want) in [
        ("launch", Status::Skipped),
        ("discovery", Status::Passed),
        ("registration", Status::Passed),
        ("authorize", Status::Skipped),
        ("callback", Status::Skipped),
        ("token", Status::Passed),
        ("id_token", Status::Skipped),
        ("fhir", Status::Skipped),
    ] {
        assert_eq!(status(&a, name), want, "{name}");
    }
    // The same refusal read as a launch's token answer would fail the case: the probe is
    // what makes it a pass.
    let refused = assess_probe(&probed(&[]), &probe(Refusal::OfTheClient, None));
    assert_eq!(refused.outcome, Outcome::Error);
}

#[test]
fn a_refusal_of_the_client_fails_the_token_step_and_heads_with_the_first_error() {
    let c = probed(&[
        id!("check.certificate_expiring"),
        id!("token.unknown_client"),
    ]);
    let a = assess_probe(&c, &probe(Refusal::OfTheClient, None));
    assert_eq!((a.outcome, a.step), (Outcome::Error, Step::Token));
    assert_eq!(status(&a, "token"), Status::Failed);
    assert_eq!(status(&a, "discovery"), Status::Passed);
    assert_eq!(
        ids(&a),
        ["token.unknown_client", "check.certificate_expiring"]
    );
    assert_eq!(a.headline, "The EHR did not accept this app (token step)");
    assert_eq!(a.plain, a.diagnoses[0].plain());
}

#[test]
fn credentials_accepted_only_raw_or_a_refused_client_credentials_grant_fail_the_token_step() {
    // Accepted, but only without the RFC 6749 encoding: real exchanges will be refused.
    let raw = probed(&[id!("token.bad_client_credentials")]);
    let a = assess_probe(&raw, &probe(Refusal::Expected, None));
    assert_eq!(
        (a.outcome, status(&a, "token")),
        (Outcome::Error, Status::Failed)
    );
    let a = assess_probe(
        &probed(&[]),
        &probe(Refusal::Expected, Some(Verdict::Rejected)),
    );
    assert_eq!(
        (a.outcome, status(&a, "token")),
        (Outcome::Error, Status::Failed)
    );
    let a = assess_probe(
        &probed(&[]),
        &probe(Refusal::Expected, Some(Verdict::Accepted)),
    );
    assert_eq!(
        (a.outcome, status(&a, "token")),
        (Outcome::Success, Status::Passed)
    );
}

#[test]
fn an_unclear_answer_warns_the_token_step_without_failing_the_check() {
    let c = probed(&[id!("check.probe_inconclusive")]);
    let a = assess_probe(&c, &probe(Refusal::Unclear, None));
    assert_eq!(a.outcome, Outcome::Success);
    assert_eq!(status(&a, "token"), Status::Warned);
    assert!(a.headline.contains("could not tell"), "{}", a.headline);
}

#[test]
fn a_failed_discovery_sends_no_probe() {
    let mut c = case("pending", "discovery");
    c.found([Diagnosis::new(id!("net.connect"), "refused")]);
    let a = assess_probe(&c, &probe(Refusal::NotSent, None));
    assert_eq!((a.outcome, a.step), (Outcome::Error, Step::Discovery));
    assert_eq!(status(&a, "discovery"), Status::Failed);
    assert_eq!(status(&a, "registration"), Status::NotReached);
    assert_eq!(status(&a, "token"), Status::NotReached);
    assert_eq!(a.headline, "The EHR could not be reached (discovery step)");
}

#[test]
fn an_error_in_the_registration_fails_the_check_though_the_credentials_pass() {
    let c = probed(&[id!("check.redirect_uri_insecure")]);
    let a = assess_probe(&c, &probe(Refusal::Expected, None));
    assert_eq!((a.outcome, a.step), (Outcome::Error, Step::Token));
    assert_eq!(status(&a, "registration"), Status::Failed);
    assert_eq!(status(&a, "token"), Status::Passed);
    assert!(a.headline.contains("registration"), "{}", a.headline);
}

#[test]
fn a_refused_client_is_told_by_the_token_error_though_a_registration_error_comes_first() {
    let c = probed(&[
        id!("check.redirect_uri_insecure"),
        id!("token.unknown_client"),
    ]);
    let a = assess_probe(&c, &probe(Refusal::OfTheClient, None));
    assert_eq!(status(&a, "registration"), Status::Failed);
    assert_eq!(status(&a, "token"), Status::Failed);
    assert_eq!(a.headline, "The EHR did not accept this app (token step)");
    assert_eq!(a.plain, a.diagnoses[1].plain());
}

#[test]
fn a_shared_success_names_no_person_not_even_by_reference() {
    let mut c = case("success", "fhir");
    c.token_exchanged(
        serde_json::from_value(serde_json::json!({"access_token": "a", "patient": "p1"})).unwrap(),
    );
    let a = assess_for(&c, &CFG, STARTED, Audience::Shared);
    assert_eq!(
        a.plain,
        "Signed in to Practice app. Patient in context: the patient in context (not named in a shared report)."
    );
    assert!(!a.plain.contains("p1"));
    // The owner's sentence is unchanged.
    assert_eq!(
        assess_for(&c, &CFG, STARTED, Audience::Owner).plain,
        assess(&c, &CFG, STARTED).plain
    );
}

#[test]
fn a_success_without_the_granted_patient_says_so_first() {
    let mut c = case("success", "fhir");
    c.token_exchanged(serde_json::from_value(serde_json::json!({"access_token": "a"})).unwrap());
    c.found([Diagnosis::new(id!("token.missing_context"), "patient")]);
    let a = assess(&c, &CFG, STARTED);
    assert_eq!(
        a.plain,
        "Signed in to Practice app. No patient in context: patient context was granted, but the EHR returned none."
    );
    let without = case("success", "fhir");
    assert_eq!(
        assess(&without, &CFG, STARTED).plain,
        "Signed in to Practice app."
    );
}
