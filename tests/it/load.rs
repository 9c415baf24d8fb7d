//! Load: 1,000 concurrent launches with callbacks, each its own browser, against the fake EHR.
//! All 1,000 are in flight at once (each between its steps); the sockets open at any moment are
//! capped, so the test measures the app rather than the loopback accept queue of a 2-core box.

use std::sync::Arc;

use reqwest::StatusCode;
use tokio::sync::Semaphore;

use crate::support::{Auth, Setup, TestApp, browser, location};

const LAUNCHES: usize = 1000;
/// Requests on the wire at once, across all launches.
const IN_FLIGHT: usize = 128;

/// One browser's whole launch; `Err` says which step failed.
async fn one_launch(base: String, ehr_origin: String, gate: Arc<Semaphore>) -> Result<(), String> {
    let b = browser();
    let send = |req: reqwest::RequestBuilder, what: String| {
        let gate = gate.clone();
        async move {
            let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
            req.send().await.map_err(|e| format!("{what}: {e}"))
        }
    };
    let r = send(b.get(format!("{base}/standalone/app")), "launch".into()).await?;
    if r.status() != StatusCode::SEE_OTHER {
        return Err(format!("launch answered {}", r.status()));
    }
    let authorize = location(&r);
    if !authorize.starts_with(&ehr_origin) {
        let r = send(
            b.get(format!("{base}{authorize}"))
                .header("accept", "application/json"),
            "result".into(),
        )
        .await?;
        let json: serde_json::Value = r.json().await.map_err(|e| e.to_string())?;
        return Err(format!("launch failed at discovery: {}", json["diagnoses"]));
    }
    let r = send(b.get(&authorize), "authorize".into()).await?;
    let r = send(b.get(location(&r)), "callback".into()).await?;
    if r.status() != StatusCode::SEE_OTHER {
        return Err(format!("callback answered {}", r.status()));
    }
    let r = send(
        b.get(format!("{base}{}", location(&r)))
            .header("accept", "application/json"),
        "result".into(),
    )
    .await?;
    let json: serde_json::Value = r.json().await.map_err(|e| e.to_string())?;
    if json["outcome"] != "success" {
        return Err(format!(
            "outcome {}: {:?}",
            json["outcome"], json["diagnoses"]
        ));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_launches_complete_without_errors() {
    // A generous timeout: a debug build on two cores, possibly beside other test processes.
    let app = TestApp::start(Setup {
        extra_toml: "launch_rate_limit_per_minute = 0".into(),
        http_timeout_secs: 60,
        ..Setup::new(Auth::None)
    })
    .await;
    let origin = app.ehr.origin.as_str().trim_end_matches('/').to_string();
    let gate = Arc::new(Semaphore::new(IN_FLIGHT));
    let tasks: Vec<_> = (0..LAUNCHES)
        .map(|_| tokio::spawn(one_launch(app.base.clone(), origin.clone(), gate.clone())))
        .collect();
    let mut errors = Vec::new();
    for t in tasks {
        match t.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(format!("task: {e}")),
        }
    }
    assert!(
        errors.is_empty(),
        "{} of {LAUNCHES} failed, e.g. {:?}",
        errors.len(),
        &errors[..errors.len().min(3)]
    );
    assert_eq!(app.ehr.ehr.exchanged_codes(), LAUNCHES);
    // One session per browser (cycled once after its exchange): nothing accumulates per request.
    assert_eq!(app.state.sessions.session_count(), Some(LAUNCHES as u64));
    // Single-flight caches: one discovery for a thousand launches.
    assert_eq!(app.ehr.ehr.jwks_fetches(), 1);
}
