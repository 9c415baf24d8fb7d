//! One launch, one verdict: for every gallery entry, run through the app as a browser would, the
//! result page's title and step bar, its JSON twin, the `/launches` row (HTML and JSON), the
//! support view (list and launch, HTML and JSON) and the `sld_launches_finished_total` sample
//! that was counted (exactly once) all say the same outcome, step and headline. A launch that
//! never returns is judged on the app's clock (a manual one: no sleeps), and a refresh that
//! fails after a successful launch keeps the success.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use smart_launch_doctor::config::Config;
use smart_launch_doctor::gallery::{self, Entry};
use smart_launch_doctor::monitor::{Clock, ManualClock};
use smart_launch_doctor::smart::net_policy::Loopback;
use smart_launch_doctor::{AppState, app};

use crate::support::practice_app::{csrf_of, hidden};
use crate::support::{browser, location};

const ADMIN_VAR: &str = "SLD_TEST_AGREEMENT_ADMIN";
const ADMIN_TOKEN: &str = "support-token-for-the-agreement-test";
const NEVER_RETURNED_AFTER: u64 = 60;

/// The practice app with metrics, the support view and `clock` as its clock.
async fn serve(clock: &ManualClock) -> (String, AppState) {
    // SAFETY: nextest runs every test in its own process; the variable is this test's own.
    unsafe { std::env::set_var(ADMIN_VAR, ADMIN_TOKEN) };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let toml = format!(
        "public_url = \"{base}\"\npractice_ehr = true\nlaunch_rate_limit_per_minute = 0\nhttp_timeout_seconds = 2\nmetrics = true\nadmin_token_env = \"{ADMIN_VAR}\"\nnever_returned_after_seconds = {NEVER_RETURNED_AFTER}\n"
    );
    let mut config = Config::from_toml(&toml, "test", addr).unwrap();
    // Outbound connections bound to lo: the internal-address entry cannot leave this machine.
    config.loopback = Loopback::TestPublic127001;
    config.monitor.clock = Clock::Manual(clock.clone());
    // The callback waits for the final record (the silent token endpoint gives up after 2 s):
    // every view is read after the launch finished, and so was the metric counted.
    config.waiting_page_after = Duration::from_secs(30);
    let state = AppState::new(config).unwrap();
    let router = app(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, state)
}

/// Runs `entry` as the gallery test does; returns the launch's id (this browser's only one).
async fn run(b: &reqwest::Client, base: &str, entry: &Entry) -> String {
    let csrf = csrf_of(b, base, "/gallery").await;
    let r = b
        .post(format!("{base}/gallery/{}", entry.id))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", entry.id);
    if !entry.backend {
        let r = b.get(location(&r)).send().await.unwrap();
        if entry.foreign_redirect {
            // The EHR refuses to redirect to an unregistered URI: the browser never comes back.
            assert!(r.status().is_client_error(), "{}", entry.id);
        } else {
            let html = r.text().await.unwrap();
            let prefix = if entry.sloppy {
                "/practice-sloppy"
            } else {
                "/practice"
            };
            let r = b
                .post(format!("{base}{prefix}/auth/login"))
                .form(&[
                    ("pending", hidden(&html, "pending").as_str()),
                    ("decision", "approve"),
                ])
                .send()
                .await
                .unwrap();
            let r = b.get(location(&r)).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}: callback", entry.id);
        }
    }
    let list = get_json(b, &format!("{base}/launches")).await;
    let launches = list["launches"].as_array().unwrap();
    assert_eq!(launches.len(), 1, "{}: {list:#}", entry.id);
    let id = launches[0]["id"].as_str().unwrap().to_string();
    if entry.faults.refresh_reject {
        let page = get_text(b, &format!("{base}/launches/{id}")).await;
        let r = b
            .post(format!("{base}/launches/{id}/refresh"))
            .form(&[("csrf", hidden(&page, "csrf").as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}: refresh", entry.id);
    }
    id
}

async fn get_json(b: &reqwest::Client, url: &str) -> Value {
    let r = b.get(url).header("accept", "application/json").send().await;
    let r = r.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{url}");
    r.json().await.unwrap()
}

async fn get_text(b: &reqwest::Client, url: &str) -> String {
    let r = b.get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{url}");
    r.text().await.unwrap()
}

async fn admin(url: &str, json: bool) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(url).bearer_auth(ADMIN_TOKEN);
    if json {
        req = req.header("accept", "application/json");
    }
    req.send().await.unwrap()
}

/// Text as the templates escape it, `<wbr>` left out.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The text between `start` (exclusive) and the next `end` after it, `<wbr>` removed.
fn between(html: &str, start: &str, end: &str) -> Option<String> {
    let from = html.find(start)? + start.len();
    let len = html[from..].find(end)?;
    Some(html[from..from + len].replace("<wbr>", ""))
}

/// What one view says about a launch.
#[derive(Debug, PartialEq)]
struct Verdict {
    outcome: String,
    step: String,
    title: String,
}

