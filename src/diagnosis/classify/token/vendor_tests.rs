//! Token answers of servers nobody here wrote, body for body, each with the id its words name
//! and the phrase shown as evidence. The configured method and grant are part of each case.

use super::*;
use crate::config::Secret;

struct Case {
    status: u16,
    body: &'static str,
    auth: AuthMethod,
    kind: LaunchKind,
    id: &'static str,
    /// The matched phrase shown as evidence (empty: a vendor code or the OAuth code decided).
    phrase: &'static str,
}

const fn case(status: u16, body: &'static str, auth: AuthMethod, id: &'static str) -> Case {
    Case {
        status,
        body,
        auth,
        kind: LaunchKind::Ehr,
        id,
        phrase: "",
    }
}

const fn said(mut c: Case, phrase: &'static str) -> Case {
    c.phrase = phrase;
    c
}

const fn backend(mut c: Case) -> Case {
    c.kind = LaunchKind::Backend;
    c
}

use AuthMethod::{
    ClientSecretBasic as Basic, ClientSecretPost as Post, None as Public, PrivateKeyJwt as Jwt,
};

const CASES: &[Case] = &[
    // smart-launcher v2
    said(
        case(
            401,
            r#"{"error":"invalid_request","error_description":"Basic authentication is required for confidential clients"}"#,
            Public,
            "token.client_type_mismatch",
        ),
        "for confidential clients",
    ),
    case(
        401,
        r#"{"error":"invalid_request","error_description":"Basic authentication is required for confidential clients"}"#,
        Post,
        "token.auth_method_refused",
    ),
    said(
        case(
            401,
            r#"{"error":"invalid_request","error_description":"The decoded header must contain '{client_id}:{client_secret}'"}"#,
            Basic,
            "token.bad_auth_header",
        ),
        "decoded header must contain",
    ),
    said(
        case(
            401,
            r#"{"error":"invalid_request","error_description":"Invalid redirect_uri parameter"}"#,
            Basic,
            "token.redirect_mismatch",
        ),
        "redirect_uri",
    ),
    said(
        case(
            401,
            r#"{"error":"invalid_client","error_description":"Invalid token (supplied as code parameter in the POST body). jwt malformed"}"#,
            Basic,
            "token.invalid_grant",
        ),
        "code parameter",
    ),
    said(
        case(
            401,
            r#"{"error":"invalid_client","error_description":"Invalid client_secret in the basic auth header"}"#,
            Basic,
            "token.bad_client_credentials",
        ),
        "Invalid client_secret",
    ),
    said(
        case(
            401,
            r#"{"error":"invalid_client","error_description":"Invalid client_id in the basic auth header"}"#,
            Basic,
            "token.unknown_client",
        ),
        "Invalid client_id",
    ),
    said(
        case(
            401,
            r#"{"error":"invalid_client","error_description":"None of the keys found in the JWKS have kid equal to k1"}"#,
            Jwt,
            "token.bad_client_assertion",
        ),
        "JWKS",
    ),
    // oidc-provider
    said(
        case(
            401,
            r#"{"error":"invalid_client","error_description":"could not authenticate the client - its client secret is expired"}"#,
            Basic,
            "token.client_secret_expired",
        ),
        "secret is expired",
    ),
    said(
        case(
            401,
            r#"{"error":"invalid_client","error_description":"invalid secret provided"}"#,
            Post,
            "token.bad_client_credentials",
        ),
        "invalid secret",
    ),
    said(
        case(
            401,
            r#"{"error":"invalid_client","error_description":"client not found"}"#,
            Basic,
            "token.unknown_client",
        ),
        "client not found",
    ),
    said(
        case(
            401,
            r#"{"error":"invalid_client","error_description":"the provided authentication mechanism does not match the registered client authentication method"}"#,
            Basic,
            "token.auth_method_refused",
        ),
        "authentication mechanism does not match",
    ),
    case(
        401,
        r#"{"error":"invalid_client","error_description":"client authentication failed"}"#,
        Basic,
        "token.bad_client_credentials",
    ),
    // Keycloak
    said(
        case(
            401,
            r#"{"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}"#,
            Basic,
            "token.bad_client_credentials",
        ),
        "Invalid client credentials",
    ),
    said(
        case(
            401,
            r#"{"error":"unauthorized_client","error_description":"UNKNOWN_CLIENT: Client was not identified by any client authenticator"}"#,
            Basic,
            "token.unknown_client",
        ),
        "UNKNOWN_CLIENT",
    ),
    said(
        case(
            400,
            r#"{"error":"invalid_client","error_description":"Parameter client_assertion_type is missing"}"#,
            Basic,
            "token.auth_method_refused",
        ),
        "client_assertion_type is missing",
    ),
    // Microsoft Entra ID
    case(
        401,
        r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '00000000-0000-0000-0000-000000000001'. Trace ID: 1 Correlation ID: 2 Timestamp: 2024-01-01 00:00:00Z","error_codes":[7000215]}"#,
        Post,
        "token.bad_client_credentials",
    ),
    case(
        400,
        r#"{"error":"invalid_request","error_description":"AADSTS90002: Tenant 'contoso.example' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.","error_codes":[90002]}"#,
        Post,
        "token.invalid_tenant",
    ),
    case(
        400,
        r#"{"error":"unauthorized_client","error_description":"AADSTS700016: Application with identifier 'x' was not found in the directory 'y'.","error_codes":[700016]}"#,
        Post,
        "token.unknown_client",
    ),
    case(
        400,
        r#"{"error":"invalid_grant","error_description":"AADSTS50011: The redirect URI 'https://app/cb' specified in the request does not match the redirect URIs configured for the application.","error_codes":[50011]}"#,
        Post,
        "token.redirect_mismatch",
    ),
    case(
        400,
        r#"{"error":"invalid_grant","error_description":"AADSTS70008: The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.","error_codes":[70008]}"#,
        Post,
        "token.invalid_grant",
    ),
    case(
        400,
        r#"{"error":"invalid_grant","error_description":"AADSTS54005: OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.","error_codes":[54005]}"#,
        Post,
        "token.code_reused",
    ),
    case(
        400,
        r#"{"error":"invalid_grant","error_description":"AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.","error_codes":[501481]}"#,
        Public,
        "token.pkce_rejected",
    ),
    case(
        401,
        r#"{"error":"invalid_client","error_description":"AADSTS700024: Client assertion is not within its valid time range.","error_codes":[700024]}"#,
        Jwt,
        "token.bad_client_assertion",
    ),
    case(
        401,
        r#"{"error":"invalid_client","error_description":"AADSTS700027: Client assertion failed signature validation.","error_codes":[700027]}"#,
        Jwt,
        "token.bad_client_assertion",
    ),
    case(
        401,
        r#"{"error":"invalid_client","error_description":"AADSTS28002: Provided value for the input parameter scope 'patient/*.read' is not valid when requesting an access token.","error_codes":[28002]}"#,
        Post,
        "token.invalid_scope",
    ),
    // athenahealth (non-OAuth vendor JSON)
    said(
        case(
            401,
            r#"{"status":"error","statusmessage":"invalid_client","description":"Invalid client_id: 0oa1b2c3d4e5f6g7h8i9. Contact FHIR Server Administrator for the correct client_id."}"#,
            Basic,
            "token.unknown_client",
        ),
        "Invalid client_id",
    ),
    said(
        case(
            400,
            r#"{"status":"error","statusmessage":"invalid_grant","description":"User session not found. User must re-authenticate."}"#,
            Basic,
            "token.invalid_grant",
        ),
        "User session not found",
    ),
    // Epic: the bare code, a secret configured.
    case(
        400,
        r#"{"error":"invalid_client","error_description":null}"#,
        Basic,
        "token.bad_client_credentials",
    ),
    // MEDITECH: valid credentials, client_credentials not enabled (authenticated, grant off).
    backend(case(
        400,
        r#"{"error":"unauthorized_client","error_description":"The client is not authorized to use the requested grant type."}"#,
        Jwt,
        "token.client_credentials_not_enabled",
    )),
    // invalid_grant on client_credentials: there is no code to be invalid.
    backend(case(
        400,
        r#"{"error":"invalid_grant"}"#,
        Jwt,
        "token.client_credentials_not_enabled",
    )),
    // Shapes outside OAuth JSON.
    said(
        case(
            401,
            r#"{"type":"about:blank","title":"Unauthorized","status":401,"detail":"The client secret has expired"}"#,
            Basic,
            "token.client_secret_expired",
        ),
        "secret has expired",
    ),
    said(
        case(
            401,
            "Invalid client secret\n",
            Basic,
            "token.bad_client_credentials",
        ),
        "Invalid client secret",
    ),
    said(
        case(
            401,
            r#"{"fault":{"faultstring":"Invalid client identifier {0}","detail":{"errorcode":"oauth.v2.InvalidClientIdentifier"}}}"#,
            Basic,
            "token.unknown_client",
        ),
        "Invalid client identifier",
    ),
];

#[test]
fn vendor_answers_get_the_id_their_words_name() {
    let secret = Secret::new("s3cret");
    let headers = http::HeaderMap::new();
    let mut wrong = Vec::new();
    for c in CASES {
        let answer = TokenAnswer {
            status: c.status,
            headers: &headers,
            body: c.body,
        };
        let ctx = TokenContext {
            token_endpoint: "https://ehr.example/token",
            client_id: "app",
            auth: c.auth,
            secret: c.auth.uses_secret().then_some(&secret),
            requested_scope: "launch openid patient/*.read",
            kind: c.kind,
            now: SystemTime::now(),
            auth_methods_supported: &[],
            sent: None,
            client_known: c.kind != LaunchKind::Backend,
        };
        let d = token_failure(&answer, &ctx).remove(0);
        let phrase = d
            .evidence
            .iter()
            .find(|e| e.label == "Matched phrase")
            .map(|e| e.value.trim_matches(['\u{201c}', '\u{201d}']).to_string())
            .unwrap_or_default();
        if d.id() != c.id || (!c.phrase.is_empty() && phrase != c.phrase) {
            wrong.push(format!(
                "{} → {} ({phrase:?}), want {} ({:?})",
                c.body,
                d.id(),
                c.id,
                c.phrase
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
