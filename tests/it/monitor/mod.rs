//! Scheduled probes (`[monitor]`): a registration broken and repaired against the practice EHR
//! shows on the board, in the history (one change each way), on the webhook (one POST per
//! change) and in the metrics; `/probe` answers Prometheus text; the alert rules parse and name
//! our metrics; `monitor --once` from the binary; two instances on one Redis run each probe once
//! per period. Time is a manual clock: tests advance it and wait for the runs it caused.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use smart_launch_doctor::AppState;
use smart_launch_doctor::config::{Config, PRACTICE_CLIENT_ID};
use smart_launch_doctor::monitor::{Clock, ManualClock};
use smart_launch_doctor::practice::Faults;

mod instances;

pub(super) const EVERY: Duration = Duration::from_secs(10);
/// A period boundary (a multiple of 10 s), in Unix milliseconds.
pub(super) const START_MS: i64 = 1_800_000_000_000;

/// The app with the practice EHR and `extra` configuration (`{base}`: its own URL), on the
/// manual `clock`, served as `serve` serves it (the scheduler starts with the listener).
pub(super) async fn start(extra: &str, clock: &ManualClock) -> (String, AppState) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let toml = format!(
        "public_url = \"{base}\"\npractice_ehr = true\n{}\n",
        extra.replace("{base}", &base)
    );
    let mut config = Config::from_toml(&toml, "test", addr).unwrap();
    config.monitor.clock = Clock::Manual(clock.clone());
    let state = AppState::new(config).unwrap();
    tokio::spawn(smart_launch_doctor::web::listener::serve(
        listener,
        state.clone(),
        std::future::pending(),
    ));
    (base, state)
}

/// Waits (at most 30 s) until `state`'s monitor has dealt with `n` periods.
pub(super) async fn handled(state: &AppState, n: u64) {
    tokio::time::timeout(Duration::from_secs(30), state.monitor.wait_handled(n))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "the monitor dealt with {} of {n} periods",
                state.monitor.handled()
            )
        });
}

/// A webhook receiver on 127.0.0.1:0: every body it gets, and a signal per POST.
struct Receiver {
    url: String,
    bodies: Arc<Mutex<Vec<Value>>>,
    posted: tokio::sync::watch::Receiver<usize>,
}

