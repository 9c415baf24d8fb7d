//! The catalogue: FHIR API.

use super::common::{ASK_APP_ADMIN, ASK_EHR_ADMIN, FHIR_AUTH, FHIR_READ, LAUNCH, SCOPES, TOKEN_OK};
use super::{Actor, Entry};
use crate::diagnosis::Severity::Error;

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        id: "fhir.invalid_token",
        severity: Error,
        title: "The FHIR server did not accept the access token",
        plain: ASK_APP_ADMIN,
        acts: Actor::AppAdmin,
        causes: &[
            "Token for another host or tenant (Cerner tenant-mismatch)",
            "The FHIR server does not trust this authorization server's tokens (a separate OAuth server not configured at the FHIR server)",
        ],
        fixes: &["Call only the aud base", "Refresh the token"],
        rules: &[FHIR_AUTH],
    },
    Entry {
        id: "fhir.token_expired",
        severity: Error,
        title: "The access token had expired when the FHIR server was asked",
        plain: "The app's access to the EHR ran out before it read the data. Start the launch again; if it happens every time, tell the app's administrator.",
        acts: Actor::AppAdmin,
        causes: &[
            "The token's lifetime (expires_in) had passed before the read: a very short lifetime, or a slow step before the read",
            "The FHIR server's clock is ahead of the authorization server's",
        ],
        fixes: &[
            "Refresh the token (or launch again) and read within its lifetime",
            "If expires_in is only seconds, ask the EHR's administrators to lengthen the token lifetime",
        ],
        rules: &[FHIR_AUTH, TOKEN_OK],
    },
    Entry {
        id: "fhir.token_missing_launch_context",
        severity: Error,
        title: "The FHIR server wants the launch context inside the access token",
        plain: "The EHR's data service refused the app because the sign-in did not carry the patient it was launched for. Tell the app's administrator; the details below are for them.",
        acts: Actor::AppAdmin,
        causes: &[
            "The FHIR server enforces the patient compartment from a claim in the access token (patient, launch context), and the authorization server does not put one there",
            "A generic OAuth server in front of a FHIR server that expects SMART launch context in its tokens",
            "The launch scope (launch or launch/patient) was not requested or not granted, so no patient was bound to the token",
        ],
        fixes: &[
            "Configure the authorization server to add the patient (launch context) claim to access tokens",
            "Request launch/patient (standalone) or launch (EHR launch) and make sure it is granted",
        ],
        rules: &[SCOPES, FHIR_AUTH],
    },
    // Issue 20 (answer corpus): an API gateway's own refusal in front of the FHIR server.
    Entry {
        id: "fhir.gateway_rejected",
        severity: Error,
        title: "An API gateway in front of the FHIR server refused the call for its own reason",
        plain: "The gateway in front of the EHR's data service refused the app before the data service saw the request (a missing or wrong subscription or API key, or a used-up quota). Tell the app's administrator; a new sign-in will not help.",
        acts: Actor::AppAdmin,
        causes: &[
            "The gateway (Azure API Management, Apigee, Kong, AWS API Gateway) wants its own subscription or API key header, which the app did not send or sent wrong",
            "The app's quota or rate limit at the gateway is used up",
        ],
        fixes: &[
            "Send the gateway's key header the EHR's developer portal names (e.g. Ocp-Apim-Subscription-Key) with every FHIR request",
            "Ask the EHR's API team for a key, or a larger quota, for this app",
        ],
        rules: &[FHIR_AUTH],
    },
    Entry {
        id: "fhir.forbidden",
        severity: Error,
        title: "The FHIR server refused the read",
        plain: ASK_EHR_ADMIN,
        acts: Actor::EhrAdmin,
        causes: &[
            "Scope not granted for the resource type",
            "User permissions",
        ],
        fixes: &["Compare with the granted scopes"],
        rules: &[SCOPES],
    },
    Entry {
        id: "fhir.not_found",
        severity: Error,
        title: "The resource in context was not found",
        plain: ASK_EHR_ADMIN,
        acts: Actor::EhrAdmin,
        causes: &["Wrong id", "Some EHRs answer 404 for permission problems"],
        fixes: &[],
        rules: &[FHIR_AUTH],
    },
    Entry {
        id: "fhir.not_fhir",
        severity: Error,
        title: "The FHIR server answered something that is not FHIR JSON",
        plain: ASK_APP_ADMIN,
        acts: Actor::AppAdmin,
        causes: &["Wrong base URL"],
        fixes: &["Check the FHIR base"],
        rules: &[FHIR_AUTH],
    },
    Entry {
        id: "fhir.wrong_resource_type",
        severity: Error,
        title: "The FHIR server answered a read with another type of resource",
        plain: ASK_EHR_ADMIN,
        acts: Actor::EhrAdmin,
        causes: &[
            "The id in context is not a plain id (empty, `.` or `..`) and the server answered its search or base URL",
            "The server answers errors as an OperationOutcome with status 200",
            "The launch context names the wrong resource (a Practitioner's id as the patient)",
        ],
        fixes: &[
            "Put a plain FHIR id of the right type in the token response (patient, encounter) or the id_token (fhirUser)",
            "Answer a failed read with an error status, not 200",
        ],
        rules: &[FHIR_READ, LAUNCH],
    },
    Entry {
        id: "fhir.server_error",
        severity: Error,
        title: "The FHIR server failed the read",
        plain: "The EHR's data service had a problem. Try again later; if it continues, tell the app's administrator.",
        acts: Actor::AppAdmin,
        causes: &["FHIR server outage or bug"],
        fixes: &["Retry later; quote the request id the server gave"],
        rules: &[FHIR_AUTH],
    },
];
