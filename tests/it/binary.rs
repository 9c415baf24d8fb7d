//! The real binary: configuration errors exit 2 naming the key; no secret ever reaches a log line.

use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use smart_launch_doctor::practice::{self, ClientAuth, PracticeClient, PracticeOptions};
use tokio::io::AsyncReadExt;

use crate::support::{
    Auth, CLIENT_ID, TRICKY_SECRET, browser, config_toml, form_value, location, query_value,
    token_request,
};

const BIN: &str = env!("CARGO_BIN_EXE_smart-launch-doctor");

/// Writes a config file into a fresh directory under the system temp dir.
fn write_config(text: &str) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("sld-test-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn config_errors_exit_2_naming_the_key() {
    let cases = [
        ("bogus_key = 1\n", "bogus_key"),
        ("session_idle_minutes = \"x\"\n", "session_idle_minutes"),
        (
            "[[registration]]\nid = \"a\"\niss = \"https://h/fhir\"\nclient_id = \"c\"\nauth = \"client_secret_post\"\nscope = \"openid\"\n",
            "registration[0].client_secret",
        ),
        (
            "[[registration]]\nid = \"a b\"\niss = \"https://h/fhir\"\nclient_id = \"c\"\nscope = \"openid\"\n",
            "registration[0].id",
        ),
    ];
    for (text, key) in cases {
        let path = write_config(text);
        let out = tokio::process::Command::new(BIN)
            .args(["serve", "--config"])
            .arg(&path)
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{text}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(key), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one clear message: {stderr}");
    }
}

/// A configuration naming an admin token variable that is not set: `serve` refuses it, and so
/// does a `check` that needs the in-process practice EHR (it used to check the practice
/// registration where no server listened and report `net.connect`). Both exit 2 naming it.
#[tokio::test]
async fn check_with_an_unset_admin_token_variable_says_so_and_exits_2_like_serve() {
    const VAR: &str = "SLD_TEST_ADMIN_TOKEN_NEVER_SET";
    let path = write_config(&format!("admin_token_env = \"{VAR}\"\n"));
    for args in [&["serve"][..], &["check", "practice"], &["check"]] {
        let out = tokio::process::Command::new(BIN)
            .args(args)
            .arg("--config")
            .arg(&path)
            .args(
                ["--listen", "127.0.0.1:0"]
                    .iter()
                    .filter(|_| args[0] == "serve"),
            )
            .env_remove(VAR)
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stdout}{stderr}");
        assert!(
            stderr.contains(&format!(
                "admin_token_env: the environment variable {VAR} is not set"
            )),
            "{args:?}: {stderr}"
        );
        assert!(!stdout.contains("net.connect"), "{args:?}: {stdout}");
    }
}

/// A full confidential launch through the real binary with verbose logging: the client secret,
/// the code, the verifier and the tokens appear in no log line.
#[tokio::test]
async fn no_secret_appears_in_any_log_line() {
    let (child, base, ehr) = traced_binary(Default::default()).await;
    let b = browser();
    let launch = ehr.ehr.new_launch("patient-123", None);
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("iss", &ehr.fhir_base())
        .append_pair("launch", &launch)
        .finish();
    let r = b.get(format!("{base}/launch?{q}")).send().await.unwrap();
    let r = b.get(location(&r)).send().await.unwrap();
    let callback = location(&r);
    let code = query_value(&callback, "code");
    let r = b.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let result = format!("{base}{}?reveal=tokens", location(&r));
    let json: serde_json::Value = b
        .get(&result)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["outcome"], "success", "{json:#}");
    let access = json["token_response"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let refresh = json["token_response"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    // The verifier is in the fake's record of the token request.
    let verifier = form_value(&token_request(&ehr).body, "code_verifier");

    let logs = logs_of(child).await;
    assert!(
        logs.contains("launch finished"),
        "logs were captured: {}",
        &logs[..logs.len().min(2000)]
    );
    let encoded_secret = "s3%3Acr%25t%2B+x";
    for (name, secret) in [
        ("client secret", TRICKY_SECRET),
        ("encoded secret", encoded_secret),
        ("code", code.as_str()),
        ("verifier", verifier.as_str()),
        ("access token", access.as_str()),
        ("refresh token", refresh.as_str()),
    ] {
        let hit = logs.lines().find(|l| l.contains(secret));
        assert!(hit.is_none(), "the {name} appears in a log line: {hit:?}");
    }
}

/// The real binary at trace level against a token endpoint that echoes the client secret in a
/// header and in its error description: no log line carries it.
#[tokio::test]
async fn a_secret_echoed_by_the_server_reaches_no_log_line() {
    use smart_launch_doctor::practice::{CannedAnswer, Faults};
    let faults = Faults {
        token_answer: Some(CannedAnswer {
            status: 401,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("x-echo".into(), TRICKY_SECRET.into()),
            ],
            body: format!(
                r#"{{"error":"invalid_client","error_description":"secret {TRICKY_SECRET} is wrong"}}"#
            ),
        }),
        ..Faults::default()
    };
    let (child, base, _ehr) = traced_binary(faults).await;
    let b = browser();
    let r = b
        .get(format!("{base}/standalone/app"))
        .send()
        .await
        .unwrap();
    let r = b.get(location(&r)).send().await.unwrap();
    let r = b.get(location(&r)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let result = b
        .get(format!("{base}{}", location(&r)))
        .send()
        .await
        .unwrap();
    assert!(
        result
            .text()
            .await
            .unwrap()
            .contains("token.bad_client_credentials")
    );
    let check = b.get(format!("{base}/check/app")).send().await.unwrap();
    assert_eq!(check.status(), StatusCode::OK);
    let logs = logs_of(child).await;
    assert!(logs.contains("launch finished"), "logs were captured");
    for secret in [TRICKY_SECRET, "s3%3Acr%25t%2B+x", "s3:cr%t"] {
        let hit = logs.lines().find(|l| l.contains(secret));
        assert!(hit.is_none(), "the secret appears in a log line: {hit:?}");
    }
}

/// The real binary at trace level, configured as a confidential client (Basic, the tricky
/// secret) of a fake EHR with `faults`; waits until it answers.
async fn traced_binary(
    faults: practice::Faults,
) -> (tokio::process::Child, String, practice::RunningEhr) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let base = format!("http://127.0.0.1:{port}");
    let ehr = practice::spawn(PracticeOptions {
        clients: vec![PracticeClient {
            client_id: CLIENT_ID.into(),
            auth: ClientAuth::SecretBasic(TRICKY_SECRET.into()),
            redirect_uris: vec![format!("{base}/callback")],
        }],
        faults,
        path_prefix: String::new(),
    })
    .await
    .unwrap();
    let path = write_config(&config_toml(
        port,
        &ehr.fhir_base(),
        Auth::Basic,
        Some(TRICKY_SECRET),
    ));
    let child = tokio::process::Command::new(BIN)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--config",
        ])
        .arg(&path)
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let b = browser();
    let mut up = false;
    for _ in 0..100 {
        if b.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "the binary started");
    (child, base, ehr)
}

/// Stops the binary and returns everything it wrote.
async fn logs_of(mut child: tokio::process::Child) -> String {
    child.start_kill().unwrap();
    let _ = child.wait().await;
    let mut logs = String::new();
    if let Some(mut p) = child.stderr.take() {
        p.read_to_string(&mut logs).await.unwrap();
    }
    if let Some(mut p) = child.stdout.take() {
        p.read_to_string(&mut logs).await.unwrap();
    }
    logs
}
