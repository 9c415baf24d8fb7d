//! Several instances on one store run each probe once per period (the lease), and the
//! scheduler stops with the server.

use std::time::Duration;

use smart_launch_doctor::AppState;
use smart_launch_doctor::config::Config;
use smart_launch_doctor::monitor::{Clock, ManualClock};

use super::{EVERY, START_MS, handled, json, start};

#[tokio::test]
#[ignore = "needs redis-server: tests/run.sh installs it"]
async fn two_instances_on_one_redis_run_each_probe_once_per_period() {
    let (_redis, url) = crate::sessions::redis().await;
    let clock = ManualClock::new(START_MS);
    let extra = format!(
        "metrics = true\nsession_store = \"{url}\"\n[monitor]\nevery = \"10s\"\njitter = \"0s\"\nregistrations = [\"practice\"]\n"
    );
    let (base, a) = start(&extra, &clock).await;
    let (_, b) = start(&extra, &clock).await;
    for period in 1..=4u64 {
        if period > 1 {
            clock.advance(EVERY);
        }
        handled(&a, period).await;
        handled(&b, period).await;
        assert_eq!(
            a.monitor.ran() + b.monitor.ran(),
            period,
            "one run per period"
        );
    }
    assert!(a.monitor.ran() > 0 || b.monitor.ran() > 0);
    let history = json(&format!("{base}/status/practice")).await;
    assert_eq!(history["runs"].as_array().unwrap().len(), 4, "{history}");
    // Both instances export the probe's gauge, whichever ran it.
    for state in [&a, &b] {
        let text = state.metrics.render().unwrap();
        assert!(
            text.contains("sld_probe_success{registration=\"practice\"} 1"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn two_instances_on_one_sqlite_file_run_each_probe_once_per_period() {
    let dir = std::env::temp_dir().join(format!("sld-monitor-sqlite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("store.db");
    let _ = std::fs::remove_file(&db);
    let clock = ManualClock::new(START_MS);
    let extra = format!(
        "session_store = \"sqlite://{}\"\n[monitor]\nevery = \"10s\"\njitter = \"0s\"\nregistrations = [\"practice\"]\nhistory = 2\n",
        db.display()
    );
    let (base, a) = start(&extra, &clock).await;
    let (_, b) = start(&extra, &clock).await;
    for period in 1..=3u64 {
        if period > 1 {
            clock.advance(EVERY);
        }
        handled(&a, period).await;
        handled(&b, period).await;
        assert_eq!(
            a.monitor.ran() + b.monitor.ran(),
            period,
            "one run per period"
        );
    }
    // `history = 2`: the oldest run is gone.
    let history = json(&format!("{base}/status/practice")).await;
    assert_eq!(history["runs"].as_array().unwrap().len(), 2, "{history}");
}

#[tokio::test]
async fn the_scheduler_stops_with_the_server() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let toml = format!(
        "public_url = \"http://{addr}\"\npractice_ehr = true\nshutdown_grace_seconds = 5\n[monitor]\nevery = \"10s\"\njitter = \"0s\"\n"
    );
    let mut config = Config::from_toml(&toml, "test", addr).unwrap();
    let clock = ManualClock::new(START_MS);
    config.monitor.clock = Clock::Manual(clock.clone());
    let state = AppState::new(config).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(smart_launch_doctor::web::listener::serve(
        listener,
        state.clone(),
        async move {
            let _ = stopped.await;
        },
    ));
    let watched = state.monitor.watched(&state.config).len() as u64;
    handled(&state, watched).await;
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), served)
        .await
        .expect("serve returned")
        .unwrap()
        .unwrap();
    // `serve` returned, so the probe tasks ended: it waits for them after cancelling them.
}
