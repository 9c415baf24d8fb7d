//! The catalogue: launch.

use super::common::{ASK_APP_ADMIN, LAUNCH, WORKS};
use super::{Actor, Entry};
use crate::diagnosis::Severity::{Error, Warn};

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        id: "launch.missing_iss",
        severity: Error,
        title: "The launch request has no iss",
        plain: ASK_APP_ADMIN,
        acts: Actor::AppAdmin,
        causes: &[
            "The launch URL was opened directly",
            "The EHR's launch URL for this app is misconfigured",
        ],
        fixes: &["Launch from the EHR, or use a standalone launch from the home page"],
        rules: &[LAUNCH],
    },
    Entry {
        id: "launch.missing_launch",
        severity: Error,
        title: "The launch request has no single launch parameter",
        plain: "The EHR opened this app without the launch information it needs. Start the app again from the EHR; if it keeps happening, tell your EHR administrator how the app is set up to open.",
        acts: Actor::EhrAdmin,
        causes: &["The EHR is configured to open the app without a launch context"],
        fixes: &["Check the app's launch configuration in the EHR"],
        rules: &[LAUNCH],
    },
    Entry {
        id: "launch.invalid_iss",
        severity: Error,
        title: "iss is not one usable http(s) URL",
        plain: "The address that opened this app is damaged or incomplete. Start the app again from the EHR; if it keeps happening, tell your EHR administrator.",
        acts: Actor::EhrAdmin,
        causes: &[
            "Corrupted, truncated or hand-edited launch URL",
            "iss given twice, or the EHR's launch URL template for this app is wrong",
        ],
        fixes: &["Launch again from the EHR"],
        rules: &[LAUNCH],
    },
    Entry {
        id: "launch.iss_not_registered",
        severity: Error,
        title: "This FHIR server is not registered with this app",
        plain: ASK_APP_ADMIN,
        acts: Actor::AppAdmin,
        causes: &[
            "Sandbox vs production server",
            "Another tenant of the same EHR",
            "The app is not configured for this EHR",
        ],
        fixes: &["Add a [[registration]] for this iss"],
        rules: &[LAUNCH],
    },
    Entry {
        id: "launch.insecure_iss",
        severity: Warn,
        title: "iss uses plain http",
        plain: WORKS,
        acts: Actor::Nobody,
        causes: &["Local test server"],
        fixes: &["Use https in production"],
        rules: &[LAUNCH],
    },
];
