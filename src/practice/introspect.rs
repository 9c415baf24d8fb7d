//! RFC 7662 token introspection at `POST /auth/introspect`: confidential clients authenticate
//! as at the token endpoint; a public client authenticates with the access token itself as
//! Bearer (SMART App Launch 2.2 §token-introspection allows "the token itself" for that case).
//! The answer for an active token carries `active`, `scope`, `client_id`, `exp`, `token_type`
//! and the launch context it was granted with.

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};
use serde_json::{Map, Value, json};

use super::state::TokenFacts;
use super::token::ACCESS_TOKEN_SECONDS;
use super::wire::{self, OAuthError, Params};
use super::{Ehr, EhrState, IssuedCode, client_auth, paths};

/// Notes what a code-exchange access token was granted (called when it is issued).
pub(super) fn remember(s: &mut EhrState, access_token: &str, issued: &IssuedCode) {
    let facts = TokenFacts {
        client_id: issued.client_id.clone(),
        scope: issued.scope.clone(),
        context: issued.context.clone(),
        exp: wire::unix_now() + ACCESS_TOKEN_SECONDS as i64,
    };
    s.token_facts.insert(access_token.to_owned(), facts);
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn active(ehr: &Ehr, token: &str) -> bool {
    ehr.with(|s| {
        s.access_tokens
            .get(token)
            .is_some_and(|t| Instant::now() < t.expires_at)
    })
}

/// `POST /auth/introspect`.
pub(super) async fn introspect(
    State(ehr): State<Ehr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(&body);
    // The caller's own faults when it names itself, else the global ones.
    let caller = client_auth::claimed_client_id(&headers, &params).or_else(|| {
        let b = bearer(&headers)?;
        ehr.with(|s| s.token_facts.get(b).map(|f| f.client_id.clone()))
    });
    if let Some(canned) = ehr.with(|s| s.faults_for(caller.as_deref()).introspection_answer) {
        return super::token::canned_response(canned);
    }
    let Some(token) = params.get("token").map(str::to_owned) else {
        ehr.with(|s| s.violation("introspect: token parameter is missing (RFC 7662 §2.1)"));
        return OAuthError::bad_request("invalid_request", "token is missing").into_response();
    };
    match bearer(&headers) {
        // A public client: the bearer token must itself be active.
        Some(b) if active(&ehr, b) => {}
        Some(_) => {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
                Json(json!({"error": "invalid_token"})),
            )
                .into_response();
        }
        None => {
            let claimed = client_auth::claimed_client_id(&headers, &params);
            let faults = ehr.with(|s| s.faults_for(claimed.as_deref()));
            let endpoint = ehr.url(paths::INTROSPECT);
            if let Err(e) = client_auth::authenticate(&ehr, &faults, &headers, &params, &endpoint) {
                return e.into_response();
            }
        }
    }
    let facts = ehr.with(|s| s.token_facts.get(&token).cloned());
    let answer = match facts.filter(|_| active(&ehr, &token)) {
        None => json!({"active": false}),
        Some(f) => {
            let faults = ehr.with(|s| s.faults_for(Some(&f.client_id)));
            let mut body = Map::new();
            body.insert("active".into(), true.into());
            body.insert("scope".into(), f.scope.into());
            body.insert("client_id".into(), f.client_id.into());
            body.insert("exp".into(), f.exp.into());
            body.insert("token_type".into(), "Bearer".into());
            if let Some(p) = f.context.patient {
                body.insert("patient".into(), p.into());
            }
            if let Some(e) = f.context.encounter {
                body.insert("encounter".into(), e.into());
            }
            let patch = faults.introspection_patch.iter();
            wire::patch_object(&mut body, patch.map(|(k, v)| (k.as_str(), v.as_ref())));
            Value::Object(body)
        }
    };
    (StatusCode::OK, wire::no_store_headers(), Json(answer)).into_response()
}
