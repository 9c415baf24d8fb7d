//! Serving the fake: the recording middleware every request passes (keeping the last 1,000
//! requests), the catch-all 404, and a loopback server in a background task for tests.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use url::Url;

use super::bounded;
use super::{Ehr, PracticeOptions, RecordedRequest};

/// Largest request body the fake reads, like the app's own cap; anything bigger gets 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Longest body kept in the record (the whole log is bounded in bytes too, see `bounded`).
const MAX_RECORDED_BODY_BYTES: usize = MAX_BODY_BYTES;

/// Records the request (body included) before any handler sees it.
pub(super) async fn record(State(ehr): State<Ehr>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let (bytes, too_large) = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => (bytes, false),
        Err(_) => (Bytes::new(), true),
    };
    let recorded = RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect(),
        body: String::from_utf8_lossy(bytes.get(..MAX_RECORDED_BODY_BYTES).unwrap_or(&bytes))
            .into_owned(),
    };
    ehr.with(|s| bounded::push_request(&mut s.requests, &mut s.requests_bytes, recorded));
    if too_large {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Anything else under the prefix: 404, but recorded like the rest.
pub(super) async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found on the fake EHR").into_response()
}

/// A fake EHR serving on a loopback port in a background task.
pub struct RunningEhr {
    /// The EHR, for faults, launches and assertions.
    pub ehr: Ehr,
    /// `http://127.0.0.1:PORT`.
    pub origin: Url,
    task: tokio::task::JoinHandle<()>,
}

impl RunningEhr {
    /// Origin + prefix + `/fhir`, without a trailing slash.
    pub fn fhir_base(&self) -> String {
        self.ehr.fhir_base()
    }

    /// Stops serving (also happens when the test's runtime shuts down).
    pub fn stop(self) {
        self.task.abort();
    }
}

/// Binds 127.0.0.1:0, sets the origin, serves in a tokio task and returns at once.
pub async fn spawn(opts: PracticeOptions) -> std::io::Result<RunningEhr> {
    spawn_with(opts, |router| router).await
}

/// [`spawn`], serving `wrap(router)`: tests and benchmarks put a layer around the fake (answers
/// delayed, or replaced by hostile ones) without the fake knowing.
pub async fn spawn_with(
    opts: PracticeOptions,
    wrap: impl FnOnce(axum::Router) -> axum::Router,
) -> std::io::Result<RunningEhr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let origin = Url::parse(&format!("http://{address}")).map_err(std::io::Error::other)?;
    let ehr = Ehr::new(opts);
    ehr.set_origin(origin.clone());
    let app = wrap(ehr.router());
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::warn!(%error, "fake EHR stopped serving");
        }
    });
    Ok(RunningEhr { ehr, origin, task })
}
