//! A launch whose browser never comes back (the commonest real failure: a redirect URI the EHR
//! refuses). It is stored at `/launch`, so it is listed in `/launches` and in the support view
//! (found by the `/launch` request's id) with its transcript and authorization request even with
//! no discovery cache at all; once `never_returned_after_seconds` have passed it is settled as
//! `authorize.never_returned`, and counted once in the metrics however often it is read and
//! however many instances share the store. Time is a manual clock: tests advance it.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header;
use serde_json::Value;
use smart_launch_doctor::flow::settle::Settler;
use smart_launch_doctor::metrics::Metrics;
use smart_launch_doctor::monitor::{Clock, ManualClock};
use smart_launch_doctor::record::Outcome;
use smart_launch_doctor::smart::Step;

use crate::support::{Auth, Setup, TestApp, browser, diagnosis_ids, location};

const TOKEN: &str = "support-token-for-never-returned-01";
const WAIT: Duration = Duration::from_secs(60);
/// The wait exactly: launches are stamped with the configured (manual) clock, so no slack
/// for real time passing is needed.
const PAST: Duration = WAIT;

fn clock_now() -> ManualClock {
    ManualClock::new(time::OffsetDateTime::now_utc().unix_timestamp() * 1000)
}

/// An app with metrics, the support view (token in `var`) and a one-minute wait, on `clock`.
async fn app(var: &str, extra: &str, clock: &ManualClock) -> TestApp {
    // SAFETY: nextest runs every test in its own process; the variables are this test's own.
    unsafe {
        std::env::set_var(var, TOKEN);
        std::env::set_var("SLD_TEST_SEALING_KEY_NR", "ef".repeat(32));
    }
    TestApp::start(Setup {
        extra_toml: format!(
            "metrics = true\nadmin_token_env = \"{var}\"\nsealing_key_env = \"SLD_TEST_SEALING_KEY_NR\"\ndiscovery_cache_seconds = 1\nnever_returned_after_seconds = {}\n{extra}",
            WAIT.as_secs()
        ),
        clock: Clock::Manual(clock.clone()),
        ..Setup::new(Auth::None)
    })
    .await
}

