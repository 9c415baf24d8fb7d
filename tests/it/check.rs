//! The registration check: preflight and credential probe, through `/check/{id}` and the CLI.

use std::process::Stdio;

use serde_json::Value;
use smart_launch_doctor::practice::{CannedAnswer, Faults};

use crate::support::{Auth, Setup, TRICKY_SECRET, TestApp, config_toml, diagnosis_ids, has};

const METHODS: [Auth; 4] = [Auth::None, Auth::Basic, Auth::Post, Auth::Jwt("ES384")];

async fn check(setup: Setup) -> (TestApp, Value) {
    let app = TestApp::start(setup).await;
    let (status, json) = app.get_json("/check/app").await;
    assert_eq!(status, reqwest::StatusCode::OK);
    (app, json)
}

fn no_token_exchanged(app: &TestApp) {
    assert_eq!(
        app.ehr.ehr.exchanged_codes(),
        0,
        "the probe consumed nothing"
    );
}

#[tokio::test]
async fn right_credentials_are_accepted_for_every_method() {
    for auth in METHODS {
        let (app, json) = check(Setup::new(auth)).await;
        assert_eq!(
            json["credentials"]["verdict"], "accepted",
            "{auth:?}: {json:#}"
        );
        assert_eq!(json["credentials"]["error"], "invalid_grant", "{auth:?}");
        assert!(
            json["diagnoses"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["severity"] != "error"),
            "{auth:?}: {:?}",
            diagnosis_ids(&json)
        );
        no_token_exchanged(&app);
        app.assert_no_violations();
    }
}

#[tokio::test]
async fn wrong_credentials_are_rejected_for_every_method() {
    let cases = [
        Setup {
            client_id: Some("not-registered"),
            ..Setup::new(Auth::None)
        },
        Setup {
            app_secret: Some("wrong".into()),
            ..Setup::new(Auth::Basic)
        },
        Setup {
            app_secret: Some("wrong".into()),
            ..Setup::new(Auth::Post)
        },
        Setup {
            key_id: Some("unregistered-kid".into()),
            ..Setup::new(Auth::Jwt("RS384"))
        },
    ];
    let expected = [
        "token.unknown_client",
        "token.bad_client_credentials",
        "token.bad_client_credentials",
        "token.bad_client_assertion",
    ];
    for (setup, id) in cases.into_iter().zip(expected) {
        let (app, json) = check(setup).await;
        assert_eq!(json["credentials"]["verdict"], "rejected", "{json:#}");
        assert!(has(&json, id), "{id} in {:?}", diagnosis_ids(&json));
        no_token_exchanged(&app);
    }
}

#[tokio::test]
async fn odd_answers_are_inconclusive_for_every_method() {
    for auth in METHODS {
        let answer = CannedAnswer {
            status: 503,
            headers: vec![("content-type".into(), "text/html".into())],
            body: "<html>maintenance</html>".into(),
        };
        let (_, json) = check(Setup {
            faults: Faults {
                token_answer: Some(answer),
                ..Faults::default()
            },
            ..Setup::new(auth)
        })
        .await;
        assert_eq!(json["credentials"]["verdict"], "inconclusive", "{auth:?}");
        assert!(has(&json, "check.probe_inconclusive"));
    }
}

#[tokio::test]
async fn rfc6749_encoding_is_reported_when_the_server_follows_the_rfc() {
    let (_, json) = check(Setup::new(Auth::Basic)).await;
    assert_eq!(json["credentials"]["basic_encoding"], "rfc6749");
}

#[tokio::test]
async fn raw_encoding_is_reported_when_the_server_accepts_only_the_raw_secret() {
    let (_, json) = check(Setup {
        faults: Faults {
            basic_raw_only: true,
            ..Faults::default()
        },
        ..Setup::new(Auth::Basic)
    })
    .await;
    assert_eq!(json["credentials"]["verdict"], "accepted", "{json:#}");
    assert_eq!(json["credentials"]["basic_encoding"], "raw");
    assert!(
        has(&json, "token.bad_client_credentials"),
        "real exchanges would fail: {:?}",
        diagnosis_ids(&json)
    );
}

#[tokio::test]
async fn backend_registrations_also_probe_client_credentials() {
    let (_, json) = check(Setup {
        registration_extra: "backend = true",
        scope: Some("system/*.read"),
        // Backend Services clients authenticate with a client assertion.
        ..Setup::new(Auth::Jwt("ES384"))
    })
    .await;
    assert_eq!(
        json["credentials"]["client_credentials"], "accepted",
        "{json:#}"
    );
}

