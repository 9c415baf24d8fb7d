//! The catalogue: symmetric client_credentials, active server probes, our JWKS (issue 21).

use super::common::{
    BACKEND, CLIENT_PASSWORD, CONFORMANCE, INFERNO, LAUNCH, SERVER_PROBE, TOKEN_ERROR,
};
use super::{Actor, Entry};
use crate::diagnosis::Severity::{Error, Warn};

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        id: "backend.symmetric_client_auth",
        severity: Warn,
        title: "The backend client authenticates with a client secret, not private_key_jwt",
        plain: "This backend client proves who it is with a shared secret, which SMART Backend Services does not allow; it does not stop a sign-in. The note is for the app's administrator and the EHR's administrator.",
        acts: Actor::Nobody,
        causes: &[
            "The EHR offers client_credentials with a client secret (Oracle Health system accounts, MEDITECH, Microsoft Entra apps) rather than SMART Backend Services",
            "The app was registered before the EHR supported private_key_jwt",
        ],
        fixes: &[
            "Where the EHR supports it, register a public key (JWKS) and switch to auth = \"private_key_jwt\"",
            "Until then keep the secret out of source control (client_secret_env) and rotate it before it expires",
        ],
        rules: &[BACKEND, CLIENT_PASSWORD],
    },
    Entry {
        id: "token.client_credentials_not_enabled",
        severity: Error,
        title: "The client was authenticated, but client_credentials is not enabled for it",
        plain: "The EHR recognised this backend client but does not let it use the backend (client_credentials) grant. Tell your EHR administrator which app you tried; the details below are for them.",
        acts: Actor::EhrAdmin,
        causes: &[
            "The backend (client_credentials / system account) grant is not enabled for this client at the EHR",
            "The client is registered as a user-facing (authorization code) app, not as a backend app",
            "The grant is enabled in another environment (non-production vs production) than the one asked",
        ],
        fixes: &[
            "Ask the EHR's administrator to enable the client_credentials (Backend Services) grant for this client",
            "Check that the client id is the backend (system) app's, not the user-facing app's",
        ],
        rules: &[TOKEN_ERROR, BACKEND],
    },
    Entry {
        id: "probe.aud_not_enforced",
        severity: Warn,
        title: "The authorize endpoint issued a code for a foreign aud",
        plain: SERVER_PROBE,
        acts: Actor::Nobody,
        causes: &[
            "The authorization server does not compare aud with its FHIR base URL",
            "aud is accepted for any resource server the EHR does not host",
        ],
        fixes: &[
            "Report it to the EHR vendor with the labelled probe in the transcript: SMART requires refusing an aud that is not the FHIR server's base URL",
        ],
        rules: &[LAUNCH, INFERNO],
    },
    Entry {
        id: "probe.code_replay_accepted",
        severity: Warn,
        title: "The token endpoint exchanged the same authorization code twice",
        plain: SERVER_PROBE,
        acts: Actor::Nobody,
        causes: &[
            "The server does not mark a code as used when it exchanges it",
            "Codes are stateless (signed) without a replay list",
        ],
        fixes: &[
            "Report it to the EHR vendor with the labelled probe in the transcript: RFC 6749 §4.1.2 says a code MUST NOT be used more than once",
        ],
        rules: &[TOKEN_ERROR, INFERNO],
    },
    Entry {
        id: "server.cors_missing",
        severity: Warn,
        title: "Discovery or the CapabilityStatement answers without CORS headers",
        plain: SERVER_PROBE,
        acts: Actor::Nobody,
        causes: &[
            "The FHIR server or a proxy in front of it sends no Access-Control-Allow-Origin",
            "CORS is enabled for the FHIR API but not for .well-known/smart-configuration or /metadata",
        ],
        fixes: &[
            "Ask the EHR's administrator to answer Access-Control-Allow-Origin on .well-known/smart-configuration and /metadata: browser apps (public clients) read them from the page",
        ],
        rules: &[CONFORMANCE, INFERNO],
    },
    Entry {
        id: "server.smart_v1_only",
        severity: Warn,
        title: "The server is SMART v1 only, which current certification no longer accepts",
        plain: SERVER_PROBE,
        acts: Actor::Nobody,
        causes: &[
            "No .well-known/smart-configuration: the endpoints come from the CapabilityStatement (SMART v1)",
            "The SMART configuration advertises no SMART v2 capabilities (permission-v2, granular scopes)",
        ],
        fixes: &[
            "Ask the EHR vendor for SMART App Launch 2.x: .well-known/smart-configuration with v2 capabilities (the ONC (g)(10) test kit v8 no longer accepts v1-only servers)",
        ],
        rules: &[CONFORMANCE, INFERNO],
    },
    Entry {
        id: "jwks.duplicate_key",
        severity: Warn,
        title: "Our published JWKS lists one key twice or reuses a kid",
        plain: "This app's published key list has a duplicate; it does not stop a sign-in here, but strict servers refuse every assertion. The note is for the app's administrator.",
        acts: Actor::Nobody,
        causes: &[
            "Several registrations share one key file, so the same public key was listed once per registration",
            "Two different keys were configured with the same key_id",
        ],
        fixes: &[
            "Give every distinct key its own key_id; registrations sharing a key file share its kid",
        ],
        rules: &[BACKEND],
    },
];