/// Starts a standalone launch in `b` and never follows the redirect: (launch id, the `/launch`
/// request's id, where the browser was sent).
async fn abandoned_launch(app: &TestApp, b: &reqwest::Client) -> (String, String, String) {
    let r = b.get(app.url("/standalone/app")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let request_id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    let authorize = location(&r);
    // Discovery's cached answer expires (`discovery_cache_seconds = 1`, without the wait).
    app.state.discovery.expire_all();
    let (_, list) = json(b, &app.url("/launches"), None).await;
    let id = list["launches"][0]["id"].as_str().unwrap().to_string();
    (id, request_id, authorize)
}

async fn json(b: &reqwest::Client, url: &str, bearer: Option<&str>) -> (StatusCode, Value) {
    let mut req = b.get(url).header(header::ACCEPT, "application/json");
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    (r.status(), r.json().await.unwrap())
}

/// The support view's row for `request_id`, and its page as JSON.
async fn support(app: &TestApp, request_id: &str) -> (Value, Value) {
    let b = browser();
    let (status, list) = json(
        &b,
        &app.url(&format!("/admin/launches?request_id={request_id}")),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list:#}");
    let rows = list["launches"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "found by the /launch request's id: {list:#}");
    let row = rows[0].clone();
    let (status, page) = json(&b, &app.url(row["href"].as_str().unwrap()), Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{page:#}");
    (row, page)
}

/// The sum of `name`'s samples whose labels include every one of `labels`.
fn counted(metrics: &Metrics, name: &str, labels: &[&str]) -> f64 {
    let text = metrics.render().unwrap();
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn never_returned_counted(app: &Metrics) -> (f64, f64) {
    (
        counted(
            app,
            "sld_launches_finished_total",
            &["outcome=\"error\"", "step=\"authorize\""],
        ),
        counted(
            app,
            "sld_diagnoses_total",
            &["id=\"authorize.never_returned\""],
        ),
    )
}

fn assert_shows_discovery_and_authorize(what: &str, record: &Value, authorize: &str) {
    let transcript = record["transcript"].as_array().unwrap();
    assert!(
        transcript.iter().any(|x| x["step"] == "discovery"),
        "{what}: the discovery transcript is kept: {record:#}"
    );
    assert!(
        record["endpoints"]["authorization_endpoint"]
            .as_str()
            .is_some_and(|e| authorize.starts_with(e)),
        "{what}: {record:#}"
    );
    let shown = record["authorize_url"].as_str().unwrap_or_else(|| {
        transcript
            .iter()
            .find(|x| x["step"] == "authorize")
            .and_then(|x| x["url"].as_str())
            .unwrap_or_else(|| panic!("{what}: no authorization request: {record:#}"))
    });
    assert!(shown.contains("state=%5Bnot+kept%5D"), "{what}: {shown}");
    let state = crate::support::query_value(authorize, "state");
    assert!(
        !record.to_string().contains(&state),
        "{what}: the state is never kept"
    );
}

#[tokio::test]
async fn a_launch_that_never_returns_is_listed_found_by_request_id_and_counted_once() {
    let clock = clock_now();
    let app = app("SLD_TEST_ADMIN_NR_A", "", &clock).await;
    let b = browser();
    let (id, request_id, authorize) = abandoned_launch(&app, &b).await;

    // Waiting: listed, found by request id, with its transcript and authorization request,
    // although discovery's cached answer has expired.
    let (row, page) = support(&app, &request_id).await;
    assert_eq!(row["outcome"], "pending", "{row:#}");
    assert_eq!(row["id"], id.as_str());
    assert_shows_discovery_and_authorize("support, waiting", &page, &authorize);
    let (_, mine) = json(&b, &app.url(&format!("/launches/{id}")), None).await;
    assert_eq!(mine["request_id"], request_id.as_str(), "{mine:#}");
    assert_shows_discovery_and_authorize("result page, waiting", &mine, &authorize);
    assert_eq!(never_returned_counted(&app.state.metrics), (0.0, 0.0));

    // Past the wait: settled once, on read (or by the sweeper, whichever comes first).
    clock.advance(PAST);
    for _ in 0..3 {
        let (_, list) = json(&b, &app.url("/launches"), None).await;
        assert_eq!(list["launches"][0]["outcome"], "error", "{list:#}");
        assert_eq!(list["launches"][0]["step"], "authorize", "{list:#}");
        assert!(
            list["launches"][0]["diagnoses"]
                .to_string()
                .contains("authorize.never_returned"),
            "{list:#}"
        );
        let (row, page) = support(&app, &request_id).await;
        assert_eq!(row["outcome"], "error", "{row:#}");
        assert!(diagnosis_ids(&page).contains(&"authorize.never_returned".to_string()));
        assert_shows_discovery_and_authorize("support, settled", &page, &authorize);
        let (_, mine) = json(&b, &app.url(&format!("/launches/{id}")), None).await;
        assert_eq!(mine["outcome"], "error");
        assert_shows_discovery_and_authorize("result page, settled", &mine, &authorize);
        app.state.settler.settle_overdue().await.unwrap();
    }
    assert_eq!(
        never_returned_counted(&app.state.metrics),
        (1.0, 1.0),
        "counted once"
    );
}

#[tokio::test]
async fn the_sweeper_settles_a_launch_nobody_reads() {
    let clock = clock_now();
    let app = app("SLD_TEST_ADMIN_NR_B", "", &clock).await;
    let (id, _, _) = abandoned_launch(&app, &browser()).await;
    let settler = &app.state.settler;
    // Its first tick runs at start; the next is a quarter of the wait later.
    tokio::time::timeout(Duration::from_secs(10), settler.wait_ticks(1))
        .await
        .unwrap();
    clock.advance(PAST);
    tokio::time::timeout(Duration::from_secs(10), settler.wait_ticks(2))
        .await
        .expect("the sweeper ticked");
    assert_eq!(settler.settled_count(), 1);
    assert_eq!(never_returned_counted(&app.state.metrics), (1.0, 1.0));
    let stored = app.state.store.launch(&id).await.unwrap().unwrap();
    assert!(
        stored
            .diagnoses()
            .iter()
            .any(|d| d.id().as_str() == "authorize.never_returned"),
        "written back to the store"
    );
}

#[tokio::test]
async fn a_callback_after_settlement_replaces_the_settled_record() {
    let clock = clock_now();
    let app = app("SLD_TEST_ADMIN_NR_C", "", &clock).await;
    let b = browser();
    let (id, launch_request, authorize) = abandoned_launch(&app, &b).await;
    clock.advance(PAST);
    assert_eq!(app.state.settler.settle_overdue().await.unwrap(), 1);
    // The browser comes back after all: its result wins.
    let r = b.get(&authorize).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND, "authorize");
    let r = b.get(location(&r)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "callback");
    let callback_request = r.headers()["x-request-id"].to_str().unwrap().to_string();
    let (_, result) = json(&b, &app.url(&format!("/launches/{id}")), None).await;
    assert_eq!(result["outcome"], "success", "{result:#}");
    // Support still finds it by the `/launch` request's id, and by the callback's.
    assert_ne!(launch_request, callback_request);
    for request_id in [&launch_request, &callback_request] {
        let (row, page) = support(&app, request_id).await;
        assert_eq!(
            (&row["id"], &row["outcome"]),
            (&id.as_str().into(), &"success".into())
        );
        assert_eq!(page["request_id"], callback_request.as_str(), "{page:#}");
        assert_eq!(
            page["request_ids"],
            serde_json::json!([callback_request, launch_request]),
            "{page:#}"
        );
    }
    assert_eq!(app.state.settler.settle_overdue().await.unwrap(), 0);
    assert_eq!(
        never_returned_counted(&app.state.metrics).1,
        1.0,
        "counted when it settled"
    );
}

#[tokio::test]
async fn a_read_settles_an_overdue_launch() {
    let clock = clock_now();
    let app = app("SLD_TEST_ADMIN_NR_I", "", &clock).await;
    let (id, _, _) = abandoned_launch(&app, &browser()).await;
    // A reader (another instance) whose clock is past the wait, while the app's sweeper waits.
    let later = ManualClock::new(clock.now_ms());
    later.advance(PAST);
    let mut config = app.state.config.clone();
    config.monitor.clock = Clock::Manual(later);
    let core = smart_launch_doctor::state::Core::new(config).unwrap();
    let reader = Settler::new(core.clone(), app.state.store.clone());
    let read = app
        .state
        .store
        .launches(std::slice::from_ref(&id))
        .await
        .unwrap();
    assert_eq!(read[0].outcome(), Outcome::Pending);
    for _ in 0..3 {
        let now = reader.on_read(read.clone()).await;
        assert_eq!(now[0].outcome(), Outcome::Error, "settled on read");
        assert_eq!(now[0].step(), Step::Authorize);
    }
    assert_eq!(reader.settled_count(), 1);
    assert_eq!(never_returned_counted(&core.metrics), (1.0, 1.0));
    assert_eq!(never_returned_counted(&app.state.metrics), (0.0, 0.0));
}

#[tokio::test]
async fn a_launch_that_came_back_is_never_settled() {
    let clock = clock_now();
    let app = app("SLD_TEST_ADMIN_NR_H", "", &clock).await;
    let b = browser();
    let (id, _, authorize) = abandoned_launch(&app, &b).await;
    let r = b.get(&authorize).send().await.unwrap();
    let r = b.get(location(&r)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "callback");
    clock.advance(PAST);
    assert_eq!(app.state.settler.settle_overdue().await.unwrap(), 0);
    let (_, result) = json(&b, &app.url(&format!("/launches/{id}")), None).await;
    assert_eq!(result["outcome"], "success", "{result:#}");
    assert_eq!(never_returned_counted(&app.state.metrics), (0.0, 0.0));
}

/// Two instances sharing one store, each reading and settling at once: counted once in all.
async fn two_instances_count_it_once(store: &str, vars: [&str; 2]) {
    let clock = clock_now();
    let extra = format!("session_store = \"{store}\"");
    let a = app(vars[0], &extra, &clock).await;
    let b = app(vars[1], &extra, &clock).await;
    let (id, request_id, authorize) = abandoned_launch(&a, &browser()).await;
    let (row, _) = support(&b, &request_id).await;
    assert_eq!(
        row["outcome"], "pending",
        "the other instance lists it: {row:#}"
    );
    clock.advance(PAST);
    let (x, y, _, _) = tokio::join!(
        a.state.settler.settle_overdue(),
        b.state.settler.settle_overdue(),
        support(&a, &request_id),
        support(&b, &request_id),
    );
    assert!(x.unwrap() + y.unwrap() <= 1);
    for app in [&a, &b, &a, &b] {
        let (row, page) = support(app, &request_id).await;
        assert_eq!(row["outcome"], "error", "{row:#}");
        assert_eq!(row["id"], id.as_str());
        assert_shows_discovery_and_authorize("support, settled", &page, &authorize);
        app.state.settler.settle_overdue().await.unwrap();
    }
    let (fa, da) = never_returned_counted(&a.state.metrics);
    let (fb, db) = never_returned_counted(&b.state.metrics);
    assert_eq!((fa + fb, da + db), (1.0, 1.0), "a: {fa}/{da}, b: {fb}/{db}");
    assert_eq!(
        a.state.settler.settled_count() + b.state.settler.settled_count(),
        1
    );
}

#[tokio::test]
async fn two_instances_on_one_sqlite_file_count_it_once() {
    let dir = std::env::temp_dir().join(format!("sld-never-returned-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("store.db");
    let _ = std::fs::remove_file(&db);
    let url = format!("sqlite://{}", db.display());
    two_instances_count_it_once(&url, ["SLD_TEST_ADMIN_NR_D", "SLD_TEST_ADMIN_NR_E"]).await;
}

#[tokio::test]
#[ignore = "needs redis-server: tests/run.sh installs it"]
async fn two_instances_on_one_redis_count_it_once() {
    let (_redis, url) = crate::sessions::redis().await;
    two_instances_count_it_once(&url, ["SLD_TEST_ADMIN_NR_F", "SLD_TEST_ADMIN_NR_G"]).await;
}

/// The support list and `/launches` both show when a launch started (not when it was settled),
/// in the page and in JSON.
#[tokio::test]
async fn the_support_list_and_launches_show_the_start_time_of_a_settled_launch() {
    use smart_launch_doctor::diagnosis::assess::format_time;
    let clock = clock_now();
    let app = app("SLD_TEST_ADMIN_NR_T", "", &clock).await;
    let b = browser();
    let (id, request_id, _) = abandoned_launch(&app, &b).await;
    clock.advance(PAST);
    let (_, mine) = json(&b, &app.url("/launches"), None).await;
    let mine = &mine["launches"][0];
    assert_eq!(mine["outcome"], "error", "settled: {mine:#}");
    let started = mine["started_at"].as_i64().unwrap();
    let finished = mine["finished_at"].as_i64().unwrap();
    assert!(finished >= started + 60, "{mine:#}");
    let (row, _) = support(&app, &request_id).await;
    assert_eq!(row["id"], id.as_str());
    assert_eq!(row["time"], started, "{row:#}");
    assert_eq!(row["started_at"], started, "{row:#}");
    assert_eq!(row["finished_at"], finished, "{row:#}");
    // The pages: the support list's Started column, the launches list's start time.
    let shown = |t: i64| format_time(t).split_once(' ').unwrap().1.to_string();
    let admin = b
        .get(app.url("/admin/launches"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(admin.contains("<th scope=\"col\">Started</th>"), "{admin}");
    assert!(admin.contains(&shown(started)), "{admin}");
    assert!(!admin.contains(&shown(finished)), "{admin}");
    let page = b
        .get(app.url("/launches"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("Started {}", format_time(started))),
        "{page}"
    );
}
