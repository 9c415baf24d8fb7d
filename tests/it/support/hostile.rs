//! A hostile or slow EHR: layers around the fake EHR's router that replace the answers asked
//! for after the token (FHIR reads, `fhirContext` reads, the style document, introspection) with
//! an 800 KB body of nested arrays, delay them, or never send them. Discovery, authorize, token
//! and the OpenID documents stay as the fake serves them.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use smart_launch_doctor::practice::paths;

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
