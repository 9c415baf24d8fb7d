//! The catalogue: refresh.

use super::common::{ASK_APP_ADMIN, REFRESH, WORKS};
use super::{Actor, Entry};
use crate::diagnosis::Severity::{Error, Warn};

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        id: "refresh.rejected",
        severity: Error,
        title: "The refresh token was rejected",
        plain: "The sign-in worked, but the EHR no longer renews it. Sign in again (start the launch again from the EHR or from the home page) to keep working.",
        acts: Actor::User,
        causes: &[
            "Token revoked or expired",
            "An older token used after rotation",
            "Online access after the user signed out",
        ],
        fixes: &["Relaunch", "Always keep the newest refresh token"],
        rules: &[REFRESH],
    },
    Entry {
        id: "refresh.scope_widened",
        severity: Warn,
        title: "The refreshed scope is wider than the original",
        plain: WORKS,
        acts: Actor::Nobody,
        causes: &["Non-conformant server"],
        fixes: &[],
        rules: &[REFRESH],
    },
    Entry {
        id: "refresh.malformed_response",
        severity: Error,
        title: "The refresh answer lacks required fields",
        plain: ASK_APP_ADMIN,
        acts: Actor::AppAdmin,
        causes: &["Non-conformant server"],
        fixes: &["Ask the EHR vendor"],
        rules: &[REFRESH],
    },
];
