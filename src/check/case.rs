//! A check as a case `diagnosis::assess` judges: the record a launch of this registration would
//! start with (`flow::pending_record`), filled with what the check found (discovery's endpoints,
//! the findings, the exchanges, the scorecard), and the probe's evidence beside it.

use super::Report;
use crate::config::{Registration, StoredRegistration};
use crate::diagnosis::assess::{Assessment, Probe, Refusal, assess_probe};
use crate::flow::{self, Head};
use crate::record::{AppRef, LaunchRecord, Opening, Owner};
use crate::smart::{LaunchKind, Step};
use crate::state::Core;

/// The case of `report` (already scrubbed: it holds what the report shows, nothing more):
/// opened as a launch of this registration would be, with the check's own findings, exchanges
/// and scorecard appended in place of those a launch would start with.
pub(super) fn case(core: &Core, reg: &Registration, report: &Report) -> LaunchRecord {
    let kind = if reg.backend {
        LaunchKind::Backend
    } else {
        LaunchKind::Standalone
    };
    let stored = StoredRegistration::of(reg);
    let opening = flow::opening(
        core,
        Head {
            id: &reg.id,
            app: &AppRef::Registered(reg.id.clone()),
            kind,
            started_at: core.now(),
            owner: Owner::default(),
            launch_request_id: "",
        },
        &stored,
        None,
    );
    let mut case = LaunchRecord::open(Opening {
        // The report says whether the app was typed into the ad-hoc form.
        app: report.registration.clone(),
        endpoints: report.endpoints.clone(),
        ..opening
    });
    if report.endpoints.is_some() {
        case.reached(Step::Token);
    }
    case.found(report.diagnoses.iter().cloned());
    case.transcribed(report.transcript.iter().cloned());
    case.checked(report.conformance.iter().cloned());
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
