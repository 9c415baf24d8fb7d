//! The catalogue: authorization.

use super::common::{ASK_APP_ADMIN, ASK_EHR_ADMIN, AUTHZ_ERROR, LAUNCH, REDIRECT_URI, SCOPES};
use super::{Actor, Entry};
use crate::diagnosis::Severity::Error;

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        id: "authorize.access_denied",
        severity: Error,
        title: "Authorization was denied",
        plain: "Sign-in was declined or you are not allowed to use this app. Try again; if it repeats, ask your EHR administrator to enable the app for you.",
        acts: Actor::EhrAdmin,
        causes: &[
            "The user declined",
            "The user lacks rights",
            "The organisation has not enabled the app",
        ],
        fixes: &["Sign in again", "Ask the EHR administrator"],
        rules: &[AUTHZ_ERROR],
    },
    Entry {
        id: "authorize.invalid_scope",
        severity: Error,
        title: "The authorization server rejected the requested scope",
        plain: ASK_APP_ADMIN,
        acts: Actor::AppAdmin,
        causes: &[
            "Scope not registered for the app",
            "SMART v1/v2 scope syntax mismatch",
        ],
        fixes: &["Request the scopes registered for the app"],
        rules: &[AUTHZ_ERROR, SCOPES],
    },
    Entry {
        id: "authorize.invalid_request",
        severity: Error,
        title: "The authorization server rejected the request as invalid",
        plain: ASK_APP_ADMIN,
        acts: Actor::AppAdmin,
        causes: &[
            "aud is not the FHIR base",
            "A standalone launch sent launch, or the EHR launch code was stale",
        ],
        fixes: &[
            "aud = iss",
            "Standalone launches use launch/patient, not launch",
        ],
        rules: &[AUTHZ_ERROR, LAUNCH],
    },
    Entry {
        id: "authorize.redirect_uri_mismatch",
        severity: Error,
        title: "The authorization server does not accept this app's redirect URI",
        plain: ASK_APP_ADMIN,
        acts: Actor::AppAdmin,
        causes: &[
            "The redirect_uri registered with the EHR differs from this app's (scheme, host, port, path or a trailing slash)",
            "public_url is not the address the EHR registration names (behind a proxy or on another port)",
            "The app is registered in another environment (sandbox vs production)",
        ],
        fixes: &[
            "Register exactly the redirect_uri shown in the evidence, or set public_url so that it matches the registration",
        ],
        rules: &[AUTHZ_ERROR, REDIRECT_URI],
    },
    Entry {
        id: "authorize.unknown_client",
        severity: Error,
        title: "The authorization server does not know this client id",
        plain: ASK_APP_ADMIN,
        acts: Actor::AppAdmin,
        causes: &[
            "A typo in client_id or an id from another environment (sandbox vs production)",
            "The registration was removed or not yet synchronised to this environment",
        ],
        fixes: &["Copy client_id from the EHR's app registration for this environment"],
        rules: &[AUTHZ_ERROR],
    },
    Entry {
        id: "authorize.persona_mismatch",
        severity: Error,
        title: "The app is registered for another kind of user",
        plain: "This app is not set up for your kind of account (for example a clinician app used for a patient sign-in). Tell the app's administrator.",
        acts: Actor::AppAdmin,
        causes: &[
            "A provider (clinician) app was used for a patient login, or a patient app for a clinician",
            "The registration's audience does not match the launch (Oracle Health persona)",
        ],
        fixes: &["Use the registration made for this kind of user, or register the app for it"],
        rules: &[AUTHZ_ERROR],
    },
    Entry {
        id: "authorize.unauthorized_client",
        severity: Error,
        title: "The app is not allowed to ask for authorization here",
        plain: ASK_EHR_ADMIN,
        acts: Actor::EhrAdmin,
        causes: &[
            "The app is not allowed this grant",
            "Not enabled in this environment (Epic: not ready for production or not synced)",
        ],
        fixes: &["Check the registration in that environment"],
        rules: &[AUTHZ_ERROR],
    },
    Entry {
        id: "authorize.unsupported_response_type",
        severity: Error,
        title: "The server does not support response_type=code",
        plain: ASK_EHR_ADMIN,
        acts: Actor::EhrAdmin,
        causes: &["Server misconfigured"],
        fixes: &["Ask the EHR vendor"],
        rules: &[AUTHZ_ERROR],
    },
    Entry {
        id: "authorize.server_error",
        severity: Error,
        title: "The authorization server had an error",
        plain: "The EHR's sign-in service had a problem. Try again later; if it continues, tell your EHR administrator.",
        acts: Actor::EhrAdmin,
        causes: &["EHR outage"],
        fixes: &["Retry later and quote the error_uri"],
        rules: &[AUTHZ_ERROR],
    },
    Entry {
        id: "authorize.other",
        severity: Error,
        title: "The authorization server returned an error",
        plain: ASK_EHR_ADMIN,
        acts: Actor::EhrAdmin,
        causes: &["A non-standard error"],
        fixes: &["The error, description and URI are shown"],
        rules: &[AUTHZ_ERROR],
    },
    Entry {
        id: "authorize.never_returned",
        severity: Error,
        title: "The launch never came back to this app",
        plain: "The sign-in did not come back to this app. If you closed the sign-in window, start again; if the EHR showed an error page, or this keeps happening, tell the app's administrator: the app's registration with the EHR needs checking.",
        acts: Actor::AppAdmin,
        causes: &[
            "redirect_uri is not an exact match of the registered one (scheme, host, port, trailing slash)",
            "Unknown client_id (the server must not redirect then)",
        ],
        fixes: &["Compare the exact redirect_uri and client_id sent with the registration"],
        rules: &[AUTHZ_ERROR],
    },
];
