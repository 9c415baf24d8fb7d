//! Text shared by catalogue entries: the rules they cite and the plain sentences naming who acts.

pub(super) const LAUNCH: (&str, &str) = (
    "SMART App Launch 2.2: app launch",
    "https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html",
);
pub(super) const CONFORMANCE: (&str, &str) = (
    "SMART App Launch 2.2: conformance (discovery)",
    "https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html",
);
pub(super) const SCOPES: (&str, &str) = (
    "SMART App Launch 2.2: scopes and launch context",
    "https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html",
);
pub(super) const AUTHZ_ERROR: (&str, &str) = (
    "RFC 6749 §4.1.2.1: authorization error response",
    "https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1",
);
pub(super) const TOKEN_ERROR: (&str, &str) = (
    "RFC 6749 §5.2: token error response",
    "https://www.rfc-editor.org/rfc/rfc6749#section-5.2",
);
pub(super) const TOKEN_OK: (&str, &str) = (
    "RFC 6749 §5.1: successful token response",
    "https://www.rfc-editor.org/rfc/rfc6749#section-5.1",
);
pub(super) const CLIENT_PASSWORD: (&str, &str) = (
    "RFC 6749 §2.3.1: client password (form-encode id and secret before Basic)",
    "https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1",
);
pub(super) const STATE: (&str, &str) = (
    "RFC 9700 §4.7: CSRF protection with single-use state",
    "https://www.rfc-editor.org/rfc/rfc9700#section-4.7",
);
pub(super) const OIDC: (&str, &str) = (
    "OpenID Connect Core §3.1.3.7: ID token validation",
    "https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation",
);
pub(super) const REFRESH: (&str, &str) = (
    "RFC 6749 §6: refreshing an access token",
    "https://www.rfc-editor.org/rfc/rfc6749#section-6",
);
pub(super) const FHIR_AUTH: (&str, &str) = (
    "RFC 6750 §3: the Bearer WWW-Authenticate challenge",
    "https://www.rfc-editor.org/rfc/rfc6750#section-3",
);
pub(super) const FHIR_READ: (&str, &str) = (
    "FHIR R4 RESTful API: read (the resource of the type asked for)",
    "https://hl7.org/fhir/R4/http.html#read",
);
pub(super) const REDIRECT_URI: (&str, &str) = (
    "RFC 9700 §4.1: redirect URIs (https except loopback, exact match)",
    "https://www.rfc-editor.org/rfc/rfc9700#section-4.1",
);
pub(super) const SSRF: (&str, &str) = (
    "RFC 9700 §4.11 / OWASP: server-side request forgery",
    "https://cheatsheetseries.owasp.org/cheatsheets/Server_Side_Request_Forgery_Prevention_Cheat_Sheet.html",
);
pub(super) const PKCE: (&str, &str) = ("RFC 7636: PKCE", "https://www.rfc-editor.org/rfc/rfc7636");
pub(super) const ISS_PARAM: (&str, &str) = (
    "RFC 9207: authorization server issuer identification",
    "https://www.rfc-editor.org/rfc/rfc9207",
);
pub(super) const REDIRECTS: (&str, &str) = (
    "RFC 9700 §4.11: open redirection (outbound redirects are not followed)",
    "https://www.rfc-editor.org/rfc/rfc9700#section-4.11",
);

pub(super) const INTROSPECTION: (&str, &str) = (
    "RFC 7662: OAuth 2.0 token introspection",
    "https://www.rfc-editor.org/rfc/rfc7662#section-2.2",
);
pub(super) const SMART_TOKEN: (&str, &str) = (
    "SMART App Launch 2.2: access token response",
    "https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html#response-5",
);
pub(super) const INFERNO: (&str, &str) = (
    "Inferno SMART App Launch test kit (STU 2.2 suite)",
    "https://inferno.healthit.gov/test-kits/smart-app-launch/",
);

// A name that does not resolve is most often a typo: waiting does not fix it.
pub(super) const ASK_DNS: &str = "The EHR's server name could not be found, usually because the address this app was given has a typo. Trying again will not help: tell the app's administrator, who can check the address.";
pub(super) const ASK_NETWORK: &str = "The app could not reach the EHR's server. Try again in a few minutes; if it keeps happening, tell the app's administrator.";
pub(super) const ASK_APP_ADMIN: &str = "This app is not set up correctly for this EHR. Tell the app's administrator; the details below are for them.";
pub(super) const ASK_EHR_ADMIN: &str = "The EHR refused this app. Tell your EHR administrator which app you tried; the details below are for them.";
pub(super) const RELAUNCH: &str = "This sign-in can no longer be completed. Start the launch again from the EHR or from the home page.";
/// Backend Services runs have no sign-in; the note is for developers alike.
pub(super) const BACKEND_WORKS: &str = "The backend client got its token; the note below is for the app's developers and the EHR's administrator.";
pub(super) const BACKEND: (&str, &str) = (
    "SMART App Launch 2.2: Backend Services",
    "https://hl7.org/fhir/smart-app-launch/STU2.2/backend-services.html",
);
pub(super) const SERVER_PROBE: &str = "This is about the EHR's server, not your app; it does not stop a sign-in. The details below are for the EHR's administrator and vendor.";
pub(super) const WORKS: &str =
    "This alone does not stop a sign-in; the note below is for the app's developers.";

// Client-side rules (HAR import): what the app that made a launch got wrong on its own side.
pub(super) const CLIENT_FAULT: &str = "The app that made this sign-in breaks a SMART rule in its own requests (not the EHR). Tell the app's administrator; the details below are for its developers.";
pub(super) const TOKEN_REQUEST: (&str, &str) = (
    "RFC 6749 §4.1.3: access token request (redirect_uri identical to the authorization request's)",
    "https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3",
);
pub(super) const BEARER_URI: (&str, &str) = (
    "RFC 6750 §2.3 and §5.3: tokens in URIs",
    "https://www.rfc-editor.org/rfc/rfc6750#section-2.3",
);
pub(super) const OIDC_NONCE: (&str, &str) = (
    "OpenID Connect Core §3.1.2.1 and §15.5.2: nonce",
    "https://openid.net/specs/openid-connect-core-1_0.html#NonceNotes",
);
pub(super) const SCOPE_SYNTAX: (&str, &str) = (
    "RFC 6749 §3.3: access token scope (space-delimited)",
    "https://www.rfc-editor.org/rfc/rfc6749#section-3.3",
);
pub(super) const SECRET_QUERY: (&str, &str) = (
    "RFC 6749 §2.3.1: client credentials in the request body, never the URI",
    "https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1",
);
