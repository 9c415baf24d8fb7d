//! `POST /launches/{id}/refresh` (CSRF-protected): refresh the token with the registration's
//! client authentication; and `GET /.well-known/jwks.json`, the public keys the EHR verifies our
//! client assertions with.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Redirect, Response};
use serde::Deserialize;

use super::AppState;
use super::csrf;
use super::results;
use super::session::BrowserSession;
use super::twin::report_of;
use super::{Problem, paths};
use crate::flow::complete;
use crate::record::{LaunchRecord, Outcome};
use crate::smart::client_auth;

#[derive(Deserialize)]
pub struct RefreshForm {
    #[serde(default)]
    csrf: String,
}

pub async fn refresh(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    session: BrowserSession,
    form: Result<Form<RefreshForm>, FormRejection>,
) -> Result<Response, Problem> {
    let Form(form) = form.map_err(Problem::unreadable_form)?;
    if !csrf::verify(&state, &headers, &form.csrf) {
        return Err(Problem::plain(StatusCode::FORBIDDEN, "Form expired", "The form's security token did not match this browser's session. Reload the result page and try again.")
            .link("The launch", paths::launch_result(&id)));
    }
    let found = results::find(&state, &session, &id).await?;
    if report_of(&state, LaunchRecord::clone(&found)).outcome() == Outcome::Pending {
        return Err(Problem::plain(
            StatusCode::CONFLICT,
            "Cannot refresh",
            "This launch has not finished; it holds no refresh token.",
        )
        .link("The launch", paths::launch_result(&id)));
    }
    let mut record = LaunchRecord::clone(&found);
    complete::refresh(&state.core, &state.sealer, &mut record)
        .await
        .map_err(|why| {
            Problem::plain(StatusCode::CONFLICT, "Cannot refresh", why)
                .link("The launch", paths::launch_result(&id))
        })?;
    state
        .store
        .put_launch(&record)
        .await
        .map_err(|e| Problem::store(&e))?;
    Ok(Redirect::to(&format!("{}#refresh", paths::launch_result(&id))).into_response())
}

pub async fn jwks(State(state): State<AppState>) -> Response {
    let body = client_auth::jwks(state.config.signing_keys());
    ([(header::CACHE_CONTROL, "public, max-age=300")], Json(body)).into_response()
}
