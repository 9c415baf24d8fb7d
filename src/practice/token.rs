//! Token endpoint: the authorization code exchange (RFC 6749 §4.1.3–4.1.4) with PKCE S256
//! verification (RFC 7636 §4.6), dispatch to refresh (§6, in `refresh`), and the answer with
//! the SMART context fields and, for `openid`, an id_token.
//!
//! The faults are those of the client the request names (Basic header, `client_id` or the
//! assertion's `iss`), looked up before authentication so that a canned answer or a hang can
//! replace everything, as the global faults always did.

use std::time::{Duration, Instant};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use serde_json::{Map, Value};

use super::wire::{self, OAuthError, Params};
use super::{
    CannedAnswer, Ehr, EhrState, Faults, LaunchContext, PracticeClient, RefreshGrant, client_auth,
    id_token, paths, refresh,
};

/// Lifetime of an access token, in seconds.
pub(super) const ACCESS_TOKEN_SECONDS: u64 = 3600;

/// Tokens granted by a successful exchange or refresh.
pub(super) struct Granted {
    pub(super) access_token: String,
    pub(super) refresh_token: Option<String>,
    pub(super) scope: String,
    pub(super) context: LaunchContext,
    /// OpenID Connect id_token, for a code exchange with `openid` in the scope.
    pub(super) id_token: Option<String>,
    /// From a code exchange: the answer-shaping faults apply only then.
    pub(super) by_code: bool,
}

/// `POST /auth/token`.
pub(super) async fn token(State(ehr): State<Ehr>, headers: HeaderMap, body: Bytes) -> Response {
    respond(&ehr, &headers, &body, paths::TOKEN).await
}

/// The answer of the token endpoint at `path`, which client assertions must name as `aud`.
async fn respond(ehr: &Ehr, headers: &HeaderMap, body: &[u8], path: &str) -> Response {
    let params = Params::parse(body);
    let claimed = client_auth::claimed_client_id(headers, &params);
    let faults = ehr.with(|s| s.faults_for(claimed.as_deref()));
    if let Some(secs) = faults.token_hang_secs {
        // A timer, not a blocked thread: the server keeps serving everything else meanwhile.
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }
    let mut response = answer(ehr, &faults, headers, &params, &ehr.url(path));
    if let Some(offset_secs) = faults.token_date_offset_secs {
        set_date(&mut response, offset_secs);
    }
    response
}

/// `POST /auth/token-legacy`: the token endpoint only the CapabilityStatement names, under the
/// `metadata_disagrees` fault; 404 otherwise.
pub(super) async fn token_legacy(
    State(ehr): State<Ehr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // A discovery fault: global, like the CapabilityStatement that names this endpoint.
    let faults = ehr.faults();
    if !faults.metadata_disagrees {
        return super::serve::not_found().await;
    }
    if !faults.no_well_known {
        // SMART 2.x makes .well-known the source of endpoints; oauth-uris is only a fallback.
        let why = format!(
            "token: request sent to the CapabilityStatement's token endpoint {} although \
             .well-known/smart-configuration names {}",
            ehr.url(paths::TOKEN_LEGACY),
            ehr.url(paths::TOKEN)
        );
        ehr.with(|s| s.violation(why));
    }
    // An assertion sent here names this endpoint as its audience: the URL it was posted to.
    respond(&ehr, &headers, &body, paths::TOKEN_LEGACY).await
}

/// The answer before the `Date` fault: a canned one, or the request processed.
fn answer(
    ehr: &Ehr,
    faults: &Faults,
    headers: &HeaderMap,
    params: &Params,
    endpoint: &str,
) -> Response {
    let form_problem = form_problem(headers);
    if let Some(problem) = &form_problem {
        ehr.with(|s| s.violation(format!("token: {problem}")));
    }
    if let Some(canned) = faults.canned_token_answer() {
        return canned_response(canned);
    }
    if let Some(canned) = faults
        .refresh_answer
        .clone()
        .filter(|_| params.get("grant_type") == Some("refresh_token"))
    {
        return canned_response(canned);
    }
    if let Some(problem) = form_problem {
        return OAuthError::bad_request("invalid_request", problem).into_response();
    }
    if params.get("grant_type") == Some("client_credentials") {
        // SMART Backend Services: its own answer (short-lived token, system/ scopes only).
        return super::backend::client_credentials(ehr, faults, headers, params, endpoint);
    }
    match grant(ehr, faults, headers, params, endpoint) {
        Ok(granted) => token_response(granted, ehr.url(paths::SMART_STYLE), faults),
        Err(error) => error.into_response(),
    }
}

