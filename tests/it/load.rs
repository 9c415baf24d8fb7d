//! Load: 1,000 concurrent launches with callbacks, each its own browser, against the fake EHR.

use reqwest::StatusCode;

use crate::support::{Auth, Setup, TestApp, browser, location};

const LAUNCHES: usize = 1000;

/// One browser's whole launch; `Err` says which step failed.
async fn one_launch(base: String, ehr_origin: String) -> Result<(), String> {
    let b = browser();
    let get = |url: String| {
        let b = b.clone();
        async move { b.get(&url).send().await.map_err(|e| format!("{url}: {e}")) }
    };
    let r = get(format!("{base}/standalone/app")).await?;
    if r.status() != StatusCode::SEE_OTHER {
        return Err(format!("launch answered {}", r.status()));
    }
    let authorize = location(&r);
    if !authorize.starts_with(&ehr_origin) {
        let r = b
            .get(format!("{base}{authorize}"))
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let json: serde_json::Value = r.json().await.map_err(|e| e.to_string())?;
        return Err(format!("launch failed at discovery: {}", json["diagnoses"]));
    }
    let r = get(authorize).await?;
    let r = get(location(&r)).await?;
    if r.status() != StatusCode::SEE_OTHER {
        return Err(format!("callback answered {}", r.status()));
    }
    let r = b
        .get(format!("{base}{}", location(&r)))
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| e.to_string())?;
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
    // The default timeout: a thousand browsers at once on two cores is slow in a debug build.
    let app = TestApp::start(Setup {
        extra_toml: "launch_rate_limit_per_minute = 0".into(),
        http_timeout_secs: 15,
        ..Setup::new(Auth::None)
    })
    .await;
    let origin = app.ehr.origin.as_str().trim_end_matches('/').to_string();
    let tasks: Vec<_> = (0..LAUNCHES)
        .map(|_| tokio::spawn(one_launch(app.base.clone(), origin.clone())))
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
    assert_eq!(app.state.sessions.session_count().await, LAUNCHES);
}