fn from_json(v: &Value) -> Verdict {
    Verdict {
        outcome: v["outcome"].as_str().unwrap_or_default().into(),
        step: v["step"].as_str().unwrap_or_default().into(),
        title: v["title"].as_str().unwrap_or_default().into(),
    }
}

/// A table row's verdict: the row holding `href`, its Outcome and Step cells and its title.
fn from_row(html: &str, href: &str) -> Verdict {
    let row = between(html, &format!("href=\"{href}\""), "</tr>")
        .unwrap_or_else(|| panic!("no row for {href} in {html}"));
    let cell = |label: &str| between(&row, &format!("data-label=\"{label}\">"), "<").unwrap();
    Verdict {
        outcome: cell("Outcome"),
        step: cell("Step"),
        title: between(&row, "<span class=\"row-title\">", "</span>").unwrap(),
    }
}

/// The ids a table row's Diagnoses cell names (notes included), in order.
fn row_ids(html: &str, href: &str) -> Vec<String> {
    let row = between(html, &format!("href=\"{href}\""), "</tr>").unwrap();
    let cell = between(&row, "data-label=\"Diagnoses\">", "</td>").unwrap();
    let mut text = String::new();
    let mut in_tag = false;
    for c in cell.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("note:", ",")
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The ids of a JSON `diagnoses` array (of ids, or of diagnoses).
fn json_ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().or(d["id"].as_str()).unwrap().to_string())
        .collect()
}

fn escaped(v: Verdict) -> Verdict {
    Verdict {
        title: esc(&v.title),
        ..v
    }
}

/// The result page's step bar as (step, class) pairs.
fn step_bar(html: &str) -> Vec<(String, String)> {
    let bar = between(html, "<ol class=\"timeline\"", "</ol>").unwrap();
    bar.split("<li class=\"step-")
        .skip(1)
        .map(|li| {
            let class = li.split('"').next().unwrap().to_string();
            (between(li, "<span>", "</span>").unwrap(), class)
        })
        .collect()
}

/// The JSON twin's steps as the page's classes (skipped steps are not shown).
fn steps_as_classes(json: &Value) -> Vec<(String, String)> {
    json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] != "skipped")
        .map(|s| {
            let class = match s["status"].as_str().unwrap() {
                "passed" => "done",
                "failed" => "failed",
                "pending" => "current",
                "warned" => "warned",
                _ => "not-reached",
            };
            (s["step"].as_str().unwrap().to_string(), class.to_string())
        })
        .collect()
}

/// The `sld_launches_finished_total` samples of `registration`: (outcome, step, count).
fn counted(metrics: &str, registration: &str) -> Vec<(String, String, f64)> {
    let scrape = prometheus_parse::Scrape::parse(metrics.lines().map(|l| Ok(l.to_string())));
    scrape
        .unwrap()
        .samples
        .into_iter()
        .filter(|s| {
            s.metric == "sld_launches_finished_total"
                && s.labels.get("registration") == Some(registration)
        })
        .map(|s| {
            let n = match s.value {
                prometheus_parse::Value::Counter(n) | prometheus_parse::Value::Untyped(n) => n,
                _ => 0.0,
            };
            let label = |k: &str| s.labels.get(k).unwrap_or_default().to_string();
            (label("outcome"), label("step"), n)
        })
        .collect()
}

