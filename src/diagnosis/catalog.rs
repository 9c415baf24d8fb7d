//! The catalogue: for each stable id, its severity, title, a plain sentence for clinicians, the
//! causes ranked by how often they happen, the fixes and the rules that apply.
//! Ids are a public interface: never renamed. `smart-launch-doctor catalogue` prints them all and
//! `docs/diagnoses.md` is generated from here.

use super::Severity::{self, Error, Warn};

/// One catalogue entry. Entries are compared by id.
pub struct Entry {
    pub id: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    pub plain: &'static str,
    pub causes: &'static [&'static str],
    pub fixes: &'static [&'static str],
    pub spec: &'static [(&'static str, &'static str)],
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Entry {}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

const LAUNCH: (&str, &str) = (
    "SMART App Launch 2.2: app launch",
    "https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html",
);
const CONFORMANCE: (&str, &str) = (
    "SMART App Launch 2.2: conformance (discovery)",
    "https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html",
);
const SCOPES: (&str, &str) = (
    "SMART App Launch 2.2: scopes and launch context",
    "https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html",
);
const AUTHZ_ERROR: (&str, &str) = (
    "RFC 6749 §4.1.2.1: authorization error response",
    "https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1",
);
const TOKEN_ERROR: (&str, &str) = (
    "RFC 6749 §5.2: token error response",
    "https://www.rfc-editor.org/rfc/rfc6749#section-5.2",
);
const TOKEN_OK: (&str, &str) = (
    "RFC 6749 §5.1: successful token response",
    "https://www.rfc-editor.org/rfc/rfc6749#section-5.1",
);
const CLIENT_PASSWORD: (&str, &str) = (
    "RFC 6749 §2.3.1: client password (form-encode id and secret before Basic)",
    "https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1",
);
const STATE: (&str, &str) = (
    "RFC 9700 §4.7: CSRF protection with single-use state",
    "https://www.rfc-editor.org/rfc/rfc9700#section-4.7",
);
const OIDC: (&str, &str) = (
    "OpenID Connect Core §3.1.3.7: ID token validation",
    "https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation",
);
const OIDC_ISS: (&str, &str) = (
    "OpenID Connect Core §3.1.3.7 item 2: iss exactly matches the issuer",
    "https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation",
);
const OIDC_DISCOVERY_ISSUER: (&str, &str) = (
    "OpenID Connect Discovery §4.3: the issuer is identical to the one the configuration was fetched for and to the id_token's iss",
    "https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfigurationValidation",
);
const REFRESH: (&str, &str) = (
    "RFC 6749 §6: refreshing an access token",
    "https://www.rfc-editor.org/rfc/rfc6749#section-6",
);
const FHIR_AUTH: (&str, &str) = (
    "RFC 6750 §3: the Bearer WWW-Authenticate challenge",
    "https://www.rfc-editor.org/rfc/rfc6750#section-3",
);
const FHIR_READ: (&str, &str) = (
    "FHIR R4 RESTful API: read (the resource of the type asked for)",
    "https://hl7.org/fhir/R4/http.html#read",
);
const REDIRECT_URI: (&str, &str) = (
    "RFC 9700 §4.1: redirect URIs (https except loopback, exact match)",
    "https://www.rfc-editor.org/rfc/rfc9700#section-4.1",
);
const SSRF: (&str, &str) = (
    "RFC 9700 §4.11 / OWASP: server-side request forgery",
    "https://cheatsheetseries.owasp.org/cheatsheets/Server_Side_Request_Forgery_Prevention_Cheat_Sheet.html",
);
const PKCE: (&str, &str) = ("RFC 7636: PKCE", "https://www.rfc-editor.org/rfc/rfc7636");
const ISS_PARAM: (&str, &str) = (
    "RFC 9207: authorization server issuer identification",
    "https://www.rfc-editor.org/rfc/rfc9207",
);
const REDIRECTS: (&str, &str) = (
    "RFC 9700 §4.11: open redirection (outbound redirects are not followed)",
    "https://www.rfc-editor.org/rfc/rfc9700#section-4.11",
);

const INTROSPECTION: (&str, &str) = (
    "RFC 7662: OAuth 2.0 token introspection",
    "https://www.rfc-editor.org/rfc/rfc7662#section-2.2",
);
const SMART_TOKEN: (&str, &str) = (
    "SMART App Launch 2.2: access token response",
    "https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html#response-5",
);
const INFERNO: (&str, &str) = (
    "Inferno SMART App Launch test kit (STU 2.2 suite)",
    "https://inferno.healthit.gov/test-kits/smart-app-launch/",
);

// A name that does not resolve is most often a typo: waiting does not fix it.
const ASK_DNS: &str = "The EHR's server name could not be found, usually because the address this app was given has a typo. Trying again will not help: tell the app's administrator, who can check the address.";
const ASK_NETWORK: &str = "The app could not reach the EHR's server. Try again in a few minutes; if it keeps happening, tell the app's administrator.";
const ASK_APP_ADMIN: &str = "This app is not set up correctly for this EHR. Tell the app's administrator; the details below are for them.";
const ASK_EHR_ADMIN: &str = "The EHR refused this app. Tell your EHR administrator which app you tried; the details below are for them.";
const RELAUNCH: &str = "This sign-in can no longer be completed. Start the launch again from the EHR or from the home page.";
/// Backend Services runs have no sign-in; the note is for developers alike.
const BACKEND_WORKS: &str = "The backend client got its token; the note below is for the app's developers and the EHR's administrator.";
const BACKEND: (&str, &str) = (
    "SMART App Launch 2.2: Backend Services",
    "https://hl7.org/fhir/smart-app-launch/STU2.2/backend-services.html",
);
const SERVER_PROBE: &str = "This is about the EHR's server, not your app; it does not stop a sign-in. The details below are for the EHR's administrator and vendor.";
const WORKS: &str =
    "This alone does not stop a sign-in; the note below is for the app's developers.";

// Client-side rules (HAR import): what the app that made a launch got wrong on its own side.
const CLIENT_FAULT: &str = "The app that made this sign-in breaks a SMART rule in its own requests (not the EHR). Tell the app's administrator; the details below are for its developers.";
const TOKEN_REQUEST: (&str, &str) = (
    "RFC 6749 §4.1.3: access token request (redirect_uri identical to the authorization request's)",
    "https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3",
);
const BEARER_URI: (&str, &str) = (
    "RFC 6750 §2.3 and §5.3: tokens in URIs",
    "https://www.rfc-editor.org/rfc/rfc6750#section-2.3",
);
const OIDC_NONCE: (&str, &str) = (
    "OpenID Connect Core §3.1.2.1 and §15.5.2: nonce",
    "https://openid.net/specs/openid-connect-core-1_0.html#NonceNotes",
);
const SCOPE_SYNTAX: (&str, &str) = (
    "RFC 6749 §3.3: access token scope (space-delimited)",
    "https://www.rfc-editor.org/rfc/rfc6749#section-3.3",
);
const SECRET_QUERY: (&str, &str) = (
    "RFC 6749 §2.3.1: client credentials in the request body, never the URI",
    "https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1",
);

macro_rules! e {
    ($id:literal, $sev:expr, $title:literal, $plain:expr, [$($c:literal),* $(,)?], [$($f:literal),* $(,)?], [$($s:expr),* $(,)?]) => {
        Entry { id: $id, severity: $sev, title: $title, plain: $plain, causes: &[$($c),*], fixes: &[$($f),*], spec: &[$($s),*] }
    };
}

