//! The catalogue: registration check (`smart-launch-doctor check`, /check/{id}).

use super::common::{ASK_APP_ADMIN, REDIRECT_URI, TOKEN_ERROR, WORKS};
use super::{Actor, Entry};
use crate::diagnosis::Severity::{Error, Warn};

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        id: "check.probe_inconclusive",
        severity: Warn,
        title: "The credential probe was inconclusive",
        plain: WORKS,
        acts: Actor::Nobody,
        causes: &[
            "The server checks the code or another parameter before the client",
            "Server error or a proxy page",
        ],
        fixes: &["Read the raw answer; a full launch settles it"],
        rules: &[TOKEN_ERROR],
    },
    Entry {
        id: "check.redirect_uri_insecure",
        severity: Error,
        title: "The redirect URI is not https",
        plain: ASK_APP_ADMIN,
        acts: Actor::AppAdmin,
        causes: &["public_url is http on a host other than loopback"],
        fixes: &["Serve the app over https and set public_url accordingly"],
        rules: &[REDIRECT_URI],
    },
    Entry {
        id: "check.certificate_expiring",
        severity: Warn,
        title: "The FHIR server's certificate expires soon",
        plain: WORKS,
        acts: Actor::Nobody,
        causes: &["Certificate renewal pending on the EHR side"],
        fixes: &["Tell the EHR's administrators; launches fail once it expires"],
        rules: &[],
    },
];
