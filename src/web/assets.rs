//! The stylesheet and the small progressive-enhancement script, built into the binary so the app
//! runs from any working directory.

use axum::http::header;
use axum::response::IntoResponse;

const STYLE: &str = include_str!("../../static/style.css");
const SCRIPT: &str = include_str!("../../static/app.js");
const FAVICON: &str = include_str!("../../static/favicon.svg");

pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        STYLE,
    )
}

pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        SCRIPT,
    )
}

/// The icon, at `/static/favicon.svg` and at `/favicon.ico` (browsers ask for it on every page).
pub async fn favicon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON,
    )
}

/// `GET /healthz`: `ok`, or `{"status": "ok"}` as its JSON twin.
pub async fn healthz(headers: axum::http::HeaderMap) -> axum::response::Response {
    if super::problem::wants_json(&headers) {
        axum::Json(serde_json::json!({"status": "ok"})).into_response()
    } else {
        "ok".into_response()
    }
}
