//! How much of what an EHR sent one launch record keeps. Every body in the transcript is already
//! capped when it is recorded (`transcript::BODY_CAP`, 16 KiB); here the record as a whole is
//! bounded: parsed values (token responses, id_token claims, introspection answers) are shrunk,
//! evidence and read names are cut, and when the record is still over [`RECORD_BUDGET`] the
//! transcript's bodies are dropped, latest first, each replaced by a note.

use super::LaunchRecord;
use crate::smart::bounded::{cap_text, json_len, shrink};
use crate::smart::fhir::ReadResource;

/// Most bytes one launch record keeps, measured as its compact JSON ([`LaunchRecord::weight`]).
/// A complete launch against a well-behaved EHR weighs 20–60 KiB; this leaves room for every
/// body at its cap on an ordinary launch, and bounds a hostile EHR's launch at a quarter MiB.
pub const RECORD_BUDGET: usize = 256 * 1024;

/// A token response (tokens included) is kept up to this size; members beyond are cut.
const TOKEN_RESPONSE_CAP: usize = 32 * 1024;
/// Decoded id_token header and claims, an introspection answer: each up to this size.
const VALUE_CAP: usize = 16 * 1024;
/// One evidence value or summary of a diagnosis.
const EVIDENCE_CAP: usize = 4 * 1024;
/// Names, references and types of resources read.
const READ_CAP: usize = 1024;

/// What a dropped body says instead.
pub const BODY_DROPPED: &str = "[body dropped: this launch's record reached its budget of 256 KiB; the exchange's status and headers are kept]";

fn cap_in_place(s: &mut String, cap: usize) {
    if s.len() > cap {
        *s = cap_text(s, cap);
    }
}

fn cap_read(r: &mut ReadResource) {
    cap_in_place(&mut r.reference, READ_CAP);
    cap_in_place(&mut r.resource_type, READ_CAP);
    for s in [&mut r.name, &mut r.birth_date].into_iter().flatten() {
        cap_in_place(s, READ_CAP);
    }
}

impl LaunchRecord {
    /// The record's size in bytes: its compact JSON, counted without building it. The stores
    /// weigh records with it.
    pub fn weight(&self) -> usize {
        json_len(self)
    }

