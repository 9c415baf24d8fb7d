//! `GET|POST /diagnose`: a HAR uploaded (multipart from the page's file input, or the raw HAR
//! as an `application/json` body), diagnosed like `smart-launch-doctor diagnose`, and kept
//! redacted for the browser that uploaded it (`/diagnose/{id}`, `/diagnose/{id}/redacted.har`).
//! What is kept is the redacted report and HAR only, in process memory, weighed by size
//! (`MAX_KEPT_BYTES` in all, least recently used out first, gone after `session_idle_minutes`
//! idle), owned by the uploader's browser id (its session); another browser gets 404.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Redirect, Response};
use moka::sync::Cache;
use serde_json::json;

use super::csrf::{self, Csrf};
use super::problem::wants_json;
use super::session::BrowserSession;
use super::views::{self, DiagnosePage, DiagnoseResultPage};
use super::{AppState, Problem};
use crate::har::{self, HarError, Report};
use crate::record::random_id;

/// All uploads kept, at most (their redacted report and HAR).
pub const MAX_KEPT_BYTES: u64 = 32 * 1024 * 1024;
/// The largest request `POST /diagnose` reads: the HAR plus the form around it.
pub const MAX_UPLOAD: usize = har::MAX_BYTES + 64 * 1024;

/// One upload, redacted.
pub struct Upload {
    pub owner: String,
    pub report: Report,
    /// The redacted HAR, as JSON text.
    pub redacted: String,
}

/// The uploads of every browser, bounded by size.
#[derive(Clone)]
pub struct Uploads(Cache<String, Arc<Upload>>);

impl Uploads {
    pub fn new(idle: std::time::Duration) -> Self {
        Uploads(
            Cache::builder()
                .max_capacity(MAX_KEPT_BYTES)
                .weigher(|_, u: &Arc<Upload>| {
                    let report = serde_json::to_string(&u.report).map_or(0, |s| s.len());
                    u32::try_from(report + u.redacted.len() + 256).unwrap_or(u32::MAX)
                })
                .time_to_idle(idle)
                .build(),
        )
    }

    /// Everything kept, as text (tests look for secrets in it).
    pub fn dump(&self) -> String {
        self.0
            .iter()
            .map(|(_, u)| {
                format!(
                    "{}\n{}",
                    serde_json::to_string(&u.report).unwrap_or_default(),
                    u.redacted
                )
            })
            .collect()
    }
}

fn bad_har(e: HarError) -> Problem {
    let status = match e {
        HarError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    Problem::plain(
        status,
        "Not a HAR this app can read",
        format!("The upload was refused: {e}."),
    )
    .link("Upload another", super::paths::DIAGNOSE)
}

fn too_large() -> Problem {
    bad_har(HarError::TooLarge(MAX_UPLOAD))
}

pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: Csrf,
) -> Result<Response, Problem> {
    if wants_json(&headers) {
        return Ok(
            Json(json!({"upload": "POST /diagnose", "max_bytes": har::MAX_BYTES})).into_response(),
        );
    }
    let page = DiagnosePage {
        csrf: csrf.token.clone(),
        max_mib: har::MAX_BYTES / (1024 * 1024),
    };
    Ok(csrf.attach(&state.config, views::render_page(&page)?))
}

/// The HAR's bytes: a multipart form's `har` file (its `csrf` field checked first), or a raw
/// `application/json` body (which no other site's page can send without CORS).
async fn har_bytes(state: &AppState, req: Request) -> Result<Bytes, Problem> {
    let headers = req.headers().clone();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json") {
        return Bytes::from_request(req, state)
            .await
            .map_err(|_| too_large());
    }
    if !content_type.starts_with("multipart/form-data") {
        return Err(Problem::plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Upload a HAR file",
            "Send the HAR as multipart/form-data (the page's form) or as an application/json body.",
        ));
    }
    let mut form = Multipart::from_request(req, state)
        .await
        .map_err(|e| Problem::plain(StatusCode::BAD_REQUEST, "Unreadable upload", e.body_text()))?;
    let mut token_ok = false;
    while let Some(field) = form.next_field().await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            Problem::plain(
                StatusCode::BAD_REQUEST,
                "Unreadable upload",
                "The form could not be read.",
            )
        }
    })? {
        match field.name() {
            Some("csrf") => {
                token_ok = csrf::verify(state, &headers, &field.text().await.unwrap_or_default())
            }
            Some("har") if token_ok => return field.bytes().await.map_err(|_| too_large()),
            Some("har") => break,
            _ => {}
        }
    }
    Err(Problem::plain(StatusCode::FORBIDDEN, "Form expired", "The form's security token did not match this browser's session (or no file was chosen). Reload the page and try again.").link("Upload again", super::paths::DIAGNOSE))
}

pub async fn upload(
    State(state): State<AppState>,
    mut session: BrowserSession,
    req: Request,
) -> Result<Response, Problem> {
    let json_wanted = wants_json(req.headers());
    let bytes = har_bytes(&state, req).await?;
    let parsed = har::parse(&bytes).map_err(bad_har)?;
    drop(bytes);
    let (report, redacted) = har::diagnose(&parsed);
    let redacted = serde_json::to_string_pretty(&redacted).unwrap_or_default();
    let id = random_id();
    let owner = session.browser_id();
    session.save().await?;
    let upload = Arc::new(Upload {
        owner,
        report,
        redacted,
    });
    state.uploads.0.insert(id.clone(), upload.clone());
    if json_wanted {
        return Ok(Json(result_json(&id, &upload)).into_response());
    }
    Ok(Redirect::to(&super::paths::diagnose_result(&id)).into_response())
}

fn result_json(id: &str, u: &Upload) -> serde_json::Value {
    json!({"id": id, "report": u.report, "has_error": u.report.has_error(), "redacted_har": super::paths::diagnose_har(id)})
}

fn owned(state: &AppState, session: &BrowserSession, id: &str) -> Result<Arc<Upload>, Problem> {
    state
        .uploads
        .0
        .get(id)
        .filter(|u| !session.data.browser.is_empty() && u.owner == session.data.browser)
        .ok_or_else(|| Problem::plain(StatusCode::NOT_FOUND, "No such upload", "This diagnosis does not exist, belongs to another browser, or has expired. Upload the HAR again.").link("Upload a HAR", super::paths::DIAGNOSE))
}

pub async fn show(
    State(state): State<AppState>,
    session: BrowserSession,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let u = owned(&state, &session, &id)?;
    if wants_json(&headers) {
        return Ok(Json(result_json(&id, &u)).into_response());
    }
    let page = DiagnoseResultPage {
        r: &u.report,
        download: super::paths::diagnose_har(&id),
    };
    views::render_page(&page)
}

pub async fn download(
    State(state): State<AppState>,
    session: BrowserSession,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let u = owned(&state, &session, &id)?;
    let disposition = format!("attachment; filename=\"diagnose-{id}-redacted.har\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        u.redacted.clone(),
    )
        .into_response())
}

impl DiagnoseResultPage<'_> {
    /// The diagnoses of a case of the given severity.
    pub fn of(c: &har::diagnose::CaseReport, errors: bool) -> Vec<&crate::diagnosis::Diagnosis> {
        c.diagnoses
            .iter()
            .filter(|d| d.is_error() == errors)
            .collect()
    }
}
