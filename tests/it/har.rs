//! HAR import: `smart-launch-doctor diagnose FILE.har` on the fixtures in tests/fixtures/har
//! (exit status, ids, JSON) and no secret of the HAR in any output, in any encoding.

use base64::Engine as _;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_smart-launch-doctor");
const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/har");

/// Every secret, code, token, cookie, password, launch, state and patient detail the fixtures
/// carry (see tests/fixtures/har/make.py).
pub const SECRETS: &[&str] = &[
    "wr0ng-s3cret-Fixture-91",
    "lc-Fixture-launch-7Qx2",
    "Hq8sV2mK9pL4xR7tN1wY6zB3cF5gJ0dA",
    "code-Fixture-1-5hT9mQ2wE8rY4uI",
    "verifier-Fixture-1-aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
    "cookie-Fixture-1-SeSsIoN42",
    "pw-Fixture-1-hunter22",
    "nonce-Fixture-1-xyz",
    "code-Fixture-2-pL0kM9nJ8bH7",
    "verifier-Fixture-2-0123456789abcdefghijklmnopqrstuvwxyzABCD",
    "pw-Fixture-2-hunter22",
    "sT4te-Fixture-3-QwErTyUiOpAsDfGhJk",
    "code-Fixture-3-zXcVbNm123",
    "verifier-Fixture-3-ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210abcd",
    "at-Fixture-3-eyAccessTokenValue0123456789",
    "rt-Fixture-3-RefreshTokenValue987654",
    "fixture-patient-3a",
    "Fixturesson",
    "1961-04-02",
    "c2lnLUZpeHR1cmUtMy1pZHRva2Vu",
    "Fixture4StateMnBvCxZlKjHgFdSaPoIuYt",
    "pw-Fixture-3-hunter22",
];

/// The forms a secret may take in an output: raw, base64 (also of the Basic credential),
/// percent-encoded.
pub fn assert_no_secret(what: &str, text: &str) {
    let b64 = base64::engine::general_purpose::STANDARD;
    for s in SECRETS {
        let forms = [
            s.to_string(),
            b64.encode(s),
            url::form_urlencoded::byte_serialize(s.as_bytes()).collect(),
            b64.encode(format!("gallery-wrong-secret:{s}")),
        ];
        for f in forms {
            assert!(!text.contains(&f), "{what} shows {f:?} (a form of {s:?})");
        }
    }
}

pub fn fixture(name: &str) -> String {
    format!("{DIR}/{name}")
}

async fn diagnose(args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(BIN)
        .arg("diagnose")
        .args(args)
        .output()
        .await
        .unwrap()
}

fn ids(report: &Value) -> Vec<Vec<String>> {
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["diagnoses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["id"].as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn the_failing_gallery_launch_is_named_and_exits_1() {
    let out = diagnose(&["--format", "json", &fixture("gallery-wrong-secret.har")]).await;
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(ids(&report), vec![vec!["token.bad_client_credentials"]]);
    let case = &report["cases"][0];
    assert_eq!(case["kind"], "ehr");
    assert_eq!(case["outcome"], "error");
    assert_eq!(case["client_id"], "gallery-wrong-secret");
    let steps: Vec<&str> = case["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["launch", "discovery", "authorize", "callback", "token"]
    );
    assert_no_secret("diagnose --format json", &stdout);
    let text = diagnose(&[&fixture("gallery-wrong-secret.har")]).await;
    assert_eq!(text.status.code(), Some(1));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.trim_end()
            .ends_with("failed (token.bad_client_credentials)"),
        "{text}"
    );
    assert_no_secret("diagnose", &text);
}

