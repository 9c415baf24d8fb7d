//! Active server probes (`active_probes = true`): a foreign `aud` at authorize, the same code
//! exchanged twice, CORS on discovery and `/metadata`; and SMART v1-only graded as failing
//! current certification. The practice EHR passes them, faults that accept them fail them, and
//! a probe that did not run is `not_tested` with its reason, never a pass.

use serde_json::Value;
use smart_launch_doctor::practice::Faults;

use crate::support::{Auth, Setup, TestApp, diagnosis_ids};

fn probing(faults: Faults) -> Setup {
    Setup {
        registration_extra: "active_probes = true",
        faults,
        ..Setup::new(Auth::None)
    }
}

/// `(status, reason)` of scorecard check `id`.
fn status(json: &Value, id: &str) -> Option<(String, Option<String>)> {
    json["conformance"]
        .as_array()?
        .iter()
        .find(|c| c["id"] == id)
        .map(|c| {
            assert_eq!(c["passed"], c["status"] == "passed", "{c}");
            (
                c["status"].as_str().unwrap().to_string(),
                c["reason"].as_str().map(str::to_string),
            )
        })
}

fn st(json: &Value, id: &str) -> String {
    status(json, id)
        .map(|s| s.0)
        .unwrap_or_else(|| panic!("no {id}: {json:#}"))
}

#[tokio::test]
async fn the_practice_ehr_passes_every_active_probe() {
    let t = TestApp::start(probing(Faults::default())).await;
    let json = t.standalone_result().await;
    assert_eq!(json["outcome"], "success", "{json:#}");
    assert_eq!(st(&json, "probe.code_replay_accepted"), "passed");
    assert_eq!(st(&json, "probe.aud_not_enforced"), "passed");
    let labelled = json["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| {
            x["step"]
                .as_str()
                .unwrap_or("")
                .starts_with("active probe (deliberate)")
        })
        .count();
    assert!(labelled >= 2, "{json:#}");
    let (_, check) = t.get_json("/check/app").await;
    for id in [
        "probe.aud_not_enforced",
        "server.cors_missing",
        "server.smart_v1_only",
    ] {
        assert_eq!(st(&check, id), "passed", "{id}: {check:#}");
    }
}

#[tokio::test]
async fn a_server_that_accepts_a_foreign_aud_a_replayed_code_and_no_cors_fails_them() {
    let t = TestApp::start(probing(Faults {
        accept_foreign_aud: true,
        accept_code_replay: true,
        no_cors: true,
        ..Faults::default()
    }))
    .await;
    let json = t.standalone_result().await;
    assert_eq!(json["outcome"], "success", "{json:#}");
    assert_eq!(st(&json, "probe.code_replay_accepted"), "failed");
    assert_eq!(st(&json, "probe.aud_not_enforced"), "failed");
    let ids = diagnosis_ids(&json);
    assert!(
        ids.contains(&"probe.code_replay_accepted".to_string()),
        "{ids:?}"
    );
    assert!(
        ids.contains(&"probe.aud_not_enforced".to_string()),
        "{ids:?}"
    );
    let (_, check) = t.get_json("/check/app").await;
    assert_eq!(st(&check, "probe.aud_not_enforced"), "failed");
    assert_eq!(st(&check, "server.cors_missing"), "failed");
    assert_eq!(check["conformance_counts"]["failed"], 2, "{check:#}");
}

#[tokio::test]
async fn without_active_probes_they_are_not_tested_never_passed() {
    let t = TestApp::start(Setup::new(Auth::None)).await;
    let json = t.standalone_result().await;
    assert!(
        status(&json, "probe.code_replay_accepted").is_none(),
        "no probe sent"
    );
    assert_eq!(t.ehr.ehr.exchanged_codes(), 1);
    let (_, check) = t.get_json("/check/app").await;
    for id in ["probe.aud_not_enforced", "server.cors_missing"] {
        let (s, reason) = status(&check, id).unwrap();
        assert_eq!(s, "not_tested", "{check:#}");
        assert!(reason.unwrap().contains("active_probes"));
    }
    assert_eq!(check["conformance_counts"]["not_tested"], 2, "{check:#}");
    assert_eq!(check["conformance_counts"]["failed"], 0, "{check:#}");
    // Nothing was sent with a foreign aud.
    let sent = t.ehr.ehr.requests();
    assert!(
        !sent
            .iter()
            .any(|r| r.query.as_deref().unwrap_or("").contains("rogue"))
    );
}

#[tokio::test]
async fn a_v1_only_server_fails_current_certification() {
    let t = TestApp::start(Setup {
        faults: Faults {
            no_well_known: true,
            ..Faults::default()
        },
        ..Setup::new(Auth::None)
    })
    .await;
    let (_, check) = t.get_json("/check/app").await;
    assert_eq!(st(&check, "server.smart_v1_only"), "failed");
    assert!(diagnosis_ids(&check).contains(&"server.smart_v1_only".to_string()));
}