#[tokio::test]
async fn check_page_labels_the_probe_and_shows_the_verdict() {
    let app = TestApp::start(Setup::new(Auth::Basic)).await;
    let page = app.get("/check/app").await.text().await.unwrap();
    assert!(page.contains("deliberately invalid code"));
    // The verdict says what was learned, not a bare "accepted" next to the fake code.
    assert!(
        page.contains("The EHR knows the client id")
            && page.contains("accepted its authentication (client_secret_basic)"),
        "{page}"
    );
    assert!(!page.contains(TRICKY_SECRET));
    // The page's heading is the JSON's title (and the CLI's verdict), its first sentence the
    // JSON's headline, and it shows the JSON's steps as the launch page's step bar.
    let (_, json) = app.get_json("/check/app").await;
    assert_eq!(json["title"], "Check passed", "{json:#}");
    let h1 = page
        .split("<h1>")
        .nth(1)
        .and_then(|s| s.split("</h1>").next());
    assert_eq!(h1, json["title"].as_str(), "{page}");
    let headline = json["headline"].as_str().unwrap();
    assert!(
        !headline.is_empty() && headline != "Check passed",
        "{json:#}"
    );
    let escaped = headline
        .replace('&', "&amp;")
        .replace('\'', "&#39;")
        .replace('"', "&quot;");
    assert!(
        page.contains(&format!("<p class=\"plain\">{escaped}</p>")),
        "{page}"
    );
    assert!(
        page.contains("<ol class=\"timeline\""),
        "no step bar: {page}"
    );
    for s in json["steps"].as_array().unwrap() {
        if s["status"] != "skipped" {
            let name = s["step"].as_str().unwrap();
            assert!(
                page.contains(&format!("<span>{name}</span>")),
                "{name}: {page}"
            );
        }
    }
    assert!(
        !page.contains("made for the launch"),
        "a check is not a launch"
    );
    let summary = json["credentials"]["summary"].as_str().unwrap();
    let said = summary.to_lowercase().matches("accepted").count();
    assert_eq!(said, 1, "said once: {summary}");
}

// --- the CLI -------------------------------------------------------------------------------

const BIN: &str = env!("CARGO_BIN_EXE_smart-launch-doctor");