#[tokio::test]
async fn an_apps_own_mistakes_are_named() {
    let out = diagnose(&[
        "--format",
        "json",
        &fixture("client-redirect-uri-mismatch.har"),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        ids(&report),
        vec![vec![
            "token.redirect_mismatch",
            "client.redirect_uri_mismatch",
            "client.state_short",
            "client.nonce_missing"
        ]]
    );
    assert_no_secret("diagnose --format json", &stdout);
}

#[tokio::test]
async fn two_interleaved_apps_are_two_launches() {
    let out = diagnose(&["--format", "json", &fixture("two-apps-interleaved.har")]).await;
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["cases"][0]["client_id"], "my-spa");
    assert_eq!(report["cases"][0]["outcome"], "success");
    assert_eq!(report["cases"][1]["client_id"], "clinic-dashboard");
    assert_eq!(
        ids(&report),
        vec![
            vec!["client.token_in_url"],
            vec!["authorize.invalid_request", "client.pkce_missing"]
        ]
    );
    let steps = |i: usize| -> Vec<String> {
        report["cases"][i]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["step"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        steps(0),
        [
            "discovery",
            "authorize",
            "callback",
            "token",
            "fhir",
            "refresh"
        ]
    );
    assert_eq!(steps(1), ["discovery", "authorize", "callback"]);
    assert_no_secret("diagnose --format json", &stdout);
    let text = diagnose(&[&fixture("two-apps-interleaved.har")]).await;
    assert_no_secret("diagnose", &String::from_utf8_lossy(&text.stdout));
}

#[tokio::test]
async fn unreadable_files_exit_2_without_quoting_them() {
    let dir = std::env::temp_dir().join(format!("sld-har-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let not_har = dir.join("not.har");
    std::fs::write(&not_har, r#"{"log": {"entries": [{"request": {"url": "x"}, "response": {"status": "wr0ng-s3cret-Fixture-91"}}]}}"#).unwrap();
    let big = dir.join("big.har");
    std::fs::write(&big, vec![b' '; 8 * 1024 * 1024 + 1]).unwrap();
    let missing = dir.join("missing.har");
    for path in [&not_har, &big, &missing] {
        let out = diagnose(&[path.to_str().unwrap()]).await;
        assert_eq!(out.status.code(), Some(2), "{path:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert_no_secret("diagnose's error", &stderr);
        assert!(out.stdout.is_empty());
    }
    let usage = diagnose(&[]).await;
    assert_eq!(usage.status.code(), Some(2));
}

/// A launch without any error-severity finding exits 0.
#[tokio::test]
async fn a_clean_har_exits_0() {
    let dir = std::env::temp_dir().join(format!("sld-har0-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.har");
    std::fs::write(&empty, r#"{"log": {"version": "1.2", "entries": []}}"#).unwrap();
    let out = diagnose(&[empty.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no SMART launch found"));
}

/// The redacted copy of every fixture (what the upload page keeps and lets download) holds
/// none of its secrets, and still is a HAR this app reads to the same diagnoses.
#[test]
fn the_redacted_copy_holds_no_secret_and_reads_the_same() {
    use smart_launch_doctor::har;
    for name in [
        "gallery-wrong-secret.har",
        "client-redirect-uri-mismatch.har",
        "two-apps-interleaved.har",
    ] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let (report, redacted) = har::diagnose(&har::parse(&bytes).unwrap());
        let text = serde_json::to_string_pretty(&redacted).unwrap();
        assert_no_secret(name, &text);
        assert!(text.contains("[redacted: "), "{name}");
        let again = har::parse(text.as_bytes()).unwrap();
        assert_eq!(again.log.entries.len(), report.smart_exchanges, "{name}");
        let (report2, _) = har::diagnose(&again);
        let ids = |r: &har::Report| {
            r.cases
                .iter()
                .map(|c| c.diagnoses.iter().map(|d| d.id()).collect::<Vec<_>>())
                .collect::<Vec<_>>()
        };
        // The codes and states are markers there, equal where they were equal: the launches
        // group the same and their answers read the same.
        assert_eq!(ids(&report2).len(), ids(&report).len(), "{name}");
    }
}
