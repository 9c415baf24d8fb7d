//! The hostile EHR's tools: a listener recording every connection on an address the policy
//! refuses, and every spelling of that address an EHR can hand us. Linux routes all of
//! 127.0.0.0/8 to `lo`, so 127.0.0.2 needs no interface change; the app under test runs with
//! the test seam (`Loopback::TestPublic127001`): 127.0.0.1 public, the rest of 127/8 private.
//!
//! A hostile or slow EHR: layers around the fake EHR's router that replace the answers asked
//! for after the token (FHIR reads, `fhirContext` reads, the style document, introspection) with
//! an 800 KB body of nested arrays, delay them, or never send them. Discovery, authorize, token
//! and the OpenID documents stay as the fake serves them.

use axum::Router;
use axum::extract::Request;
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use smart_launch_doctor::practice::paths;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// A listener on `ip` counting accepted connections (even a bare TCP connect counts). It
/// answers with a body a page must never show, so a broken guard is also visible there.
pub struct Recording {
    pub port: u16,
    accepted: Arc<AtomicUsize>,
}

/// What a [`Recording`] listener answers.
pub const LEAKED: &str = "INSTANCE-METADATA-SECRET";

impl Recording {
    pub async fn on(ip: &str) -> Recording {
        let l = TcpListener::bind((ip, 0)).await.expect("bind recorder");
        let port = l.local_addr().expect("addr").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let body = format!("{{\"secret\":\"{LEAKED}\"}}");
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(format!("{head}{body}").as_bytes()).await;
            }
        });
        Recording { port, accepted }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// The two recorders: 127.0.0.2 (private under the seam) and one on 127.0.0.1 that only the
/// `0` / `0.0.0.0` spellings reach (a connection to 0.0.0.0 lands on 127.0.0.1).
pub struct Targets {
    pub private: Recording,
    pub zero: Recording,
}

impl Targets {
    pub async fn start() -> Targets {
        Targets {
            private: Recording::on("127.0.0.2").await,
            zero: Recording::on("127.0.0.1").await,
        }
    }

    /// Every spelling of the refused addresses, as `(URL as written, address it means)`, each
    /// with `path` appended.
    pub fn spellings(&self, path: &str) -> Vec<(String, &'static str)> {
        let (p, z) = (self.private.port, self.zero.port);
        [
            (format!("http://2130706434:{p}"), "127.0.0.2"),
            (format!("http://0x7f000002:{p}"), "127.0.0.2"),
            (format!("http://0177.0.0.2:{p}"), "127.0.0.2"),
            (format!("http://127.2:{p}"), "127.0.0.2"),
            (format!("http://127.0.0.2.:{p}"), "127.0.0.2"),
            (format!("http://127.0.0.2:{p}"), "127.0.0.2"),
            (
                format!("http://[::ffff:127.0.0.2]:{p}"),
                "127.0.0.2 (inside ::ffff:127.0.0.2)",
            ),
            (
                format!("http://[::127.0.0.2]:{p}"),
                "127.0.0.2 (inside ::7f00:2)",
            ),
            (
                format!("http://[64:ff9b::7f00:2]:{p}"),
                "127.0.0.2 (inside 64:ff9b::7f00:2)",
            ),
            (
                format!("http://[2002:7f00:2::]:{p}"),
                "127.0.0.2 (inside 2002:7f00:2::)",
            ),
            (format!("http://0:{z}"), "0.0.0.0"),
            (format!("http://0.0.0.0:{z}"), "0.0.0.0"),
        ]
        .into_iter()
        .map(|(u, meant)| (u + path, meant))
        .collect()
    }

    /// No connection reached either recorder.
    pub fn assert_untouched(&self, case: &str) {
        assert_eq!(
            (self.private.accepted(), self.zero.accepted()),
            (0, 0),
            "{case}: a refused address was contacted"
        );
    }
}

/// How long [`slow_after_token`] holds each answer.
pub const SLOW: Duration = Duration::from_millis(200);

/// `[[[…0,0,0…]]]`: 100 levels around 400,000 zeros, about 800 KB. serde_json pretty-prints it
/// into about 80 MB (each zero on its own line, 200 spaces in).
pub fn nested_body() -> &'static str {
    static BODY: OnceLock<String> = OnceLock::new();
    BODY.get_or_init(|| {
        let zeros = vec!["0"; 400_000].join(",");
        format!("{}{zeros}{}", "[".repeat(100), "]".repeat(100))
    })
}

/// Whether `req` is one the app makes after the token.
pub fn after_token(req: &Request) -> bool {
    let path = req.uri().path();
    let fhir_read = path
        .strip_prefix("/fhir/")
        .is_some_and(|rest| rest.split('/').count() == 2 && !rest.starts_with(".well-known"));
    fhir_read || path == paths::SMART_STYLE || path == paths::INTROSPECT
}

/// How many nested bodies [`nested_reads`] has served in this process (nextest runs each test in
/// a process of its own).
pub static NESTED_SERVED: AtomicUsize = AtomicUsize::new(0);

async fn nested(req: Request, next: Next) -> Response {
    if after_token(&req) {
        NESTED_SERVED.fetch_add(1, Ordering::Relaxed);
        return (
            [(header::CONTENT_TYPE, "application/fhir+json")],
            nested_body(),
        )
            .into_response();
    }
    next.run(req).await
}

async fn slow(req: Request, next: Next) -> Response {
    if after_token(&req) {
        tokio::time::sleep(SLOW).await;
    }
    next.run(req).await
}

async fn silent(req: Request, next: Next) -> Response {
    if after_token(&req) {
        std::future::pending::<()>().await;
    }
    next.run(req).await
}

/// Every read after the token answers 200 with [`nested_body`].
pub fn nested_reads(router: Router) -> Router {
    router.layer(middleware::from_fn(nested))
}

/// Every answer after the token comes [`SLOW`] late.
pub fn slow_after_token(router: Router) -> Router {
    router.layer(middleware::from_fn(slow))
}

/// No answer after the token ever comes (the connection stays open).
pub fn silent_after_token(router: Router) -> Router {
    router.layer(middleware::from_fn(silent))
}
