//! `POST /launches/{id}/refresh` (CSRF-protected): refresh the token with the registration's
//! client authentication; and `GET /.well-known/jwks.json`, the public keys the EHR verifies our
//! client assertions with.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Redirect, Response};
use serde::Deserialize;

use super::complete;
use super::session::BrowserSession;
use super::{Problem, paths};
use crate::smart::client_auth;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct RefreshForm {
    #[serde(default)]
    csrf: String,
}

pub async fn refresh(
    State(state): State<AppState>,
    Path(id): Path<String>,
    mut session: BrowserSession,
    form: Result<Form<RefreshForm>, FormRejection>,
) -> Result<Response, Problem> {
    let Form(form) = form
        .map_err(|e| Problem::plain(StatusCode::BAD_REQUEST, "Unreadable form", e.body_text()))?;
    if !session.csrf_ok(&form.csrf) {
        return Err(Problem::plain(StatusCode::FORBIDDEN, "Form expired", "The form's security token did not match this browser's session. Reload the result page and try again.")
            .link("The launch", paths::launch_result(&id)));
    }
    let Some(mut record) = session.launch(&id).cloned() else {
        return Err(Problem::plain(
            StatusCode::NOT_FOUND,
            "No such launch",
            "This browser has no launch with this id.",
        )
        .link("Your launches", paths::LAUNCHES));
    };
    complete::refresh(&state, &mut record)
        .await
        .map_err(|why| {
            Problem::plain(StatusCode::CONFLICT, "Cannot refresh", why)
                .link("The launch", paths::launch_result(&id))
        })?;
    if let Some(slot) = session.launch_mut(&id) {
        *slot = record;
    }
    session.save().await?;
    Ok(Redirect::to(&format!("{}#refresh", paths::launch_result(&id))).into_response())
}

pub async fn jwks(State(state): State<AppState>) -> Response {
    let body = client_auth::jwks(state.config.keys.iter().map(|(_, k)| k.as_ref()));
    ([(header::CACHE_CONTROL, "public, max-age=300")], Json(body)).into_response()
}
