//! The support view: `GET /admin/launches` (recent launches of every browser, searchable by
//! request id) and `GET /admin/launches/{id}` (the developer view of one: diagnoses and the
//! redacted transcript), each with its JSON twin. On only when `admin_token_env` names a
//! variable holding a token (else the routes do not exist: 404).
//!
//! Access: `Authorization: Bearer TOKEN`, or the sign-in form (`/admin/login`, CSRF-protected)
//! that sets the `sld_admin` cookie (HttpOnly, SameSite=Strict, Path=/admin, 8 hours). Each
//! sign-in gets its own value (issue time, random nonce, HMAC keyed with the token; never the
//! token): the server refuses it after 8 hours, after `POST /admin/logout`, or once the token
//! changes (see `admin_token`). Every comparison is constant time (`subtle`).
//!
//! No patient data and no names of people: the records go through `phi::minimized` and the
//! redaction gate; the list shows ids, times, outcomes, steps and catalogue ids only.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

pub use super::admin_token::AdminToken;
use super::admin_token::LIFETIME_SECS;
use super::csrf::{self, Csrf};
use super::launch::Params;
use super::problem::{format_json, wants_json};
use super::twin::{gate_for, report_of, shared_report_of, through_gate};
use super::views::{self, filters};
use super::{AppState, Problem};
use crate::diagnosis::Diagnosis;
use crate::diagnosis::launch_report::LaunchReport;
use crate::diagnosis::transcript::Exchange;
use crate::record::LaunchRecord;
use crate::store::MAX_RECENT;

use super::paths::{ADMIN_LAUNCH as LAUNCH, ADMIN_LAUNCHES as LAUNCHES, ADMIN_LOGIN as LOGIN};
/// The support view's cookie (Path=/admin).
pub const COOKIE: &str = "sld_admin";
/// Rows shown when not searching.
const SHOWN: usize = 200;

/// 401 with a way to sign in, as a page or JSON like every error.
fn unauthorized(message: &str) -> Response {
    let problem = Problem::plain(StatusCode::UNAUTHORIZED, "Support view: sign in", message)
        .link("Sign in", LOGIN);
    let mut resp = problem.into_response();
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"support view\""),
    );
    resp
}

fn not_found() -> Response {
    Problem::plain(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no page at this address.",
    )
    .into_response()
}

/// Admits the token, or a sign-in cookie that no instance sharing the store has signed out
/// (a store that does not answer admits the Bearer token only).
async fn admit(state: &AppState, headers: &HeaderMap) -> Result<(), Response> {
    let signed_out_elsewhere = match state.admin.as_ref().and_then(|a| {
        (!a.bearer(headers))
            .then(|| a.shared_key(headers))
            .flatten()
    }) {
        Some(key) => state.store.is_revoked(&key).await.unwrap_or(true),
        None => false,
    };
    match &state.admin {
        Some(a) if a.admits(headers) && !signed_out_elsewhere => Ok(()),
        Some(_) => Err(unauthorized(
            "This page needs the support token: send it as a Bearer token or sign in.",
        )),
        // Not reached: the routes exist only when the view is on.
        None => Err(not_found()),
    }
}

/// One row of the list: no patient data, no names of people.
pub struct AdminRow {
    pub href: String,
    /// When the launch started (the column says so).
    pub time: String,
    pub registration: String,
    pub kind: &'static str,
    pub outcome: &'static str,
    pub step: &'static str,
    /// The result page's title (the report's headline).
    pub title: String,
    /// Diagnosis ids, errors first; and the notes (findings expected in context).
    pub ids: (String, String),
    pub request_id: String,
}

#[derive(Template)]
#[template(path = "admin_launches.html")]
pub struct AdminLaunchesPage {
    pub rows: Vec<AdminRow>,
    pub searched: String,
    pub limit: usize,
    /// The sign-out form's CSRF token.
    pub csrf: String,
}

#[derive(Template)]
#[template(path = "admin_launch.html")]
pub struct AdminLaunchPage<'a> {
    pub r: &'a LaunchRecord,
    pub registration: String,
    pub outcome: &'static str,
    pub step: &'static str,
    pub title: &'a str,
    pub started: String,
    pub finished: String,
    pub errors: Vec<&'a Diagnosis>,
    pub warnings: Vec<&'a Diagnosis>,
    pub transcript: &'a [Exchange],
    /// The step bar, as the result page's (with the amber steps' reasons).
    pub steps: Vec<views::StepView>,
}

