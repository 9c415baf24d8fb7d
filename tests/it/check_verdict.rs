//! `check`'s verdict is `diagnosis::assess`'s: for the practice EHR's client faults, what
//! `check --format json` prints (outcome, steps, headline, ranked diagnoses) and its exit status
//! are the assessment of the case that same output shows, not a verdict `check` reaches apart.

use serde_json::{Value, json};
use smart_launch_doctor::diagnosis::assess::{Assessment, Probe, Refusal, assess_probe};
use smart_launch_doctor::diagnosis::classify::probe::Verdict;
use smart_launch_doctor::practice::Faults;
use smart_launch_doctor::record::{LaunchRecord, Outcome};

use crate::check::cli;
use crate::support::{Auth, CLIENT_ID, Setup, TRICKY_SECRET, TestApp, config_toml};

/// The case a registration's JSON shows, and its probe's evidence.
fn case_of(reg: &Value) -> (LaunchRecord, Probe) {
    let diagnoses: Vec<Value> = reg["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| json!({"i": d["id"], "s": d["summary"]}))
        .collect();
    let case = serde_json::from_value(json!({
        "id": reg["id"], "kind": "standalone", "app": reg["registration"],
        "started_at": 0, "finished_at": null, "outcome": "pending", "step": "token",
        "requested_scope": "", "redirect_uri": reg["redirect_uri"],
        "endpoints": reg["endpoints"], "authorize_url": null, "diagnoses": diagnoses,
        "token_response": null, "transcript": reg["transcript"],
        "conformance": reg["conformance"],
    }))
    .unwrap();
    let c = &reg["credentials"];
    let verdict: Verdict = serde_json::from_value(c["verdict"].clone()).unwrap();
    let probe = Probe {
        invalid_code: Refusal::from(verdict),
        client_credentials: serde_json::from_value(c["client_credentials"].clone()).unwrap(),
    };
    (case, probe)
}

/// `check --format json` for `toml`: the registration's JSON, its assessment, the exit status.
async fn checked(toml: &str) -> (Value, Assessment, Option<i32>) {
    let (code, out, err) = cli(toml, &["app", "--format", "json"]).await;
    let json: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    let reg = json["registrations"][0].clone();
    let (case, probe) = case_of(&reg);
    (reg, assess_probe(&case, &probe), code)
}

fn step<'a>(reg: &'a Value, name: &str) -> &'a Value {
    let steps = reg["steps"].as_array().unwrap();
    &steps.iter().find(|s| s["step"] == name).unwrap()["status"]
}

#[tokio::test]
async fn check_prints_and_exits_with_the_assessment_of_its_case() {
    let basic = TestApp::start(Setup::new(Auth::Basic)).await;
    let raw_only = TestApp::start(Setup {
        faults: Faults {
            basic_raw_only: true,
            ..Faults::default()
        },
        ..Setup::new(Auth::Basic)
    })
    .await;
    let toml = |app: &TestApp, auth, secret| {
        config_toml(app.addr.port(), &app.ehr.fhir_base(), auth, secret)
    };
    let unknown = toml(&basic, Auth::Basic, Some(TRICKY_SECRET)).replace(
        &format!("client_id = \"{CLIENT_ID}\""),
        "client_id = \"not-registered\"",
    );
    // (what, configuration, credentials verdict, outcome, token step)
    let cases = [
        (
            "right secret",
            toml(&basic, Auth::Basic, Some(TRICKY_SECRET)),
            "accepted",
            "success",
            "passed",
        ),
        ("unknown client", unknown, "rejected", "error", "failed"),
        (
            "wrong secret",
            toml(&basic, Auth::Basic, Some("an old secret")),
            "rejected",
            "error",
            "failed",
        ),
        (
            "public app, confidential registration",
            toml(&basic, Auth::None, None),
            "rejected",
            "error",
            "failed",
        ),
        // The credentials pass the probe, yet real (encoded) exchanges will be refused.
        (
            "accepted only raw",
            toml(&raw_only, Auth::Basic, Some(TRICKY_SECRET)),
            "accepted",
            "error",
            "failed",
        ),
    ];
    for (what, config, verdict, outcome, token) in cases {
        let (reg, a, code) = checked(&config).await;
        assert_eq!(reg["credentials"]["verdict"], verdict, "{what}: {reg:#}");
        // What the assessment says about the case the output shows is what the output says.
        let want = match a.outcome {
            Outcome::Error => "error",
            Outcome::Success => "success",
            Outcome::Pending => "pending",
        };
        assert_eq!(reg["outcome"], want, "{what}");
        assert_eq!(
            reg["steps"],
            serde_json::to_value(&a.steps).unwrap(),
            "{what}"
        );
        // As a launch's: `title` the assessment's title, `headline` its plain sentence.
        assert_eq!(reg["title"], a.headline.as_str(), "{what}");
        assert_eq!(reg["headline"], a.plain.as_str(), "{what}");
        let printed: Vec<&str> = reg["diagnoses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap())
            .collect();
        let ranked: Vec<&str> = a.diagnoses.iter().map(|d| d.id().as_str()).collect();
        assert_eq!(printed, ranked, "{what}");
        assert_eq!(
            code,
            Some(i32::from(a.outcome == Outcome::Error)),
            "{what}: exit status"
        );
        // And the assessment is the right one.
        assert_eq!(reg["outcome"], outcome, "{what}: {reg:#}");
        assert_eq!(step(&reg, "token"), token, "{what}");
        assert_eq!(step(&reg, "authorize"), "skipped", "{what}");
    }
}
