//! Which token id an error answer names: vendor codes first (Oracle Health URNs, Entra
//! `AADSTS` numbers), then what the words mean (the lexicon, ranked by the OAuth code), then the
//! code alone; then what the rest of the case settles (the configured method, whether an earlier
//! step proved the client id known, the grant).

use super::TokenContext;
use crate::config::AuthMethod;
use crate::diagnosis::Id;
use crate::diagnosis::classify::answer::ErrorAnswer;
use crate::diagnosis::classify::lexicon::{self, Found, Meaning};
use crate::diagnosis::classify::probe;
use crate::smart::LaunchKind;

/// The id chosen and what it rests on.
pub(super) struct Chosen {
    pub id: Id,
    /// The meaning the words state, with the phrase, when the words decided.
    pub found: Option<Found>,
    /// The vendor's own sentence, when a vendor code decided.
    pub vendor_cause: Option<&'static str>,
    /// Only the OAuth code (or its absence) decided: no vendor code, no words we know.
    pub code_only: bool,
}

/// What a meaning names at the token step, given the configured method and the grant.
fn token_id(m: Meaning, auth: AuthMethod, kind: LaunchKind) -> Option<Id> {
    use Meaning::*;
    let backend = kind == LaunchKind::Backend;
    Some(match m {
        SecretExpired => id!("token.client_secret_expired"),
        SecretWrong if auth == AuthMethod::None => id!("token.client_type_mismatch"),
        SecretWrong if auth == AuthMethod::PrivateKeyJwt => id!("token.auth_method_refused"),
        SecretWrong => id!("token.bad_client_credentials"),
        ConfidentialRequired | PublicClient => id!("token.client_type_mismatch"),
        ClientUnknown => id!("token.unknown_client"),
        ClientDisabled => id!("token.client_disabled"),
        MethodNotAllowed => id!("token.auth_method_refused"),
        BadAuthHeader => id!("token.bad_auth_header"),
        // Keycloak: a client set to "Signed JWT" that sent a secret.
        AssertionTypeMissing if auth != AuthMethod::PrivateKeyJwt => {
            id!("token.auth_method_refused")
        }
        AssertionTypeMissing => id!("token.bad_client_assertion"),
        AssertionAudience | AssertionKey | AssertionSignature | AssertionLifetime
        | AssertionJti
            if auth == AuthMethod::PrivateKeyJwt =>
        {
            id!("token.bad_client_assertion")
        }
        AssertionAudience | AssertionKey | AssertionSignature | AssertionLifetime
        | AssertionJti => return None,
        // No code is sent with client_credentials: words about one are not about this request.
        RedirectMismatch | PkceVerifier | CodeUsed | CodeExpired | CodeInvalid if backend => {
            return None;
        }
        RedirectMissing => id!("token.invalid_request"),
        RedirectMismatch => id!("token.redirect_mismatch"),
        PkceVerifier => id!("token.pkce_rejected"),
        CodeUsed => id!("token.code_reused"),
        CodeExpired | CodeInvalid | RefreshInvalid => id!("token.invalid_grant"),
        // The client was authenticated (a refusal of it would have said so): client_credentials
        // is not enabled for it (MEDITECH answers 400 unauthorized_client so).
        GrantNotAllowed if backend => id!("token.client_credentials_not_enabled"),
        GrantNotAllowed => id!("token.unauthorized_client"),
        ScopeInvalid => id!("token.invalid_scope"),
        Tenant => id!("token.invalid_tenant"),
        Consent => id!("token.consent_required"),
        // A JWT that expired at the token endpoint is the client assertion.
        TokenExpired if auth == AuthMethod::PrivateKeyJwt => id!("token.bad_client_assertion"),
        AudParameter | TokenExpired | TokenMissingContext | GatewayKey => return None,
    })
}

/// The vendor code's id and sentence, if a vendor code names the failure.
fn vendor(a: &ErrorAnswer) -> Option<(Id, &'static str)> {
    if let Some(c) = &a.oracle {
        if let Some(v) = oracle_health_urn(&c.code) {
            return Some(v);
        }
        if c.client_unknown() {
            return Some((
                id!("token.unknown_client"),
                "Oracle Health could not identify the client (client=unknown)",
            ));
        }
    }
    a.aadsts.and_then(entra)
}

