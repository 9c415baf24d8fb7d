//! `cargo bench --bench launch`: throughput and latency of the launch path next to `/healthz`
//! measured in the same run at 16 connections, in alternating rounds (the ratio is the figure
//! that travels between machines), resident memory per live *launch* session (40,000 EHR
//! launches, each from a new browser, each leaving a pending launch in its session), and how many
//! discovery and JWKS fetches the caches let through. Each row also gives the CPU time this
//! process spent per request (app, fake EHR and client together; the client, reqwest, does more
//! per `/launch`: it resolves each 303's `Location` as a URL even with redirects off), which
//! other work on the machine does not change the way it changes req/s. Everything runs in this
//! process on 127.0.0.1: the app and the fake EHR, on the real router and the default (memory)
//! store, given `memory_store_max_mb = 1024` so that every pending launch of the run (60,000; a
//! quarter of the budget holds pending launches) is kept and counted. Session data is one compact
//! string, so serde_json's `preserve_order` (turned on here by a dev-dependency, off in release
//! builds of the binary) does not change what a session costs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/cpu.rs"]
mod common_cpu;
use common_cpu::cpu;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use smart_launch_doctor::config::Config;
use smart_launch_doctor::practice::{self, ClientAuth, PracticeClient, PracticeOptions};
use smart_launch_doctor::{AppState, app};
use tokio::sync::Semaphore;

struct Figures {
    rps: f64,
    p50: Duration,
    p99: Duration,
    /// CPU time of this process per call.
    cpu: Duration,
}

/// Calls made, their latencies, and the wall and CPU time they took together.
#[derive(Default)]
struct Run {
    latencies: Vec<Duration>,
    wall: Duration,
    cpu: Duration,
}

impl Run {
    fn figures(mut self) -> Figures {
        let n = self.latencies.len();
        self.latencies.sort();
        let pick = |q: f64| self.latencies[((n as f64 - 1.0) * q) as usize];
        Figures {
            rps: n as f64 / self.wall.as_secs_f64(),
            p50: pick(0.50),
            p99: pick(0.99),
            cpu: self.cpu / n as u32,
        }
    }
}

/// Runs `n` calls of `f` with `concurrency` in flight, adding them to `run`; every call must
/// succeed.
async fn measure_into<F, Fut>(run: &mut Run, n: usize, concurrency: usize, f: Arc<F>)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let gate = Arc::new(Semaphore::new(concurrency));
    let (started, cpu_before) = (Instant::now(), cpu());
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let (f, gate) = (f.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
            let t = Instant::now();
            f(i).await?;
            Ok::<Duration, String>(t.elapsed())
        }));
    }
    for t in tasks {
        match t.await {
            Ok(Ok(d)) => run.latencies.push(d),
            Ok(Err(e)) => panic!("a request failed: {e}"),
            Err(e) => panic!("a task failed: {e}"),
        }
    }
    run.wall += started.elapsed();
    run.cpu += cpu().saturating_sub(cpu_before);
}

/// Runs `n` calls of `f` with `concurrency` in flight; every call must succeed.
async fn measure<F, Fut>(n: usize, concurrency: usize, f: F) -> Figures
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let mut run = Run::default();
    measure_into(&mut run, n, concurrency, Arc::new(f)).await;
    run.figures()
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn row(name: &str, f: &Figures, base: Option<&Figures>) {
    let ratio = base
        .map(|b| format!("{:>6.2}", f.rps / b.rps))
        .unwrap_or_else(|| "  1.00".into());
    println!(
        "{name:<34} {:>9.0} {:>9.2} {:>9.2} {ratio} {:>9.0}",
        f.rps,
        f.p50.as_secs_f64() * 1e3,
        f.p99.as_secs_f64() * 1e3,
        f.cpu.as_secs_f64() * 1e6
    );
}

fn location(r: &reqwest::Response) -> Result<String, String> {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| format!("no Location on {}", r.status()))
}

