//! SMART Backend Services runs (`POST /backend/{id}` and the `backend` command) against the
//! built-in practice EHR and the fake EHR, which verifies every client assertion; and the
//! authorization request sent as a form (`authorize_method = "post"`) over plain HTTP.

use std::process::Stdio;

use reqwest::StatusCode;
use serde_json::Value;
use smart_launch_doctor::config::Config;
use smart_launch_doctor::practice::{CannedAnswer, Faults};

use crate::support::practice_app::{hidden, serve_practice};
use crate::support::{
    Auth, CLIENT_ID, SCOPE, Setup, TestApp, browser, config_toml, diagnosis_ids, error_ids,
    evidence, key_file, location,
};

const BIN: &str = env!("CARGO_BIN_EXE_smart-launch-doctor");

/// A backend registration at the fake EHR: private_key_jwt (ES384), `system/*.read`.
fn backend_setup() -> Setup {
    Setup {
        registration_extra: "backend = true",
        scope: Some("system/*.read"),
        ..Setup::new(Auth::Jwt("ES384"))
    }
}

/// Presses "Run" on the home page for `id`; returns the 303 answer.
async fn run(b: &reqwest::Client, base: &str, id: &str) -> reqwest::Response {
    let home = b.get(format!("{base}/")).send().await.unwrap();
    let html = home.text().await.unwrap();
    assert!(
        html.contains(&format!("action=\"/backend/{id}\"")),
        "a Run button for {id}"
    );
    let csrf = hidden(&html, "csrf");
    b.post(format!("{base}/backend/{id}"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap()
}

/// The result's JSON twin and HTML page behind a 303.
async fn result(b: &reqwest::Client, base: &str, resp: reqwest::Response) -> (Value, String) {
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let to = location(&resp);
    assert!(to.starts_with("/launches/"), "{to}");
    let json: Value = b
        .get(format!("{base}{to}"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let html = b
        .get(format!("{base}{to}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (json, html)
}

/// The signatures of every client assertion the EHR received: none may be shown anywhere.
fn assertion_signatures(bodies: impl Iterator<Item = String>) -> Vec<String> {
    bodies
        .flat_map(|b| {
            url::form_urlencoded::parse(b.as_bytes())
                .into_owned()
                .filter(|(k, _)| k == "client_assertion")
                .filter_map(|(_, v)| v.rsplit('.').next().map(str::to_string))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn checks(json: &Value) -> Vec<(String, bool)> {
    json["backend"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap().to_string(), c["passed"] == true))
        .collect()
}

#[tokio::test]
async fn backend_run_against_the_practice_ehr_passes_every_rule_and_reads_a_bundle() {
    let (base, state) = serve_practice("http_timeout_seconds = 3").await;
    let ehr = state.practice.clone().unwrap();
    let b = browser();
    let (json, html) = result(&b, &base, run(&b, &base, "practice-backend").await).await;
    assert_eq!(json["kind"], "backend", "{json:#}");
    assert_eq!(json["outcome"], "success", "{json:#}");
    assert!(error_ids(&json).is_empty(), "{:?}", diagnosis_ids(&json));
    assert_eq!(json["backend"]["read"]["resource_type"], "Bundle");
    let all = checks(&json);
    assert_eq!(all.len(), 5, "{all:?}");
    assert!(all.iter().all(|(_, passed)| *passed), "{all:?}");
    // The scorecard holds discovery's checks and the Backend Services rules, all passed.
    let card: Vec<(&str, bool)> = json["conformance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c["passed"] == true))
        .collect();
    assert!(
        card.iter()
            .any(|(id, _)| id.starts_with("server.discovery_")),
        "{card:?}"
    );
    assert_eq!(
        card.iter()
            .filter(|(id, _)| id.starts_with("server.backend_"))
            .count(),
        5,
        "{card:?}"
    );
    assert!(card.iter().all(|(_, passed)| *passed), "{card:?}");
    let steps: Vec<&str> = json["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["step"].as_str().unwrap())
        .collect();
    assert!(
        steps
            .iter()
            .any(|s| s.starts_with("probe: unknown grant_type")),
        "{steps:?}"
    );
    assert!(
        steps
            .iter()
            .any(|s| s.starts_with("probe: unknown client_assertion_type"))
    );
    assert!(html.contains("Backend Services run succeeded"), "{html}");
    let sigs = assertion_signatures(ehr.requests().into_iter().map(|r| r.body));
    assert_eq!(
        sigs.len(),
        3,
        "token request and two probes, each with an assertion"
    );
    for s in sigs {
        assert!(!json.to_string().contains(&s) && !html.contains(&s));
    }
}

#[tokio::test]
async fn backend_run_against_the_fake_ehr_is_verified_by_the_server() {
    let t = TestApp::start(backend_setup()).await;
    let (json, html) = result(&t.browser, &t.base, run(&t.browser, &t.base, "app").await).await;
    assert_eq!(json["outcome"], "success", "{json:#}");
    assert_eq!(json["kind"], "backend");
    assert_eq!(json["token_response"]["scope"], "system/*.read");
    // The fake verified the assertion: the token request carried one and a token came back.
    let token = t
        .ehr
        .ehr
        .requests()
        .into_iter()
        .find(|r| r.body.contains("grant_type=client_credentials") && !r.body.contains("probe"))
        .unwrap();
    assert!(token.body.contains("client_assertion="), "{}", token.body);
    let all = checks(&json);
    assert!(all.len() == 5 && all.iter().all(|(_, p)| *p), "{all:?}");
    assert!(
        html.replace("<wbr>", "")
            .contains("server.backend_expires_in_long")
    );
    let sigs = assertion_signatures(t.ehr.ehr.requests().into_iter().map(|r| r.body));
    for s in sigs {
        assert!(!json.to_string().contains(&s) && !html.contains(&s));
    }
}

#[tokio::test]
async fn a_sloppy_server_fails_each_backend_rule_by_name() {
    // Every token request (the run and both probes) gets the same long-lived token with a
    // refresh token and a user scope; the FHIR API does not know it.
    let body = r#"{"access_token":"sloppy-token-123","token_type":"bearer","expires_in":3600,"scope":"system/*.read user/*.read","refresh_token":"sloppy-refresh-456"}"#;
    let t = TestApp::start(Setup {
        faults: Faults {
            token_answer: Some(CannedAnswer {
                status: 200,
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    ("cache-control".into(), "no-store".into()),
                ],
                body: body.into(),
            }),
            ..Faults::default()
        },
        ..backend_setup()
    })
    .await;
    let (json, _) = result(&t.browser, &t.base, run(&t.browser, &t.base, "app").await).await;
    let all = checks(&json);
    assert_eq!(all.len(), 5, "{all:?}");
    assert!(all.iter().all(|(_, passed)| !passed), "{all:?}");
    let ids = diagnosis_ids(&json);
    for (id, _) in &all {
        assert!(ids.contains(id), "{id} is also a diagnosis: {ids:?}");
    }
    assert_eq!(json["step"], "fhir");
    assert_eq!(error_ids(&json), ["fhir.invalid_token"], "{ids:?}");
    assert!(!json.to_string().contains("sloppy-refresh-456"));
}

#[tokio::test]
async fn a_key_the_server_does_not_know_is_token_bad_client_assertion_with_the_self_check() {
    let t = TestApp::start(backend_setup()).await;
    // The EHR holds another public key under our kid: the signature cannot verify.
    let reg = t.state.config.registration("app").unwrap();
    let kid = reg.auth.key().unwrap().kid.clone();
    let (_, _, mut other) = key_file("ES384");
    other["keys"][0]["kid"] = Value::String(kid);
    t.ehr.ehr.set_client_jwks(CLIENT_ID, other);
    let (json, _) = result(&t.browser, &t.base, run(&t.browser, &t.base, "app").await).await;
    assert_eq!(json["outcome"], "error");
    assert_eq!(json["step"], "token");
    assert_eq!(error_ids(&json), ["token.bad_client_assertion"], "{json:#}");
    let claims = evidence(
        &json,
        "token.bad_client_assertion",
        "Self-check: assertion claims",
    );
    assert!(claims.unwrap().contains("iss = sub = client_id ✓"));
    assert!(
        evidence(
            &json,
            "token.bad_client_assertion",
            "Self-check: public key"
        )
        .is_some()
    );
}

#[tokio::test]
async fn a_registration_that_is_not_a_backend_client_cannot_be_run() {
    let t = TestApp::start(Setup::new(Auth::None)).await;
    let home = t.get("/").await.text().await.unwrap();
    let csrf = hidden(&home, "csrf");
    let r = t
        .post_form("/backend/app", &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = t
        .post_form("/backend/nope", &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = t
        .post_form("/backend/app", &[("csrf", "wrong-token-000000")])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[test]
fn backend_registrations_need_a_confidential_client_and_system_scopes() {
    let addr = "127.0.0.1:9123".parse().unwrap();
    let reg = |lines: &str| {
        format!(
            "practice_ehr = false\n[[registration]]\nid = \"b\"\niss = \"https://ehr.example/fhir\"\nclient_id = \"c\"\n{lines}\n"
        )
    };
    let err = Config::from_toml(
        &reg("auth = \"none\"\nscope = \"system/*.read\"\nbackend = true"),
        "t",
        addr,
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("registration[0].auth:"), "{err}");
    // A client secret is the non-SMART variant: accepted (runs warn about it).
    for method in ["client_secret_basic", "client_secret_post"] {
        let lines = format!(
            "auth = \"{method}\"\nclient_secret = \"s\"\nscope = \"system/*.read\"\nbackend = true"
        );
        let c = Config::from_toml(&reg(&lines), "t", addr).unwrap();
        assert!(c.registration("b").unwrap().backend);
    }
    let (path, kid, _) = key_file("ES384");
    let jwt = format!(
        "auth = \"private_key_jwt\"\nprivate_key = {:?}\nkey_id = {kid:?}\nalg = \"ES384\"\nbackend = true",
        path.display().to_string()
    );
    let err = Config::from_toml(
        &reg(&format!("{jwt}\nscope = \"patient/*.read\"")),
        "t",
        addr,
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("registration[0].scope:"), "{err}");
    let err = Config::from_toml(
        &reg(&format!(
            "{jwt}\nscope = \"system/*.read\"\nbackend_read = \"https://elsewhere.example/Patient\""
        )),
        "t",
        addr,
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("registration[0].backend_read:"), "{err}");
    let err = Config::from_toml(
        &reg("scope = \"launch\"\nauthorize_method = \"put\""),
        "t",
        addr,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("registration[0].authorize_method:"),
        "{err}"
    );
}

// --- the CLI -------------------------------------------------------------------------------

async fn cli(config: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let dir = std::env::temp_dir().join(format!(
        "sld-backend-{}-{}",
        std::process::id(),
        oauth2::CsrfToken::new_random().secret()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("c.toml");
    std::fs::write(&path, config).unwrap();
    let out = tokio::process::Command::new(BIN)
        .arg("backend")
        .args(args)
        .arg("--config")
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The CLI's configuration for the test app's backend registration.
fn cli_config(t: &TestApp) -> String {
    config_toml(
        t.addr.port(),
        &t.ehr.fhir_base(),
        Auth::Jwt("ES384"),
        t.secret.as_deref(),
    )
    .replace(&format!("scope = \"{SCOPE}\""), "scope = \"system/*.read\"")
        + "backend = true\n"
}

#[tokio::test]
async fn cli_backend_exits_0_with_json_and_1_when_the_key_is_wrong() {
    let t = TestApp::start(backend_setup()).await;
    let toml = cli_config(&t);
    let (code, out, err) = cli(&toml, &["app", "--format", "json"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["kind"], "backend");
    assert_eq!(json["outcome"], "success");
    assert_eq!(json["backend"]["read"]["resource_type"], "Bundle");
    let (code, text, _) = cli(&toml, &["app"]).await;
    assert_eq!(code, Some(0));
    assert!(text.contains("Backend Services run succeeded"), "{text}");
    let (_, _, other) = key_file("ES384");
    t.ehr.ehr.set_client_jwks(CLIENT_ID, other);
    let (code, out, _) = cli(&toml, &["app", "--format", "json"]).await;
    assert_eq!(code, Some(1), "{out}");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(error_ids(&json), ["token.bad_client_assertion"]);
    let sigs = assertion_signatures(t.ehr.ehr.requests().into_iter().map(|r| r.body));
    assert!(!sigs.is_empty());
    for s in sigs {
        assert!(!out.contains(&s) && !text.contains(&s));
    }
    let pem = std::fs::read_to_string(
        t.secret.as_deref().unwrap().lines().next().unwrap()["private_key = ".len()..]
            .trim_matches('"'),
    )
    .unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(!out.contains(&body[..40]) && !text.contains(&body[..40]));
}

/// The command renders the run's report, as the pages do: the reasoner's ranked verdict, not
/// the order the findings were made in (the token's refusal came last, the cause first).
#[tokio::test]
async fn cli_backend_leads_with_the_cause_the_reasoner_ranks_first() {
    let t = TestApp::start(Setup {
        faults: Faults {
            well_known_patch: vec![(
                "token_endpoint_auth_methods_supported".into(),
                serde_json::json!(["client_secret_basic", "client_secret_post"]),
            )],
            token_answer: Some(CannedAnswer {
                status: 401,
                headers: vec![("content-type".into(), "application/json".into())],
                body: r#"{"error":"invalid_client","error_description":"client authentication failed"}"#.into(),
            }),
            ..Faults::default()
        },
        ..backend_setup()
    })
    .await;
    let toml = cli_config(&t);
    let (code, out, err) = cli(&toml, &["app", "--format", "json"]).await;
    assert_eq!(code, Some(1), "{out}{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["outcome"], "error");
    // Ranked: the error that explains the refusal, then the refusal, then the warning (the
    // run found the plain-http warning first).
    assert_eq!(
        diagnosis_ids(&json),
        [
            "discovery.auth_method_unsupported",
            "token.bad_client_assertion",
            "launch.insecure_iss"
        ],
        "{json:#}"
    );
    let (_, text, _) = cli(&toml, &["app"]).await;
    let said: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            ["  error ", "  warn  ", "  note  "]
                .iter()
                .find_map(|p| l.strip_prefix(p))
        })
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(said, diagnosis_ids(&json), "{text}");
}

#[tokio::test]
async fn cli_backend_exits_2_for_an_unknown_or_non_backend_registration() {
    let t = TestApp::start(backend_setup()).await;
    let (code, _, err) = cli(&cli_config(&t), &["nope"]).await;
    assert_eq!(code, Some(2));
    assert!(err.contains("no registration"), "{err}");
    let plain = config_toml(t.addr.port(), &t.ehr.fhir_base(), Auth::None, None);
    let (code, _, err) = cli(&plain, &["app"]).await;
    assert_eq!(code, Some(2));
    assert!(err.contains("backend = true"), "{err}");
}

// --- authorize via POST --------------------------------------------------------------------

#[tokio::test]
async fn authorize_post_answers_a_form_the_ehr_accepts_and_the_launch_completes() {
    let t = TestApp::start(Setup {
        registration_extra: "authorize_method = \"post\"",
        ..Setup::new(Auth::None)
    })
    .await;
    let page = t.get("/standalone/app").await;
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(!csp.contains("form-action"), "{csp}");
    let html = page.text().await.unwrap();
    let action = format!(
        "{}/auth/authorize",
        t.ehr.origin.as_str().trim_end_matches('/')
    );
    assert!(html.contains(&format!("action=\"{action}\"")), "{html}");
    assert!(html.contains("data-autosubmit") && html.contains("<button type=\"submit\">"));
    let fields: Vec<(String, String)> = [
        "response_type",
        "client_id",
        "state",
        "code_challenge",
        "code_challenge_method",
        "redirect_uri",
        "scope",
        "aud",
    ]
    .iter()
    .map(|n| {
        (
            n.to_string(),
            hidden(&html, n)
                .replace("&#x2f;", "/")
                .replace("&#x3a;", ":"),
        )
    })
    .collect();
    let r = t.browser.post(&action).form(&fields).send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{:?}",
        t.ehr.ehr.violations()
    );
    let callback = location(&r);
    assert!(callback.starts_with(&t.url("/callback?")), "{callback}");
    let r = t.get(&callback).await;
    let (_, json) = t.get_json(&location(&r)).await;
    assert_eq!(json["outcome"], "success", "{json:#}");
    let posted = t
        .ehr
        .ehr
        .requests()
        .into_iter()
        .any(|r| r.method == "POST" && r.path == "/auth/authorize");
    assert!(posted);
    t.assert_no_violations();
}

/// The README's example exactly as written (no `--config`, run where no configuration file is,
/// no server running): the practice EHR is started in-process and knows the practice-backend key.
#[tokio::test]
async fn cli_backend_practice_backend_runs_without_a_server() {
    let dir = std::env::temp_dir().join(format!(
        "sld-backend-practice-{}-{}",
        std::process::id(),
        oauth2::CsrfToken::new_random().secret()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let out = tokio::process::Command::new(BIN)
        .args(["backend", "practice-backend", "--format", "json"])
        .current_dir(&dir)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["kind"], "backend");
    assert_eq!(json["outcome"], "success", "{json:#}");
    assert_eq!(json["registration"]["id"], "practice-backend");
    assert_eq!(json["backend"]["read"]["resource_type"], "Bundle");
    assert!(
        checks(&json).iter().all(|(_, passed)| *passed),
        "{:?}",
        checks(&json)
    );
    assert_eq!(error_ids(&json), Vec::<String>::new(), "{json:#}");
    // The CLI's JSON carries the scorecard as the result page's does: discovery's checks too.
    let card = json["conformance"].as_array().unwrap();
    assert!(
        card.iter()
            .any(|c| c["id"] == "server.discovery_content_type" && c["passed"] == true),
        "{json:#}"
    );
    assert!(
        stderr.starts_with("backend: started the practice EHR in-process at http://127.0.0.1:"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "only the note: {stderr}");

    // With the practice EHR off there is no such registration: a usage error, nothing started.
    let (code, _, err) = cli("practice_ehr = false", &["practice-backend"]).await;
    assert_eq!(code, Some(2));
    assert!(!err.contains("started the practice EHR"), "{err}");
}

/// A Backend Services client has no sign-in: the home page's JSON offers no launch link for it,
/// and `/standalone/{id}` refuses it (400) instead of sending the browser to an EHR that can
/// only answer with an error page.
#[tokio::test]
async fn a_backend_client_is_never_launched_as_a_sign_in() {
    let t = TestApp::start(backend_setup()).await;
    let (_, home) = t.get_json("/").await;
    let app = home["registrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "app")
        .unwrap();
    assert!(app["launch"].is_null(), "{app:#}");
    assert!(app["backend"].is_string(), "{app:#}");
    let (status, json) = t.get_json("/standalone/app").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json:#}");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Backend Services client"),
        "{json:#}"
    );
}
