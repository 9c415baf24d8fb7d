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

mod page {
    use super::{assert_no_secret, fixture};
    use crate::support::browser;
    use crate::support::practice_app::{csrf_of, serve_practice};
    use reqwest::StatusCode;
    use serde_json::Value;

    fn multipart(csrf: Option<&str>, har: &[u8]) -> (String, Vec<u8>) {
        let boundary = "----sld-test-boundary-7f3a";
        let mut body = Vec::new();
        if let Some(t) = csrf {
            body.extend(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{t}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"har\"; filename=\"trace.har\"\r\nContent-Type: application/json\r\n\r\n").as_bytes());
        body.extend(har);
        body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
        (format!("multipart/form-data; boundary={boundary}"), body)
    }

    /// Upload through the page's form, the result page, its JSON twin and the redacted
    /// download: the diagnosis is there, no secret of the HAR is, and only this browser sees it.
    #[tokio::test]
    async fn an_uploaded_har_is_diagnosed_kept_redacted_and_private() {
        let (base, state) = serve_practice("").await;
        let b = browser();
        let csrf = csrf_of(&b, &base, "/diagnose").await;
        let har = std::fs::read(fixture("gallery-wrong-secret.har")).unwrap();
        let (ct, body) = multipart(Some(&csrf), &har);
        let resp = b
            .post(format!("{base}/diagnose"))
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let page_path = resp.headers()["location"].to_str().unwrap().to_string();
        let html = b.get(format!("{base}{page_path}")).send().await.unwrap();
        assert_eq!(html.status(), StatusCode::OK);
        let html = html.text().await.unwrap();
        assert!(html.contains("token.bad_client_credentials"), "{html}");
        assert_no_secret("the result page", &html);
        let json: Value = b
            .get(format!("{base}{page_path}?format=json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            json["report"]["cases"][0]["diagnoses"][0]["id"],
            "token.bad_client_credentials"
        );
        assert_eq!(json["has_error"], true);
        assert_no_secret("the JSON twin", &json.to_string());
        let download = b
            .get(format!("{base}{}", json["redacted_har"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(download.status(), StatusCode::OK);
        assert!(
            download.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .contains("redacted.har")
        );
        let text = download.text().await.unwrap();
        assert_no_secret("the redacted download", &text);
        assert_eq!(
            smart_launch_doctor::har::parse(text.as_bytes())
                .unwrap()
                .log
                .entries
                .len(),
            5
        );
        assert_no_secret("the upload store", &state.uploads.dump());
        // Another browser: not found, neither the page nor the download.
        let other = browser();
        assert_eq!(
            other
                .get(format!("{base}{page_path}"))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::NOT_FOUND
        );
        let har_path = json["redacted_har"].as_str().unwrap();
        assert_eq!(
            other
                .get(format!("{base}{har_path}"))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn a_raw_json_upload_answers_json_and_bad_uploads_are_4xx() {
        let (base, state) = serve_practice("").await;
        let b = browser();
        let har = std::fs::read(fixture("two-apps-interleaved.har")).unwrap();
        let resp = b
            .post(format!("{base}/diagnose"))
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(har)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let text = resp.text().await.unwrap();
        assert_no_secret("the upload's JSON answer", &text);
        let json: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["report"]["cases"].as_array().unwrap().len(), 2);
        assert_no_secret("the upload store", &state.uploads.dump());
        // Without the form's token: refused.
        let har = std::fs::read(fixture("gallery-wrong-secret.har")).unwrap();
        let (ct, body) = multipart(None, &har);
        let resp = b
            .post(format!("{base}/diagnose"))
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        // Too large, not a HAR, not JSON: a clear 413 / 400 with a JSON error, never a 500.
        let post = |body: Vec<u8>| {
            b.post(format!("{base}/diagnose"))
                .header("content-type", "application/json")
                .header("accept", "application/json")
                .body(body)
                .send()
        };
        let big = post(vec![b' '; 9 * 1024 * 1024]).await.unwrap();
        assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let e: Value = big.json().await.unwrap();
        assert_eq!(e["error"]["status"], 413);
        for (body, status) in [
            (b"{\"log\": 1}".to_vec(), StatusCode::BAD_REQUEST),
            (b"not json".to_vec(), StatusCode::BAD_REQUEST),
            ("[".repeat(100_000).into_bytes(), StatusCode::BAD_REQUEST),
        ] {
            let r = post(body).await.unwrap();
            assert_eq!(r.status(), status);
            let e: Value = r.json().await.unwrap();
            assert!(
                e["error"]["message"].as_str().unwrap().contains("refused"),
                "{e}"
            );
        }
        let page = b.get(format!("{base}/diagnose")).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert!(
            page.text()
                .await
                .unwrap()
                .contains("enctype=\"multipart/form-data\"")
        );
    }
}