/// Every entry this build knows.
pub static ENTRIES: &[Entry] = &[
    // Network
    e!(
        "net.dns",
        Error,
        "The server's host name could not be resolved",
        ASK_DNS,
        [
            "Typo in the host name of iss or of a discovered endpoint",
            "An internal host name that does not resolve where this app runs"
        ],
        [
            "Check the host name",
            "Run the app on a network where the EHR's host name resolves"
        ],
        []
    ),
    e!(
        "net.connect",
        Error,
        "The connection to the server was refused or unreachable",
        ASK_NETWORK,
        [
            "Server down",
            "Wrong port",
            "A firewall or VPN is required to reach it"
        ],
        ["Check the URL and the network path"],
        []
    ),
    e!(
        "net.tls",
        Error,
        "The TLS handshake or certificate check failed",
        ASK_NETWORK,
        [
            "Self-signed or private-CA test server",
            "TLS-intercepting proxy",
            "Certificate issued for another host name"
        ],
        [
            "Trust the server's CA explicitly in the configuration; certificate checks are never disabled"
        ],
        []
    ),
    e!(
        "net.timeout",
        Error,
        "The server did not answer in time",
        ASK_NETWORK,
        [
            "Server overloaded",
            "Blackholed route or firewall dropping packets"
        ],
        [
            "Retry",
            "Raise http_timeout_seconds",
            "Check the network path"
        ],
        []
    ),
    e!(
        "net.redirected",
        Error,
        "The server answered with a redirect, which is not followed",
        ASK_APP_ADMIN,
        ["The configured iss or a discovered endpoint is outdated (moved, or http→https)"],
        ["Use the Location shown as the configured URL"],
        [REDIRECTS]
    ),
    e!(
        "net.too_large",
        Error,
        "The answer was larger than the size limit",
        ASK_APP_ADMIN,
        ["Wrong URL: it points at a file or a portal page"],
        ["Check the URL"],
        []
    ),
    e!(
        "net.incomplete",
        Error,
        "The answer broke off before it was complete",
        ASK_NETWORK,
        [
            "Server or proxy closed the connection mid-answer (crash, restart, idle timeout)",
            "Content-Length larger than the body sent"
        ],
        ["Retry", "Check the server's and proxy's logs at that time"],
        []
    ),
    e!(
        "net.private_target",
        Error,
        "The URL points inside the network and was not fetched",
        ASK_APP_ADMIN,
        [
            "A FHIR base typed into the ad-hoc form (not registered) that resolves to a loopback, private or link-local address",
            "A discovered endpoint of such a server pointing inside the network",
            "A URL an EHR's answers name (smart_style_url, issuer, jwks_uri, introspection_endpoint) on another host that is private, perhaps spelled as a number (http://2852039166/ is 169.254.169.254)",
            "An on-premises EHR whose authorization server is on another private host than its FHIR base"
        ],
        [
            "Register the FHIR base in the configuration (its own origin is then trusted)",
            "For an on-premises EHR's other hosts: allow_private_hosts = [\"auth.ehr.local\", \"10.0.0.0/8\"]",
            "For a local test server: allow_private_networks = true"
        ],
        [SSRF]
    ),
    // Discovery
    e!(
        "discovery.not_found",
        Error,
        "No SMART configuration found at this FHIR base",
        ASK_APP_ADMIN,
        [
            "iss is not a FHIR base (missing tenant or /r4 segment)",
            "The server is not SMART-enabled"
        ],
        ["Compare the two URLs tried with the EHR's documented FHIR base"],
        [CONFORMANCE]
    ),
    e!(
        "discovery.legacy_metadata",
        Warn,
        "Endpoints came only from the CapabilityStatement",
        WORKS,
        ["SMART v1 server without .well-known/smart-configuration"],
        ["Nothing to do for the launch; the server predates SMART 2"],
        [CONFORMANCE]
    ),
    e!(
        "discovery.not_json",
        Error,
        "Discovery answered something that is not JSON",
        ASK_APP_ADMIN,
        ["iss points at a portal, a login page, a WAF or a proxy"],
        ["Check the FHIR base URL; the first bytes of the answer are shown"],
        [CONFORMANCE]
    ),
    e!(
        "discovery.missing_fields",
        Error,
        "Discovery lacks the authorization or token endpoint",
        ASK_APP_ADMIN,
        ["Non-conformant server"],
        ["Ask the EHR vendor; the missing fields are listed"],
        [CONFORMANCE]
    ),
    e!(
        "discovery.incomplete",
        Warn,
        "Discovery lacks fields SMART requires",
        WORKS,
        ["Older or sloppy server"],
        ["Nothing to do for the launch; the missing fields are listed"],
        [CONFORMANCE]
    ),
    e!(
        "discovery.pkce_not_advertised",
        Warn,
        "Discovery does not advertise PKCE S256 alone",
        WORKS,
        [
            "S256 missing from code_challenge_methods_supported (stale metadata)",
            "plain still offered next to S256"
        ],
        ["PKCE S256 is sent anyway, as SMART 2 requires"],
        [CONFORMANCE, PKCE]
    ),
    e!(
        "discovery.auth_method_unsupported",
        Warn,
        "The configured client authentication method is not advertised",
        WORKS,
        [
            "The app is registered as another client type than configured",
            "An error (it leads) when the token endpoint then rejects the client: the unadvertised method is the likely cause"
        ],
        ["Configure the method the server supports, or re-register the app"],
        [CONFORMANCE]
    ),
    e!(
        "discovery.launch_unsupported",
        Warn,
        "The server does not advertise this launch type",
        WORKS,
        ["The server does not support this launch"],
        ["Use the other launch type"],
        [CONFORMANCE]
    ),
    e!(
        "discovery.sources_disagree",
        Warn,
        ".well-known and the CapabilityStatement name different endpoints",
        WORKS,
        ["Server misconfiguration"],
        [".well-known is used; both are shown"],
        [CONFORMANCE]
    ),
    e!(
        "discovery.scope_unsupported",
        Warn,
        "Requested scopes are not in scopes_supported",
        WORKS,
        [
            "Scope not offered by the server",
            "SMART v1 vs v2 scope syntax"
        ],
        ["Request offered scopes"],
        [SCOPES]
    ),
    // Launch
    e!(
        "launch.missing_iss",
        Error,
        "The launch request has no iss",
        ASK_APP_ADMIN,
        [
            "The launch URL was opened directly",
            "The EHR's launch URL for this app is misconfigured"
        ],
        ["Launch from the EHR, or use a standalone launch from the home page"],
        [LAUNCH]
    ),
    e!(
        "launch.missing_launch",
        Error,
        "The launch request has no single launch parameter",
        "The EHR opened this app without the launch information it needs. Start the app again from the EHR; if it keeps happening, tell your EHR administrator how the app is set up to open.",
        ["The EHR is configured to open the app without a launch context"],
        ["Check the app's launch configuration in the EHR"],
        [LAUNCH]
    ),
    e!(
        "launch.invalid_iss",
        Error,
        "iss is not one usable http(s) URL",
        "The address that opened this app is damaged or incomplete. Start the app again from the EHR; if it keeps happening, tell your EHR administrator.",
        [
            "Corrupted, truncated or hand-edited launch URL",
            "iss given twice, or the EHR's launch URL template for this app is wrong"
        ],
        ["Launch again from the EHR"],
        [LAUNCH]
    ),
    e!(
        "launch.iss_not_registered",
        Error,
        "This FHIR server is not registered with this app",
        ASK_APP_ADMIN,
        [
            "Sandbox vs production server",
            "Another tenant of the same EHR",
            "The app is not configured for this EHR"
        ],
        ["Add a [[registration]] for this iss"],
        [LAUNCH]
    ),
    e!(
        "launch.insecure_iss",
        Warn,
        "iss uses plain http",
        WORKS,
        ["Local test server"],
        ["Use https in production"],
        [LAUNCH]
    ),
    // Authorization
    e!(
        "authorize.access_denied",
        Error,
        "Authorization was denied",
        "Sign-in was declined or you are not allowed to use this app. Try again; if it repeats, ask your EHR administrator to enable the app for you.",
        [
            "The user declined",
            "The user lacks rights",
            "The organisation has not enabled the app"
        ],
        ["Sign in again", "Ask the EHR administrator"],
        [AUTHZ_ERROR]
    ),
    e!(
        "authorize.invalid_scope",
        Error,
        "The authorization server rejected the requested scope",
        ASK_APP_ADMIN,
        [
            "Scope not registered for the app",
            "SMART v1/v2 scope syntax mismatch"
        ],
        ["Request the scopes registered for the app"],
        [AUTHZ_ERROR, SCOPES]
    ),
    e!(
        "authorize.invalid_request",
        Error,
        "The authorization server rejected the request as invalid",
        ASK_APP_ADMIN,
        [
            "aud is not the FHIR base",
            "A standalone launch sent launch, or the EHR launch code was stale"
        ],
        [
            "aud = iss",
            "Standalone launches use launch/patient, not launch"
        ],
        [AUTHZ_ERROR, LAUNCH]
    ),
    e!(
        "authorize.redirect_uri_mismatch",
        Error,
        "The authorization server does not accept this app's redirect URI",
        ASK_APP_ADMIN,
        [
            "The redirect_uri registered with the EHR differs from this app's (scheme, host, port, path or a trailing slash)",
            "public_url is not the address the EHR registration names (behind a proxy or on another port)",
            "The app is registered in another environment (sandbox vs production)"
        ],
        [
            "Register exactly the redirect_uri shown in the evidence, or set public_url so that it matches the registration"
        ],
        [AUTHZ_ERROR, REDIRECT_URI]
    ),
    e!(
        "authorize.unknown_client",
        Error,
        "The authorization server does not know this client id",
        ASK_APP_ADMIN,
        [
            "A typo in client_id or an id from another environment (sandbox vs production)",
            "The registration was removed or not yet synchronised to this environment"
        ],
        ["Copy client_id from the EHR's app registration for this environment"],
        [AUTHZ_ERROR]
    ),
    e!(
        "authorize.persona_mismatch",
        Error,
        "The app is registered for another kind of user",
        "This app is not set up for your kind of account (for example a clinician app used for a patient sign-in). Tell the app's administrator.",
        [
            "A provider (clinician) app was used for a patient login, or a patient app for a clinician",
            "The registration's audience does not match the launch (Oracle Health persona)"
        ],
        ["Use the registration made for this kind of user, or register the app for it"],
        [AUTHZ_ERROR]
    ),
    e!(
        "authorize.unauthorized_client",
        Error,
        "The app is not allowed to ask for authorization here",
        ASK_EHR_ADMIN,
        [
            "The app is not allowed this grant",
            "Not enabled in this environment (Epic: not ready for production or not synced)"
        ],
        ["Check the registration in that environment"],
        [AUTHZ_ERROR]
    ),
    e!(
        "authorize.unsupported_response_type",
        Error,
        "The server does not support response_type=code",
        ASK_EHR_ADMIN,
        ["Server misconfigured"],
        ["Ask the EHR vendor"],
        [AUTHZ_ERROR]
    ),
    e!(
        "authorize.server_error",
        Error,
        "The authorization server had an error",
        "The EHR's sign-in service had a problem. Try again later; if it continues, tell your EHR administrator.",
        ["EHR outage"],
        ["Retry later and quote the error_uri"],
        [AUTHZ_ERROR]
    ),
    e!(
        "authorize.other",
        Error,
        "The authorization server returned an error",
        ASK_EHR_ADMIN,
        ["A non-standard error"],
        ["The error, description and URI are shown"],
        [AUTHZ_ERROR]
    ),
    e!(
        "authorize.never_returned",
        Error,
        "The launch never came back to this app",
        "The sign-in did not come back to this app. If you closed the sign-in window, start again; if the EHR showed an error page, or this keeps happening, tell the app's administrator: the app's registration with the EHR needs checking.",
        [
            "redirect_uri is not an exact match of the registered one (scheme, host, port, trailing slash)",
            "Unknown client_id (the server must not redirect then)"
        ],
        ["Compare the exact redirect_uri and client_id sent with the registration"],
        [AUTHZ_ERROR]
    ),
    // Callback
    e!(
        "callback.missing_state",
        Error,
        "The callback has no state",
        RELAUNCH,
        ["The server or a proxy dropped it"],
        ["Relaunch"],
        [STATE]
    ),
    e!(
        "callback.no_session",
        Error,
        "No session cookie came back with the callback",
        "Your browser did not keep this app's sign-in cookie. Open the app at its usual address and try again; if it runs inside the EHR, tell the app's administrator.",
        [
            "App framed in an EHR iframe with third-party cookies blocked",
            "Browser on another host name than the app's public URL (localhost vs 127.0.0.1)",
            "Cookie SameSite=Strict"
        ],
        [
            "Open the app on its public URL",
            "For framed apps: cookie_same_site = \"none\" with https"
        ],
        [STATE]
    ),
    e!(
        "callback.unknown_state",
        Error,
        "This browser has no launch with that state",
        RELAUNCH,
        [
            "The launch expired",
            "The app restarted with an in-memory session store",
            "Another instance without a shared session store"
        ],
        [
            "Relaunch",
            "Use a shared session store behind a load balancer"
        ],
        [STATE]
    ),
    e!(
        "callback.state_mismatch",
        Error,
        "The state does not match the launch this browser started",
        RELAUNCH,
        ["Two launches in parallel tabs", "A forged request (CSRF)"],
        ["Relaunch"],
        [STATE]
    ),
    e!(
        "callback.state_reused",
        Error,
        "This callback was already used",
        RELAUNCH,
        ["The page was reloaded, or the back button was used"],
        ["Relaunch: codes and states are single use"],
        [STATE]
    ),
    e!(
        "callback.missing_code",
        Error,
        "The callback has neither a code nor an error",
        RELAUNCH,
        ["Broken server or proxy"],
        ["Ask the EHR vendor"],
        [TOKEN_OK]
    ),
    e!(
        "callback.issuer_mismatch",
        Error,
        "The authorization response names another issuer",
        RELAUNCH,
        ["Mix-up attack", "Misrouted response"],
        ["Relaunch; report it if it repeats"],
        [ISS_PARAM]
    ),
    // Token exchange
    e!(
        "token.unknown_client",
        Error,
        "The token endpoint could not identify the client",
        "The EHR did not accept this app's credentials. Tell the app's administrator: the client id and secret do not match what the EHR has registered.",
        [
            "The id/secret pair is wrong (Oracle Health: use the System Account id with its secret)",
            "Secret rotated, or from another environment",
            "Secret with reserved characters encoded differently"
        ],
        [
            "Re-copy the id and the secret from the same account",
            "See the encoding check"
        ],
        [TOKEN_ERROR, CLIENT_PASSWORD]
    ),
    e!(
        "token.bad_client_credentials",
        Error,
        "The token endpoint rejected the client's credentials",
        "The EHR did not accept this app's credentials. Tell the app's administrator: the client secret or authentication method is wrong.",
        [
            "Wrong secret",
            "Wrong method (Basic vs post)",
            "Registered as public but sends a secret, or confidential but sends none"
        ],
        [
            "Copy the current client secret from the app's registration at the EHR into this app's configuration (secrets are often rotated or expire)",
            "Use the method discovery advertises",
            "Check the registration's client type"
        ],
        [TOKEN_ERROR, CLIENT_PASSWORD]
    ),
    e!(
        "token.auth_method_refused",
        Error,
        "The server refuses the configured client authentication method",
        "The EHR refuses the way this app proves who it is. Tell the app's administrator: the app must switch to the authentication method the EHR names; the details below are for them.",
        [
            "The server advertises this method in token_endpoint_auth_methods_supported but accepts only another one (often Basic for confidential clients)",
            "The registration at the EHR was made for the other method"
        ],
        [
            "Use client_secret_basic (or the method the server names) for this registration",
            "Ask the EHR vendor to correct token_endpoint_auth_methods_supported"
        ],
        [TOKEN_ERROR, CLIENT_PASSWORD, CONFORMANCE]
    ),
    e!(
        "token.client_type_mismatch",
        Error,
        "The server expects the other client type (public vs confidential)",
        "The EHR has this app registered as a different kind of app than it behaves as. Tell the app's administrator: the app's registration and its configuration disagree about whether it has a secret.",
        [
            "Registered as confidential at the EHR, configured here as public (no secret sent)",
            "Registered as public at the EHR, configured here with a secret or a key",
            "Confidential client sending its credentials in the body where the server wants the Authorization header"
        ],
        [
            "Make the configured auth method match the registration: a confidential registration needs client_secret_basic, client_secret_post or private_key_jwt with its credential; a public one needs auth = \"none\"",
            "If the registration is wrong, change the client type in the EHR vendor's developer console"
        ],
        [TOKEN_ERROR, CLIENT_PASSWORD]
    ),
    e!(
        "token.client_secret_expired",
        Error,
        "The client secret has expired",
        "The app's password with the EHR has expired. Tell the app's administrator: a new client secret must be created and configured.",
        [
            "The secret's validity period ended (Microsoft Entra secrets expire after at most two years)"
        ],
        [
            "Create a new client secret in the app registration and put it in client_secret",
            "Note the new expiry date and rotate before it"
        ],
        [TOKEN_ERROR]
    ),
    e!(
        "token.client_disabled",
        Error,
        "The client's registration is disabled or terminated",
        "The EHR no longer accepts this app's registration. Tell the app's administrator: the app's registration was ended or disabled and must be reactivated or replaced.",
        [
            "The app (or its System Account) was terminated or disabled in the vendor's console",
            "A sandbox registration used against production, after the sandbox one was retired"
        ],
        [
            "Reactivate the registration or register the app again, then update client_id and the secret",
            "Ask the EHR vendor why the registration was ended"
        ],
        [TOKEN_ERROR]
    ),
    e!(
        "token.consent_required",
        Error,
        "Nobody has consented to the app",
        "The EHR's sign-in service has no consent on record for this app. Tell your EHR administrator: an administrator must grant consent to the app before anyone can use it.",
        [
            "Tenant-wide (admin) consent was never granted for the app's permissions",
            "The app asks for a permission added after consent was granted"
        ],
        [
            "Have an administrator of the EHR's tenant grant consent (Entra: Enterprise applications → Permissions → Grant admin consent)",
            "Request only the permissions that were consented to"
        ],
        [TOKEN_ERROR, SCOPES]
    ),
    e!(
        "token.bad_auth_header",
        Error,
        "The server rejected the Authorization header's format",
        ASK_APP_ADMIN,
        [
            "Line-wrapped base64",
            "Trailing newline",
            "JWT sent as Bearer instead of client_assertion"
        ],
        ["Compare with the redacted request shown"],
        [CLIENT_PASSWORD]
    ),
    e!(
        "token.bad_client_assertion",
        Error,
        "The server rejected the client assertion",
        ASK_APP_ADMIN,
        [
            "Public key not registered or not yet propagated",
            "Wrong aud",
            "exp too far ahead",
            "JWKS URL unreachable"
        ],
        [
            "Register the JWKS",
            "Wait for propagation",
            "Fix the claim shown"
        ],
        [(
            "SMART App Launch 2.2: client-confidential-asymmetric",
            "https://hl7.org/fhir/smart-app-launch/STU2.2/client-confidential-asymmetric.html"
        )]
    ),
    e!(
        "token.clock_skew",
        Error,
        "Clocks disagree",
        ASK_APP_ADMIN,
        ["Clock drift on the app host"],
        ["Synchronise the clock (NTP); the skew is shown"],
        [TOKEN_ERROR]
    ),
    e!(
        "token.code_reused",
        Error,
        "The authorization code was already used",
        RELAUNCH,
        [
            "Page reload",
            "Double submit",
            "Slow exchange (codes live about a minute)"
        ],
        ["Relaunch"],
        [TOKEN_ERROR]
    ),
    e!(
        "token.redirect_mismatch",
        Error,
        "The redirect URI does not match",
        ASK_APP_ADMIN,
        [
            "A different redirect_uri in the two requests",
            "Registration mismatch"
        ],
        ["Send the identical value; compare with the registration"],
        [TOKEN_ERROR]
    ),
    e!(
        "token.pkce_rejected",
        Error,
        "The server rejected the PKCE verifier",
        RELAUNCH,
        ["Verifier lost or altered"],
        ["Relaunch"],
        [PKCE]
    ),
    e!(
        "token.invalid_tenant",
        Error,
        "The tenant is invalid",
        ASK_EHR_ADMIN,
        [
            "Tenant typo",
            "App not enabled in that tenant (production vs non-production app)"
        ],
        ["Fix the tenant", "Ask the organisation to enable the app"],
        [TOKEN_ERROR]
    ),
    e!(
        "token.invalid_grant",
        Error,
        "The server rejected the authorization code",
        RELAUNCH,
        ["Code expired or revoked", "Code issued to another client"],
        ["Relaunch"],
        [TOKEN_ERROR]
    ),
    e!(
        "token.invalid_request",
        Error,
        "The server rejected the token request as invalid",
        ASK_APP_ADMIN,
        ["Mixed authentication methods", "Missing parameter"],
        ["Use one method only; confidential clients leave client_id out of the body"],
        [TOKEN_ERROR]
    ),
    e!(
        "token.unauthorized_client",
        Error,
        "The client is not allowed this grant",
        ASK_EHR_ADMIN,
        ["Grant not allowed for this client"],
        ["Check the registration"],
        [TOKEN_ERROR]
    ),
    e!(
        "token.unsupported_grant_type",
        Error,
        "The server does not support this grant type",
        ASK_EHR_ADMIN,
        ["The server does not allow the grant"],
        ["Ask the EHR vendor"],
        [TOKEN_ERROR]
    ),
    e!(
        "token.invalid_scope",
        Error,
        "The token endpoint rejected the scope",
        ASK_APP_ADMIN,
        ["Scope not registered"],
        ["Request registered scopes"],
        [TOKEN_ERROR, SCOPES]
    ),
    e!(
        "token.http_error",
        Error,
        "The token endpoint answered with an HTTP error",
        "The EHR's sign-in service had a problem. Try again later; if it continues, tell the app's administrator.",
        ["Wrong token URL", "Server outage"],
        [
            "Compare the discovered token URL (in the evidence) with the EHR's documentation",
            "If the URL is right, retry later and give the EHR's support the time and the response"
        ],
        [TOKEN_ERROR]
    ),
    e!(
        "token.not_json",
        Error,
        "The token endpoint answered something that is not JSON",
        ASK_APP_ADMIN,
        ["Proxy or portal page"],
        ["The first bytes of the answer are shown"],
        [TOKEN_OK]
    ),
    e!(
        "token.malformed_response",
        Error,
        "The token response lacks access_token or token_type",
        ASK_APP_ADMIN,
        ["Non-conformant server"],
        ["Ask the EHR vendor"],
        [TOKEN_OK]
    ),
    e!(
        "token.not_bearer",
        Warn,
        "token_type is not Bearer",
        WORKS,
        ["Non-conformant server"],
        [],
        [TOKEN_OK]
    ),
    e!(
        "token.cache_headers",
        Warn,
        "The token response lacks Cache-Control: no-store",
        WORKS,
        ["Non-conformant server"],
        [],
        [TOKEN_OK]
    ),
    e!(
        "token.scopes_reduced",
        Warn,
        "Fewer scopes were granted than requested",
        WORKS,
        [
            "The user unticked scopes",
            "Scope not registered",
            "SMART v1/v2 mismatch"
        ],
        ["Register or request the missing ones"],
        [SCOPES]
    ),
    e!(
        "token.missing_context",
        Warn,
        "Launch context was granted but not returned",
        WORKS,
        [
            "No patient (or encounter) was selected: in the EHR before the launch, or at the sign-in of a standalone launch",
            "The server puts the context elsewhere (only in fhirContext, or in the id_token) instead of the patient/encounter fields",
            "The EHR grants the context scope without supporting it for this app"
        ],
        [
            "Select a patient in the EHR before launching (standalone: pick one at sign-in)",
            "If one was selected, ask the EHR's administrators why the token response omits it"
        ],
        [SCOPES]
    ),
    e!(
        "token.no_id_token",
        Warn,
        "openid was requested but no id_token came back",
        WORKS,
        ["Not granted", "Server without OpenID Connect"],
        [],
        [SCOPES]
    ),
    e!(
        "token.no_refresh_token",
        Warn,
        "Offline or online access was requested but no refresh_token came back",
        WORKS,
        ["Not granted", "Client type not eligible"],
        [],
        [SCOPES]
    ),
    // Identity token
    e!(
        "id_token.malformed",
        Error,
        "The id_token is not a decodable JWT",
        ASK_APP_ADMIN,
        ["Non-conformant server"],
        ["Ask the EHR vendor"],
        [OIDC]
    ),
    e!(
        "id_token.config_unavailable",
        Error,
        "The OpenID Connect configuration or keys could not be fetched",
        ASK_APP_ADMIN,
        [
            "Server without OpenID Connect discovery",
            "jwks_uri unreachable from where the app runs"
        ],
        ["Check {issuer}/.well-known/openid-configuration and its jwks_uri"],
        [OIDC]
    ),
    e!(
        "id_token.bad_signature",
        Error,
        "The id_token's signature cannot be trusted",
        "The EHR's sign-in service sent an identity this app cannot verify, so it does not trust it. Tell your EHR administrator; the details below are for them and the app's administrator.",
        [
            "The EHR signed with a key it has not published yet (key rotation)",
            "Keys of another issuer (the id_token's iss and the JWKS do not belong together)",
            "An algorithm that is never accepted (none, HMAC)"
        ],
        [
            "Compare the id_token's kid with the key ids in the issuer's JWKS (both in the evidence)",
            "Ask the EHR's administrators to publish the signing key in the JWKS"
        ],
        [OIDC]
    ),
    e!(
        "id_token.wrong_issuer",
        Error,
        "The id_token names another issuer",
        ASK_APP_ADMIN,
        ["Sandbox vs production host"],
        ["Check which server issued the token"],
        [OIDC]
    ),
    e!(
        "id_token.wrong_audience",
        Error,
        "The id_token is meant for another client",
        ASK_APP_ADMIN,
        ["Token issued to another client id"],
        ["Check the client id"],
        [OIDC]
    ),
    e!(
        "id_token.expired",
        Error,
        "The id_token is expired or issued in the future",
        ASK_APP_ADMIN,
        ["Clock skew between this host and the server"],
        ["Synchronise the clock (NTP); the times are shown"],
        [OIDC]
    ),
    e!(
        "id_token.fhiruser_unresolved",
        Warn,
        "The signed-in user could not be resolved",
        WORKS,
        [
            "fhirUser scope not granted",
            "fhirUser of an unexpected type or outside the FHIR base",
            "The read failed"
        ],
        ["Request fhirUser", "See the read's diagnosis"],
        [SCOPES]
    ),
    // Strict id_token rules (OpenID Connect Core §3.1.3.7 items 2–5, Discovery §4.3; issue 19).
    e!(
        "id_token.issuer_trailing_slash",
        Error,
        "The id_token's issuer differs from the server's issuer by a trailing slash",
        "The EHR's sign-in service names itself in two slightly different ways, so this app cannot trust the identity it sent. Tell your EHR administrator; the details below are for them.",
        [
            "The server publishes issuer with a trailing slash but signs id_tokens without it (or the reverse)",
            "The OpenID configuration's issuer and the SMART configuration's issuer are written differently"
        ],
        [
            "Ask the EHR's authorization server administrator to make issuer in .well-known/smart-configuration, issuer in .well-known/openid-configuration and iss in the id_token the same string, character for character"
        ],
        [OIDC_ISS, OIDC_DISCOVERY_ISSUER]
    ),
    e!(
        "id_token.untrusted_audience",
        Error,
        "The id_token is also meant for audiences this app does not trust",
        "The EHR's sign-in service sent an identity meant for other apps too, so this app does not trust it. Tell your EHR administrator; the details below are for them.",
        [
            "The authorization server adds a resource server or another client to aud",
            "A shared client registration issues tokens for several apps"
        ],
        [
            "Ask the EHR's authorization server administrator to issue id_tokens whose aud is this app's client id only"
        ],
        [OIDC]
    ),
    e!(
        "id_token.azp_mismatch",
        Error,
        "The id_token's authorized party (azp) is missing or names another client",
        "The EHR's sign-in service sent an identity that does not say it was issued to this app, so this app does not trust it. Tell your EHR administrator; the details below are for them.",
        [
            "Several audiences in aud without an azp claim",
            "azp names another client id (a token issued to another app)"
        ],
        [
            "Ask the EHR's authorization server administrator to issue id_tokens with azp equal to this app's client id (or a single aud)",
            "Check the client id configured for this app"
        ],
        [OIDC]
    ),
    // Refresh
    e!(
        "refresh.rejected",
        Error,
        "The refresh token was rejected",
        "The sign-in worked, but the EHR no longer renews it. Sign in again (start the launch again from the EHR or from the home page) to keep working.",
        [
            "Token revoked or expired",
            "An older token used after rotation",
            "Online access after the user signed out"
        ],
        ["Relaunch", "Always keep the newest refresh token"],
        [REFRESH]
    ),
    e!(
        "refresh.scope_widened",
        Warn,
        "The refreshed scope is wider than the original",
        WORKS,
        ["Non-conformant server"],
        [],
        [REFRESH]
    ),
    e!(
        "refresh.malformed_response",
        Error,
        "The refresh answer lacks required fields",
        ASK_APP_ADMIN,
        ["Non-conformant server"],
        ["Ask the EHR vendor"],
        [REFRESH]
    ),
    // FHIR API
    e!(
        "fhir.invalid_token",
        Error,
        "The FHIR server did not accept the access token",
        ASK_APP_ADMIN,
        [
            "Token for another host or tenant (Cerner tenant-mismatch)",
            "The FHIR server does not trust this authorization server's tokens (a separate OAuth server not configured at the FHIR server)"
        ],
        ["Call only the aud base", "Refresh the token"],
        [FHIR_AUTH]
    ),
    e!(
        "fhir.token_expired",
        Error,
        "The access token had expired when the FHIR server was asked",
        "The app's access to the EHR ran out before it read the data. Start the launch again; if it happens every time, tell the app's administrator.",
        [
            "The token's lifetime (expires_in) had passed before the read: a very short lifetime, or a slow step before the read",
            "The FHIR server's clock is ahead of the authorization server's"
        ],
        [
            "Refresh the token (or launch again) and read within its lifetime",
            "If expires_in is only seconds, ask the EHR's administrators to lengthen the token lifetime"
        ],
        [FHIR_AUTH, TOKEN_OK]
    ),
    e!(
        "fhir.token_missing_launch_context",
        Error,
        "The FHIR server wants the launch context inside the access token",
        "The EHR's data service refused the app because the sign-in did not carry the patient it was launched for. Tell the app's administrator; the details below are for them.",
        [
            "The FHIR server enforces the patient compartment from a claim in the access token (patient, launch context), and the authorization server does not put one there",
            "A generic OAuth server in front of a FHIR server that expects SMART launch context in its tokens",
            "The launch scope (launch or launch/patient) was not requested or not granted, so no patient was bound to the token"
        ],
        [
            "Configure the authorization server to add the patient (launch context) claim to access tokens",
            "Request launch/patient (standalone) or launch (EHR launch) and make sure it is granted"
        ],
        [SCOPES, FHIR_AUTH]
    ),
    // Issue 20 (answer corpus): an API gateway's own refusal in front of the FHIR server.
    e!(
        "fhir.gateway_rejected",
        Error,
        "An API gateway in front of the FHIR server refused the call for its own reason",
        "The gateway in front of the EHR's data service refused the app before the data service saw the request (a missing or wrong subscription or API key, or a used-up quota). Tell the app's administrator; a new sign-in will not help.",
        [
            "The gateway (Azure API Management, Apigee, Kong, AWS API Gateway) wants its own subscription or API key header, which the app did not send or sent wrong",
            "The app's quota or rate limit at the gateway is used up"
        ],
        [
            "Send the gateway's key header the EHR's developer portal names (e.g. Ocp-Apim-Subscription-Key) with every FHIR request",
            "Ask the EHR's API team for a key, or a larger quota, for this app"
        ],
        [FHIR_AUTH]
    ),
    e!(
        "fhir.forbidden",
        Error,
        "The FHIR server refused the read",
        ASK_EHR_ADMIN,
        [
            "Scope not granted for the resource type",
            "User permissions"
        ],
        ["Compare with the granted scopes"],
        [SCOPES]
    ),
    e!(
        "fhir.not_found",
        Error,
        "The resource in context was not found",
        ASK_EHR_ADMIN,
        ["Wrong id", "Some EHRs answer 404 for permission problems"],
        [],
        [FHIR_AUTH]
    ),
    e!(
        "fhir.not_fhir",
        Error,
        "The FHIR server answered something that is not FHIR JSON",
        ASK_APP_ADMIN,
        ["Wrong base URL"],
        ["Check the FHIR base"],
        [FHIR_AUTH]
    ),
    e!(
        "fhir.wrong_resource_type",
        Error,
        "The FHIR server answered a read with another type of resource",
        ASK_EHR_ADMIN,
        [
            "The id in context is not a plain id (empty, `.` or `..`) and the server answered its search or base URL",
            "The server answers errors as an OperationOutcome with status 200",
            "The launch context names the wrong resource (a Practitioner's id as the patient)"
        ],
        [
            "Put a plain FHIR id of the right type in the token response (patient, encounter) or the id_token (fhirUser)",
            "Answer a failed read with an error status, not 200"
        ],
        [FHIR_READ, LAUNCH]
    ),
    e!(
        "fhir.server_error",
        Error,
        "The FHIR server failed the read",
        "The EHR's data service had a problem. Try again later; if it continues, tell the app's administrator.",
        ["FHIR server outage or bug"],
        ["Retry later; quote the request id the server gave"],
        [FHIR_AUTH]
    ),
    // Registration check (`smart-launch-doctor check`, /check/{id})
    e!(
        "check.probe_inconclusive",
        Warn,
        "The credential probe was inconclusive",
        WORKS,
        [
            "The server checks the code or another parameter before the client",
            "Server error or a proxy page"
        ],
        ["Read the raw answer; a full launch settles it"],
        [TOKEN_ERROR]
    ),
    e!(
        "check.redirect_uri_insecure",
        Error,
        "The redirect URI is not https",
        ASK_APP_ADMIN,
        ["public_url is http on a host other than loopback"],
        ["Serve the app over https and set public_url accordingly"],
        [REDIRECT_URI]
    ),
    e!(
        "check.certificate_expiring",
        Warn,
        "The FHIR server's certificate expires soon",
        WORKS,
        ["Certificate renewal pending on the EHR side"],
        ["Tell the EHR's administrators; launches fail once it expires"],
        []
    ),
    // Server conformance (observed during real launches; all warn)
    e!(
        "discovery.capability_missing",
        Warn,
        "The server does not list a capability this registration needs",
        WORKS,
        [
            "The server is not configured for this client type or launch",
            "The capabilities list is incomplete"
        ],
        ["Ask the EHR which flows it supports for this app"],
        [CONFORMANCE]
    ),
    e!(
        "server.discovery_content_type",
        Warn,
        "Discovery is not served as application/json",
        WORKS,
        ["The web server serves the file with a default type (text/plain, octet-stream)"],
        ["Serve .well-known/smart-configuration as application/json"],
        [CONFORMANCE]
    ),
    e!(
        "server.discovery_endpoints",
        Warn,
        "Discovery lacks absolute authorization and token endpoints",
        WORKS,
        [
            "Relative URLs in the document",
            "Endpoints only in the CapabilityStatement"
        ],
        ["List absolute authorization_endpoint and token_endpoint URLs"],
        [CONFORMANCE]
    ),
    e!(
        "server.discovery_capabilities",
        Warn,
        "Discovery lacks a capabilities array of strings",
        WORKS,
        ["Older or sloppy server"],
        ["List the supported capabilities (launch-ehr, client-public, …)"],
        [CONFORMANCE]
    ),
    e!(
        "server.discovery_grant_types",
        Warn,
        "grant_types_supported lacks authorization_code",
        WORKS,
        ["Older or sloppy server"],
        ["List authorization_code (and refresh_token, client_credentials when supported)"],
        [CONFORMANCE]
    ),
    e!(
        "server.discovery_pkce_supported",
        Warn,
        "code_challenge_methods_supported lacks S256",
        WORKS,
        ["Stale metadata"],
        ["Advertise S256"],
        [CONFORMANCE, PKCE]
    ),
    e!(
        "server.discovery_pkce_plain",
        Warn,
        "code_challenge_methods_supported offers plain",
        WORKS,
        ["Default settings of an OAuth library"],
        ["Remove plain: SMART forbids it"],
        [CONFORMANCE, PKCE]
    ),
    e!(
        "server.discovery_openid",
        Warn,
        "sso-openid-connect is listed without issuer and jwks_uri",
        WORKS,
        ["Incomplete OpenID Connect configuration"],
        ["Add issuer and jwks_uri to the SMART configuration"],
        [CONFORMANCE, OIDC]
    ),
    e!(
        "server.token_access_token",
        Warn,
        "The token response lacks a non-blank access_token",
        WORKS,
        ["Non-conformant server"],
        [],
        [TOKEN_OK, SMART_TOKEN]
    ),
    e!(
        "server.token_type",
        Warn,
        "token_type is not Bearer",
        WORKS,
        ["Non-conformant server"],
        ["Answer token_type Bearer (compared without case)"],
        [SMART_TOKEN, TOKEN_OK]
    ),
    e!(
        "server.token_expires_in",
        Warn,
        "The token response lacks expires_in",
        WORKS,
        ["The server treats it as optional (RFC 6749 does; Inferno requires it)"],
        ["Return expires_in so apps know when to refresh"],
        [SMART_TOKEN, INFERNO]
    ),
    e!(
        "server.token_scope",
        Warn,
        "The token response lacks scope",
        WORKS,
        ["Non-conformant server"],
        ["Return the granted scope: SMART requires it"],
        [SMART_TOKEN]
    ),
    e!(
        "server.token_no_store",
        Warn,
        "The token response lacks Cache-Control: no-store",
        WORKS,
        ["Non-conformant server", "A proxy rewrites the header"],
        ["Send Cache-Control: no-store with every token response"],
        [TOKEN_OK]
    ),
    e!(
        "server.token_pragma",
        Warn,
        "The token response lacks Pragma: no-cache",
        WORKS,
        [
            "The server follows OAuth 2.1, which dropped Pragma (RFC 9111 deprecates it)",
            "A proxy drops the header"
        ],
        ["Send Pragma: no-cache with every token response, as RFC 6749 §5.1 and Inferno require"],
        [TOKEN_OK, INFERNO]
    ),
    e!(
        "server.token_context_types",
        Warn,
        "Launch context fields have the wrong JSON types",
        WORKS,
        ["Non-conformant server"],
        [
            "patient, encounter, intent, tenant and smart_style_url are strings, need_patient_banner a boolean"
        ],
        [SMART_TOKEN, SCOPES]
    ),
    e!(
        "server.token_patient",
        Warn,
        "No patient in context although a patient launch was granted",
        WORKS,
        ["The user picked no patient", "Server bug"],
        ["Return patient when launch/patient (or an EHR launch with patient scopes) is granted"],
        [SCOPES]
    ),
    e!(
        "server.token_id_token",
        Warn,
        "No id_token although openid was granted",
        WORKS,
        ["The server does not support OpenID Connect for this app"],
        ["Return an id_token when openid is granted"],
        [SCOPES, OIDC]
    ),
    e!(
        "server.fhir_context",
        Warn,
        "fhirContext is not an array of valid context items",
        WORKS,
        [
            "Non-conformant server",
            "SMART 2.0 string array instead of objects"
        ],
        [
            "Each item an object with reference, canonical or identifier; references relative Type/id with a known type"
        ],
        [SCOPES, INFERNO]
    ),
    e!(
        "server.id_token_alg",
        Warn,
        "The id_token is not signed with RS256",
        WORKS,
        ["The server signs with another algorithm (RS384, ES256, …)"],
        ["Nothing to do for the launch: the token was checked; Inferno expects RS256"],
        [OIDC, INFERNO]
    ),
    e!(
        "server.id_token_kid",
        Warn,
        "The id_token header lacks kid while the JWKS has several keys",
        WORKS,
        ["Key rotation without kid"],
        ["Put kid in every id_token header"],
        [OIDC, INFERNO]
    ),
    e!(
        "server.id_token_sub",
        Warn,
        "The id_token sub is missing or longer than 255 characters",
        WORKS,
        ["Non-conformant server"],
        [],
        [OIDC]
    ),
    e!(
        "server.fhir_user",
        Warn,
        "fhirUser is not a Patient, Practitioner, RelatedPerson or Person that reads back as that type",
        WORKS,
        [
            "PractitionerRole or another type as fhirUser",
            "The reference points at a resource of another type"
        ],
        ["Use a Patient, Practitioner, RelatedPerson or Person reference"],
        [SCOPES, INFERNO]
    ),
    e!(
        "server.refresh_no_store",
        Warn,
        "The refresh response lacks Cache-Control: no-store",
        WORKS,
        ["Non-conformant server"],
        ["Send Cache-Control: no-store with every token response"],
        [REFRESH, TOKEN_OK]
    ),
    e!(
        "server.refresh_fields",
        Warn,
        "The refresh response lacks access_token, token_type, expires_in or scope",
        WORKS,
        ["Non-conformant server"],
        [],
        [REFRESH, SMART_TOKEN]
    ),
    e!(
        "server.refresh_scope_subset",
        Warn,
        "The refresh granted scopes beyond the original",
        WORKS,
        ["Non-conformant server"],
        ["Grant at most the original scopes on refresh"],
        [REFRESH]
    ),
    e!(
        "introspection.refused",
        Warn,
        "The introspection endpoint refused this app",
        WORKS,
        [
            "The server lets only resource servers (or specially authorised clients) introspect tokens",
            "Introspection wants another client authentication than the token endpoint",
            "The app's credentials are not accepted at the introspection endpoint"
        ],
        [
            "Nothing to do for launches; to check tokens with introspection, ask the EHR's administrators which clients may call it and how they authenticate"
        ],
        [INTROSPECTION]
    ),
    e!(
        "server.introspection_fields",
        Warn,
        "Introspection lacks active, scope, client_id or exp",
        WORKS,
        ["Minimal RFC 7662 implementation"],
        ["Return active, scope, client_id and exp (and the launch context) for an active token"],
        [INTROSPECTION, INFERNO]
    ),
    e!(
        "server.introspection_mismatch",
        Warn,
        "Introspection disagrees with the token response",
        WORKS,
        ["Server bug", "The token belongs to another client"],
        ["Report it to the EHR with the transcript"],
        [INTROSPECTION]
    ),
    // Infrastructure
    e!(
        "session.store_unavailable",
        Error,
        "The session store did not answer",
        "The app could not save your sign-in. Try again in a minute; if it continues, tell the app's administrator.",
        ["Store down or misconfigured"],
        ["Check the session store"],
        []
    ),
    e!(
        "callback.result_not_kept",
        Error,
        "The EHR answered, but the result could not be kept",
        "The EHR answered this sign-in and may have issued tokens, but this server could not keep the result: its store did not answer, or the server stopped first. Start the launch again; if it keeps happening, tell the app's administrator.",
        [
            "The session store (Redis or SQLite) was down or full while the result was written",
            "The server instance stopped or was killed during the token exchange"
        ],
        [
            "Start the launch again",
            "Check the session store; see /readyz and the README's fault tolerance section"
        ],
        []
    ),
    e!(
        "callback.interrupted",
        Error,
        "The server shut down during the token exchange",
        "This server was shutting down and stopped the sign-in before the EHR answered; the EHR may have issued tokens all the same. Start the launch again.",
        [
            "A restart or deployment while the token endpoint was slow to answer (shutdown_grace_seconds passed)"
        ],
        [
            "Start the launch again",
            "Give slow token endpoints more time with shutdown_grace_seconds"
        ],
        []
    ),
    e!(
        "session.sealed_secret_unavailable",
        Error,
        "The ad-hoc app's secret could not be opened on this server instance",
        RELAUNCH,
        [
            "The server restarted without sealing_key_env, so its per-process key changed",
            "Several instances share a session store but not the same sealing_key_env key"
        ],
        [
            "Set sealing_key_env to a variable holding the same 64-hex-digit key on every instance",
            "Start the ad-hoc launch again"
        ],
        []
    ),
    // Backend Services (observed by `backend` runs; the server's side of SMART Backend Services)
    e!(
        "server.backend_scope_not_system",
        Warn,
        "The backend token grants scopes other than system/ scopes",
        BACKEND_WORKS,
        [
            "The server maps the client to patient/ or user/ scopes",
            "The answer has no scope, so the grant cannot be checked"
        ],
        [
            "Ask the EHR's administrator which system/ scopes the client is allowed",
            "Request only system/ scopes"
        ],
        [BACKEND]
    ),
    e!(
        "server.backend_expires_in_long",
        Warn,
        "The backend access token lives longer than five minutes, or its lifetime is not given",
        BACKEND_WORKS,
        [
            "The server uses its user-facing token lifetime for backend clients",
            "expires_in missing from the answer"
        ],
        ["Nothing to do on the app side; SMART says expires_in SHOULD be at most 300 seconds"],
        [BACKEND]
    ),
    e!(
        "server.backend_refresh_token",
        Warn,
        "The backend token response carries a refresh token",
        BACKEND_WORKS,
        ["The server treats client_credentials like an authorization code grant"],
        ["Do not use it: a backend client gets a new token with a new client assertion"],
        [BACKEND]
    ),
    e!(
        "server.backend_bogus_grant_accepted",
        Warn,
        "The token endpoint did not reject an unknown grant_type with 400",
        BACKEND_WORKS,
        [
            "The server ignores grant_type",
            "The server answers errors with another status"
        ],
        ["Report it to the EHR vendor with the labelled probe in the transcript"],
        [BACKEND, TOKEN_ERROR]
    ),
    e!(
        "server.backend_bogus_assertion_type_accepted",
        Warn,
        "The token endpoint did not reject an unknown client_assertion_type with 400 or 401",
        BACKEND_WORKS,
        [
            "The server ignores client_assertion_type",
            "The server answers errors with another status"
        ],
        ["Report it to the EHR vendor with the labelled probe in the transcript"],
        [BACKEND, TOKEN_ERROR]
    ),
    // Client-side rules (HAR import, `diagnosis::client_rules`): the app's own requests.
    e!(
        "client.pkce_missing",
        Error,
        "The app does not use PKCE",
        CLIENT_FAULT,
        [
            "An OAuth library configured without PKCE, or too old to send it",
            "A confidential client that assumes its secret is enough"
        ],
        [
            "Send code_challenge (S256 of a fresh 256-bit verifier) with code_challenge_method=S256 and the verifier at the token request"
        ],
        [PKCE, LAUNCH]
    ),
    e!(
        "client.pkce_plain",
        Error,
        "The app uses PKCE with the plain method",
        CLIENT_FAULT,
        [
            "code_challenge_method left out (plain is the default)",
            "The library's PKCE method set to plain"
        ],
        ["Send code_challenge_method=S256 and the SHA-256 challenge of the verifier"],
        [PKCE, LAUNCH]
    ),
    e!(
        "client.state_missing",
        Error,
        "The authorization request has no state",
        CLIENT_FAULT,
        ["The app relies on PKCE or cookies alone and sends no state"],
        ["Send a fresh state of at least 128 random bits per launch and check it on the callback"],
        [STATE, LAUNCH]
    ),
    e!(
        "client.state_short",
        Warn,
        "The state carries too little randomness",
        WORKS,
        [
            "A counter, timestamp or short random string used as state",
            "A state from a non-cryptographic random generator"
        ],
        ["Make state 128 random bits from a CSPRNG (e.g. 22 base64url characters)"],
        [STATE, LAUNCH]
    ),
    e!(
        "client.state_reused",
        Error,
        "The same state was sent in more than one launch",
        CLIENT_FAULT,
        [
            "A constant or per-session state instead of one per launch",
            "State kept across retries"
        ],
        ["Make a new state for every authorization request and accept it once"],
        [STATE]
    ),
    e!(
        "client.state_not_echoed",
        Error,
        "The callback did not bring back the state that was sent",
        CLIENT_FAULT,
        [
            "The authorization server or a proxy drops or rewrites state",
            "The callback belongs to another launch (two tabs)",
            "An attacker's callback (CSRF)"
        ],
        [
            "Refuse a callback whose state is absent or not the one this browser sent",
            "If the server drops state, report it to the EHR vendor"
        ],
        [STATE, AUTHZ_ERROR]
    ),
    e!(
        "client.redirect_uri_mismatch",
        Error,
        "The token request's redirect_uri differs from the authorization request's",
        CLIENT_FAULT,
        [
            "The token request built from another setting than the authorization request (trailing slash, http vs https, another path)",
            "redirect_uri left out of the token request"
        ],
        ["Send the very redirect_uri of the authorization request with the token request"],
        [TOKEN_REQUEST, REDIRECT_URI]
    ),
    e!(
        "client.aud_missing",
        Error,
        "The authorization request has no aud",
        CLIENT_FAULT,
        ["A generic OAuth library that knows nothing of SMART's aud"],
        ["Send aud = the FHIR base URL (the iss of the launch) with every authorization request"],
        [LAUNCH]
    ),
    e!(
        "client.aud_not_fhir_base",
        Error,
        "aud is not the FHIR base URL",
        CLIENT_FAULT,
        [
            "A trailing slash added or dropped",
            "aud set to the authorization server or the app's own URL",
            "A FHIR base from another environment"
        ],
        ["Send aud exactly as the iss of the launch (or the FHIR base the app is configured with)"],
        [LAUNCH]
    ),
    e!(
        "client.basic_not_form_encoded",
        Error,
        "The Basic credential is not form-encoded",
        CLIENT_FAULT,
        [
            "id and secret joined and base64-encoded without form-encoding them first",
            "A library that skips RFC 6749 §2.3.1's encoding"
        ],
        [
            "Form-encode the client id and the secret (application/x-www-form-urlencoded) before joining them with ':' and base64",
            "Or send them in the body (client_secret_post) if the server allows it"
        ],
        [CLIENT_PASSWORD]
    ),
    e!(
        "client.secret_in_query",
        Error,
        "The client's credential is sent in a URL",
        CLIENT_FAULT,
        ["client_secret or client_assertion added to the query string instead of the form body"],
        [
            "Send the credential in the POST body or the Authorization header",
            "Rotate the secret: URLs are kept in logs and proxies"
        ],
        [SECRET_QUERY]
    ),
    e!(
        "client.launch_dropped",
        Error,
        "The EHR's launch parameter was not passed on",
        CLIENT_FAULT,
        [
            "The app's launch page does not copy launch into the authorization request",
            "The launch scope asked for without the launch value"
        ],
        ["Send the launch value from the EHR's launch URL unchanged, with the launch scope"],
        [LAUNCH, SCOPES]
    ),
    e!(
        "client.scope_syntax",
        Warn,
        "The requested scope is malformed",
        WORKS,
        [
            "Scopes joined with commas",
            "The scope encoded twice (+ or %20 in the value)",
            "SMART v1 and v2 scopes mixed in one request"
        ],
        ["Join scopes with single spaces and use one SMART version's syntax"],
        [SCOPE_SYNTAX, SCOPES]
    ),
    e!(
        "client.token_in_url",
        Error,
        "A token is sent in a URL",
        CLIENT_FAULT,
        ["access_token added to FHIR request URLs (form or query style)"],
        ["Send the access token in the Authorization: Bearer header"],
        [BEARER_URI]
    ),
    e!(
        "client.nonce_missing",
        Warn,
        "The app asks for an id_token without a nonce",
        WORKS,
        ["The app does not validate the id_token it asks for (openid)"],
        [
            "Send a fresh nonce with the authorization request and check it in the id_token, or do not ask for openid"
        ],
        [OIDC_NONCE, OIDC]
    ),
    // Issue 21: symmetric client_credentials, active server probes, our JWKS.
    e!(
        "backend.symmetric_client_auth",
        Warn,
        "The backend client authenticates with a client secret, not private_key_jwt",
        "This backend client proves who it is with a shared secret, which SMART Backend Services does not allow; it does not stop a sign-in. The note is for the app's administrator and the EHR's administrator.",
        [
            "The EHR offers client_credentials with a client secret (Oracle Health system accounts, MEDITECH, Microsoft Entra apps) rather than SMART Backend Services",
            "The app was registered before the EHR supported private_key_jwt"
        ],
        [
            "Where the EHR supports it, register a public key (JWKS) and switch to auth = \"private_key_jwt\"",
            "Until then keep the secret out of source control (client_secret_env) and rotate it before it expires"
        ],
        [BACKEND, CLIENT_PASSWORD]
    ),
    e!(
        "token.client_credentials_not_enabled",
        Error,
        "The client was authenticated, but client_credentials is not enabled for it",
        "The EHR recognised this backend client but does not let it use the backend (client_credentials) grant. Tell your EHR administrator which app you tried; the details below are for them.",
        [
            "The backend (client_credentials / system account) grant is not enabled for this client at the EHR",
            "The client is registered as a user-facing (authorization code) app, not as a backend app",
            "The grant is enabled in another environment (non-production vs production) than the one asked"
        ],
        [
            "Ask the EHR's administrator to enable the client_credentials (Backend Services) grant for this client",
            "Check that the client id is the backend (system) app's, not the user-facing app's"
        ],
        [TOKEN_ERROR, BACKEND]
    ),
    e!(
        "probe.aud_not_enforced",
        Warn,
        "The authorize endpoint issued a code for a foreign aud",
        SERVER_PROBE,
        [
            "The authorization server does not compare aud with its FHIR base URL",
            "aud is accepted for any resource server the EHR does not host"
        ],
        [
            "Report it to the EHR vendor with the labelled probe in the transcript: SMART requires refusing an aud that is not the FHIR server's base URL"
        ],
        [LAUNCH, INFERNO]
    ),
    e!(
        "probe.code_replay_accepted",
        Warn,
        "The token endpoint exchanged the same authorization code twice",
        SERVER_PROBE,
        [
            "The server does not mark a code as used when it exchanges it",
            "Codes are stateless (signed) without a replay list"
        ],
        [
            "Report it to the EHR vendor with the labelled probe in the transcript: RFC 6749 §4.1.2 says a code MUST NOT be used more than once"
        ],
        [TOKEN_ERROR, INFERNO]
    ),
    e!(
        "server.cors_missing",
        Warn,
        "Discovery or the CapabilityStatement answers without CORS headers",
        SERVER_PROBE,
        [
            "The FHIR server or a proxy in front of it sends no Access-Control-Allow-Origin",
            "CORS is enabled for the FHIR API but not for .well-known/smart-configuration or /metadata"
        ],
        [
            "Ask the EHR's administrator to answer Access-Control-Allow-Origin on .well-known/smart-configuration and /metadata: browser apps (public clients) read them from the page"
        ],
        [CONFORMANCE, INFERNO]
    ),
    e!(
        "server.smart_v1_only",
        Warn,
        "The server is SMART v1 only, which current certification no longer accepts",
        SERVER_PROBE,
        [
            "No .well-known/smart-configuration: the endpoints come from the CapabilityStatement (SMART v1)",
            "The SMART configuration advertises no SMART v2 capabilities (permission-v2, granular scopes)"
        ],
        [
            "Ask the EHR vendor for SMART App Launch 2.x: .well-known/smart-configuration with v2 capabilities (the ONC (g)(10) test kit v8 no longer accepts v1-only servers)"
        ],
        [CONFORMANCE, INFERNO]
    ),
    e!(
        "jwks.duplicate_key",
        Warn,
        "Our published JWKS lists one key twice or reuses a kid",
        "This app's published key list has a duplicate; it does not stop a sign-in here, but strict servers refuse every assertion. The note is for the app's administrator.",
        [
            "Several registrations share one key file, so the same public key was listed once per registration",
            "Two different keys were configured with the same key_id"
        ],
        ["Give every distinct key its own key_id; registrations sharing a key file share its kid"],
        [BACKEND]
    ),
];
static FALLBACK: Entry = e!(
    "internal.unknown",
    Error,
    "Unclassified failure",
    ASK_APP_ADMIN,
    [],
    [],
    []
);