#[derive(Template)]
#[template(path = "admin_login.html")]
pub struct AdminLoginPage {
    pub csrf: String,
}

fn registration(r: &LaunchRecord) -> String {
    if r.app().adhoc && !crate::gallery::is_gallery_app(&r.app().id) {
        crate::metrics::ADHOC.to_string()
    } else {
        r.app().id.clone()
    }
}

/// One launch in the JSON list, from its report.
fn item(report: &LaunchReport) -> Value {
    let r = report.record();
    // `time` is when the launch started, as the list shows it and as `/launches` does.
    json!({"id": r.id(), "time": r.started_at(),
           "started_at": r.started_at(), "finished_at": r.finished_at(),
           "registration": registration(r), "kind": report.kind_label(), "outcome": report.outcome(),
           "step": report.step(), "diagnoses": report.listed_ids(), "title": report.headline(),
           "request_id": r.request_id(), "request_ids": r.request_ids().collect::<Vec<_>>(),
           "href": LAUNCH.replace("{id}", r.id())})
}

/// One row of the list, from its report.
fn row(report: &LaunchReport) -> AdminRow {
    let r = report.record();
    AdminRow {
        href: LAUNCH.replace("{id}", r.id()),
        time: views::format_time(r.started_at()),
        registration: registration(r),
        kind: report.kind_label(),
        outcome: report.outcome_label(),
        step: report.step().as_str(),
        title: report.headline().to_string(),
        ids: report.ids_line(),
        request_id: r.request_id().to_string(),
    }
}

/// `GET /admin/launches[?request_id=…]`.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    csrf: Csrf,
) -> Result<Response, Problem> {
    if let Err(resp) = admit(&state, &headers).await {
        return Ok(resp);
    }
    let params = Params::parse(query.as_deref());
    let searched = params
        .all("request_id")
        .first()
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let recent = state
        .store
        .recent(MAX_RECENT)
        .await
        .map_err(|e| Problem::store(&e))?;
    let mut recent = state.settler.on_read(recent).await;
    // Newest start first, as the "Started" column and `/launches` say (the store keeps them
    // in write order: a refresh or a settle moves an older launch up).
    recent.sort_by_key(|r| std::cmp::Reverse(r.started_at()));
    let found: Vec<LaunchReport> = recent
        .iter()
        .filter(|r| searched.is_empty() || r.request_ids().any(|id| id == searched))
        .take(SHOWN)
        .map(|r| report_of(&state, r.as_ref().clone()))
        .collect();
    if wants_json(&headers) || format_json(query.as_deref()) {
        let items: Vec<Value> = found.iter().map(item).collect();
        return Ok(Json(json!({"launches": items, "request_id": searched})).into_response());
    }
    let rows = found.iter().map(row).collect();
    let page = views::render_page(&AdminLaunchesPage {
        rows,
        searched,
        csrf: csrf.token.clone(),
        limit: MAX_RECENT,
    })?;
    Ok(csrf.attach(&state.config, page))
}