/// The id for a token error answer `a`, read with the whole case `ctx`.
pub(super) fn choose(a: &ErrorAnswer, ctx: &TokenContext<'_>, raw: &str) -> Chosen {
    let chosen = |id, found, vendor_cause| Chosen {
        id,
        found,
        vendor_cause,
        code_only: false,
    };
    if ctx.auth.uses_secret() && probe::names_other_method(ctx.auth, raw).is_some() {
        return chosen(id!("token.auth_method_refused"), None, None);
    }
    if let Some((id, cause)) = vendor(a) {
        let cause = (id != id!("token.unknown_client") || a.oracle.is_none()).then_some(cause);
        return chosen(id, None, cause);
    }
    for f in lexicon::ranked(&a.text(), &a.code) {
        if let Some(id) = token_id(f.meaning, ctx.auth, ctx.kind) {
            return chosen(id, Some(f), None);
        }
    }
    Chosen {
        id: by_code_in_case(a, ctx),
        found: None,
        vendor_cause: None,
        code_only: true,
    }
}

/// The code's id, with what the case adds when the words say nothing.
fn by_code_in_case(a: &ErrorAnswer, ctx: &TokenContext<'_>) -> Id {
    let id = by_code(&a.code, a.description());
    let is = |ids: &[Id]| ids.contains(&id);
    let bad_credentials = id!("token.bad_client_credentials");
    match ctx.auth {
        // With private_key_jwt every credential failure is about the assertion.
        AuthMethod::PrivateKeyJwt if is(&[bad_credentials, id!("token.unknown_client")]) => {
            id!("token.bad_client_assertion")
        }
        // No secret is configured, so none can be wrong: either the server has the app
        // registered as confidential, or it does not know the client id. An earlier step
        // (authorize issued a code) proves it knows the id.
        AuthMethod::None if id == bad_credentials && ctx.client_known => {
            id!("token.client_type_mismatch")
        }
        AuthMethod::None if id == bad_credentials => id!("token.unknown_client"),
        // client_credentials carries no code: invalid_grant there means the grant itself is
        // refused for an authenticated client (RFC 6749 §5.2 would say unauthorized_client),
        // and unauthorized_client says so: the grant is not enabled for this client.
        _ if ctx.kind == LaunchKind::Backend
            && is(&[id!("token.invalid_grant"), id!("token.unauthorized_client")]) =>
        {
            id!("token.client_credentials_not_enabled")
        }
        _ => id,
    }
}

/// Oracle Health token URNs (the part after `urn:cerner:error:authorization-server:`) and what
/// each means, in a sentence that becomes the first cause.
fn oracle_health_urn(code: &str) -> Option<(Id, &'static str)> {
    let last = code.rsplit(':').next().unwrap_or("");
    if code.contains("refresh-token") {
        return Some((
            id!("token.invalid_grant"),
            "Oracle Health: the refresh token is invalid, expired or revoked (the user's grant ended, or the app's access was removed)",
        ));
    }
    Some(match last {
        "invalid-authorization-header" => (
            id!("token.bad_auth_header"),
            "Oracle Health: the Authorization header is not a well-formed Basic header",
        ),
        "invalid-tenant" | "unknown-tenant" => (
            id!("token.invalid_tenant"),
            "Oracle Health: the tenant in the token URL does not exist (wrong tenant id, or a sandbox tenant used against production)",
        ),
        "unauthorized-client-for-tenant" => (
            id!("token.invalid_tenant"),
            "Oracle Health: the app is registered but not enabled for this tenant; the organisation must enable it",
        ),
        "empty-scopes" => (
            id!("token.invalid_scope"),
            "Oracle Health: no requested scope is granted to this app (none registered, or none left after filtering)",
        ),
        "invalid-signature" => (
            id!("token.bad_client_assertion"),
            "Oracle Health: the client assertion's signature does not verify against the registered key",
        ),
        "code-invalid-or-expired" => (
            id!("token.invalid_grant"),
            "Oracle Health: the authorization code is invalid or expired (codes live briefly and are single-use)",
        ),
        "terminated-client" => (
            id!("token.client_disabled"),
            "Oracle Health: the app's registration was terminated in the Code Console",
        ),
        _ => return None,
    })
}

