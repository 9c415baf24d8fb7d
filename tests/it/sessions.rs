//! Shared session stores. Redis: a launch started on one instance completes on another (as behind a load
//! balancer), and a store that does not answer gives `session.store_unavailable`, not a 500.
//! Needs `redis-server` (tests/run.sh installs it); ignored by plain `cargo test`.

use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use smart_launch_doctor::AppState;
use smart_launch_doctor::config::Config;
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
pub(crate) async fn redis() -> (Child, String) {
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
    tokio::spawn(smart_launch_doctor::web::listener::serve(
        listener,
        state,
        std::future::pending(),
    ));
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
    let ehr = public_ehr(&format!("http://127.0.0.1:{port}")).await;
    let toml = format!(
        "session_store = \"{dead}\"\n{}",
        config_toml(port, &ehr.fhir_base(), Auth::None, None)
    );
    let base = instance(&toml).await;
    let started = std::time::Instant::now();
    // The home page needs no session; a launch does.
    let home = browser().get(format!("{base}/")).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    let r = browser()
        .get(format!("{base}/standalone/app"))
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

/// Two instances behind one public URL (a load balancer's), sharing Redis, and a fake EHR
/// whose token endpoint answers after `token_hang_secs` (so concurrent callbacks overlap).
struct Pair {
    _redis: Child,
    redis_url: String,
    lb: String,
    a: String,
    b: String,
    ehr: smart_launch_doctor::practice::RunningEhr,
}

async fn pair(token_hang_secs: Option<u64>) -> Pair {
    use smart_launch_doctor::practice::{
        self, ClientAuth, Faults, PracticeClient, PracticeOptions,
    };
    let (redis, redis_url) = redis().await;
    let lb_port = free_port();
    let lb = format!("http://127.0.0.1:{lb_port}");
    let ehr = practice::spawn(PracticeOptions {
        clients: vec![PracticeClient {
            client_id: crate::support::CLIENT_ID.into(),
            auth: ClientAuth::None,
            redirect_uris: vec![format!("{lb}/callback")],
        }],
        faults: Faults {
            token_hang_secs,
            ..Faults::default()
        },
        path_prefix: String::new(),
    })
    .await
    .unwrap();
    let toml = format!(
        "session_store = \"{redis_url}\"\n{}",
        config_toml(lb_port, &ehr.fhir_base(), Auth::None, None)
    );
    let (a, b) = (instance(&toml).await, instance(&toml).await);
    Pair {
        _redis: redis,
        redis_url,
        lb,
        a,
        b,
        ehr,
    }
}

impl Pair {
    /// Starts a standalone launch on `on` and lets the EHR answer; the callback URL (at the
    /// load balancer's address).
    async fn to_callback(&self, browser: &reqwest::Client, on: &str) -> String {
        let r = browser
            .get(format!("{on}/standalone/app"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let r = browser.get(location(&r)).send().await.unwrap();
        location(&r)
    }

    fn token_requests(&self) -> usize {
        self.ehr
            .ehr
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/token"))
            .count()
    }
}

async fn result_json(browser: &reqwest::Client, url: &str) -> serde_json::Value {
    browser
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
#[ignore = "needs redis-server: tests/run.sh installs it"]
async fn six_concurrent_replays_of_one_callback_on_two_instances_make_one_token_request() {
    let p = pair(None).await;
    let browser = browser();
    let callback = p.to_callback(&browser, &p.a).await;
    let replays = (0..6).map(|i| {
        let url = callback.replace(&p.lb, if i % 2 == 0 { &p.a } else { &p.b });
        let browser = browser.clone();
        tokio::spawn(async move {
            browser
                .get(url)
                .header("accept", "application/json")
                .send()
                .await
                .unwrap()
        })
    });
    let mut statuses = Vec::new();
    let mut results = std::collections::HashSet::new();
    for r in replays {
        let r = r.await.unwrap();
        let status = r.status();
        if status == StatusCode::BAD_REQUEST {
            let json: serde_json::Value = r.json().await.unwrap();
            assert_eq!(diagnosis_ids(&json), ["callback.state_reused"], "{json:#}");
        } else {
            // The first, and replays that came once its result was kept: all to that result.
            assert_eq!(status, StatusCode::SEE_OTHER);
            results.insert(location(&r));
        }
        statuses.push(status);
    }
    assert_eq!(results.len(), 1, "{statuses:?} {results:?}");
    assert_eq!(p.token_requests(), 1, "exactly one token request");
}

#[tokio::test]
#[ignore = "needs redis-server: tests/run.sh installs it"]
async fn two_tabs_completing_at_once_on_two_instances_both_keep_their_results() {
    // The token endpoint answers after a second, so both callbacks are in flight together.
    let p = pair(Some(1)).await;
    let browser = browser();
    let first = p.to_callback(&browser, &p.a).await;
    let second = p.to_callback(&browser, &p.b).await;
    let (x, y) = tokio::join!(
        browser.get(first.replace(&p.lb, &p.a)).send(),
        browser.get(second.replace(&p.lb, &p.b)).send(),
    );
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(
        (x.status(), y.status()),
        (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER)
    );
    let (rx, ry) = (location(&x), location(&y));
    assert_ne!(rx, ry);
    for result in [&rx, &ry] {
        for on in [&p.a, &p.b] {
            let json = result_json(&browser, &format!("{on}{result}")).await;
            assert_eq!(json["outcome"], "success", "{on}{result}: {json:#}");
        }
    }
    let list = result_json(&browser, &format!("{}/launches", p.a)).await;
    let outcomes: Vec<&str> = list["launches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["success", "success"], "{list:#}");
}

#[tokio::test]
#[ignore = "needs redis-server: tests/run.sh installs it"]
async fn a_corrupted_session_in_redis_reads_as_a_new_one() {
    let p = pair(None).await;
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let browser = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // A launch left waiting, so the browser has a session; then its stored value is damaged.
    p.to_callback(&browser, &p.a).await;
    let cookies = {
        use reqwest::cookie::CookieStore;
        jar.cookies(&p.a.parse().unwrap()).unwrap()
    };
    let session_id = cookies
        .to_str()
        .unwrap()
        .split("; ")
        .find_map(|c| c.strip_prefix("sld_session="))
        .expect("a session cookie")
        .to_string();
    let out = std::process::Command::new("redis-cli")
        .args(["-u", &p.redis_url, "SET", &session_id, "\u{1}not a session"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    for page in ["/launches", "/", "/launches?format=json"] {
        let r = browser.get(format!("{}{page}", p.b)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{page}");
    }
    // A new launch works, from start to result.
    let callback = p.to_callback(&browser, &p.b).await;
    let r = browser
        .get(callback.replace(&p.lb, &p.a))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let json = result_json(&browser, &format!("{}{}", p.a, location(&r))).await;
    assert_eq!(json["outcome"], "success", "{json:#}");
}
