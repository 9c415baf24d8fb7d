//! What running it for a hospital needs besides the pages: Prometheus metrics at `GET /metrics`
//! and the blackbox probe `GET /probe` beside them (on the main listener, or only on
//! `metrics_listen`; neither exists with `metrics = false`), the middleware that counts failed
//! stores, and the support view's routes (see `admin`).

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::paths::{ADMIN_LAUNCH, ADMIN_LAUNCHES, ADMIN_LOGIN, ADMIN_LOGOUT, METRICS, PROBE};
use super::{AppState, Problem, admin, status};

/// The routes this module adds to the main router: `/metrics` and `/probe` (when metrics are
/// on and not on their own listener) and the support view (when `admin_token_env` is set).
/// None exist otherwise (404).
pub fn routes(state: &AppState) -> Router<AppState> {
    let mut r = Router::new();
    if state.metrics.enabled() && state.config.metrics_listen.is_none() {
        r = with_metrics(r, state);
    }
    if state.admin.is_some() {
        r = r
            .route(ADMIN_LAUNCHES, get(admin::list))
            .route(ADMIN_LAUNCH, get(admin::show))
            // Sign-in attempts count towards the per-address launch limit (no guessing spree).
            .route(
                ADMIN_LOGIN,
                post(admin::login)
                    .layer(axum::middleware::from_fn_with_state(
                        state.clone(),
                        super::limit::limit,
                    ))
                    .get(admin::login_form),
            )
            .route(ADMIN_LOGOUT, post(admin::logout));
    }
    r
}

/// `/metrics`, and `/probe` beside it: a probe starts outbound requests, so it is served only
/// where the metrics are (the scraper's side), and counts towards the per-address launch limit.
fn with_metrics(r: Router<AppState>, state: &AppState) -> Router<AppState> {
    r.route(METRICS, get(metrics)).route(
        PROBE,
        get(status::probe).layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::limit::limit,
        )),
    )
}

/// The router of the `metrics_listen` address: `/metrics` and `/probe` only.
pub fn metrics_router(state: AppState) -> Router {
    with_metrics(Router::new(), &state)
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                "not found: only /metrics and /probe are served here",
            )
        })
        // `/probe`'s problems (400, 404, 429) get their bodies.
        .layer(axum::middleware::from_fn(super::problem::render))
        .with_state(state)
}

/// `GET /metrics`: the Prometheus text exposition format.
pub async fn metrics(State(state): State<AppState>) -> Response {
    match state.metrics.render() {
        Some(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "metrics are off").into_response(),
    }
}

/// `GET /readyz`: whether a new launch can be kept now, for load balancers and readiness probes
/// (`/healthz` stays liveness: it answers while the process runs). 200
/// `{"status": "ready", "store": …, "waiting": n}`; 503 with `Retry-After` and
/// `{"status": "not_ready", "store": …, "reason": …, "waiting": n}` while Redis or SQLite does not
/// answer (or fails writes) or the memory session store is full. `waiting`: results held in
/// memory until the store takes them.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let store = state.store.health.kind();
    let waiting = state.store.waiting();
    match state
        .store
        .readiness()
        .and_then(|()| state.sessions.readiness())
    {
        Ok(()) => axum::Json(serde_json::json!({"status": "ready", "store": store, "waiting": waiting}))
            .into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, super::problem::RETRY_AFTER_SECONDS.to_string())],
            axum::Json(serde_json::json!({"status": "not_ready", "store": store, "reason": reason, "waiting": waiting})),
        )
            .into_response(),
    }
}

/// Counts what error pages report (any route): their diagnoses (a callback that matches no
/// launch, an `iss` nobody registered, …) and the requests that failed because a store did not
/// answer. Launches that finish are counted in `flow` instead; their pages are no errors.
pub async fn count(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    if let Some(problem) = resp.extensions().get::<Problem>() {
        state.metrics.page_diagnoses(&problem.diagnoses);
        if let Some(store) = problem.failed_store {
            state.metrics.store_error(store);
        }
    }
    resp
}
