//! `explain`: the page and its JSON twin, and the CLI, on pasted answers carrying secrets.

use std::io::Write;
use std::process::{Command, Stdio};

use reqwest::StatusCode;
use smart_launch_doctor::practice::Faults;

use crate::support::practice_app::hidden;
use crate::support::{Auth, TestApp};

const BASIC: &str = "bXktYXBwOnMzY3IldCt2YWx1ZTE="; // base64("my-app:s3cr%t+value1")
const SECRETS: &[&str] = &[
    BASIC,
    "s3cr%t+value1",
    "s3cr%25t%2Bvalue1",
    "SplxlOBeZQQYbYS6WxSbIA",
    "hunter2pass",
    "tok-abcdef-123456",
];

/// oidc-provider's words for an expired secret, pasted with a request's secrets around them.
fn paste() -> String {
    format!(
        "HTTP/1.1 400 Bad Request\nContent-Type: application/json; charset=utf-8\nAuthorization: Basic {BASIC}\n\n{{\"error\":\"invalid_client\",\"error_description\":\"could not authenticate the client - its client secret is expired\",\"access_token\":\"tok-abcdef-123456\",\"seen\":\"https://u:hunter2pass@ehr.example/cb?code=SplxlOBeZQQYbYS6WxSbIA&client_secret=s3cr%25t%2Bvalue1\"}}"
    )
}

fn assert_clean(text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{s} shown: {text}");
    }
}

#[tokio::test]
async fn explain_page_and_twin_name_the_cause_and_show_no_secret() {
    let app = TestApp::with_faults(Auth::None, Faults::default()).await;
    let form_page = app.get("/explain").await.text().await.unwrap();
    let csrf = hidden(&form_page, "csrf");
    let (status, twin) = app.get_json("/explain").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(twin["steps"][1], "token");
    let p = paste();
    let form = [
        ("csrf", csrf.as_str()),
        ("step", "token"),
        ("auth", "client_secret_basic"),
        ("paste", p.as_str()),
    ];
    let html = app.post_form("/explain", &form).await;
    assert_eq!(html.status(), StatusCode::OK);
    let html = html.text().await.unwrap();
    assert!(html.contains("token.client_secret_expired"), "{html}");
    assert!(html.contains("secret is expired"), "matched phrase shown");
    assert_clean(&html);
    let json = app
        .browser
        .post(app.url("/explain"))
        .header("accept", "application/json")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), StatusCode::OK);
    let json = json.text().await.unwrap();
    assert_clean(&json);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["diagnoses"][0]["id"], "token.client_secret_expired");
    assert_eq!(v["has_error"], true);
    // No CSRF token: refused.
    let forged = app
        .post_form("/explain", &[("step", "token"), ("paste", "{}")])
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    // Too large: a clear 413, page and JSON.
    let big = "x".repeat(70 * 1024);
    let too_big = app
        .browser
        .post(app.url("/explain"))
        .header("accept", "application/json")
        .form(&[
            ("csrf", csrf.as_str()),
            ("step", "token"),
            ("paste", big.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: serde_json::Value = too_big.json().await.unwrap();
    assert!(
        body.to_string().to_lowercase().contains("too large"),
        "{body}"
    );
}

fn cli(args: &[&str], stdin: &str) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_smart-launch-doctor"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned()
            + String::from_utf8_lossy(&out.stderr).as_ref(),
    )
}

#[test]
fn explain_cli_exits_0_1_2_and_shows_no_secret() {
    let (code, out) = cli(&["explain", "--step", "token", "-"], &paste());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("token.client_secret_expired"), "{out}");
    assert_clean(&out);
    let (code, out) = cli(
        &["explain", "--step", "token", "--format", "json", "-"],
        &paste(),
    );
    assert_eq!(code, 1);
    assert_clean(&out);
    let (code, out) = cli(
        &["explain", "--step", "introspection", "-"],
        "{\"active\": false}",
    );
    assert_eq!(code, 0, "{out}");
    let (code, _) = cli(&["explain", "--step", "nowhere", "-"], "");
    assert_eq!(code, 2);
    let redirect = "https://app.example/callback?error=invalid_request&error_description=Invalid+redirect_uri+parameter&state=abcdef123456";
    let (code, out) = cli(&["explain", "--step", "authorize", "-"], redirect);
    assert_eq!(code, 1);
    assert!(out.contains("authorize.redirect_uri_mismatch"), "{out}");
    assert!(!out.contains("abcdef123456"), "state shown: {out}");
    // Read as a redirect (its state redacted first), not as a body that happens to say
    // redirect_uri: the error code and description come from the URL's parameters.
    let (_, out) = cli(
        &["explain", "--step", "authorize", "--format", "json", "-"],
        redirect,
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status_assumed"], true, "{v:#}");
    let (code, out) = cli(
        &["explain", "--step", "authorize", "-"],
        "https://app.example/callback?error=access_denied&state=abcdef123456",
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("authorize.access_denied"), "{out}");
    // Nothing pasted: a usage error, not a diagnosis.
    let (code, out) = cli(&["explain", "--step", "token", "-"], "  \n");
    assert_eq!(code, 2, "{out}");
}
