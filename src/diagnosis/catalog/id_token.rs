//! The catalogue: identity token.

use super::common::{ASK_APP_ADMIN, OIDC, SCOPES, WORKS};
use super::{Actor, Entry};
use crate::diagnosis::Severity::{Error, Warn};

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        id: "id_token.malformed",
        severity: Error,
        title: "The id_token is not a decodable JWT",
        plain: ASK_APP_ADMIN,
        acts: Actor::AppAdmin,
        causes: &["Non-conformant server"],
        fixes: &["Ask the EHR vendor"],
        rules: &[OIDC],
    },
    Entry {
        id: "id_token.config_unavailable",
        severity: Error,
        title: "The OpenID Connect configuration or keys could not be fetched",
        plain: ASK_APP_ADMIN,
        acts: Actor::AppAdmin,
        causes: &[
            "Server without OpenID Connect discovery",
            "jwks_uri unreachable from where the app runs",
        ],
        fixes: &["Check {issuer}/.well-known/openid-configuration and its jwks_uri"],
        rules: &[OIDC],
    },
    Entry {
        id: "id_token.bad_signature",
        severity: Error,
        title: "The id_token's signature cannot be trusted",
        plain: "The EHR's sign-in service sent an identity this app cannot verify, so it does not trust it. Tell your EHR administrator; the details below are for them and the app's administrator.",
        acts: Actor::EhrAdmin,
        causes: &[
            "The EHR signed with a key it has not published yet (key rotation)",
            "Keys of another issuer (the id_token's iss and the JWKS do not belong together)",
            "An algorithm that is never accepted (none, HMAC)",
        ],
        fixes: &[
            "Compare the id_token's kid with the key ids in the issuer's JWKS (both in the evidence)",
            "Ask the EHR's administrators to publish the signing key in the JWKS",
        ],
        rules: &[OIDC],
    },
    Entry {
        id: "id_token.wrong_issuer",
        severity: Error,
        title: "The id_token names another issuer",
        plain: ASK_APP_ADMIN,
        acts: Actor::AppAdmin,
        causes: &["Sandbox vs production host"],
        fixes: &["Check which server issued the token"],
        rules: &[OIDC],
    },
    Entry {
        id: "id_token.wrong_audience",
        severity: Error,
        title: "The id_token is meant for another client",
        plain: ASK_APP_ADMIN,
        acts: Actor::AppAdmin,
        causes: &["Token issued to another client id"],
        fixes: &["Check the client id"],
        rules: &[OIDC],
    },
    Entry {
        id: "id_token.expired",
        severity: Error,
        title: "The id_token is expired or issued in the future",
        plain: ASK_APP_ADMIN,
        acts: Actor::AppAdmin,
        causes: &["Clock skew between this host and the server"],
        fixes: &["Synchronise the clock (NTP); the times are shown"],
        rules: &[OIDC],
    },
    Entry {
        id: "id_token.fhiruser_unresolved",
        severity: Warn,
        title: "The signed-in user could not be resolved",
        plain: WORKS,
        acts: Actor::Nobody,
        causes: &[
            "fhirUser scope not granted",
            "fhirUser of an unexpected type or outside the FHIR base",
            "The read failed",
        ],
        fixes: &["Request fhirUser", "See the read's diagnosis"],
        rules: &[SCOPES],
    },
];
