//! The catalogue: callback.

use super::common::{ISS_PARAM, RELAUNCH, STATE, TOKEN_OK};
use super::{Actor, Entry};
use crate::diagnosis::Severity::Error;

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        id: "callback.missing_state",
        severity: Error,
        title: "The callback has no state",
        plain: RELAUNCH,
        acts: Actor::User,
        causes: &["The server or a proxy dropped it"],
        fixes: &["Relaunch"],
        rules: &[STATE],
    },
    Entry {
        id: "callback.no_session",
        severity: Error,
        title: "No session cookie came back with the callback",
        plain: "Your browser did not keep this app's sign-in cookie. Open the app at its usual address and try again; if it runs inside the EHR, tell the app's administrator.",
        acts: Actor::AppAdmin,
        causes: &[
            "App framed in an EHR iframe with third-party cookies blocked",
            "Browser on another host name than the app's public URL (localhost vs 127.0.0.1)",
            "Cookie SameSite=Strict",
        ],
        fixes: &[
            "Open the app on its public URL",
            "For framed apps: cookie_same_site = \"none\" with https",
        ],
        rules: &[STATE],
    },
    Entry {
        id: "callback.unknown_state",
        severity: Error,
        title: "This browser has no launch with that state",
        plain: RELAUNCH,
        acts: Actor::User,
        causes: &[
            "The launch expired",
            "The app restarted with an in-memory session store",
            "Another instance without a shared session store",
        ],
        fixes: &[
            "Relaunch",
            "Use a shared session store behind a load balancer",
        ],
        rules: &[STATE],
    },
    Entry {
        id: "callback.state_mismatch",
        severity: Error,
        title: "The state does not match the launch this browser started",
        plain: RELAUNCH,
        acts: Actor::User,
        causes: &["Two launches in parallel tabs", "A forged request (CSRF)"],
        fixes: &["Relaunch"],
        rules: &[STATE],
    },
    Entry {
        id: "callback.state_reused",
        severity: Error,
        title: "This callback was already used",
        plain: RELAUNCH,
        acts: Actor::User,
        causes: &["The page was reloaded, or the back button was used"],
        fixes: &["Relaunch: codes and states are single use"],
        rules: &[STATE],
    },
    Entry {
        id: "callback.missing_code",
        severity: Error,
        title: "The callback has neither a code nor an error",
        plain: RELAUNCH,
        acts: Actor::User,
        causes: &["Broken server or proxy"],
        fixes: &["Ask the EHR vendor"],
        rules: &[TOKEN_OK],
    },
    Entry {
        id: "callback.issuer_mismatch",
        severity: Error,
        title: "The authorization response names another issuer",
        plain: RELAUNCH,
        acts: Actor::User,
        causes: &["Mix-up attack", "Misrouted response"],
        fixes: &["Relaunch; report it if it repeats"],
        rules: &[ISS_PARAM],
    },
];
