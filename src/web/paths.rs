//! Every route path, in one place.

pub const HOME: &str = "/";
pub const LAUNCH: &str = "/launch";
pub const STANDALONE: &str = "/standalone/{id}";
pub const ADHOC: &str = "/standalone";
pub const CALLBACK: &str = "/callback";
pub const LAUNCHES: &str = "/launches";
pub const LAUNCH_RESULT: &str = "/launches/{id}";
pub const REPORT_JSON: &str = "/launches/{id}/report.json";
pub const REPORT_MD: &str = "/launches/{id}/report.md";
pub const REFRESH: &str = "/launches/{id}/refresh";
pub const JWKS: &str = "/.well-known/jwks.json";
pub const HEALTHZ: &str = "/healthz";
/// Readiness: 503 while the store cannot keep a launch (see `ops::readyz`).
pub const READYZ: &str = "/readyz";
pub const CHECK: &str = "/check/{id}";
pub const CHECK_ADHOC: &str = "/check";
/// A pasted answer diagnosed (GET: the form; POST: the result).
pub const EXPLAIN: &str = "/explain";
pub const GALLERY: &str = "/gallery";
pub const GALLERY_RUN: &str = "/gallery/{id}";
/// A SMART Backend Services run of a registration (POST, CSRF).
pub const BACKEND: &str = "/backend/{id}";
/// HAR import: the upload form and its POST; one diagnosis; its redacted HAR.
pub const DIAGNOSE: &str = "/diagnose";
pub const DIAGNOSE_RESULT: &str = "/diagnose/{id}";
pub const DIAGNOSE_HAR: &str = "/diagnose/{id}/redacted.har";
/// The practice EHR's own pages (served by `crate::practice`).
pub const PRACTICE_EHR_PAGE: &str = "/practice/ehr";
pub const STYLESHEET: &str = "/static/style.css";
pub const SCRIPT: &str = "/static/app.js";
/// The icon (SVG), also answered at the path browsers ask for unprompted.
pub const FAVICON: &str = "/static/favicon.svg";
pub const FAVICON_ICO: &str = "/favicon.ico";
/// Prometheus metrics (`metrics = true`), here or alone on `metrics_listen`.
pub const METRICS: &str = "/metrics";
/// The monitor's board, one registration's history, and the blackbox probe.
pub const STATUS: &str = "/status";
pub const STATUS_HISTORY: &str = "/status/{id}";
pub const PROBE: &str = "/probe";
/// The support view (only when `admin_token_env` is set).
pub const ADMIN_LAUNCHES: &str = "/admin/launches";
pub const ADMIN_LAUNCH: &str = "/admin/launches/{id}";
pub const ADMIN_LOGIN: &str = "/admin/login";
pub const ADMIN_LOGOUT: &str = "/admin/logout";
/// Where the built-in practice EHR is mounted (its routes are `crate::practice`'s).
pub const PRACTICE: &str = "/practice";

/// `/launches/{id}`.
pub fn launch_result(id: &str) -> String {
    format!("/launches/{id}")
}

/// `/check/{id}`.
pub fn check(id: &str) -> String {
    format!("/check/{id}")
}

/// `/backend/{id}`.
pub fn backend(id: &str) -> String {
    format!("/backend/{id}")
}

/// `/standalone/{id}`.
pub fn standalone(id: &str) -> String {
    format!("/standalone/{id}")
}

/// `/launches/{id}/report.json` and `/launches/{id}/report.md`.
pub fn reports(id: &str) -> (String, String) {
    (
        format!("/launches/{id}/report.json"),
        format!("/launches/{id}/report.md"),
    )
}

/// `/launches/{id}/refresh`.
pub fn refresh(id: &str) -> String {
    format!("/launches/{id}/refresh")
}

/// `/gallery/{id}`.
pub fn gallery_run(id: &str) -> String {
    format!("/gallery/{id}")
}

/// `/status/{id}`.
pub fn status_history(id: &str) -> String {
    format!("/status/{id}")
}

/// `/diagnose/{id}`.
pub fn diagnose_result(id: &str) -> String {
    format!("/diagnose/{id}")
}

/// `/diagnose/{id}/redacted.har`.
pub fn diagnose_har(id: &str) -> String {
    format!("/diagnose/{id}/redacted.har")
}