/// The plain sentence of a warning raised to lead a failure (see `Diagnosis::raised`).
pub fn raised_plain(e: &Entry) -> &'static str {
    match e.id {
        "discovery.auth_method_unsupported" => {
            "The EHR does not accept the way this app proves who it is. Tell the app's administrator: the app must use an authentication method the EHR supports; the details below are for them."
        }
        _ => ASK_APP_ADMIN,
    }
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The entry for `id`, evaluated when compiling through [`id!`](crate::id): an id that is not in
/// the catalogue is a compile error, never a runtime surprise.
pub const fn find(id: &str) -> &'static Entry {
    let mut i = 0;
    while i < ENTRIES.len() {
        if same(ENTRIES[i].id, id) {
            return &ENTRIES[i];
        }
        i += 1;
    }
    panic!("diagnosis id is not in the catalogue")
}

/// The entry for an id read back from a store; an id this build does not know (written by
/// another version) gets a generic entry rather than a panic.
pub fn entry(id: &str) -> &'static Entry {
    ENTRIES.iter().find(|e| e.id == id).unwrap_or(&FALLBACK)
}

/// Whether `url` is one of the catalogue's spec URLs: the only link targets a report writes.
pub fn is_spec_url(url: &str) -> bool {
    ENTRIES
        .iter()
        .any(|e| e.spec.iter().any(|&(_, u)| u == url))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for e in ENTRIES {
            assert!(seen.insert(e.id), "duplicate {}", e.id);
            let (section, name) = e.id.split_once('.').unwrap_or(("", ""));
            assert!(!section.is_empty() && !name.is_empty(), "{}", e.id);
            assert!(
                e.id.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_')
                    && name.starts_with(|c: char| c.is_ascii_lowercase()),
                "{}",
                e.id
            );
        }
    }
}

