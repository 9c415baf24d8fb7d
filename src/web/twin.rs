//! The facts of a result as JSON (the twin of the page) and as the plain headline.

use serde_json::{Value, json};

use super::views;
use crate::diagnosis::Diagnosis;
use crate::diagnosis::transcript::redact_json;
use crate::record::{LaunchRecord, Outcome};
use crate::smart::fhir::ReadResource;
use crate::smart::id_token::decode_unverified;

fn describe(r: &ReadResource) -> String {
    let name = r.name.clone().unwrap_or_else(|| r.reference.clone());
    match &r.birth_date {
        Some(b) => format!("{name}, born {b}"),
        None => name,
    }
}

/// The plain sentence a clinician reads first.
pub fn headline(r: &LaunchRecord, diagnoses: &[Diagnosis]) -> String {
    let user = r.identity.as_ref().and_then(|i| i.user.as_ref());
    let signed_in = match user {
        Some(u) => format!(
            "Signed in as {} ({}).",
            u.name.clone().unwrap_or_else(|| u.reference.clone()),
            u.resource_type
        ),
        None => format!("Signed in to {}.", r.app.name),
    };
    let context = match (
        &r.patient,
        r.token_response
            .as_ref()
            .and_then(|t| t.get("patient"))
            .and_then(Value::as_str),
    ) {
        (Some(p), _) => format!(" Patient in context: {}.", describe(p)),
        (None, Some(id)) => format!(" Patient in context: {id}."),
        (None, None) => String::new(),
    };
    match r.outcome {
        Outcome::Success => signed_in + &context,
        Outcome::Error => diagnoses
            .iter()
            .find(|d| d.is_error())
            .map(|d| d.plain().to_string())
            .unwrap_or_else(|| "The launch failed.".into()),
        Outcome::Pending => "This launch is waiting for the EHR to send the browser back.".into(),
    }
}

fn redacted(t: &Option<serde_json::Map<String, Value>>, reveal: bool) -> Option<Value> {
    t.as_ref().map(|t| {
        let mut v = Value::Object(t.clone());
        if !reveal {
            redact_json(&mut v);
        }
        v
    })
}

/// The access token's header and claims when it is a JWT (never verified here).
pub fn access_token_jwt(r: &LaunchRecord) -> Option<(Value, Value)> {
    r.token_response
        .as_ref()?
        .get("access_token")?
        .as_str()
        .and_then(decode_unverified)
}

/// The JSON twin of the result page.
pub fn result_json(r: &LaunchRecord, diagnoses: &[Diagnosis], reveal: bool) -> Value {
    let token_response = redacted(&r.token_response, reveal);
    let granted = r
        .token_response
        .as_ref()
        .and_then(|t| t.get("scope"))
        .and_then(Value::as_str);
    let rows = views::scope_rows(&r.requested_scope, granted);
    let identity = r.identity.as_ref().map(|i| {
        json!({
            "verified": i.id_token.verified,
            "fhir_user": i.id_token.fhir_user,
            "name": i.user.as_ref().and_then(|u| u.name.clone()),
            "resource_type": i.user.as_ref().map(|u| u.resource_type.clone()),
            "id_token": {"header": i.id_token.header, "claims": i.id_token.claims},
        })
    });
    let resource = |x: &Option<ReadResource>, key: &str| {
        x.as_ref().map(|p| json!({"id": r.token_response.as_ref().and_then(|t| t.get(key)), "name": p.name, "birth_date": p.birth_date, "reference": p.reference}))
    };
    let refreshes: Vec<Value> = r
        .refreshes
        .iter()
        .map(|f| json!({"at": f.at, "outcome": f.outcome, "diagnoses": f.diagnoses, "token_response": redacted(&f.token_response, reveal)}))
        .collect();
    json!({
        "id": r.id,
        "outcome": r.outcome,
        "step": r.step,
        "kind": r.kind,
        "registration": r.app,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
        "requested_scope": r.requested_scope,
        "redirect_uri": r.redirect_uri,
        "endpoints": r.endpoints,
        "authorize_url": r.authorize_url,
        "diagnoses": diagnoses,
        "token_response": token_response,
        "tokens_revealed": reveal && token_response.is_some(),
        "scopes": {
            "requested": rows.iter().filter(|s| s.requested).map(|s| &s.scope).collect::<Vec<_>>(),
            "granted": if r.token_response.is_some() { rows.iter().filter(|s| s.granted).map(|s| &s.scope).collect::<Vec<_>>() } else { Vec::new() },
        },
        "identity": identity,
        "patient": resource(&r.patient, "patient"),
        "encounter": resource(&r.encounter, "encounter"),
        "access_token_jwt": access_token_jwt(r).map(|(h, c)| json!({"verified": false, "header": h, "claims": c})),
        "refreshes": refreshes,
        "transcript": r.transcript,
    })
}