/// Why the body cannot be read as a form, or `None` when it can.
fn form_problem(headers: &HeaderMap) -> Option<String> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let is_form = content_type.as_deref().is_some_and(|ct| {
        let essence = ct.split(';').next().unwrap_or_default().trim();
        essence.eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    (!is_form).then(|| {
        format!(
            "Content-Type {} is not application/x-www-form-urlencoded (RFC 6749 §4.1.3)",
            content_type
                .as_deref()
                .map_or("(none)".to_owned(), |ct| format!("{ct:?}"))
        )
    })
}

/// A canned answer, verbatim: no header is added but those it lists.
pub(super) fn canned_response(canned: CannedAnswer) -> Response {
    let Ok(status) = StatusCode::from_u16(canned.status) else {
        return broken_fault(format!("invalid HTTP status {}", canned.status));
    };
    let mut response = Response::new(Body::from(canned.body));
    *response.status_mut() = status;
    for (name, value) in &canned.headers {
        let name_ok = HeaderName::try_from(name.as_str());
        let (Ok(name), Ok(value)) = (name_ok, HeaderValue::try_from(value.as_str())) else {
            return broken_fault(format!("invalid header {name:?}: {value:?}"));
        };
        response.headers_mut().append(name, value);
    }
    response
}

/// 500 for a canned answer HTTP cannot carry: a test set it up wrong.
fn broken_fault(why: String) -> Response {
    tracing::warn!(%why, "canned token answer cannot be sent");
    let body = format!("canned token answer cannot be sent: {why}");
    (StatusCode::INTERNAL_SERVER_ERROR, body).into_response()
}

/// The `token_date_offset_secs` fault: a `Date` that far from now, unless one is already set.
fn set_date(response: &mut Response, offset_secs: i64) {
    if response.headers().contains_key(header::DATE) {
        return;
    }
    match wire::http_date(offset_secs) {
        Some(date) => {
            response.headers_mut().insert(header::DATE, date);
        }
        None => tracing::warn!(offset_secs, "token_date_offset_secs leaves years 0-9999"),
    }
}

/// Authenticates the client, then dispatches on `grant_type`.
fn grant(
    ehr: &Ehr,
    faults: &Faults,
    headers: &HeaderMap,
    params: &Params,
    endpoint: &str,
) -> Result<Granted, OAuthError> {
    if let Some(name) = params.duplicates.first() {
        return Err(client_bug(
            ehr,
            "invalid_request",
            format!("parameter {name} sent more than once (RFC 6749 §3.2)"),
        ));
    }
    // Both grants authenticate the client the same way (RFC 6749 §6 for refresh).
    let client = client_auth::authenticate(ehr, faults, headers, params, endpoint)?;
    match params.get("grant_type") {
        Some("authorization_code") => exchange_code(ehr, faults, &client, params),
        Some("refresh_token") => refresh::refresh(ehr, faults, &client, params),
        Some(other) => Err(OAuthError::bad_request(
            "unsupported_grant_type",
            format!("grant_type {other:?} is not supported"),
        )),
        None => Err(client_bug(ehr, "invalid_request", "grant_type is missing")),
    }
}

/// Records a client bug and turns it into a 400 with this error code.
pub(super) fn client_bug(ehr: &Ehr, error: &'static str, why: impl Into<String>) -> OAuthError {
    let why = why.into();
    ehr.with(|s| s.violation(format!("token: {why}")));
    OAuthError::bad_request(error, why)
}

/// `grant_type=authorization_code`.
fn exchange_code(
    ehr: &Ehr,
    faults: &Faults,
    client: &PracticeClient,
    params: &Params,
) -> Result<Granted, OAuthError> {
    let Some(code) = params.get("code") else {
        return Err(client_bug(ehr, "invalid_request", "code is missing"));
    };
    let (mut granted, nonce) = ehr.with(|s| redeem(s, client, code, params))?;
    if wire::has_scope(&granted.scope, "openid") {
        let (scope, nonce) = (granted.scope.as_str(), nonce.as_deref());
        let fault = faults.id_token_fault;
        let issued = id_token::issue(ehr, &client.client_id, scope, nonce, fault);
        granted.id_token = Some(issued.map_err(OAuthError::server_error)?);
    }
    Ok(granted)
}

/// Checks the code against what authorize remembered and, if all holds, spends it; also returns
/// the authorize request's `nonce`.
fn redeem(
    s: &mut EhrState,
    client: &PracticeClient,
    code: &str,
    params: &Params,
) -> Result<(Granted, Option<String>), OAuthError> {
    let invalid_grant = |why: &str| OAuthError::bad_request("invalid_grant", why);
    let Some(issued) = s.codes.get(code).cloned() else {
        return Err(invalid_grant("unknown authorization code"));
    };
    if issued.used && !s.faults_for(Some(&client.client_id)).accept_code_replay {
        // RFC 6749 §4.1.2: deny, and revoke the tokens the code already gave.
        if let Some(refresh_token) = &issued.refresh_token {
            s.refresh_tokens.remove(refresh_token);
        }
        if let Some(access_token) = &issued.access_token {
            s.access_tokens.remove(access_token);
        }
        s.violation("token: authorization code used more than once (RFC 6749 §4.1.2)");
        return Err(invalid_grant("code already used"));
    }
    if Instant::now() >= issued.expires_at {
        return Err(invalid_grant("code expired"));
    }
    if issued.client_id != client.client_id {
        return Err(invalid_grant("code was issued to another client"));
    }
    match params.get("redirect_uri") {
        Some(sent) if sent == issued.redirect_uri => {}
        sent => {
            s.violation(if sent.is_some() {
                "token: redirect_uri differs from the one sent to authorize"
            } else {
                "token: redirect_uri is missing but was sent to authorize"
            });
            return Err(invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
    }
    if let Err(why) = verify_pkce(params.get("code_verifier"), &issued.code_challenge) {
        s.violation(format!("token: PKCE verification failed: {why}"));
        return Err(invalid_grant("PKCE verification failed"));
    }
    let refresh_token = wants_refresh(&issued.scope).then(wire::random_token);
    if let Some(refresh_token) = &refresh_token {
        let grant = RefreshGrant {
            client_id: issued.client_id.clone(),
            scope: issued.scope.clone(),
            context: issued.context.clone(),
        };
        s.refresh_tokens.insert(refresh_token.clone(), grant);
    }
    let access_token = wire::random_token();
    let lifetime = Duration::from_secs(ACCESS_TOKEN_SECONDS);
    s.grant_access(&access_token, &client.client_id, lifetime);
    super::introspect::remember(s, &access_token, &issued);
    if let Some(entry) = s.codes.get_mut(code) {
        entry.used = true;
        entry.access_token = Some(access_token.clone());
        entry.refresh_token.clone_from(&refresh_token);
    }
    s.exchanged_codes += 1;
    let granted = Granted {
        access_token,
        refresh_token,
        scope: issued.scope,
        context: issued.context,
        id_token: None,
        by_code: true,
    };
    Ok((granted, issued.nonce))
}

/// RFC 7636 §4.6: BASE64URL-NOPAD(SHA256(code_verifier)) must equal the code_challenge.
fn verify_pkce(verifier: Option<&str>, challenge: &str) -> Result<(), &'static str> {
    let Some(verifier) = verifier else {
        return Err("code_verifier is missing");
    };
    if !wire::is_code_verifier(verifier) {
        return Err("code_verifier is not 43-128 unreserved characters");
    }
    if wire::s256(verifier) != challenge {
        return Err("S256(code_verifier) does not match the code_challenge");
    }
    Ok(())
}

/// A refresh token is issued only when offline or online access was asked for.
fn wants_refresh(scope: &str) -> bool {
    wire::has_scope(scope, "offline_access") || wire::has_scope(scope, "online_access")
}

/// 200 with the token answer and SMART context (SMART App Launch 2.2 §2.0.8), never cached
/// unless a fault says otherwise.
fn token_response(granted: Granted, smart_style_url: String, faults: &Faults) -> Response {
    let mut body = Map::new();
    body.insert("access_token".into(), granted.access_token.into());
    body.insert("token_type".into(), "Bearer".into());
    body.insert("expires_in".into(), ACCESS_TOKEN_SECONDS.into());
    body.insert("scope".into(), granted.scope.into());
    if let Some(patient) = granted.context.patient {
        body.insert("patient".into(), patient.into());
    }
    if let Some(encounter) = granted.context.encounter {
        body.insert("encounter".into(), encounter.into());
    }
    body.insert(
        "fhirContext".into(),
        serde_json::json!([{ "reference": super::data::CLINIC_REFERENCE }]),
    );
    body.insert("need_patient_banner".into(), true.into());
    body.insert("smart_style_url".into(), smart_style_url.into());
    if let Some(refresh_token) = granted.refresh_token {
        body.insert("refresh_token".into(), refresh_token.into());
    }
    if let Some(id_token) = granted.id_token {
        body.insert("id_token".into(), id_token.into());
    }
    let mut cache = Some(wire::no_store_headers());
    if granted.by_code {
        let patch = faults.token_patch.iter();
        wire::patch_object(
            &mut body,
            patch.map(|(name, v)| (name.as_str(), v.as_ref())),
        );
        if faults.no_cache_headers {
            cache = None;
        }
    }
    let mut response = (StatusCode::OK, cache, Json(Value::Object(body))).into_response();
    if let Some(v) = faults
        .token_cache_control
        .as_deref()
        .filter(|_| granted.by_code && faults.no_cache_headers)
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        response.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    response
}
