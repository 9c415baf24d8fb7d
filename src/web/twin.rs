//! The facts of a result as JSON (the twin of the page), from its report.

use serde_json::{Value, json};

use super::views;
use crate::config::Config;
use crate::diagnosis::assess::AssessConfig;
use crate::diagnosis::launch_report::LaunchReport;
use crate::diagnosis::transcript::{Gate, redact_json};
use crate::record::{AppRef, LaunchRecord, TokenExchange};
use crate::seal::Sealer;
use crate::smart::fhir::ReadResource;
use crate::smart::id_token::decode_unverified;

/// The report every output of a launch renders: `view` (the record as this output may show it)
/// assessed on the core's clock.
pub fn report_of(state: &super::AppState, view: LaunchRecord) -> LaunchReport {
    LaunchReport::assemble(view, &AssessConfig::of(&state.config), state.core.now())
}

/// The report of `view` for anyone it is shared with (redacted downloads, the support view):
/// without patient or user details, its sentences naming no person.
pub fn shared_report_of(state: &super::AppState, view: LaunchRecord) -> LaunchReport {
    LaunchReport::assemble_shared(view, &AssessConfig::of(&state.config), state.core.now())
}

/// The redaction gate for the outputs of `r`: every configured client secret (also as a Basic
/// credential) and the launch's own ad-hoc secret, when it can still be opened.
pub fn gate_for(config: &Config, sealer: &Sealer, r: &LaunchRecord) -> Gate {
    let mut gate = Gate::default();
    let mut add = |client_id: &str, secret: &str| {
        gate.add(secret);
        gate.add_basic(client_id, secret);
    };
    for reg in &config.registrations {
        if let Some(s) = reg.auth.secret() {
            add(&reg.client_id, s.expose());
        }
    }
    if let Some(AppRef::AdHoc(app)) = &r.app_ref()
        && let Some(reg) = app.open(sealer)
        && let Some(s) = reg.auth.secret()
    {
        add(&reg.client_id, s.expose());
    }
    gate
}

/// A launch as every output shows it: built by [`through_gate`] only.
pub struct Shown {
    /// The record with each of its strings through the gate (a token whose claims hold a secret
    /// is masked whole, even when revealed) and the id_token's secret-named claims masked.
    pub record: LaunchRecord,
    /// The access token's header and claims when it is a JWT, secret claims masked.
    pub access_jwt: Option<(Value, Value)>,
}

/// The record as every output shows it. Pages, JSON twins and reports are built from this copy.
pub fn through_gate(r: &LaunchRecord, gate: &Gate) -> Shown {
    let scrubbed = serde_json::to_value(r)
        .ok()
        .and_then(|mut v| {
            gate.scrub_json(&mut v);
            serde_json::from_value::<LaunchRecord>(v).ok()
        })
        .unwrap_or_else(|| {
            // Cannot happen (the record round-trips through the store the same way); fail
            // closed on what matters most: drop the token responses and claims.
            tracing::error!(launch = %r.id(), "a launch record did not pass the redaction gate");
            r.without_tokens()
        });
    let record = scrubbed.with_claims_masked(|v| gate.mask_claims(v));
    Shown {
        record,
        access_jwt: access_token_jwt(r, gate),
    }
}

fn redacted(
    t: Option<&serde_json::Map<String, Value>>,
    reveal: bool,
    gate: &Gate,
) -> Option<Value> {
    t.map(|t| {
        let mut v = Value::Object(t.clone());
        if reveal {
            // Revealed tokens, yes; a member named like a secret, never.
            gate.mask_claims(&mut v);
        } else {
            redact_json(&mut v);
        }
        v
    })
}

/// The access token's header and claims when it is a JWT (never verified here), with claims
/// named like secrets or equal to a known secret masked.
pub fn access_token_jwt(r: &LaunchRecord, gate: &Gate) -> Option<(Value, Value)> {
    let (mut header, mut claims) = decode_unverified(r.token()?.access_token.expose())?;
    gate.mask_claims(&mut header);
    gate.mask_claims(&mut claims);
    Some((header, claims))
}

/// The JSON twin of the result page, from the launch as [`through_gate`] shows it; the answer
/// passes the gate once more as a whole.
pub fn result_json(
    report: &LaunchReport,
    access_jwt: Option<&(Value, Value)>,
    reveal: bool,
    gate: &Gate,
) -> Value {
    let r = report.record();
    let token_response = redacted(r.token_response(), reveal, gate);
    let granted = r.token().and_then(|t| t.scope.as_deref());
    let rows = views::scope_rows(r.requested_scope(), granted);
    let identity = r.identity().map(|i| {
        json!({
            "verified": i.id_token.verified,
            "fhir_user": i.id_token.fhir_user,
            "name": i.user.as_ref().and_then(|u| u.name.clone()),
            "resource_type": i.user.as_ref().map(|u| u.resource_type.clone()),
            "id_token": {"header": i.id_token.header, "claims": i.id_token.claims},
        })
    });
    let resource = |x: Option<&ReadResource>, key: &str| {
        x.map(|p| json!({"id": r.token().and_then(|t| t.context_id(key)), "name": p.name, "birth_date": p.birth_date, "reference": p.reference}))
    };
    let refreshes: Vec<Value> = r
        .refreshes()
        .iter()
        .map(|f| json!({"at": f.at, "outcome": f.outcome, "diagnoses": f.diagnoses, "token_response": redacted(f.token_response.as_ref().map(TokenExchange::raw), reveal, gate), "checks": f.checks}))
        .collect();
    let mut out = json!({
        "id": r.id(),
        "headline": report.plain(),
        "title": report.headline(),
        "outcome": report.outcome(),
        "step": report.step(),
        "steps": report.steps(),
        "kind": r.kind(),
        "registration": r.app(),
        "started_at": r.started_at(),
        "finished_at": r.finished_at(),
        "requested_scope": r.requested_scope(),
        "redirect_uri": r.redirect_uri(),
        "endpoints": r.endpoints(),
        "authorize_url": r.authorize_url(),
        // A failed last refresh's first, as every list names them.
        "diagnoses": report.listed(),
        "token_response": token_response,
        "tokens_revealed": reveal && token_response.is_some(),
        "scopes": {
            "requested": rows.iter().filter(|s| s.requested).map(|s| &s.scope).collect::<Vec<_>>(),
            "granted": if r.token_response().is_some() { rows.iter().filter(|s| s.granted).map(|s| &s.scope).collect::<Vec<_>>() } else { Vec::new() },
        },
        "identity": identity,
        "patient": resource(r.patient(), "patient"),
        "encounter": resource(r.encounter(), "encounter"),
        "access_token_jwt": access_jwt.cloned().map(|(h, c)| json!({"verified": false, "header": h, "claims": c})),
        "refreshes": refreshes,
        "backend": r.backend(),
        "transcript": r.transcript(),
        "request_id": r.request_id(),
    });
    if let Some(o) = out.as_object_mut() {
        o.extend(
            super::scorecard::json_members(r)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v)),
        );
    }
    out["scopes"]["granular"] = super::scorecard::json_granular(r);
    gate.scrub_json(&mut out);
    out
}
