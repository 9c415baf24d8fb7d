//! The catalogue: infrastructure.

use super::common::RELAUNCH;
use super::{Actor, Entry};
use crate::diagnosis::Severity::Error;

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        id: "session.store_unavailable",
        severity: Error,
        title: "The session store did not answer",
        plain: "The app could not save your sign-in. Try again in a minute; if it continues, tell the app's administrator.",
        acts: Actor::AppAdmin,
        causes: &["Store down or misconfigured"],
        fixes: &["Check the session store"],
        rules: &[],
    },
    Entry {
        id: "callback.result_not_kept",
        severity: Error,
        title: "The EHR answered, but the result could not be kept",
        plain: "The EHR answered this sign-in and may have issued tokens, but this server could not keep the result: its store did not answer, or the server stopped first. Start the launch again; if it keeps happening, tell the app's administrator.",
        acts: Actor::AppAdmin,
        causes: &[
            "The session store (Redis or SQLite) was down or full while the result was written",
            "The server instance stopped or was killed during the token exchange",
        ],
        fixes: &[
            "Start the launch again",
            "Check the session store; see /readyz and the README's fault tolerance section",
        ],
        rules: &[],
    },
    Entry {
        id: "callback.interrupted",
        severity: Error,
        title: "The server shut down during the token exchange",
        plain: "This server was shutting down and stopped the sign-in before the EHR answered; the EHR may have issued tokens all the same. Start the launch again.",
        acts: Actor::User,
        causes: &[
            "A restart or deployment while the token endpoint was slow to answer (shutdown_grace_seconds passed)",
        ],
        fixes: &[
            "Start the launch again",
            "Give slow token endpoints more time with shutdown_grace_seconds",
        ],
        rules: &[],
    },
    Entry {
        id: "session.sealed_secret_unavailable",
        severity: Error,
        title: "The ad-hoc app's secret could not be opened on this server instance",
        plain: RELAUNCH,
        acts: Actor::User,
        causes: &[
            "The server restarted without sealing_key_env, so its per-process key changed",
            "Several instances share a session store but not the same sealing_key_env key",
        ],
        fixes: &[
            "Set sealing_key_env to a variable holding the same 64-hex-digit key on every instance",
            "Start the ad-hoc launch again",
        ],
        rules: &[],
    },
];