    /// Bounds the record to [`RECORD_BUDGET`]: parsed values shrunk, evidence cut, then bodies
    /// dropped from the latest exchange backwards, each with a note, until it fits.
    pub fn fit_budget(&mut self) {
        if let Some(t) = self.token_response.as_mut() {
            t.shrink(TOKEN_RESPONSE_CAP);
        }
        for r in &mut self.refreshes {
            if let Some(t) = r.token_response.as_mut() {
                t.shrink(TOKEN_RESPONSE_CAP);
            }
        }
        if let Some(i) = self.identity.as_mut() {
            shrink(&mut i.id_token.header, VALUE_CAP);
            shrink(&mut i.id_token.claims, VALUE_CAP);
            if let Some(u) = i.id_token.fhir_user.as_mut() {
                cap_in_place(u, READ_CAP);
            }
            i.user.iter_mut().for_each(cap_read);
        }
        if let Some(answer) = self.introspection.as_mut().and_then(|i| i.answer.as_mut()) {
            shrink(answer, VALUE_CAP);
        }
        self.patient.iter_mut().for_each(cap_read);
        self.encounter.iter_mut().for_each(cap_read);
        if let Some(b) = self.backend.as_mut() {
            b.read.iter_mut().for_each(cap_read);
        }
        if let Some(c) = self.context.as_mut() {
            for r in &mut c.reads {
                cap_in_place(&mut r.reference, READ_CAP);
                cap_in_place(&mut r.resource_type, READ_CAP);
                for s in [&mut r.name, &mut r.error].into_iter().flatten() {
                    cap_in_place(s, READ_CAP);
                }
            }
        }
        let diagnoses = self.diagnoses.iter_mut().chain(
            self.refreshes
                .iter_mut()
                .flat_map(|r| r.diagnoses.iter_mut()),
        );
        for d in diagnoses {
            cap_in_place(&mut d.summary, EVIDENCE_CAP);
            for e in &mut d.evidence {
                cap_in_place(&mut e.value, EVIDENCE_CAP);
            }
        }
        // A check's detail quotes the EHR (a header, the granted scope), and every refresh
        // keeps its own checks.
        let checks = self
            .conformance
            .iter_mut()
            .chain(self.refreshes.iter_mut().flat_map(|r| r.checks.iter_mut()));
        for c in checks {
            cap_in_place(&mut c.detail, EVIDENCE_CAP);
        }
        let mut weight = self.weight();
        for x in self.transcript.iter_mut().rev() {
            for body in [&mut x.response_body, &mut x.request_body] {
                match body {
                    Some(b) if b != BODY_DROPPED && weight > RECORD_BUDGET => {
                        weight = weight - json_len(b.as_str()) + json_len(BODY_DROPPED);
                        *b = BODY_DROPPED.to_string();
                    }
                    _ => {}
                }
            }
            if weight <= RECORD_BUDGET {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn record(exchanges: usize, body: &str) -> LaunchRecord {
        let x = json!({
            "step": "fhir", "method": "GET", "url": "https://ehr/fhir/Patient/p",
            "request_headers": [], "request_body": null, "status": 200,
            "response_headers": [], "response_body": body, "duration_ms": 1, "error": null,
        });
        let junk: Value =
            serde_json::from_str(&format!("{}0{}", "[".repeat(60), "]".repeat(60))).unwrap();
        serde_json::from_value(json!({
            "id": "l1", "kind": "standalone",
            "app": {"id": "a", "name": "A", "iss": "https://ehr/fhir", "client_id": "c",
                    "auth": "none", "adhoc": false},
            "started_at": 0, "finished_at": null, "outcome": "success", "step": "fhir",
            "requested_scope": "openid", "redirect_uri": "http://127.0.0.1/callback",
            "endpoints": null, "authorize_url": null, "diagnoses": [],
            "token_response": {"access_token": "a".repeat(3000), "junk": vec![junk; 2000]},
            "transcript": vec![x; exchanges],
        }))
        .unwrap()
    }

    #[test]
    fn a_record_over_budget_drops_its_latest_bodies_and_keeps_its_tokens() {
        let body = "x".repeat(16 * 1024);
        let mut r = record(40, &body);
        assert!(r.weight() > RECORD_BUDGET);
        r.fit_budget();
        assert!(r.weight() <= RECORD_BUDGET, "{}", r.weight());
        let bodies: Vec<&str> = r
            .transcript
            .iter()
            .filter_map(|x| x.response_body.as_deref())
            .collect();
        assert_eq!(bodies[0], body, "the earliest bodies stay");
        assert_eq!(bodies[39], BODY_DROPPED, "the latest go first");
        let token = r.token_response.as_ref().unwrap().raw();
        assert_eq!(token["access_token"].as_str().map(str::len), Some(3000));
        assert!(json_len(token) <= TOKEN_RESPONSE_CAP + 64);
    }

    #[test]
    fn every_refresh_keeps_its_checks_each_detail_capped() {
        let mut r = record(1, "{}");
        let scope = "patient/Observation.rs ".repeat(20_000);
        let answer = serde_json::Map::from_iter([("scope".to_string(), json!(scope))]);
        for at in 0..5 {
            r.refreshes.push(super::super::RefreshRecord {
                at,
                outcome: super::super::Outcome::Success,
                token_response: None,
                diagnoses: Vec::new(),
                checks: crate::diagnosis::conformance::refresh(
                    &http::HeaderMap::new(),
                    &answer,
                    "openid",
                ),
            });
        }
        assert!(r.weight() > 5 * scope.len());
        r.fit_budget();
        assert!(r.weight() <= RECORD_BUDGET, "{}", r.weight());
        assert!(r.refreshes.iter().all(|f| f.checks.len() == 3));
    }

    #[test]
    fn a_record_within_budget_is_left_alone() {
        let mut r = record(3, "{}");
        r.token_response = None;
        let before = serde_json::to_string(&r).unwrap();
        r.fit_budget();
        assert_eq!(serde_json::to_string(&r).unwrap(), before);
        assert_eq!(r.weight(), before.len());
    }
}