async fn receiver() -> Receiver {
    let bodies: Arc<Mutex<Vec<Value>>> = Arc::default();
    let (tx, posted) = tokio::sync::watch::channel(0usize);
    let tx = Arc::new(tx);
    let kept = bodies.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::Json<Value>| {
            let (kept, tx) = (kept.clone(), tx.clone());
            async move {
                kept.lock().unwrap().push(body.0);
                tx.send_modify(|n| *n += 1);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver {
        url,
        bodies,
        posted,
    }
}

impl Receiver {
    async fn wait_for(&mut self, n: usize) {
        tokio::time::timeout(Duration::from_secs(30), self.posted.wait_for(|p| *p >= n))
            .await
            .expect("webhook posted in time")
            .unwrap();
    }
}

pub(super) async fn json(url: &str) -> Value {
    reqwest::Client::new()
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn practice_row(board: &Value) -> Value {
    board["registrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "practice")
        .cloned()
        .unwrap_or_else(|| panic!("no practice row in {board}"))
}

/// The practice EHR refuses the `practice` client as a real server refuses an unknown or
/// disabled one (RFC 6749 §5.2: 401 `invalid_client`).
fn broken() -> Faults {
    Faults {
        token_error: Some((401, r#"{"error":"invalid_client"}"#.into())),
        ..Faults::default()
    }
}

#[tokio::test]
async fn a_broken_registration_turns_red_once_fires_the_webhook_once_and_turns_green_again() {
    let mut hook = receiver().await;
    let var = "SLD_TEST_MONITOR_WEBHOOK";
    unsafe { std::env::set_var(var, &hook.url) };
    let clock = ManualClock::new(START_MS);
    let (base, state) = start(
        &format!(
            "metrics = true\nallow_private_hosts = [\"127.0.0.1\"]\n[monitor]\nevery = \"10s\"\njitter = \"0s\"\nregistrations = [\"practice\"]\nwebhook_url_env = \"{var}\"\n"
        ),
        &clock,
    )
    .await;
    // The first run comes at start.
    handled(&state, 1).await;
    let row = practice_row(&json(&format!("{base}/status")).await);
    assert_eq!(row["status"], "up", "{row}");

    let ehr = state.practice.as_ref().unwrap();
    ehr.set_client_faults(PRACTICE_CLIENT_ID, broken());
    clock.advance(EVERY);
    handled(&state, 2).await;
    let row = practice_row(&json(&format!("{base}/status")).await);
    assert_eq!(row["status"], "down", "{row}");
    assert_eq!(row["failing_step"], "credentials", "{row}");
    let diagnosis = row["diagnosis"].as_str().unwrap().to_string();
    assert!(diagnosis.starts_with("token."), "{row}");
    assert_eq!(row["last_change"]["from"], "up");
    assert_eq!(row["last_change"]["to"], "down");
    hook.wait_for(1).await;

    // Still broken: no new change, no new POST.
    clock.advance(EVERY);
    handled(&state, 3).await;
    let history = json(&format!("{base}/status/practice")).await;
    let runs = history["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3, "{history}");
    let downs = runs.iter().filter(|r| r["change"]["to"] == "down").count();
    assert_eq!(downs, 1, "the change is recorded once: {history}");
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("sld_probe_success{registration=\"practice\"} 0"),
        "{metrics}"
    );
    let failure =
        format!("sld_probe_failure{{registration=\"practice\",diagnosis=\"{diagnosis}\"}} 1");
    assert!(metrics.contains(&failure), "{metrics}");

    // The board's page names the diagnosis and links its history.
    let page = reqwest::get(format!("{base}/status"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("href=\"/status/practice\""), "{page}");
    assert!(page.contains("outcome-error"), "{page}");

    ehr.set_client_faults(PRACTICE_CLIENT_ID, Faults::default());
    clock.advance(EVERY);
    handled(&state, 4).await;
    let row = practice_row(&json(&format!("{base}/status")).await);
    assert_eq!(row["status"], "up", "{row}");
    hook.wait_for(2).await;
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("sld_probe_success{registration=\"practice\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&failure.replace("} 1", "} 0")),
        "{metrics}"
    );

    let bodies = hook.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2, "one POST per change: {bodies:?}");
    assert_eq!(bodies[0]["registration"], "practice");
    assert_eq!(
        (bodies[0]["from"].as_str(), bodies[0]["to"].as_str()),
        (Some("up"), Some("down"))
    );
    assert_eq!(bodies[0]["diagnosis_ids"][0], diagnosis.as_str());
    assert_eq!(bodies[0]["link"], format!("{base}/status/practice"));
    assert_eq!(
        (bodies[1]["from"].as_str(), bodies[1]["to"].as_str()),
        (Some("down"), Some("up"))
    );
}

/// Without `[monitor]` nothing will run: the board (page and JSON) says so rather than
/// promising a first run that never comes.
#[tokio::test]
async fn the_board_says_not_monitored_when_the_monitor_is_off() {
    let clock = ManualClock::new(START_MS);
    let (base, _state) = start("", &clock).await;
    let board = json(&format!("{base}/status")).await;
    assert_eq!(board["enabled"], false, "{board}");
    let row = practice_row(&board);
    assert_eq!(row["status"], "not monitored", "{row}");
    let history = json(&format!("{base}/status/practice")).await;
    assert_eq!(
        history["registration"]["status"], "not monitored",
        "{history}"
    );
    let page = reqwest::get(format!("{base}/status"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<strong>not monitored</strong>"), "{page}");
    assert!(!page.contains("pending"), "{page}");
}

#[tokio::test]
async fn probe_answers_prometheus_text_and_the_alert_rules_name_our_metrics() {
    let clock = ManualClock::new(START_MS);
    // `/probe` is served beside `/metrics` (see ops::metrics_are_off_by_default_…).
    let (base, state) = start("metrics = true", &clock).await;
    let text = reqwest::get(format!("{base}/probe?registration=practice"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    let success = scrape
        .samples
        .iter()
        .find(|s| s.metric == "sld_probe_success")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(success.labels.get("registration"), Some("practice"));
    assert!(
        matches!(success.value, prometheus_parse::Value::Gauge(v) if v == 1.0),
        "{text}"
    );
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "sld_probe_duration_seconds"
                && s.labels.get("step") == Some("total")),
        "{text}"
    );
    // Not scheduled: /probe records nothing.
    assert_eq!(state.monitor.ran(), 0);

    // Broken, /probe says which diagnosis.
    state
        .practice
        .as_ref()
        .unwrap()
        .set_client_faults(PRACTICE_CLIENT_ID, broken());
    let text = reqwest::get(format!("{base}/probe?registration=practice"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "sld_probe_failure"
                && s.labels
                    .get("diagnosis")
                    .is_some_and(|d| d.starts_with("token."))),
        "{text}"
    );
    let r = reqwest::get(format!("{base}/probe?registration=nobody"))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // The example alert rules: every expression names a metric we export.
    let rules: Value =
        serde_yaml::from_str(&std::fs::read_to_string("docs/alerts.yml").unwrap()).unwrap();
    let exported: Vec<&str> = smart_launch_doctor::monitor::exposition::METRICS
        .iter()
        .map(|(n, _)| *n)
        .collect();
    let mut exprs = 0;
    for group in rules["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            let expr = rule["expr"].as_str().unwrap();
            let names: Vec<&str> = expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("sld_"))
                .collect();
            assert!(!names.is_empty(), "{expr} names none of our metrics");
            for n in names {
                assert!(exported.contains(&n), "{expr}: {n} is not exported");
            }
            exprs += 1;
        }
    }
    assert!(exprs >= 3);
}

#[tokio::test]
async fn monitor_once_from_the_binary_exits_0_when_up_and_1_when_down() {
    const BIN: &str = env!("CARGO_BIN_EXE_smart-launch-doctor");
    let dir = std::env::temp_dir().join(format!("sld-monitor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("monitor.toml");
    std::fs::write(
        &config,
        "[monitor]\nevery = \"15m\"\n\n[[registration]]\nid = \"gone\"\nname = \"Gone\"\niss = \"http://127.0.0.1:9/fhir\"\nclient_id = \"x\"\nscope = \"openid\"\nmonitor = false\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(BIN)
            .args(["monitor", "--once", "--config"])
            .arg(&config)
            .args(args)
            .output()
            .unwrap()
    };
    let up = run(&["--format", "json"]);
    let out: Value = serde_json::from_slice(&up.stdout).unwrap();
    assert_eq!(up.status.code(), Some(0), "{out}");
    let ids: Vec<&str> = out["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["registration"].as_str().unwrap())
        .collect();
    // `monitor = false` leaves `gone` out.
    assert!(ids.contains(&"practice") && !ids.contains(&"gone"), "{out}");
    let down = run(&["gone"]);
    let text = String::from_utf8_lossy(&down.stdout);
    assert_eq!(down.status.code(), Some(1), "{text}");
    assert!(text.starts_with("gone down"), "{text}");
    assert!(text.contains("failing step discovery"), "{text}");
    let usage = run(&["nobody"]);
    assert_eq!(usage.status.code(), Some(2));
}

#[tokio::test]
async fn a_client_secret_backend_registration_is_monitored_and_a_rotated_secret_turns_it_red() {
    use smart_launch_doctor::config::{PRACTICE_BACKEND_SECRET, PRACTICE_BACKEND_SECRET_ID};
    use smart_launch_doctor::practice::{ClientAuth, PracticeClient};
    let clock = ManualClock::new(START_MS);
    let (base, state) = start(
        &format!("[monitor]\nevery = \"10s\"\njitter = \"0s\"\nregistrations = [\"{PRACTICE_BACKEND_SECRET_ID}\"]\n"),
        &clock,
    )
    .await;
    let row = |board: Value| board["registrations"][0].clone();
    handled(&state, 1).await;
    let first = row(json(&format!("{base}/status")).await);
    assert_eq!(first["id"], PRACTICE_BACKEND_SECRET_ID);
    assert_ne!(first["status"], "down", "{first}");
    // The EHR's administrator gives the client a new secret; ours is now the old one.
    let client = |secret: &str| PracticeClient {
        client_id: PRACTICE_BACKEND_SECRET_ID.into(),
        auth: ClientAuth::SecretBasic(secret.into()),
        redirect_uris: Vec::new(),
    };
    let ehr = state.practice.as_ref().unwrap();
    ehr.add_client(client("rotated-by-the-ehr-admin"));
    clock.advance(EVERY);
    handled(&state, 2).await;
    let down = row(json(&format!("{base}/status")).await);
    assert_eq!(down["status"], "down", "{down}");
    assert_eq!(down["failing_step"], "token", "{down}");
    assert!(
        down["diagnosis"].as_str().unwrap().starts_with("token."),
        "{down}"
    );
    let history = json(&format!("{base}/status/{PRACTICE_BACKEND_SECRET_ID}")).await;
    let text = history.to_string();
    assert!(
        !text.contains(PRACTICE_BACKEND_SECRET),
        "no secret in the history"
    );
    ehr.add_client(client(PRACTICE_BACKEND_SECRET));
    clock.advance(EVERY);
    handled(&state, 3).await;
    let back = row(json(&format!("{base}/status")).await);
    assert_eq!(back["status"], first["status"], "{back}");
}
