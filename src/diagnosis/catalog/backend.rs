//! The catalogue: Backend Services (observed by `backend` runs; the server's side of SMART Backend Services).

use super::common::{BACKEND, BACKEND_WORKS, TOKEN_ERROR};
use super::{Actor, Entry};
use crate::diagnosis::Severity::Warn;

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        id: "server.backend_scope_not_system",
        severity: Warn,
        title: "The backend token grants scopes other than system/ scopes",
        plain: BACKEND_WORKS,
        acts: Actor::Nobody,
        causes: &[
            "The server maps the client to patient/ or user/ scopes",
            "The answer has no scope, so the grant cannot be checked",
        ],
        fixes: &[
            "Ask the EHR's administrator which system/ scopes the client is allowed",
            "Request only system/ scopes",
        ],
        rules: &[BACKEND],
    },
    Entry {
        id: "server.backend_expires_in_long",
        severity: Warn,
        title: "The backend access token lives longer than five minutes, or its lifetime is not given",
        plain: BACKEND_WORKS,
        acts: Actor::Nobody,
        causes: &[
            "The server uses its user-facing token lifetime for backend clients",
            "expires_in missing from the answer",
        ],
        fixes: &[
            "Nothing to do on the app side; SMART says expires_in SHOULD be at most 300 seconds",
        ],
        rules: &[BACKEND],
    },
    Entry {
        id: "server.backend_refresh_token",
        severity: Warn,
        title: "The backend token response carries a refresh token",
        plain: BACKEND_WORKS,
        acts: Actor::Nobody,
        causes: &["The server treats client_credentials like an authorization code grant"],
        fixes: &["Do not use it: a backend client gets a new token with a new client assertion"],
        rules: &[BACKEND],
    },
    Entry {
        id: "server.backend_bogus_grant_accepted",
        severity: Warn,
        title: "The token endpoint did not reject an unknown grant_type with 400",
        plain: BACKEND_WORKS,
        acts: Actor::Nobody,
        causes: &[
            "The server ignores grant_type",
            "The server answers errors with another status",
        ],
        fixes: &["Report it to the EHR vendor with the labelled probe in the transcript"],
        rules: &[BACKEND, TOKEN_ERROR],
    },
    Entry {
        id: "server.backend_bogus_assertion_type_accepted",
        severity: Warn,
        title: "The token endpoint did not reject an unknown client_assertion_type with 400 or 401",
        plain: BACKEND_WORKS,
        acts: Actor::Nobody,
        causes: &[
            "The server ignores client_assertion_type",
            "The server answers errors with another status",
        ],
        fixes: &["Report it to the EHR vendor with the labelled probe in the transcript"],
        rules: &[BACKEND, TOKEN_ERROR],
    },
];