/// Who acts on a diagnosis: the party its plain sentence sends the user to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// Retry or start again; nobody else is needed.
    User,
    AppAdmin,
    EhrAdmin,
    /// Nothing to do: it does not stop a sign-in; the note is for developers.
    Nobody,
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::User => "the user",
            Actor::AppAdmin => "the app's administrator",
            Actor::EhrAdmin => "the EHR's administrator",
            Actor::Nobody => "nobody: it does not stop a sign-in",
        }
    }
}

impl Entry {
    /// Who acts, read from the plain sentence itself, so the two can never disagree.
    pub fn acts(&self) -> Actor {
        let plain = self.plain.to_ascii_lowercase();
        if plain.contains("does not stop a sign-in") || plain.contains("got its token") {
            Actor::Nobody
        } else if plain.contains("ehr administrator") || plain.contains("ehr's administrator") {
            Actor::EhrAdmin
        } else if plain.contains("app's administrator") {
            Actor::AppAdmin
        } else {
            Actor::User
        }
    }
}

#[cfg(test)]
mod actor_tests {
    use super::*;

    /// A plain sentence either names an administrator, says the sign-in worked, or tells the
    /// user what to do themselves (try or start again, sign in again).
    #[test]
    fn every_plain_sentence_names_who_acts() {
        for e in ENTRIES {
            let plain = e.plain.to_ascii_lowercase();
            if e.acts() == Actor::User {
                assert!(
                    plain.contains("again") || plain.contains("sign in"),
                    "{}: {:?} names nobody to act",
                    e.id,
                    e.plain
                );
            }
        }
        assert_eq!(entry("net.dns").acts(), Actor::AppAdmin);
        assert_eq!(entry("launch.invalid_iss").acts(), Actor::EhrAdmin);
        assert_eq!(entry("callback.state_reused").acts(), Actor::User);
    }
}
