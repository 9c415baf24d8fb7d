//! The EHR side of an EHR launch (SMART App Launch 2.2 §2.0.1): the practice EHR's own page
//! lists its patients and their encounters, and "Launch the app" mints a launch code and sends
//! the browser to the app's launch URL with `iss` (the FHIR base) and `launch`, as a real EHR
//! does from a chart.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use url::Url;

use super::id_token::USER_NAME;
use super::wire::Params;
use super::{Ehr, data, html, paths};

/// `GET /ehr`.
pub(super) async fn show(State(ehr): State<Ehr>) -> Response {
    let launch_url = ehr.with(|s| s.app_launch_url.clone());
    let notice = if launch_url.is_some() {
        String::new()
    } else {
        "<p role=\"status\"><strong>No app launch URL is configured, so launching is \
         unavailable.</strong></p>\n"
            .to_owned()
    };
    let action = format!("{}{}", ehr.prefix(), paths::EHR_LAUNCH);
    let patients: String = data::PATIENTS
        .iter()
        .map(|p| patient_card(p, &action, launch_url.is_some()))
        .collect();
    let main = format!(
        "<h1>Practice EHR</h1>\n\
         <p>Signed in as {user}. Choose a patient and launch the app from the chart, as a \
         clinician does in a real EHR: the app receives <code>iss</code> = <code>{iss}</code> \
         and a one-time <code>launch</code> code.</p>\n\
         {notice}<ul class=\"cards\">{patients}</ul>",
        user = html::escape(USER_NAME),
        iss = html::escape(&ehr.fhir_base()),
    );
    html::respond(StatusCode::OK, "Patients", &main)
}

/// One patient: facts, and the launch form with an encounter to choose.
fn patient_card(p: &data::Patient, action: &str, can_launch: bool) -> String {
    let id = html::escape(p.id);
    let options: String = data::encounters_of(p.id)
        .map(|e| {
            format!(
                "<option value=\"{}\">{}: {} ({})</option>",
                html::escape(e.id),
                html::escape(e.start.get(..10).unwrap_or(e.start)),
                html::escape(e.reason),
                html::escape(e.status),
            )
        })
        .collect();
    let disabled = if can_launch { "" } else { " disabled" };
    format!(
        "<li class=\"card\"><h2 id=\"patient-{id}\">{name}</h2>\n\
         <dl class=\"facts\"><dt>Born</dt><dd>{born}</dd><dt>Gender</dt><dd>{gender}</dd>\
         <dt>Patient id</dt><dd><code>{id}</code></dd></dl>\n\
         <form method=\"post\" action=\"{action}\" aria-labelledby=\"patient-{id}\">\n\
         <input type=\"hidden\" name=\"patient\" value=\"{id}\">\n\
         <p><label for=\"encounter-{id}\">Encounter</label>\n\
         <select id=\"encounter-{id}\" name=\"encounter\">{options}\
         <option value=\"\">No encounter</option></select></p>\n\
         <p><button type=\"submit\"{disabled}>Launch the app</button></p>\n\
         </form></li>\n",
        name = html::escape(&p.display()),
        born = html::escape(p.birth_date),
        gender = html::escape(p.gender),
        action = html::escape(action),
    )
}

/// `POST /ehr/launch`: `patient` and optional `encounter` of the chart.
pub(super) async fn launch(State(ehr): State<Ehr>, body: Bytes) -> Response {
    let params = Params::parse(&body);
    let Some(patient) = params.get("patient").and_then(data::patient) else {
        return bad_request("Choose a patient of the practice EHR.");
    };
    let encounter = match params.get("encounter") {
        None => None,
        Some(id) => match data::encounter(id).filter(|e| e.patient == patient.id) {
            Some(e) => Some(e.id),
            None => return bad_request("That encounter is not one of this patient's."),
        },
    };
    let configured = ehr.with(|s| s.app_launch_url.clone());
    let Some(mut target) = configured.and_then(|u| Url::parse(&u).ok()) else {
        let why = "No valid app launch URL is configured for the practice EHR.";
        return html::error(StatusCode::CONFLICT, "Cannot launch", &[why]);
    };
    let code = ehr.new_launch(patient.id, encounter);
    target
        .query_pairs_mut()
        .append_pair("iss", &ehr.fhir_base())
        .append_pair("launch", &code);
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, target.to_string())],
    )
        .into_response()
}

/// A 400 page about the launch form.
fn bad_request(message: &str) -> Response {
    html::error(StatusCode::BAD_REQUEST, "Cannot launch", &[message])
}
