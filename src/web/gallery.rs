//! `GET /gallery` and `POST /gallery/{id}`: the failure gallery of the practice EHR. Each button
//! runs a real standalone launch by that entry's practice client.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use serde::Deserialize;

use super::AppState;
use super::csrf::{self, Csrf};
use super::launch::begin;
use super::limit::Allowed;
use super::problem::{format_json, wants_json};
use super::session::BrowserSession;
use super::views::{self, GalleryPage, GalleryRow};
use super::{Problem, paths};
use crate::config::{ClientAuth, Registration, Secret};
use crate::gallery;
use crate::record::{AppRef, SealedApp};
use crate::smart::LaunchKind;
use crate::smart::client_auth::SigningKey;
use std::sync::Arc;

const SCOPE: &str = "launch/patient openid fhirUser patient/*.read offline_access";

fn practice_off() -> Problem {
    Problem::plain(
        StatusCode::NOT_FOUND,
        "No practice EHR",
        "The built-in practice EHR is turned off (practice_ehr = false).",
    )
    .link("Home", paths::HOME)
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    csrf: Csrf,
) -> Result<Response, Problem> {
    if state.practice.is_none() {
        return Err(practice_off());
    }
    if wants_json(&headers) || format_json(query.as_deref()) {
        let entries: Vec<serde_json::Value> = gallery::entries()
            .into_iter()
            .map(|e| {
                serde_json::json!({"id": e.id, "title": e.title, "expect": e.expect_str(),
                    "explain": e.explain, "auth": e.auth.as_str(), "run": paths::gallery_run(e.id)})
            })
            .collect();
        return Ok(Json(serde_json::json!({ "entries": entries })).into_response());
    }
    let rows = gallery::entries()
        .into_iter()
        .map(|e| GalleryRow {
            anchor: format!("gallery-{}", e.id),
            action: paths::gallery_run(e.id),
            title: e.title,
            expect: e.expect_str(),
            explain: e.explain,
            auth: e.auth.as_str(),
        })
        .collect();
    let page = GalleryPage {
        rows,
        csrf: csrf.token.clone(),
        ehr_page: paths::PRACTICE_EHR_PAGE,
    };
    Ok(csrf.attach(&state.config, views::render_page(&page)?))
}

#[derive(Deserialize)]
pub struct RunForm {
    #[serde(default)]
    csrf: String,
}

pub async fn run(
    State(state): State<AppState>,
    _: Allowed,
    Path(id): Path<String>,
    headers: HeaderMap,
    session: BrowserSession,
    form: Result<Form<RunForm>, FormRejection>,
) -> Result<Response, Problem> {
    if state.practice.is_none() {
        return Err(practice_off());
    }
    let Form(form) = form.map_err(Problem::unreadable_form)?;
    if !csrf::verify(&state, &headers, &form.csrf) {
        return Err(Problem::plain(
            StatusCode::FORBIDDEN,
            "Form expired",
            "Reload the gallery and try again.",
        )
        .link("Gallery", paths::GALLERY));
    }
    let Some(entry) = gallery::find(&id) else {
        return Err(Problem::plain(
            StatusCode::NOT_FOUND,
            "No such gallery entry",
            format!("The gallery has no entry {id:?}."),
        )
        .link("Gallery", paths::GALLERY));
    };
    let id = format!("gallery-{}", entry.id);
    let name = format!("Gallery: {}", entry.title);
    if entry.backend {
        return run_backend(&state, session, &entry, id, name).await;
    }
    let auth = gallery_auth(&entry)?;
    let iss = if entry.sloppy {
        state.config.practice_sloppy_fhir_base()
    } else {
        state.config.practice_fhir_base()
    };
    let mut reg = Registration::simple(id.clone(), name, iss, id, auth, SCOPE);
    reg.active_probes = entry.active_probes;
    let app = AppRef::AdHoc(Box::new(SealedApp::seal(&reg, &state.sealer)));
    begin(&state, session, app, &reg, LaunchKind::Standalone, None).await
}

/// A gallery Backend Services client: with a client secret, the symmetric (non-SMART) variant;
/// with `private_key_jwt` it signs with a key made now, which the practice EHR never
/// registered, so the run shows what an unregistered key looks like.
async fn run_backend(
    state: &AppState,
    session: BrowserSession,
    entry: &gallery::Entry,
    id: String,
    name: String,
) -> Result<Response, Problem> {
    let iss = state.config.practice_fhir_base();
    if entry.auth.uses_secret() {
        let scope = gallery::BACKEND_SCOPE;
        let auth = gallery_auth(entry)?;
        let mut reg = Registration::simple(id.clone(), name, iss, id, auth, scope);
        reg.backend = true;
        let app = AppRef::AdHoc(Box::new(SealedApp::seal(&reg, &state.sealer)));
        return super::backend::run_and_store(state, session, app, &reg).await;
    }
    let (_, key) = SigningKey::generate("ES384").map_err(|why| {
        Problem::plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "No key",
            format!("The gallery client's signing key could not be made: {why}"),
        )
    })?;
    let mut reg = Registration::simple(
        id.clone(),
        name,
        iss,
        id,
        ClientAuth::PrivateKeyJwt(Arc::new(key)),
        gallery::BACKEND_SCOPE,
    );
    reg.backend = true;
    let app = AppRef::AdHoc(Box::new(SealedApp::seal(&reg, &state.sealer)));
    super::backend::run_and_store(state, session, app, &reg).await
}

/// A (non-key) gallery entry's client authentication: its method with the secret the app sends.
fn gallery_auth(entry: &gallery::Entry) -> Result<ClientAuth, Problem> {
    let secret = entry.app_secret.map(Secret::new);
    ClientAuth::new(entry.auth, secret, None).map_err(|why| {
        Problem::plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Gallery entry misconfigured",
            format!("The gallery entry's client authentication cannot be built: {why}"),
        )
    })
}
