//! A check as a case `diagnosis::assess` judges: the record a launch of this registration would
//! start with (`flow::pending_record`), filled with what the check found (discovery's endpoints,
//! the findings, the exchanges, the scorecard), and the probe's evidence beside it.

use super::Report;
use crate::config::{Registration, StoredRegistration};
use crate::diagnosis::assess::{Assessment, Probe, Refusal, assess_probe};
use crate::flow::pending_record;
use crate::record::{AppRef, LaunchRecord};
use crate::smart::{LaunchKind, Step};
use crate::state::Core;

/// The case of `report` (already scrubbed: it holds what the report shows, nothing more).
/// Fields written after `pending_record`: `app`, `step`, `endpoints`, `diagnoses`,
/// `transcript`, `conformance`.
pub(super) fn case(core: &Core, reg: &Registration, report: &Report) -> LaunchRecord {
    let kind = if reg.backend {
        LaunchKind::Backend
    } else {
        LaunchKind::Standalone
    };
    let app = AppRef::Registered(reg.id.clone());
    let stored = StoredRegistration::of(reg);
    let mut case = pending_record(core, &reg.id, &app, &stored, kind, core.now(), None);
    // The report says whether the app was typed into the ad-hoc form.
    case.app = report.registration.clone();
    case.step = if report.endpoints.is_some() {
        Step::Token
    } else {
        Step::Discovery
    };
    case.endpoints = report.endpoints.clone();
    // The check's own findings replace those a launch would start with.
    case.diagnoses = report.diagnoses.clone();
    case.transcript = report.transcript.clone();
    case.conformance = report.conformance.clone();
    case
}

/// The probe's evidence: how the token endpoint answered, as `classify::probe` read it.
pub(super) fn probe(report: &Report) -> Probe {
    Probe {
        invalid_code: Refusal::from(report.credentials.verdict),
        client_credentials: report.credentials.client_credentials,
    }
}

/// The verdict of `report`'s case.
pub(super) fn assess(core: &Core, reg: &Registration, report: &Report) -> Assessment {
    assess_probe(&case(core, reg, report), &probe(report))
}