/// What a Microsoft Entra ID `AADSTS` code names, and a sentence for the first cause.
fn entra(code: u64) -> Option<(Id, &'static str)> {
    Some(match code {
        700016 => (
            id!("token.unknown_client"),
            "Entra AADSTS700016: no application with this client_id in the tenant (wrong tenant, or the app was deleted)",
        ),
        90002 | 700005 => (
            id!("token.invalid_tenant"),
            "Entra: the tenant in the token URL is not the tenant the app or the code belongs to",
        ),
        7000215 => (
            id!("token.bad_client_credentials"),
            "Entra AADSTS7000215: the secret sent is not a valid secret of this app (often the secret's id sent instead of its value)",
        ),
        7000222 => (
            id!("token.client_secret_expired"),
            "Entra AADSTS7000222: the client secret has expired",
        ),
        7000218 => (
            id!("token.client_type_mismatch"),
            "Entra AADSTS7000218: the app is registered as confidential but no client_secret or client_assertion was sent",
        ),
        700025 => (
            id!("token.client_type_mismatch"),
            "Entra AADSTS700025: the app is registered as public but credentials were sent",
        ),
        7000112 => (
            id!("token.client_disabled"),
            "Entra AADSTS7000112: the application is disabled",
        ),
        70011 | 28002 | 28003 | 650053 => (
            id!("token.invalid_scope"),
            "Entra: the scope is invalid or empty for this app, or not a scope of the resource asked for",
        ),
        50011 => (
            id!("token.redirect_mismatch"),
            "Entra AADSTS50011: the redirect URI is not one registered for the app",
        ),
        70008 => (
            id!("token.invalid_grant"),
            "Entra AADSTS70008: the authorization code has expired (codes live about ten minutes)",
        ),
        65001 => (
            id!("token.consent_required"),
            "Entra AADSTS65001: the user or an administrator has not consented to the app",
        ),
        54005 => (
            id!("token.code_reused"),
            "Entra AADSTS54005: the code was already redeemed",
        ),
        501481 => (
            id!("token.pkce_rejected"),
            "Entra AADSTS501481: the code_verifier does not match the code_challenge",
        ),
        700024 | 700027 => (
            id!("token.bad_client_assertion"),
            "Entra: the client assertion is outside its validity window or its signature does not verify",
        ),
        _ => return None,
    })
}

/// The id the OAuth code alone names (with the few descriptions older rules knew).
fn by_code(error: &str, desc: &str) -> Id {
    let d = if lexicon::is_generic(desc) {
        String::new()
    } else {
        desc.to_ascii_lowercase()
    };
    let mentions = |words: &[&str]| words.iter().any(|w| d.contains(w));
    if mentions(&["for confidential apps", "for confidential clients"])
        && mentions(&["client id is required", "client_id is required"])
    {
        // athenahealth: "Client ID is required in the Authorization header for confidential apps".
        return id!("token.client_type_mismatch");
    }
    match error {
        // Keycloak answers wrong credentials with a non-standard unauthorized_client.
        "unauthorized_client" if mentions(&["unknown_client"]) => id!("token.unknown_client"),
        "unauthorized_client" if mentions(&["invalid client"]) => {
            id!("token.bad_client_credentials")
        }
        "invalid_client"
            if mentions(&[
                "unknown client",
                "client not found",
                "unknown_client",
                "invalid client_id",
                "invalid client id",
            ]) =>
        {
            id!("token.unknown_client")
        }
        "invalid_client" => id!("token.bad_client_credentials"),
        "invalid_grant" | "invalid_request"
            if mentions(&["verifier", "pkce", "code_challenge"]) =>
        {
            id!("token.pkce_rejected")
        }
        "invalid_grant" if mentions(&["redirect"]) => id!("token.redirect_mismatch"),
        "invalid_grant" if mentions(&["already", "used", "redeemed", "replay"]) => {
            id!("token.code_reused")
        }
        "invalid_grant" => id!("token.invalid_grant"),
        "invalid_request" => id!("token.invalid_request"),
        "unauthorized_client" => id!("token.unauthorized_client"),
        "unsupported_grant_type" => id!("token.unsupported_grant_type"),
        "invalid_scope" => id!("token.invalid_scope"),
        _ => id!("token.http_error"),
    }
}