/// Every view of launch `id` agrees with its JSON twin; returns the twin.
async fn agree(b: &reqwest::Client, base: &str, id: &str, entry: &Entry) -> Value {
    let who = entry.id;
    let result = format!("{base}/launches/{id}");
    let json = get_json(b, &result).await;
    let verdict = from_json(&json);
    assert!(!verdict.title.is_empty(), "{who}: {json:#}");
    // The ids every view names, the twin's included: a failed last refresh's, then the launch's.
    let ids = json_ids(&json["diagnoses"]);
    let last_refresh = json["refreshes"].as_array().and_then(|f| f.last());
    if let Some(f) = last_refresh.filter(|f| f["outcome"] == "error") {
        let refresh = json_ids(&f["diagnoses"]);
        assert!(!refresh.is_empty(), "{who}: a failed refresh names why");
        assert_eq!(ids[..refresh.len()], refresh[..], "{who}: twin ids");
    }

    // The result page: its title, its outcome and its step bar.
    let page = get_text(b, &result).await;
    let h1 = between(&page, "<h1>", "</h1>").unwrap();
    assert_eq!(h1, esc(&verdict.title), "{who}: page title");
    let section = format!("<section class=\"headline outcome-{}\"", verdict.outcome);
    assert!(page.contains(&section), "{who}: page outcome");
    assert_eq!(step_bar(&page), steps_as_classes(&json), "{who}: step bar");

    // This browser's list, as JSON and as a page.
    let list = get_json(b, &format!("{base}/launches")).await;
    let item = &list["launches"][0];
    assert_eq!(from_json(item), verdict, "{who}: /launches JSON");
    assert_eq!(
        json_ids(&item["diagnoses"]),
        ids,
        "{who}: /launches JSON ids"
    );
    let rows = get_text(b, &format!("{base}/launches")).await;
    let href = format!("/launches/{id}");
    assert_eq!(row_ids(&rows, &href), ids, "{who}: /launches row ids");
    assert_eq!(
        from_row(&rows, &href),
        escaped(from_json(&json)),
        "{who}: /launches row"
    );

    // The support view: the list and the launch, as JSON and as pages.
    let list = admin(&format!("{base}/admin/launches"), true).await;
    let list: Value = list.json().await.unwrap();
    let row = list["launches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id);
    let row = row.unwrap_or_else(|| panic!("{who}: not in the support view: {list:#}"));
    assert_eq!(from_json(row), verdict, "{who}: support list JSON");
    assert_eq!(
        json_ids(&row["diagnoses"]),
        ids,
        "{who}: support list JSON ids"
    );
    let html = admin(&format!("{base}/admin/launches"), false).await;
    let html = html.text().await.unwrap();
    let href = format!("/admin/launches/{id}");
    assert_eq!(
        from_row(&html, &href),
        escaped(from_json(&json)),
        "{who}: support row"
    );
    assert_eq!(row_ids(&html, &href), ids, "{who}: support row ids");
    let one = admin(&format!("{base}{href}"), true).await;
    let one: Value = one.json().await.unwrap();
    assert_eq!(from_json(&one), verdict, "{who}: support launch JSON");
    assert_eq!(
        json_ids(&one["diagnoses"]),
        ids,
        "{who}: support launch ids"
    );
    let page = admin(&format!("{base}{href}"), false).await;
    let page = page.text().await.unwrap();
    assert_eq!(
        between(&page, "<h1>", "</h1>").unwrap(),
        esc(&verdict.title),
        "{who}"
    );
    assert_eq!(
        step_bar(&page),
        steps_as_classes(&json),
        "{who}: support step bar"
    );
    assert_eq!(one["steps"], json["steps"], "{who}: support steps");
    for d in &ids {
        let shown = format!("id=\"d-{d}\"");
        assert!(
            page.contains(&shown),
            "{who}: support launch page lacks {d}"
        );
    }
    json
}

#[tokio::test]
async fn every_view_and_the_metric_agree_for_every_gallery_entry() {
    let clock = ManualClock::new(time::OffsetDateTime::now_utc().unix_timestamp() * 1000);
    let (base, _state) = serve(&clock).await;
    // The launches that never return go last: the clock moves forward for them.
    let (never, back): (Vec<Entry>, Vec<Entry>) = gallery::entries()
        .into_iter()
        .partition(|e| e.foreign_redirect);
    assert!(!never.is_empty() && back.iter().any(|e| e.faults.refresh_reject));
    let mut seen = Vec::new();
    for entry in &back {
        let b = browser();
        let id = run(&b, &base, entry).await;
        let json = agree(&b, &base, &id, entry).await;
        if entry.faults.refresh_reject {
            assert_eq!(json["outcome"], "success", "{json:#}");
            assert_eq!(
                json["title"],
                "Launch succeeded; the last token refresh failed"
            );
            let line = get_json(&b, &format!("{base}/launches")).await;
            let ids = json_ids(&line["launches"][0]["diagnoses"]);
            assert!(ids.iter().any(|i| i == "refresh.rejected"), "{ids:?}");
            let refresh = json["steps"].as_array().unwrap().last().unwrap().clone();
            assert_eq!(
                refresh,
                serde_json::json!({"step": "refresh", "status": "failed"})
            );
        }
        seen.push((entry.id, json));
    }
    let mut pending = Vec::new();
    for entry in &never {
        let b = browser();
        let id = run(&b, &base, entry).await;
        let json = get_json(&b, &format!("{base}/launches/{id}")).await;
        assert_eq!(json["outcome"], "pending", "{}: {json:#}", entry.id);
        pending.push((entry, b, id));
    }
    // The launches were stamped with the configured clock: the wait on it, and they are late.
    clock.advance(Duration::from_secs(NEVER_RETURNED_AFTER));
    for (entry, b, id) in &pending {
        let json = agree(b, &base, id, entry).await;
        assert_eq!(
            (&json["outcome"], &json["step"]),
            (&"error".into(), &"authorize".into())
        );
        let text = json.to_string();
        assert!(
            text.contains("\"id\":\"authorize.never_returned\""),
            "{json:#}"
        );
        // The authorization request stays in its transcript.
        assert!(
            json["transcript"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["step"] == "authorize")
        );
    }

    // Each finished launch was counted once, with the outcome and step every view shows.
    let metrics = get_text(&browser(), &format!("{base}/metrics")).await;
    for (entry, json) in &seen {
        let registration = json["registration"]["id"].as_str().unwrap();
        let want = vec![(
            json["outcome"].as_str().unwrap().to_string(),
            json["step"].as_str().unwrap().to_string(),
            1.0,
        )];
        assert_eq!(counted(&metrics, registration), want, "{entry}: {metrics}");
    }
    for (entry, _, _) in &pending {
        // Counted once, when the launch store settled it.
        let registration = format!("gallery-{}", entry.id);
        let got = counted(&metrics, &registration);
        assert_eq!(
            got,
            [("error".into(), "authorize".into(), 1.0)],
            "{}: {metrics}",
            entry.id
        );
    }
}
