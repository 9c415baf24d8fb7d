//! `POST /backend/{id}`: a SMART Backend Services run of a `backend = true` registration (the
//! "Run" button on the home page, CSRF-protected and under the launch rate limit). The run
//! itself is `flow::backend`; this stores its record for this browser and answers 303 to it.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::AppState;
use super::csrf;
use super::limit::Allowed;
use super::session::BrowserSession;
use super::{Problem, paths};
use crate::config::Registration;
use crate::flow;
use crate::record::{AppRef, Owner};

#[derive(Deserialize)]
pub struct RunForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /backend/{id}`.
pub async fn run(
    State(state): State<AppState>,
    _: Allowed,
    Path(id): Path<String>,
    headers: HeaderMap,
    session: BrowserSession,
    form: Result<Form<RunForm>, FormRejection>,
) -> Result<Response, Problem> {
    let Form(form) = form.map_err(Problem::unreadable_form)?;
    if !csrf::verify(&state, &headers, &form.csrf) {
        return Err(Problem::plain(
            StatusCode::FORBIDDEN,
            "Form expired",
            "The form's security token did not match this browser's session. Reload the home page and try again.",
        )
        .link("Home", paths::HOME));
    }
    let Some(reg) = state.config.registration(&id).cloned() else {
        return Err(Problem::unknown_registration(&id));
    };
    if !reg.backend {
        return Err(Problem::plain(
            StatusCode::BAD_REQUEST,
            "Not a backend registration",
            format!("Registration {id:?} is not a Backend Services client (backend = true); launch it instead."),
        )
        .link("Home", paths::HOME));
    }
    let app = AppRef::Registered(reg.id.clone());
    run_and_store(&state, session, app, &reg).await
}

/// Runs `reg`, stores the record as this browser's, and answers 303 to its result page.
pub(super) async fn run_and_store(
    state: &AppState,
    mut session: BrowserSession,
    app: AppRef,
    reg: &Registration,
) -> Result<Response, Problem> {
    let owner = Owner {
        browser: session.browser_id(),
        request_id: session.request_id.clone(),
    };
    let record = flow::backend::run(&state.core, app, reg, owner).await;
    state
        .store
        .put_launch(&record)
        .await
        .map_err(|e| Problem::store(&e))?;
    session.data.launches.push(record.id().to_string());
    session.save().await?;
    Ok(Redirect::to(&paths::launch_result(record.id())).into_response())
}
