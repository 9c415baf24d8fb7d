//! HTTP handlers, one module per page or flow. Thin: extract, call `smart/`, render.

pub mod admin;
mod admin_token;
mod assets;
mod authorize_post;
mod backend;
mod callback;
mod check;
mod csrf;
pub mod diagnose;
mod explain;
mod gallery;
mod home;
mod inflight;
mod launch;
pub mod limit;
pub mod listener;
mod middleware;
pub mod ops;
mod params;
pub mod paths;
mod problem;
mod refresh;
mod results;
mod scorecard;
pub(crate) mod session;
pub mod state;
pub mod status;
pub mod store;
mod twin;
mod views;
pub(crate) mod waiting;
mod words;

use axum::Router;
use axum::routing::{get, post};
use tower::{Layer, ServiceBuilder};
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::config::CookieSameSite;

pub use problem::Problem;
pub use state::AppState;

/// Largest request body accepted (the ad-hoc form is the only one).
const MAX_REQUEST_BODY: usize = 64 * 1024;

/// The whole application, ready to serve or to call in-process from tests.
pub fn router(state: AppState) -> Router {
    let config = &state.config;
    let idle = time::Duration::try_from(config.session_idle).unwrap_or(time::Duration::HOUR);
    let sessions = SessionManagerLayer::new(state.sessions.clone())
        .with_name(session::COOKIE)
        .with_http_only(true)
        // Strict would drop the cookie on the redirect back from the authorization server.
        .with_same_site(match config.cookie_same_site {
            CookieSameSite::Lax => SameSite::Lax,
            CookieSameSite::None => SameSite::None,
        })
        .with_secure(config.public_url.scheme() == "https")
        .with_expiry(Expiry::OnInactivity(idle));
    let headers = middleware::SecurityHeaders::new(config);

    // Routes that start outbound work are rate limited per client IP: their handlers take
    // `limit::Allowed` first.
    let limited = Router::new()
        // HEAD would run the GET handler: a link preview or a monitor must not start a launch.
        .route(
            paths::LAUNCH,
            get(launch::ehr).head(problem::head_starts_nothing),
        )
        .route(
            paths::STANDALONE,
            get(launch::standalone).head(problem::head_starts_nothing),
        )
        .route(paths::ADHOC, post(launch::adhoc))
        .route(paths::CHECK, get(check::registration))
        .route(paths::CHECK_ADHOC, post(check::adhoc))
        .route(paths::GALLERY_RUN, post(gallery::run))
        .route(paths::BACKEND, post(backend::run));
    let pages = Router::new()
        .merge(limited)
        .route(paths::HOME, get(home::show))
        .route(paths::EXPLAIN, get(explain::show).post(explain::submit))
        .route(paths::CALLBACK, get(callback::callback))
        .route(paths::LAUNCHES, get(results::list))
        .route(paths::LAUNCH_RESULT, get(results::show))
        .route(paths::REPORT_JSON, get(results::report_json))
        .route(paths::REPORT_MD, get(results::report_md))
        .route(paths::REFRESH, post(refresh::refresh))
        .route(paths::GALLERY, get(gallery::show))
        .route(
            paths::DIAGNOSE,
            get(diagnose::form)
                .post(diagnose::upload)
                .layer(axum::extract::DefaultBodyLimit::max(diagnose::MAX_UPLOAD)),
        )
        .route(paths::DIAGNOSE_RESULT, get(diagnose::show))
        .route(paths::DIAGNOSE_HAR, get(diagnose::download))
        .route(paths::STATUS, get(status::board))
        .route(paths::STATUS_HISTORY, get(status::history))
        .fallback(problem::not_found)
        .with_state(state.clone());

    let mut app = Router::new()
        .route(paths::HEALTHZ, get(assets::healthz))
        .route(paths::READYZ, get(ops::readyz))
        .route(paths::JWKS, get(refresh::jwks))
        .route(paths::STYLESHEET, get(assets::stylesheet))
        .route(paths::SCRIPT, get(assets::script))
        .route(paths::FAVICON, get(assets::favicon))
        .route(paths::FAVICON_ICO, get(assets::favicon))
        // Metrics and the support view (each only when configured).
        .merge(ops::routes(&state))
        // Every other path is a page, behind the session layer (see below).
        .fallback_service(sessions.layer(pages))
        .with_state(state.clone());
    if let Some(ehr) = &state.practice {
        // The practice EHR is the other side of the wire: its own router and state, under
        // its own per-address limit (see `limit::limit_practice`).
        app = app.merge(ehr.router().layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limit::limit_practice,
        )));
    }
    if let Some(ehr) = &state.practice_sloppy {
        app = app.merge(ehr.router());
    }
    // One stack, around the whole router rather than each route, as the session layer around
    // the pages: `Router::layer` boxes each route again, and each request clones every layer's
    // inner service (every `from_fn`, every route), box by box. Around a router, a clone is
    // the router's `Arc`; around each route, a launch paid ~25 boxed clones (an eighth of its
    // allocations).
    let outer = ServiceBuilder::new()
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BODY))
        .layer(axum::middleware::map_request(
            middleware::ignore_client_request_id,
        ))
        // Request ids, outside in: made fresh for every request (a client's own `x-request-id`
        // is dropped first), into the span and log line, onto the response.
        .layer(SetRequestIdLayer::new(
            middleware::REQUEST_ID_HEADER,
            middleware::RandomRequestId,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(middleware::RequestSpan)
                .on_request(())
                .on_response(middleware::Answered)
                .on_body_chunk(())
                .on_eos(())
                // 5xx are logged where they are rendered (problem::render).
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::new(middleware::REQUEST_ID_HEADER))
        .layer(axum::middleware::from_fn(move |req, next| {
            middleware::security_headers(headers.clone(), req, next)
        }))
        // Outside `render`, so it sees every problem, the session layer's too (a no-op unless
        // `metrics = true`).
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ops::count,
        ))
        .layer(axum::middleware::from_fn(problem::render));
    Router::new().fallback_service(outer.service(app))
}