/// `GET /admin/launches/{id}`: the developer view of any browser's launch, minimized.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    if let Err(resp) = admit(&state, &headers).await {
        return Ok(resp);
    }
    let found = state
        .store
        .launch(&id)
        .await
        .map_err(|e| Problem::store(&e))?;
    let found = state.settler.on_read_one(found).await.ok_or_else(|| {
        Problem::plain(
            StatusCode::NOT_FOUND,
            "No such launch",
            "No stored launch has this id (expired records are not listed).",
        )
        .link("Recent launches", LAUNCHES)
    })?;
    let gate = gate_for(&state.config, &state.sealer, &found);
    let report = shared_report_of(&state, through_gate(&found, &gate).record);
    let r = report.record();
    if wants_json(&headers) || format_json(query.as_deref()) {
        let mut out = json!({
            "id": r.id(), "registration": registration(r), "app": r.app(), "kind": report.kind_label(),
            "outcome": report.outcome(), "step": report.step(), "title": report.headline(),
            "headline": report.plain(), "steps": report.steps(), "started_at": r.started_at(),
            "finished_at": r.finished_at(), "request_id": r.request_id(),
            "request_ids": r.request_ids().collect::<Vec<_>>(),
            "requested_scope": r.requested_scope(), "redirect_uri": r.redirect_uri(),
            "endpoints": r.endpoints(), "authorize_url": r.authorize_url(), "diagnoses": report.listed(), "transcript": r.transcript(),
        });
        gate.scrub_json(&mut out);
        return Ok(Json(out).into_response());
    }
    let page = AdminLaunchPage {
        r,
        registration: registration(r),
        outcome: report.outcome_label(),
        step: report.step().as_str(),
        title: report.headline(),
        started: views::format_time(r.started_at()),
        finished: r.finished_at().map(views::format_time).unwrap_or_default(),
        errors: report
            .listed()
            .into_iter()
            .filter(|d| d.is_error())
            .collect(),
        warnings: report
            .listed()
            .into_iter()
            .filter(|d| !d.is_error())
            .collect(),
        transcript: r.transcript(),
        steps: views::steps(&report),
    };
    views::render_page(&page)
}

/// `GET /admin/login`: the sign-in form (JSON: where to post it).
pub async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    csrf: Csrf,
) -> Result<Response, Problem> {
    let page = if wants_json(&headers) || format_json(query.as_deref()) {
        Json(
            json!({"login": {"action": LOGIN, "method": "POST", "fields": ["csrf", "token"],
                              "csrf": csrf.token, "bearer": true}}),
        )
        .into_response()
    } else {
        views::render_page(&AdminLoginPage {
            csrf: csrf.token.clone(),
        })?
    };
    Ok(csrf.attach(&state.config, page))
}

#[derive(Deserialize, Default)]
pub struct LoginForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub token: String,
}

/// `POST /admin/login`: checks the CSRF token and the support token, then sets the cookie.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, Problem> {
    let Form(form) = form.map_err(Problem::unreadable_form)?;
    if !csrf::verify(&state, &headers, &form.csrf) {
        return Err(Problem::plain(
            StatusCode::FORBIDDEN,
            "Form expired",
            "The form's security token did not match this browser. Reload the sign-in page and try again.",
        )
        .link("Sign in", LOGIN));
    }
    let Some(admin) = &state.admin else {
        return Ok(not_found());
    };
    if !admin.token_is(&form.token) {
        return Ok(unauthorized("That is not the support token."));
    }
    let secure = if state.config.public_url.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    let value = format!(
        "{COOKIE}={}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={LIFETIME_SECS}{secure}",
        admin.issue()
    );
    let mut resp = Redirect::to(LAUNCHES).into_response();
    if let Ok(v) = HeaderValue::from_str(&value) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

#[derive(Deserialize, Default)]
pub struct LogoutForm {
    #[serde(default)]
    pub csrf: String,
}

/// `POST /admin/logout`: signs the cookie out on the server (its value is refused from now on)
/// and asks the browser to forget it. A browser's form carries the CSRF token (another site must
/// not sign the support view out); a `Bearer` client needs none: it sends no ambient credential.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Result<Response, Problem> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.get(..7)
                .is_some_and(|s| s.eq_ignore_ascii_case("bearer "))
        });
    let token = form.map(|Form(f)| f.csrf).unwrap_or_default();
    if !bearer && !csrf::verify(&state, &headers, &token) {
        return Err(Problem::plain(
            StatusCode::FORBIDDEN,
            "Form expired",
            "The sign-out form's security token did not match this browser. Reload the support view and sign out again.",
        )
        .link("Recent launches", LAUNCHES));
    }
    if let Some(admin) = &state.admin {
        // Shared first (every instance on Redis or SQLite signs it out), then this one's cache.
        if let Some(key) = admin.shared_key(&headers) {
            let ttl = super::admin_token::LIFETIME_SECS as i64;
            if let Err(e) = state.store.revoke(&key, ttl).await {
                tracing::warn!(error = %e.0, "sign-out not shared: the store did not answer");
            }
        }
        admin.revoke(&headers);
    }
    let mut resp = Redirect::to(LOGIN).into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static("sld_admin=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(resp)
}
