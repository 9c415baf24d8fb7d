//! Fault injection: Redis killed during a token exchange (and back, or gone for good), readiness
//! that follows the store, a full disk and a deleted database under SQLite, a client that never
//! finishes its request headers. Redis tests need `redis-server` (tests/run.sh installs it);
//! the disk-full test needs to mount a small tmpfs (root), and says so when it cannot.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, header};
use reqwest::StatusCode;
use serde_json::Value;
use smart_launch_doctor::AppState;
use smart_launch_doctor::config::Config;
use smart_launch_doctor::practice::{self, ClientAuth, Faults, PracticeClient, PracticeOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio::sync::{Notify, mpsc};

use crate::support::{Auth, CLIENT_ID, browser, config_toml, diagnosis_ids, location};

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn temp_dir(what: &str) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("sld-faults-{what}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A redis-server on a fixed loopback port that persists every write (AOF, fsync always), so
/// it can be killed and started again with its data.
struct Redis {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<Child>,
}

impl Redis {
    async fn start() -> Redis {
        let mut r = Redis {
            port: free_port(),
            dir: temp_dir("redis"),
            child: None,
        };
        r.restart().await;
        r
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server is installed (tests/run.sh installs it)");
        self.child = Some(child);
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("redis-server did not start");
    }

    /// SIGKILL, and wait until it is gone.
    async fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.start_kill().unwrap();
            c.wait().await.unwrap();
        }
    }
}

/// A token endpoint in front of the fake EHR's: says when a request arrived and holds it until
/// released.
struct Gate {
    arrived: mpsc::Receiver<()>,
    release: Arc<Notify>,
}

/// The fake EHR (redirect URI at `public`) with its token endpoint behind a [`Gate`].
async fn gated_ehr(public: &str) -> (practice::RunningEhr, Gate) {
    let (arrived_tx, arrived) = mpsc::channel::<()>(4);
    let release = Arc::new(Notify::new());
    let real_token = Arc::new(Mutex::new(String::new()));
    let gate = {
        let (release, real_token) = (release.clone(), real_token.clone());
        axum::Router::new().route(
            "/token",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let (release, arrived_tx) = (release.clone(), arrived_tx.clone());
                let real_token = real_token.clone();
                async move {
                    arrived_tx.send(()).await.unwrap();
                    release.notified().await;
                    let url = real_token.lock().unwrap().clone();
                    let mut req = reqwest::Client::new().post(url).body(body);
                    for (k, v) in &headers {
                        if k == header::CONTENT_TYPE || k == header::AUTHORIZATION {
                            req = req.header(k.as_str(), v.to_str().unwrap());
                        }
                    }
                    let resp = req.send().await.unwrap();
                    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
                    (
                        status,
                        [(header::CONTENT_TYPE, "application/json")],
                        resp.text().await.unwrap(),
                    )
                }
            }),
        )
    };
    let gate_base = crate::support::upstream::serve(gate).await;
    let ehr = practice::spawn(PracticeOptions {
        clients: vec![PracticeClient {
            client_id: CLIENT_ID.into(),
            auth: ClientAuth::None,
            redirect_uris: vec![format!("{public}/callback")],
        }],
        faults: Faults {
            well_known_patch: vec![(
                "token_endpoint".into(),
                Value::String(format!("{}/token", gate_base.trim_end_matches('/'))),
            )],
            ..Faults::default()
        },
        path_prefix: String::new(),
    })
    .await
    .unwrap();
    *real_token.lock().unwrap() = format!("{}auth/token", ehr.origin);
    (ehr, Gate { arrived, release })
}

/// The app on `port`, served as the binary serves it, with `extra` configuration; its base URL.
/// Its callback waits for a held token endpoint rather than answering with the waiting page.
async fn instance(port: u16, iss: &str, extra: &str) -> (String, AppState) {
    instance_waiting_after(port, iss, extra, Duration::from_secs(120)).await
}

