//! The catalogue: client-side rules (HAR import, `diagnosis::client_rules`): the app's own requests.

use super::common::{
    AUTHZ_ERROR, BEARER_URI, CLIENT_FAULT, CLIENT_PASSWORD, LAUNCH, OIDC, OIDC_NONCE, PKCE,
    REDIRECT_URI, SCOPE_SYNTAX, SCOPES, SECRET_QUERY, STATE, TOKEN_REQUEST, WORKS,
};
use super::{Actor, Entry};
use crate::diagnosis::Severity::{Error, Warn};

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        id: "client.pkce_missing",
        severity: Error,
        title: "The app does not use PKCE",
        plain: CLIENT_FAULT,
        acts: Actor::AppAdmin,
        causes: &[
            "An OAuth library configured without PKCE, or too old to send it",
            "A confidential client that assumes its secret is enough",
        ],
        fixes: &[
            "Send code_challenge (S256 of a fresh 256-bit verifier) with code_challenge_method=S256 and the verifier at the token request",
        ],
        rules: &[PKCE, LAUNCH],
    },
    Entry {
        id: "client.pkce_plain",
        severity: Error,
        title: "The app uses PKCE with the plain method",
        plain: CLIENT_FAULT,
        acts: Actor::AppAdmin,
        causes: &[
            "code_challenge_method left out (plain is the default)",
            "The library's PKCE method set to plain",
        ],
        fixes: &["Send code_challenge_method=S256 and the SHA-256 challenge of the verifier"],
        rules: &[PKCE, LAUNCH],
    },
    Entry {
        id: "client.state_missing",
        severity: Error,
        title: "The authorization request has no state",
        plain: CLIENT_FAULT,
        acts: Actor::AppAdmin,
        causes: &["The app relies on PKCE or cookies alone and sends no state"],
        fixes: &[
            "Send a fresh state of at least 128 random bits per launch and check it on the callback",
        ],
        rules: &[STATE, LAUNCH],
    },
    Entry {
        id: "client.state_short",
        severity: Warn,
        title: "The state carries too little randomness",
        plain: WORKS,
        acts: Actor::Nobody,
        causes: &[
            "A counter, timestamp or short random string used as state",
            "A state from a non-cryptographic random generator",
        ],
        fixes: &["Make state 128 random bits from a CSPRNG (e.g. 22 base64url characters)"],
        rules: &[STATE, LAUNCH],
    },
    Entry {
        id: "client.state_reused",
        severity: Error,
        title: "The same state was sent in more than one launch",
        plain: CLIENT_FAULT,
        acts: Actor::AppAdmin,
        causes: &[
            "A constant or per-session state instead of one per launch",
            "State kept across retries",
        ],
        fixes: &["Make a new state for every authorization request and accept it once"],
        rules: &[STATE],
    },
    Entry {
        id: "client.state_not_echoed",
        severity: Error,
        title: "The callback did not bring back the state that was sent",
        plain: CLIENT_FAULT,
        acts: Actor::AppAdmin,
        causes: &[
            "The authorization server or a proxy drops or rewrites state",
            "The callback belongs to another launch (two tabs)",
            "An attacker's callback (CSRF)",
        ],
        fixes: &[
            "Refuse a callback whose state is absent or not the one this browser sent",
            "If the server drops state, report it to the EHR vendor",
        ],
        rules: &[STATE, AUTHZ_ERROR],
    },
    Entry {
        id: "client.redirect_uri_mismatch",
        severity: Error,
        title: "The token request's redirect_uri differs from the authorization request's",
        plain: CLIENT_FAULT,
        acts: Actor::AppAdmin,
        causes: &[
            "The token request built from another setting than the authorization request (trailing slash, http vs https, another path)",
            "redirect_uri left out of the token request",
        ],
        fixes: &["Send the very redirect_uri of the authorization request with the token request"],
        rules: &[TOKEN_REQUEST, REDIRECT_URI],
    },
    Entry {
        id: "client.aud_missing",
        severity: Error,
        title: "The authorization request has no aud",
        plain: CLIENT_FAULT,
        acts: Actor::AppAdmin,
        causes: &["A generic OAuth library that knows nothing of SMART's aud"],
        fixes: &[
            "Send aud = the FHIR base URL (the iss of the launch) with every authorization request",
        ],
        rules: &[LAUNCH],
    },
    Entry {
        id: "client.aud_not_fhir_base",
        severity: Error,
        title: "aud is not the FHIR base URL",
        plain: CLIENT_FAULT,
        acts: Actor::AppAdmin,
        causes: &[
            "A trailing slash added or dropped",
            "aud set to the authorization server or the app's own URL",
            "A FHIR base from another environment",
        ],
        fixes: &[
            "Send aud exactly as the iss of the launch (or the FHIR base the app is configured with)",
        ],
        rules: &[LAUNCH],
    },
    Entry {
        id: "client.basic_not_form_encoded",
        severity: Error,
        title: "The Basic credential is not form-encoded",
        plain: CLIENT_FAULT,
        acts: Actor::AppAdmin,
        causes: &[
            "id and secret joined and base64-encoded without form-encoding them first",
            "A library that skips RFC 6749 §2.3.1's encoding",
        ],
        fixes: &[
            "Form-encode the client id and the secret (application/x-www-form-urlencoded) before joining them with ':' and base64",
            "Or send them in the body (client_secret_post) if the server allows it",
        ],
        rules: &[CLIENT_PASSWORD],
    },
    Entry {
        id: "client.secret_in_query",
        severity: Error,
        title: "The client's credential is sent in a URL",
        plain: CLIENT_FAULT,
        acts: Actor::AppAdmin,
        causes: &[
            "client_secret or client_assertion added to the query string instead of the form body",
        ],
        fixes: &[
            "Send the credential in the POST body or the Authorization header",
            "Rotate the secret: URLs are kept in logs and proxies",
        ],
        rules: &[SECRET_QUERY],
    },
    Entry {
        id: "client.launch_dropped",
        severity: Error,
        title: "The EHR's launch parameter was not passed on",
        plain: CLIENT_FAULT,
        acts: Actor::AppAdmin,
        causes: &[
            "The app's launch page does not copy launch into the authorization request",
            "The launch scope asked for without the launch value",
        ],
        fixes: &[
            "Send the launch value from the EHR's launch URL unchanged, with the launch scope",
        ],
        rules: &[LAUNCH, SCOPES],
    },
    Entry {
        id: "client.scope_syntax",
        severity: Warn,
        title: "The requested scope is malformed",
        plain: WORKS,
        acts: Actor::Nobody,
        causes: &[
            "Scopes joined with commas",
            "The scope encoded twice (+ or %20 in the value)",
            "SMART v1 and v2 scopes mixed in one request",
        ],
        fixes: &["Join scopes with single spaces and use one SMART version's syntax"],
        rules: &[SCOPE_SYNTAX, SCOPES],
    },
    Entry {
        id: "client.token_in_url",
        severity: Error,
        title: "A token is sent in a URL",
        plain: CLIENT_FAULT,
        acts: Actor::AppAdmin,
        causes: &["access_token added to FHIR request URLs (form or query style)"],
        fixes: &["Send the access token in the Authorization: Bearer header"],
        rules: &[BEARER_URI],
    },
    Entry {
        id: "client.nonce_missing",
        severity: Warn,
        title: "The app asks for an id_token without a nonce",
        plain: WORKS,
        acts: Actor::Nobody,
        causes: &["The app does not validate the id_token it asks for (openid)"],
        fixes: &[
            "Send a fresh nonce with the authorization request and check it in the id_token, or do not ask for openid",
        ],
        rules: &[OIDC_NONCE, OIDC],
    },
];