#[tokio::main]
async fn main() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let base = format!("http://127.0.0.1:{}", addr.port());
    let ehr = practice::spawn(PracticeOptions {
        clients: vec![PracticeClient {
            client_id: "bench".into(),
            auth: ClientAuth::None,
            redirect_uris: vec![format!("{base}/callback")],
        }],
        faults: Default::default(),
        path_prefix: String::new(),
    })
    .await
    .expect("fake EHR");
    let toml = format!(
        "public_url = \"{base}\"\npractice_ehr = false\nlaunch_rate_limit_per_minute = 0\nmemory_store_max_mb = 1024\n[[registration]]\nid = \"app\"\niss = \"{}\"\nclient_id = \"bench\"\nscope = \"launch openid fhirUser patient/*.read\"\n",
        ehr.fhir_base()
    );
    let config = Config::from_toml(&toml, "bench", addr).expect("config");
    let state = AppState::new(config).expect("state");
    let router = app(state.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let idle = rss_kib();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let launch_code = ehr.ehr.new_launch("patient-1", None);
    let launch_url = format!("{base}/launch?iss={}&launch={launch_code}", ehr.fhir_base());

    // Warm everything once (discovery cache, connections).
    let r = client.get(&launch_url).send().await.expect("warm-up");
    assert_eq!(r.status(), 303, "warm-up launch");

    println!(
        "{:<34} {:>9} {:>9} {:>9} {:>6} {:>9}",
        "route (same run)", "req/s", "p50 ms", "p99 ms", "ratio", "CPU µs"
    );
    // The two routes in alternating rounds of 2,000 requests, 20,000 each: whatever else the
    // machine does during the run weighs on both alike, so their ratio holds still.
    let (c1, u1) = (client.clone(), format!("{base}/healthz"));
    let healthz_call = Arc::new(move |_| {
        let (c, u) = (c1.clone(), u1.clone());
        async move {
            c.get(&u)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    });
    let (c2, u2) = (client.clone(), launch_url.clone());
    let launch_call = Arc::new(move |_| {
        let (c, u) = (c2.clone(), u2.clone());
        async move {
            let r = c.get(&u).send().await.map_err(|e| e.to_string())?;
            if r.status() == 303 {
                Ok(())
            } else {
                Err(format!("launch answered {}", r.status()))
            }
        }
    });
    let (mut healthz, mut launch) = (Run::default(), Run::default());
    for _ in 0..10 {
        measure_into(&mut healthz, 2_000, 16, healthz_call.clone()).await;
        measure_into(&mut launch, 2_000, 16, launch_call.clone()).await;
    }
    let (healthz, launch) = (healthz.figures(), launch.figures());
    row("GET /healthz", &healthz, None);
    row("GET /launch (warm discovery)", &launch, Some(&healthz));
    // Counted now: the fake EHR keeps only its last 1,000 requests, and the flows below add more.
    let discovery = ehr
        .ehr
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("smart-configuration"))
        .count();

    let (b2, e2) = (base.clone(), ehr.origin.to_string());
    let flow = measure(500, 16, move |_| {
        let (base, ehr_origin) = (b2.clone(), e2.clone());
        async move {
            // A new browser per launch, but no TLS roots to load (everything is plain http on
            // loopback): reading the system's certificates cost more CPU than the launch.
            let b = reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .tls_certs_only(Vec::new())
                .build()
                .map_err(|e| e.to_string())?;
            let r = b
                .get(format!("{base}/standalone/app"))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let authorize = location(&r)?;
            if !authorize.starts_with(ehr_origin.trim_end_matches('/')) {
                return Err(format!("launch went to {authorize}"));
            }
            let r = b.get(authorize).send().await.map_err(|e| e.to_string())?;
            let r = b
                .get(location(&r)?)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let r = b
                .get(format!("{base}{}", location(&r)?))
                .header("accept", "application/json")
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let json: serde_json::Value = r.json().await.map_err(|e| e.to_string())?;
            if json["outcome"] == "success" {
                Ok(())
            } else {
                Err(format!("outcome {}", json["diagnoses"]))
            }
        }
    })
    .await;
    row("complete launch (4 requests + EHR)", &flow, Some(&healthz));

    // Memory: live launch sessions, each a new browser whose launch waits for its callback.
    const SESSIONS: usize = 40_000;
    let before = rss_kib();
    let sessions_before = state.sessions.session_count().unwrap_or(0);
    let (c3, u3) = (client.clone(), launch_url.clone());
    measure(SESSIONS, 16, move |_| {
        let (c, u) = (c3.clone(), u3.clone());
        async move {
            let r = c.get(&u).send().await.map_err(|e| e.to_string())?;
            if r.status() == 303 {
                Ok(())
            } else {
                Err(format!("launch answered {}", r.status()))
            }
        }
    })
    .await;
    let after = rss_kib();
    let sessions = state.sessions.session_count().unwrap_or(0) - sessions_before;
    println!();
    println!("idle RSS                             {idle:>9} KiB");
    println!(
        "RSS per live launch session          {:>9} bytes ({sessions} sessions added by {SESSIONS} launches)",
        after.saturating_sub(before) * 1024 / sessions.max(1)
    );
    // Each launch also leaves its pending record in the launch store (counted in the RSS above).
    if let smart_launch_doctor::store::Kind::Memory(m) = &state.store.kind {
        println!(
            "pending launch record (launch store) {:>9} bytes ({} records kept)",
            m.launch_bytes() / m.launch_count().max(1),
            m.launch_count()
        );
    }
    println!(
        "discovery fetches for 20,001 launches {discovery:>8} (one per issuer per cache period)"
    );
    println!(
        "JWKS fetches for 500 id_tokens       {:>9}",
        ehr.ehr.jwks_fetches()
    );
}