/// [`instance`], whose callback answers with the waiting page after `wait`.
async fn instance_waiting_after(
    port: u16,
    iss: &str,
    extra: &str,
    wait: Duration,
) -> (String, AppState) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let toml = format!(
        "{extra}\n{}",
        config_toml(port, iss, Auth::None, None).replace(
            "http_timeout_seconds = 3",
            // The gated token endpoint is another loopback origin than the FHIR base.
            "http_timeout_seconds = 60\nallow_private_hosts = [\"127.0.0.1\"]",
        )
    );
    let mut config = Config::from_toml(&toml, "test", addr).unwrap();
    config.waiting_page_after = wait;
    let state = AppState::new(config).unwrap();
    tokio::spawn(smart_launch_doctor::web::listener::serve(
        listener,
        state.clone(),
        std::future::pending(),
    ));
    (format!("http://127.0.0.1:{port}"), state)
}

/// Starts a standalone launch and lets the EHR answer: the callback URL.
async fn to_callback(b: &reqwest::Client, base: &str) -> String {
    let r = b
        .get(format!("{base}/standalone/app"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the launch started");
    let r = b.get(location(&r)).send().await.unwrap();
    location(&r)
}

async fn json(b: &reqwest::Client, url: &str) -> (StatusCode, Value) {
    let r = b
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Polls `/readyz` until it answers `want`; how long that took (`None`: not within `limit`).
async fn readyz_becomes(base: &str, want: StatusCode, limit: Duration) -> Option<Duration> {
    let client = reqwest::Client::new();
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await
            && r.status() == want
        {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// Redis dies while the token endpoint holds the exchange; the answer arrives; Redis comes back.
/// The browser gets its result page at once (from memory), a retry of the callback is sent to
/// that result, and once Redis answers the launch is listed as a success: no `state_reused`, no
/// `never_returned`.
#[tokio::test]
#[ignore = "needs redis-server: tests/run.sh installs it"]
async fn redis_killed_during_the_token_exchange_loses_no_result() {
    let mut redis = Redis::start().await;
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let (ehr, mut gate) = gated_ehr(&public).await;
    let extra = format!(
        "session_store = \"{}\"\nnever_returned_after_seconds = 1",
        redis.url()
    );
    let (base, _state) = instance(port, &ehr.fhir_base(), &extra).await;
    let b = browser();
    let callback = to_callback(&b, &base).await;
    let pending = tokio::spawn({
        let b = b.clone();
        let callback = callback.clone();
        async move {
            b.get(callback)
                .header("accept", "application/json")
                .send()
                .await
        }
    });
    tokio::time::timeout(Duration::from_secs(60), gate.arrived.recv())
        .await
        .expect("the token request reached the gated endpoint")
        .unwrap();
    redis.kill().await;
    gate.release.notify_one();
    let r = pending.await.unwrap().unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the result itself, from memory");
    let result: Value = r.json().await.unwrap();
    assert_eq!(result["outcome"], "success", "{result:#}");
    assert!(result["token_response"].is_object(), "{result:#}");
    assert!(
        result["not_stored"]
            .as_str()
            .unwrap()
            .contains("written to the store as soon"),
        "{result:#}"
    );
    let id = result["id"].as_str().unwrap().to_string();

    redis.restart().await;
    assert!(
        readyz_becomes(&base, StatusCode::OK, Duration::from_secs(10))
            .await
            .is_some(),
        "ready again once Redis answers"
    );
    // The write-behind queue stores it; the list shows it a success.
    let deadline = Instant::now() + Duration::from_secs(15);
    let list = loop {
        let (status, list) = json(&b, &format!("{base}/launches")).await;
        if status == StatusCode::OK && list["launches"][0]["outcome"] == "success" {
            break list;
        }
        assert!(Instant::now() < deadline, "{status}: {list:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(list["launches"][0]["id"], id.as_str(), "{list:#}");
    let text = list.to_string();
    assert!(!text.contains("never_returned"), "{list:#}");
    // The browser retries the callback: sent to the result, not told the state was used.
    let r = b.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), format!("/launches/{id}"));
    let (status, shown) = json(&b, &format!("{base}/launches/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["outcome"], "success", "{shown:#}");
    assert!(
        !diagnosis_ids(&shown)
            .iter()
            .any(|d| d.contains("state_reused"))
    );
}

/// Redis dies during the exchange and stays down, and no result may wait in memory: the page
/// says the result could not be kept (the tokens were issued), not that the EHR never answered.
#[tokio::test]
#[ignore = "needs redis-server: tests/run.sh installs it"]
async fn with_the_store_down_for_good_the_page_says_the_result_could_not_be_kept() {
    let mut redis = Redis::start().await;
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let (ehr, mut gate) = gated_ehr(&public).await;
    let extra = format!(
        "session_store = \"{}\"\nstore_waiting_max_mb = 0",
        redis.url()
    );
    let (base, _state) = instance(port, &ehr.fhir_base(), &extra).await;
    let b = browser();
    let callback = to_callback(&b, &base).await;
    let pending = tokio::spawn({
        let b = b.clone();
        async move { b.get(callback).send().await }
    });
    tokio::time::timeout(Duration::from_secs(60), gate.arrived.recv())
        .await
        .expect("the token request reached the gated endpoint")
        .unwrap();
    redis.kill().await;
    gate.release.notify_one();
    let r = pending.await.unwrap().unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("Launch succeeded"), "{page}");
    assert!(page.contains("This result could not be kept"), "{page}");
    assert!(page.contains("tokens shown below were issued"), "{page}");
    assert!(!page.contains("never_returned"), "{page}");
}

/// `/readyz` follows Redis: 503 with a reason within 2 s of its death, 200 within 2 s of its
/// return; meanwhile a request that needs the store fails in under 100 ms, diagnosed, with
/// `Retry-After`.
#[tokio::test]
#[ignore = "needs redis-server: tests/run.sh installs it"]
async fn readyz_follows_redis_and_requests_fail_fast_during_an_outage() {
    let mut redis = Redis::start().await;
    let port = free_port();
    let extra = format!("session_store = \"{}\"", redis.url());
    // A FHIR base that refuses connections: each launch fails at once at discovery.
    let refused = format!("http://127.0.0.1:{}/fhir", free_port());
    let (base, _state) = instance(port, &refused, &extra).await;
    assert!(
        readyz_becomes(&base, StatusCode::OK, Duration::from_secs(10))
            .await
            .is_some()
    );
    // A browser with a session in Redis.
    let b = browser();
    let r = b
        .get(format!("{base}/standalone/app"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    redis.kill().await;
    let went = readyz_becomes(
        &base,
        StatusCode::SERVICE_UNAVAILABLE,
        Duration::from_secs(10),
    )
    .await;
    assert!(went.is_some_and(|t| t < Duration::from_secs(2)), "{went:?}");
    let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert!(r.headers().contains_key("retry-after"));
    let why: Value = r.json().await.unwrap();
    assert_eq!(why["status"], "not_ready", "{why:#}");
    assert_eq!(why["store"], "redis", "{why:#}");
    assert!(!why["reason"].as_str().unwrap().is_empty(), "{why:#}");

    let started = Instant::now();
    let r = b
        .get(format!("{base}/launches"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "5");
    let problem: Value = r.json().await.unwrap();
    assert_eq!(diagnosis_ids(&problem), ["session.store_unavailable"]);
    assert!(took < Duration::from_millis(100), "failed in {took:?}");
    eprintln!(
        "readyz 503 after {went:?} ({}); a request during the outage failed in {took:?}",
        why["reason"]
    );

    redis.restart().await;
    let back = readyz_becomes(&base, StatusCode::OK, Duration::from_secs(10)).await;
    assert!(back.is_some_and(|t| t < Duration::from_secs(2)), "{back:?}");
    eprintln!("readyz 200 {back:?} after redis-server started again");
    let r = b.get(format!("{base}/launches")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "recovered by itself");
}

/// A client that sends half its request headers and waits is disconnected after
/// `header_read_timeout_seconds`.
#[tokio::test]
async fn a_client_holding_half_sent_headers_is_disconnected_within_the_header_timeout() {
    let port = free_port();
    let (base, _state) = instance(
        port,
        "https://ehr.invalid/fhir",
        "header_read_timeout_seconds = 1",
    )
    .await;
    assert_eq!(
        reqwest::get(format!("{base}/healthz"))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    // The server closes the connection (maybe after a 408): read until end of stream.
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match slow.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "still open after 10 s");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// A whole launch on `base` with a fresh browser: its outcome ("success") or what failed.
async fn full_launch(base: &str) -> Result<(), String> {
    let b = browser();
    let r = b
        .get(format!("{base}/standalone/app"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if r.status() != StatusCode::SEE_OTHER {
        return Err(format!("launch answered {}", r.status()));
    }
    let r = b
        .get(location(&r))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let r = b
        .get(location(&r))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if r.status() != StatusCode::SEE_OTHER {
        return Err(format!("callback answered {}", r.status()));
    }
    let (_, result) = json(&b, &format!("{base}{}", location(&r))).await;
    match result["outcome"].as_str() {
        Some("success") => Ok(()),
        _ => Err(format!("{result}")),
    }
}

/// Tries whole launches until one succeeds: how long it took (`None`: not within `limit`).
async fn launches_succeed_within(base: &str, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if full_launch(base).await.is_ok() {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// A small tmpfs, unmounted when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = temp_dir("tmpfs");
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs(dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// SQLite on a full disk: launches fail (diagnosed 503, `/readyz` says so); once space is freed
/// they succeed again within 5 s, without a restart.
#[tokio::test]
async fn sqlite_recovers_from_a_full_disk_within_5_seconds_without_a_restart() {
    let Some(disk) = Tmpfs::mount("4m") else {
        eprintln!("skipped: mounting a tmpfs needs root here");
        return;
    };
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let ehr = crate::support::public_ehr(&public).await;
    let extra = format!(
        "session_store = \"sqlite://{}\"",
        disk.0.join("sld.db").display()
    );
    let (base, _state) = instance(port, &ehr.fhir_base(), &extra).await;
    full_launch(&base).await.unwrap();
    // Fill the disk to the last byte.
    let filler = disk.0.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        while f.write_all(&[0]).is_ok() {}
    }
    // New launches fail until space is back; the failure opens the breaker.
    let mut failed = false;
    for _ in 0..20 {
        if full_launch(&base).await.is_err() {
            failed = true;
            break;
        }
    }
    assert!(failed, "a full disk fails launches");
    let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "/readyz says so"
    );
    std::fs::remove_file(&filler).unwrap();
    let took = launches_succeed_within(&base, Duration::from_secs(5)).await;
    assert!(
        took.is_some(),
        "no launch succeeded within 5 s of freeing space"
    );
    assert!(
        readyz_becomes(&base, StatusCode::OK, Duration::from_secs(5))
            .await
            .is_some()
    );
}

/// The SQLite file is deleted under the running server: within 5 s it is created again and
/// launches succeed (they are not written into the deleted file).
#[tokio::test]
async fn a_deleted_sqlite_database_is_created_again_within_5_seconds() {
    let dir = temp_dir("sqlite-deleted");
    let db = dir.join("sld.db");
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let ehr = crate::support::public_ehr(&public).await;
    let extra = format!("session_store = \"sqlite://{}\"", db.display());
    let (base, _state) = instance(port, &ehr.fhir_base(), &extra).await;
    full_launch(&base).await.unwrap();
    assert!(db.exists());
    for f in ["sld.db", "sld.db-wal", "sld.db-shm"] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    let start = Instant::now();
    while !db.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the database file was not created again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = launches_succeed_within(&base, Duration::from_secs(5)).await;
    assert!(
        took.is_some(),
        "no launch succeeded after the file was deleted"
    );
    assert!(
        readyz_becomes(&base, StatusCode::OK, Duration::from_secs(1))
            .await
            .is_some()
    );
}

const BIN: &str = env!("CARGO_BIN_EXE_smart-launch-doctor");

/// The binary serving `config` on `port`, in an empty directory; waits until it answers.
async fn binary(config: &std::path::Path, port: u16) -> Child {
    let child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--config",
        ])
        .arg(config)
        .current_dir(temp_dir("bin"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    assert!(
        readyz_becomes(
            &format!("http://127.0.0.1:{port}"),
            StatusCode::OK,
            Duration::from_secs(30)
        )
        .await
        .is_some(),
        "the binary started"
    );
    child
}

/// SIGTERM while a client holds half-sent headers and a token exchange is held past the grace:
/// the process exits within `shutdown_grace_seconds` (plus the time to settle), the held
/// callback is settled (`callback.interrupted`), answered and stored: a new process on the same
/// SQLite file shows it to the browser.
#[tokio::test]
async fn sigterm_exits_within_the_grace_and_stores_the_callbacks_it_settled() {
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let (ehr, mut gate) = gated_ehr(&public).await;
    let dir = temp_dir("sigterm");
    let config = dir.join("config.toml");
    let toml = format!(
        "session_store = \"sqlite://{}\"\nshutdown_grace_seconds = 2\n{}",
        dir.join("sld.db").display(),
        config_toml(port, &ehr.fhir_base(), Auth::None, None).replace(
            "http_timeout_seconds = 3",
            // The gated token endpoint is another loopback origin than the FHIR base.
            "http_timeout_seconds = 60\nallow_private_hosts = [\"127.0.0.1\"]",
        )
    );
    std::fs::write(&config, toml).unwrap();
    let mut child = binary(&config, port).await;
    let b = browser();
    let callback = to_callback(&b, &public).await;
    let pending = tokio::spawn({
        let b = b.clone();
        async move { b.get(callback).send().await }
    });
    tokio::time::timeout(Duration::from_secs(60), gate.arrived.recv())
        .await
        .expect("the token request reached the gated endpoint")
        .unwrap();
    // A client that never finishes its request.
    let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let pid = child.id().unwrap().to_string();
    let term = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("the process exits although a client holds half-sent headers")
        .unwrap();
    let took = term.elapsed();
    assert_eq!(status.code(), Some(0));
    // 2 s of grace, then up to 3 s for settled callbacks to store and a last write: generous
    // for a loaded machine, far from "never".
    assert!(took < Duration::from_secs(10), "exited after {took:?}");
    let r = pending.await.unwrap().unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "the held callback was answered"
    );
    let result = location(&r);
    drop(gate.release);

    let _again = binary(&config, port).await;
    let (status, shown) = json(&b, &format!("{public}{result}")).await;
    assert_eq!(status, StatusCode::OK, "{shown:#}");
    assert_eq!(shown["outcome"], "error", "{shown:#}");
    assert!(
        diagnosis_ids(&shown).contains(&"callback.interrupted".to_string()),
        "{shown:#}"
    );
}

/// The instance is killed (SIGKILL) during the token exchange: its callback consumed the state
/// but left no result. Once late, the launch reads `callback.result_not_kept`, not
/// `authorize.never_returned`: the EHR did answer.
#[tokio::test]
async fn a_launch_whose_instance_was_killed_mid_exchange_is_not_said_never_to_have_returned() {
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let (ehr, mut gate) = gated_ehr(&public).await;
    let dir = temp_dir("sigkill");
    let config = dir.join("config.toml");
    let toml = format!(
        "session_store = \"sqlite://{}\"\nnever_returned_after_seconds = 1\n{}",
        dir.join("sld.db").display(),
        config_toml(port, &ehr.fhir_base(), Auth::None, None).replace(
            "http_timeout_seconds = 3",
            // The gated token endpoint is another loopback origin than the FHIR base.
            "http_timeout_seconds = 60\nallow_private_hosts = [\"127.0.0.1\"]",
        )
    );
    std::fs::write(&config, toml).unwrap();
    let mut child = binary(&config, port).await;
    let b = browser();
    let callback = to_callback(&b, &public).await;
    let pending = tokio::spawn({
        let b = b.clone();
        async move { b.get(callback).send().await }
    });
    tokio::time::timeout(Duration::from_secs(60), gate.arrived.recv())
        .await
        .expect("the token request reached the gated endpoint")
        .unwrap();
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    assert!(
        pending.await.unwrap().is_err(),
        "the connection died with it"
    );

    let _again = binary(&config, port).await;
    // `never_returned_after_seconds = 1`: wait until the launch is late, then look.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, list) = json(&b, &format!("{public}/launches")).await;
        assert_eq!(status, StatusCode::OK, "{list:#}");
        let ids = list["launches"][0]["diagnoses"].to_string();
        if list["launches"][0]["outcome"] == "error" {
            assert!(ids.contains("callback.result_not_kept"), "{list:#}");
            assert!(!ids.contains("never_returned"), "{list:#}");
            break;
        }
        assert!(Instant::now() < deadline, "{list:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `max_connections`: beyond it, a connection waits to be served until another closes.
#[tokio::test]
async fn connections_beyond_max_connections_wait_until_one_closes() {
    let port = free_port();
    let (base, _state) = instance(port, "http://127.0.0.1:9/fhir", "max_connections = 1").await;
    let held = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    // Served by now: the one connection allowed (the server accepts at once).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    assert!(
        client.get(format!("{base}/healthz")).send().await.is_err(),
        "a second connection is not served while the first is open"
    );
    drop(held);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let r = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// A token endpoint that holds the exchange: the callback answers after about 2 s with a
/// redirect to the result page, which waits (refreshing itself, no script), says the EHR is slow
/// after 5 s, and shows the success once the EHR answers: the placeholder never wins.
#[tokio::test]
async fn a_slow_token_endpoint_gets_a_waiting_page_that_follows_the_launch() {
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let (ehr, mut gate) = gated_ehr(&public).await;
    let wait = Duration::from_secs(2);
    let (base, _state) = instance_waiting_after(
        port,
        &ehr.fhir_base(),
        "never_returned_after_seconds = 1",
        wait,
    )
    .await;
    let b = browser();
    let callback = to_callback(&b, &base).await;
    let asked = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(60), b.get(callback).send())
        .await
        .expect("the callback answers while the token endpoint holds")
        .unwrap();
    let took = asked.elapsed();
    assert!(took >= wait, "answered before the wait: {took:?}");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let result = location(&answer);
    let (path, since) = result.split_once("?since=").expect("a since parameter");
    assert!(path.starts_with("/launches/"), "{result}");
    gate.arrived.try_recv().expect("the token request is held");
    let page = b.get(format!("{base}{result}")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("<meta http-equiv=\"refresh\" content=\"2\">"),
        "{page}"
    );
    assert!(page.contains("confirming the sign-in"), "{page}");
    assert!(!page.contains("slow to answer"), "{page}");
    assert!(!page.contains("Not back yet?"), "{page}");
    assert!(!page.contains("never_returned"), "{page}");
    // Seconds later (told by the since parameter) it says the EHR is slow.
    let earlier = since.parse::<i64>().unwrap() - 6;
    let page = b
        .get(format!("{base}{path}?since={earlier}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("The EHR is slow to answer"), "{page}");
    assert!(page.contains("http-equiv=\"refresh\""), "{page}");
    let (_, json_now) = json(&b, &format!("{base}{path}")).await;
    assert_eq!(json_now["outcome"], "pending", "{json_now:#}");
    assert_eq!(json_now["step"], "token", "{json_now:#}");
    // The EHR answers: the page follows to the success.
    gate.release.notify_one();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut done = json(&b, &format!("{base}{path}")).await.1;
    while done["outcome"] == "pending" && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        done = json(&b, &format!("{base}{path}")).await.1;
    }
    assert_eq!(done["outcome"], "success", "{done:#}");
    let page = b
        .get(format!("{base}{result}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Launch succeeded"), "{page}");
    assert!(!page.contains("http-equiv=\"refresh\""), "{page}");
}
