//! `GET /explain` (the form) and `POST /explain` (CSRF-protected): a pasted answer diagnosed at
//! its step, the paste redacted before anything shows or logs it; JSON twin with
//! `Accept: application/json`. Nothing is stored.

use askama::Template;
// askama finds the template's `|wbr` filter by this name.
use super::words::filters;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use serde::Deserialize;

use super::csrf::{self, Csrf};
use super::problem::wants_json;
use super::views;
use super::{AppState, Problem};
use crate::config::AuthMethod;
use crate::diagnosis::explain::{self, MAX_PASTE_BYTES, Step, render};

#[derive(Deserialize)]
pub struct ExplainForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    step: String,
    #[serde(default)]
    auth: String,
    #[serde(default)]
    paste: String,
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: Csrf,
) -> Result<Response, Problem> {
    if wants_json(&headers) {
        let steps: Vec<&str> = Step::ALL.iter().map(|s| s.as_str()).collect();
        let auths: Vec<&str> = AuthMethod::ALL.iter().map(|a| a.as_str()).collect();
        let body = serde_json::json!({"steps": steps, "auth_methods": auths, "max_paste_bytes": MAX_PASTE_BYTES});
        return Ok(Json(body).into_response());
    }
    let page = ExplainPage::new(&csrf.token, None);
    Ok(csrf.attach(&state.config, views::render_page(&page)?))
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: Csrf,
    form: Result<Form<ExplainForm>, FormRejection>,
) -> Result<Response, Problem> {
    let Form(form) = form.map_err(Problem::unreadable_form)?;
    if !csrf::verify(&state, &headers, &form.csrf) {
        return Err(Problem::plain(
            StatusCode::FORBIDDEN,
            "Form expired",
            "The form's security token did not match this browser's session. Reload the page and paste again.",
        ));
    }
    if form.paste.len() > MAX_PASTE_BYTES {
        return Err(Problem::plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Answer too large",
            format!(
                "The pasted answer has {} bytes; explain reads at most {MAX_PASTE_BYTES}. Paste the status line, the headers and the start of the body.",
                form.paste.len()
            ),
        ));
    }
    if form.paste.trim().is_empty() {
        return Err(Problem::plain(
            StatusCode::BAD_REQUEST,
            "Nothing pasted",
            "Paste the answer to explain: the status line, the headers and the body, or the URL the EHR sent the browser back to.",
        ));
    }
    let auth = match form.auth.as_str() {
        "" => Some(explain::DEFAULT_AUTH),
        a => AuthMethod::parse(a),
    };
    let (Some(step), Some(auth)) = (Step::parse(&form.step), auth) else {
        return Err(Problem::plain(
            StatusCode::BAD_REQUEST,
            "Unknown step or method",
            "step must be one of authorize, token, refresh, client_credentials, introspection, fhir; auth one of none, client_secret_basic, client_secret_post, private_key_jwt.",
        ));
    };
    let e = explain::explain(&form.paste, step, auth, std::time::SystemTime::now());
    if wants_json(&headers) {
        return Ok(Json(render::to_json(&e)).into_response());
    }
    let page = ExplainPage::new(&csrf.token, Some(&e));
    Ok(csrf.attach(&state.config, views::render_page(&page)?))
}

#[derive(Template)]
#[template(path = "explain.html")]
pub struct ExplainPage<'a> {
    pub csrf: &'a str,
    pub e: Option<&'a crate::diagnosis::explain::Explained>,
    pub steps: Vec<&'static str>,
    pub auths: Vec<&'static str>,
    pub step: &'static str,
    pub auth: &'static str,
    pub max: usize,
}

impl<'a> ExplainPage<'a> {
    pub fn new(csrf: &'a str, e: Option<&'a crate::diagnosis::explain::Explained>) -> Self {
        use crate::diagnosis::explain::{DEFAULT_AUTH, MAX_PASTE_BYTES, Step};
        ExplainPage {
            csrf,
            steps: Step::ALL.iter().map(|s| s.as_str()).collect(),
            auths: crate::config::AuthMethod::ALL
                .iter()
                .map(|a| a.as_str())
                .collect(),
            step: e.map_or("token", |e| e.step.as_str()),
            auth: e.map_or(DEFAULT_AUTH.as_str(), |e| e.auth.as_str()),
            max: MAX_PASTE_BYTES,
            e,
        }
    }
}