pub(crate) async fn cli(config: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let dir = std::env::temp_dir().join(format!(
        "sld-check-{}-{}",
        std::process::id(),
        oauth2::CsrfToken::new_random().secret()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("c.toml");
    std::fs::write(&path, config).unwrap();
    let out = tokio::process::Command::new(BIN)
        .arg("check")
        .arg("--config")
        .arg(&path)
        .args(args)
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

async fn fake_config(secret: &str) -> (TestApp, String) {
    let app = TestApp::start(Setup::new(Auth::Basic)).await;
    let toml = config_toml(
        app.addr.port(),
        &app.ehr.fhir_base(),
        Auth::Basic,
        Some(secret),
    );
    (app, toml)
}

#[tokio::test]
async fn cli_exits_0_with_right_credentials_and_prints_the_json_shape() {
    let (_app, toml) = fake_config(TRICKY_SECRET).await;
    let (code, out, err) = cli(&toml, &["--format", "json"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    let reg = &json["registrations"][0];
    assert_eq!(reg["id"], "app");
    assert_eq!(reg["credentials"]["verdict"], "accepted");
    assert_eq!(reg["credentials"]["method"], "client_secret_basic");
    assert_eq!(reg["credentials"]["basic_encoding"], "rfc6749");
    assert!(reg["diagnoses"].is_array());
    assert!(!out.contains(TRICKY_SECRET) && !err.contains(TRICKY_SECRET));
}

#[tokio::test]
async fn cli_exits_1_with_a_wrong_secret_and_never_prints_it() {
    let (_app, toml) = fake_config("wrong-secret-value").await;
    let (code, out, err) = cli(&toml, &["app"]).await;
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains("rejected") && out.contains("token.bad_client_credentials"),
        "{out}"
    );
    assert!(!out.contains("\x1b["), "no colour when not a terminal");
    for text in [&out, &err] {
        assert!(!text.contains("wrong-secret-value"));
    }
}

#[tokio::test]
async fn cli_exits_2_on_unknown_ids_and_bad_configuration() {
    let (_app, toml) = fake_config(TRICKY_SECRET).await;
    let (code, _, err) = cli(&toml, &["nope"]).await;
    assert_eq!(code, Some(2));
    assert!(err.contains("nope"));
    let (code, _, err) = cli("bogus = 1", &[]).await;
    assert_eq!(code, Some(2));
    assert!(err.contains("bogus"));
    let (code, _, _) = cli(&toml, &["--format", "yaml"]).await;
    assert_eq!(code, Some(2), "usage error");
}

fn canned(status: u16, body: &str) -> Faults {
    Faults {
        token_answer: Some(CannedAnswer {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
        }),
        ..Faults::default()
    }
}

#[tokio::test]
async fn invalid_client_about_the_code_is_inconclusive_not_rejected() {
    let body = r#"{"error":"invalid_client","error_description":"Invalid token (supplied as code parameter in the POST body). jwt malformed"}"#;
    let (_, json) = check(Setup {
        faults: canned(401, body),
        ..Setup::new(Auth::Basic)
    })
    .await;
    let c = &json["credentials"];
    assert_eq!(c["verdict"], "inconclusive", "{json:#}");
    assert!(
        c["reason"]
            .as_str()
            .unwrap()
            .contains("checks the code before the client")
    );
    assert!(c["summary"].as_str().unwrap().starts_with("Inconclusive"));
    assert!(has(&json, "check.probe_inconclusive"));
    assert!(
        !has(&json, "token.bad_client_credentials"),
        "{:?}",
        diagnosis_ids(&json)
    );
}

#[tokio::test]
async fn post_refused_for_basic_is_auth_method_refused() {
    let body = r#"{"error":"invalid_request","error_description":"Basic authentication is required for confidential clients"}"#;
    let (_, json) = check(Setup {
        faults: canned(401, body),
        ..Setup::new(Auth::Post)
    })
    .await;
    assert_eq!(json["credentials"]["verdict"], "rejected", "{json:#}");
    assert!(
        has(&json, "token.auth_method_refused"),
        "{:?}",
        diagnosis_ids(&json)
    );
    assert!(!has(&json, "token.invalid_request"));
}

#[tokio::test]
async fn a_server_that_echoes_the_secret_does_not_get_it_into_the_check() {
    use base64::Engine as _;
    let body = format!(
        r#"{{"error":"invalid_client","error_description":"client secret '{TRICKY_SECRET}' is wrong"}}"#
    );
    let (app, json) = check(Setup {
        faults: canned(401, &body),
        ..Setup::new(Auth::Post)
    })
    .await;
    let page = app.get("/check/app").await.text().await.unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(TRICKY_SECRET);
    for (name, text) in [("json", json.to_string()), ("page", page)] {
        assert!(
            !text.contains(TRICKY_SECRET) && !text.contains("s3:cr%t") && !text.contains(&b64),
            "{name} shows the secret"
        );
    }
    assert!(
        json.to_string().contains("client secret '"),
        "the rest of the answer is still shown"
    );
}

#[tokio::test]
async fn check_practice_needs_no_running_server_and_the_text_ends_with_a_verdict_per_registration()
{
    // An empty configuration: the built-in practice EHR on its defaults, nothing listening.
    let (code, out, err) = cli("", &["practice"]).await;
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(err.contains("started the practice EHR in-process"), "{err}");
    // The practice registration is a public client: no credentials, only its id is probed.
    assert!(
        out.contains("credentials  client id accepted (public client, no secret)"),
        "{out}"
    );
    assert!(out.contains("checked 1 registration(s):"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("practice") && l.ends_with("ok")),
        "{out}"
    );
}

#[tokio::test]
async fn an_unreachable_registration_is_listed_as_failed_with_its_reason() {
    let port = crate::support::upstream::blackhole().await;
    let toml = format!(
        "practice_ehr = false\nhttp_timeout_seconds = 1\nhttp_connect_timeout_seconds = 1\n\
         [[registration]]\nid = \"gone\"\nname = \"Gone\"\niss = \"http://127.0.0.1:{port}/fhir\"\n\
         client_id = \"x\"\nauth = \"none\"\nscope = \"openid\"\n"
    );
    let (code, out, err) = cli(&toml, &[]).await;
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(out.contains("credentials  not probed"), "{out}");
    let last = out.lines().last().unwrap_or("");
    assert!(last.trim_start().starts_with("gone"), "{out}");
    assert!(last.contains("failed (net."), "{out}");
}

#[tokio::test]
async fn check_practice_backend_needs_no_running_server_and_its_key_is_accepted() {
    let (code, out, err) = cli("", &["practice-backend", "--format", "json"]).await;
    assert_eq!(code, Some(0), "{out}\n{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    let reg = &json["registrations"][0];
    assert_eq!(reg["id"], "practice-backend");
    assert_eq!(reg["credentials"]["method"], "private_key_jwt");
    assert_eq!(reg["credentials"]["verdict"], "accepted", "{reg:#}");
    assert_eq!(
        reg["credentials"]["client_credentials"], "accepted",
        "{reg:#}"
    );
    assert!(err.contains("started the practice EHR in-process"), "{err}");

    // Both practice registrations in one check: one practice EHR, started once.
    let (code, out, err) = cli("", &["practice", "practice-backend"]).await;
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert_eq!(err.matches("started the practice EHR").count(), 1, "{err}");
    for id in ["practice ", "practice-backend "] {
        assert!(
            out.lines()
                .any(|l| l.trim_start().starts_with(id) && l.ends_with("ok")),
            "{id}: {out}"
        );
    }
}

#[tokio::test]
async fn with_public_url_set_the_practice_registrations_are_checked_where_it_points() {
    // A port where nothing listens: the registrations point there and fail to connect.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let toml = format!("public_url = \"http://127.0.0.1:{port}\"\n");
    let (code, out, err) = cli(&toml, &["practice-backend"]).await;
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(!err.contains("started the practice EHR"), "{err}");
    assert!(out.contains(&format!("127.0.0.1:{port}")), "{out}");
    assert!(out.contains("failed (net.connect)"), "{out}");
}
