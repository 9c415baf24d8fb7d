//! Shared session stores. Redis: a launch started on one instance completes on another (as behind a load
//! balancer), and a store that does not answer gives `session.store_unavailable`, not a 500.
//! Needs `redis-server` (tests/run.sh installs it); ignored by plain `cargo test`.

use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use smart_launch_doctor::config::Config;
use smart_launch_doctor::{AppState, app};
use tokio::process::{Child, Command};

use crate::support::{Auth, browser, config_toml, diagnosis_ids, location, public_ehr};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A throwaway redis-server on loopback, no persistence.
async fn redis() -> (Child, String) {
    let port = free_port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server is installed (tests/run.sh installs it)");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (child, format!("redis://127.0.0.1:{port}"))
}

/// An app instance on its own port with `toml`; returns its base URL.
async fn instance(toml: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = AppState::new(Config::from_toml(toml, "test", addr).unwrap()).unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app(state)).await;
    });
    format!("http://127.0.0.1:{}", addr.port())
}

#[tokio::test]
#[ignore = "needs redis-server: tests/run.sh installs it"]
async fn a_launch_started_on_one_instance_completes_on_another() {
    let (_redis, url) = redis().await;
    let lb_port = free_port();
    let lb = format!("http://127.0.0.1:{lb_port}");
    let ehr = public_ehr(&lb).await;
    // Both instances answer for one public URL (the load balancer's) and share Redis.
    let toml = format!(
        "session_store = \"{url}\"\n{}",
        config_toml(lb_port, &ehr.fhir_base(), Auth::None, None)
    );
    let (a, b) = (instance(&toml).await, instance(&toml).await);
    let browser = browser();
    let r = browser
        .get(format!("{a}/standalone/app"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = browser.get(location(&r)).send().await.unwrap();
    let callback = location(&r).replace(&lb, &b);
    let r = browser.get(&callback).send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "instance B knew the state instance A stored"
    );
    let result = location(&r);
    for instance in [&a, &b] {
        let json: serde_json::Value = browser
            .get(format!("{instance}{result}"))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(json["outcome"], "success", "{instance}: {json:#}");
    }
    assert!(
        ehr.ehr.violations().is_empty(),
        "{:?}",
        ehr.ehr.violations()
    );
}

#[tokio::test]
#[ignore = "needs redis-server: tests/run.sh installs it"]
async fn a_store_that_does_not_answer_gives_session_store_unavailable() {
    let dead = format!("redis://127.0.0.1:{}", free_port());
    let port = free_port();
    let toml = format!(
        "session_store = \"{dead}\"\n{}",
        config_toml(port, "https://ehr.example/fhir", Auth::None, None)
    );
    let base = instance(&toml).await;
    let started = std::time::Instant::now();
    let r = browser()
        .get(format!("{base}/"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let json: serde_json::Value = r.json().await.unwrap();
    assert_eq!(diagnosis_ids(&json), ["session.store_unavailable"]);
    assert!(started.elapsed() < Duration::from_secs(10), "fails fast");
    let health = browser()
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK, "liveness needs no session");
}

#[tokio::test]
async fn sqlite_sessions_survive_a_restart() {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("sld-sqlite-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}", dir.join("sessions.db").display());
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let ehr = public_ehr(&public).await;
    let toml = format!(
        "session_store = \"{db}\"\n{}",
        config_toml(port, &ehr.fhir_base(), Auth::None, None)
    );
    // The launch starts on the first process…
    let before = instance(&toml).await;
    let browser = browser();
    let r = browser
        .get(format!("{before}/standalone/app"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = browser.get(location(&r)).send().await.unwrap();
    // …and the callback reaches a new one, reading the same database.
    let after = instance(&toml).await;
    let r = browser
        .get(location(&r).replace(&public, &after))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "the new process found the launch"
    );
    let json: serde_json::Value = browser
        .get(format!("{after}{}", location(&r)))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["outcome"], "success", "{json:#}");
}
