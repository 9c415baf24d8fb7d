//! `cargo bench --bench slow_ehr`: the wall time of complete launches against a local EHR that
//! answers every request in 100 ms, next to the limit no client can beat (authorize + token + one
//! round of the reads after the token, all at once: 3 × 100 ms), and the CPU a launch costs.
//! Everything runs in this process on 127.0.0.1: the app on the real router, the fake EHR behind
//! a layer that holds each answer 100 ms, and a browser-like client per launch.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/cpu.rs"]
mod common_cpu;
use common_cpu::cpu;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::middleware::{self, Next};
use smart_launch_doctor::config::Config;
use smart_launch_doctor::practice::{self, ClientAuth, PracticeClient, PracticeOptions};
use smart_launch_doctor::{AppState, app};

/// How long the EHR takes to answer anything.
const EHR_LATENCY: Duration = Duration::from_millis(100);
/// Launches measured (after one that warms the caches).
const LAUNCHES: usize = 40;

async fn slow(req: Request, next: Next) -> axum::response::Response {
    tokio::time::sleep(EHR_LATENCY).await;
    next.run(req).await
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no Location on {}", r.status()))
}

/// One complete launch as a browser makes it: the app's launch, the EHR's authorize, the app's
/// callback (token exchange and everything after it), the result page.
async fn launch(base: &str) -> Duration {
    let b = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let started = Instant::now();
    let r = b
        .get(format!("{base}/standalone/app"))
        .send()
        .await
        .unwrap();
    let r = b.get(location(&r)).send().await.unwrap();
    let r = b.get(location(&r)).send().await.unwrap();
    assert_eq!(r.status(), 303, "the callback redirects to the result");
    let r = b
        .get(format!("{base}{}", location(&r)))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    let json: serde_json::Value = r.json().await.unwrap();
    assert_eq!(json["outcome"], "success", "{}", json["diagnoses"]);
    took
}

#[tokio::main]
async fn main() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let base = format!("http://127.0.0.1:{}", addr.port());
    let options = PracticeOptions {
        clients: vec![PracticeClient {
            client_id: "bench".into(),
            auth: ClientAuth::None,
            redirect_uris: vec![format!("{base}/callback")],
        }],
        ..PracticeOptions::default()
    };
    let ehr = practice::spawn_with(options, |r| r.layer(middleware::from_fn(slow)))
        .await
        .unwrap();
    let toml = format!(
        "public_url = \"{base}\"\npractice_ehr = false\nlaunch_rate_limit_per_minute = 0\n[[registration]]\nid = \"app\"\niss = \"{}\"\nclient_id = \"bench\"\nscope = \"launch openid fhirUser patient/*.read\"\nstandalone_scope = \"launch/patient openid fhirUser patient/*.read\"\n",
        ehr.fhir_base()
    );
    let config = Config::from_toml(&toml, "bench", addr).unwrap();
    let state = AppState::new(config).unwrap();
    let router = app(state);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    // The first launch fills the discovery and JWKS caches, as a running server has them.
    launch(&base).await;

    let cpu_before = cpu();
    let mut walls = Vec::with_capacity(LAUNCHES);
    for _ in 0..LAUNCHES {
        walls.push(launch(&base).await);
    }
    let cpu_per_launch = (cpu() - cpu_before) / LAUNCHES as u32;
    walls.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let median = walls[LAUNCHES / 2];
    let limit = EHR_LATENCY * 3;
    let requests_per_launch = ehr.ehr.requests().len() / (LAUNCHES + 1);
    println!(
        "complete launch, EHR answering in {} ms ({LAUNCHES} launches, one at a time)",
        EHR_LATENCY.as_millis()
    );
    println!(
        "  median wall time          {:>8.1} ms   (p10 {:.1}, p90 {:.1})",
        ms(median),
        ms(walls[LAUNCHES / 10]),
        ms(walls[LAUNCHES * 9 / 10])
    );
    println!(
        "  limit                     {:>8.1} ms   (authorize + token + one round of reads)",
        ms(limit)
    );
    println!(
        "  ratio                     {:>8.2}     (target ≤ 1.15)",
        median.as_secs_f64() / limit.as_secs_f64()
    );
    println!(
        "  CPU per launch            {:>8.1} ms   (app, fake EHR and client in one process)",
        ms(cpu_per_launch)
    );
    println!("  EHR requests per launch   {requests_per_launch:>8}");
}
