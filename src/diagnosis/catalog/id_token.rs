//! The catalogue: identity token.

use super::common::{ASK_APP_ADMIN, OIDC, SCOPES, WORKS};

const OIDC_ISS: (&str, &str) = (
    "OpenID Connect Core §3.1.3.7 item 2: iss exactly matches the issuer",
    "https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation",
);
const OIDC_DISCOVERY_ISSUER: (&str, &str) = (
    "OpenID Connect Discovery §4.3: the issuer is identical to the one the configuration was fetched for and to the id_token's iss",
    "https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfigurationValidation",
);
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
    // Strict id_token rules (OpenID Connect Core §3.1.3.7 items 2–5, Discovery §4.3; issue 19).
    Entry {
        id: "id_token.issuer_trailing_slash",
        severity: Error,
        title: "The id_token's issuer differs from the server's issuer by a trailing slash",
        plain: "The EHR's sign-in service names itself in two slightly different ways, so this app cannot trust the identity it sent. Tell your EHR administrator; the details below are for them.",
        acts: Actor::EhrAdmin,
        causes: &[
            "The server publishes issuer with a trailing slash but signs id_tokens without it (or the reverse)",
            "The OpenID configuration's issuer and the SMART configuration's issuer are written differently",
        ],
        fixes: &[
            "Ask the EHR's authorization server administrator to make issuer in .well-known/smart-configuration, issuer in .well-known/openid-configuration and iss in the id_token the same string, character for character",
        ],
        rules: &[OIDC_ISS, OIDC_DISCOVERY_ISSUER],
    },
    Entry {
        id: "id_token.untrusted_audience",
        severity: Error,
        title: "The id_token is also meant for audiences this app does not trust",
        plain: "The EHR's sign-in service sent an identity meant for other apps too, so this app does not trust it. Tell your EHR administrator; the details below are for them.",
        acts: Actor::EhrAdmin,
        causes: &[
            "The authorization server adds a resource server or another client to aud",
            "A shared client registration issues tokens for several apps",
        ],
        fixes: &[
            "Ask the EHR's authorization server administrator to issue id_tokens whose aud is this app's client id only",
        ],
        rules: &[OIDC],
    },
    Entry {
        id: "id_token.azp_mismatch",
        severity: Error,
        title: "The id_token's authorized party (azp) is missing or names another client",
        plain: "The EHR's sign-in service sent an identity that does not say it was issued to this app, so this app does not trust it. Tell your EHR administrator; the details below are for them.",
        acts: Actor::EhrAdmin,
        causes: &[
            "Several audiences in aud without an azp claim",
            "azp names another client id (a token issued to another app)",
        ],
        fixes: &[
            "Ask the EHR's authorization server administrator to issue id_tokens with azp equal to this app's client id (or a single aud)",
            "Check the client id configured for this app",
        ],
        rules: &[OIDC],
    },
];
