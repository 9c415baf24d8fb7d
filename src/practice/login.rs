//! The login page a real EHR shows between authorize and the redirect back, when
//! `Ehr::set_require_login` is on: who asks (client id), for what (the scopes), about whom (the
//! patient in context, or a picker for a standalone `launch/patient` launch), and two buttons.
//!
//! The form carries only the id of the request waiting on the server, never the request's
//! parameters, so nothing the user agent sends back can change what was checked. The id is
//! random, expires, and is spent by the first answer.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use http::StatusCode;

use super::id_token::USER_NAME;
use super::state::PendingAuthorization;
use super::wire::{self, Params};
use super::{Ehr, data, html, paths, reply};

/// How long a login page can be answered.
pub(super) const LIFETIME: Duration = Duration::from_secs(600);

/// Stores `pending` under a fresh id and answers the login page for it.
pub(super) fn show(ehr: &Ehr, pending: PendingAuthorization) -> Response {
    let id = wire::random_token();
    let main = page(ehr, &id, &pending);
    ehr.with(|s| s.pending.insert(id, pending));
    html::respond(StatusCode::OK, "Sign in", &main)
}

/// `POST /auth/login`: the user's answer, `decision` = `approve` or `cancel`.
pub(super) async fn submit(State(ehr): State<Ehr>, body: Bytes) -> Response {
    let params = Params::parse(&body);
    let decision = params.get("decision");
    if !matches!(decision, Some("approve" | "cancel")) {
        return bad_request("The form must say whether to sign in or cancel.");
    }
    let taken = params
        .get("pending")
        .and_then(|id| ehr.with(|s| s.take_pending(id)));
    let Some(mut pending) = taken else {
        return bad_request(
            "This sign-in is unknown, expired or already answered. Start the launch again from the app.",
        );
    };
    if decision == Some("cancel") {
        return reply::cancel(&ehr, pending, StatusCode::SEE_OTHER);
    }
    if pending.pick_patient {
        match params.get("patient").map(data::patient) {
            None => {}
            Some(Some(patient)) => pending.context.patient = Some(patient.id.to_owned()),
            Some(None) => return bad_request("The chosen patient is not in the practice EHR."),
        }
    }
    reply::approve(&ehr, pending, StatusCode::SEE_OTHER)
}

/// A 400 page about the login form.
fn bad_request(message: &str) -> Response {
    html::error(StatusCode::BAD_REQUEST, "Sign-in failed", &[message])
}

/// The page's markup.
fn page(ehr: &Ehr, id: &str, pending: &PendingAuthorization) -> String {
    let scopes: String = pending
        .scope
        .split_ascii_whitespace()
        .map(|s| format!("<li><code>{}</code></li>", html::escape(s)))
        .collect();
    format!(
        "<h1>Practice EHR: sign in</h1>\n\
         <p>The app <code>{client}</code> asks you to sign in and to allow these scopes:</p>\n\
         <ul>{scopes}</ul>\n\
         <p class=\"muted\">Afterwards your browser returns to <code>{redirect}</code>.</p>\n\
         <form method=\"post\" action=\"{action}\">\n\
         <input type=\"hidden\" name=\"pending\" value=\"{id}\">\n\
         {patient}\n\
         <p><button type=\"submit\" name=\"decision\" value=\"approve\">Sign in as {user}</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"cancel\" class=\"secondary\">Cancel</button></p>\n\
         </form>\n\
         <p class=\"muted\">This is the built-in practice EHR: no password, and every patient is \
         made up.</p>",
        client = html::escape(&pending.client_id),
        redirect = html::escape(&pending.redirect_uri),
        action = html::escape(&format!("{}{}", ehr.prefix(), paths::LOGIN)),
        id = html::escape(id),
        patient = patient_part(pending),
        user = html::escape(USER_NAME),
    )
}

/// The patient picker of a standalone launch, or the patient the launch put in context.
fn patient_part(pending: &PendingAuthorization) -> String {
    if pending.pick_patient {
        let options: String = data::PATIENTS
            .iter()
            .map(|p| {
                format!(
                    "<option value=\"{}\">{} (born {})</option>",
                    html::escape(p.id),
                    html::escape(&p.display()),
                    html::escape(p.birth_date)
                )
            })
            .collect();
        // The first option is selected by default: the standalone default patient.
        return format!(
            "<p><label for=\"patient\">Patient to open</label>\n\
             <select id=\"patient\" name=\"patient\">{options}</select></p>"
        );
    }
    let Some(id) = pending.context.patient.as_deref() else {
        return "<p>No patient in context.</p>".to_owned();
    };
    let name = data::patient(id).map_or_else(|| id.to_owned(), data::Patient::display);
    let encounter = pending
        .context
        .encounter
        .as_deref()
        .map(|e| format!(", encounter <code>{}</code>", html::escape(e)))
        .unwrap_or_default();
    format!(
        "<p>Patient in context: {} (<code>{}</code>){encounter}.</p>",
        html::escape(&name),
        html::escape(id)
    )
}
