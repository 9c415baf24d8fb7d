//! `grant_type=refresh_token` (RFC 6749 §6), after the client authenticated exactly as for a
//! code exchange: same client, scope at most the original one.
//!
//! Without faults the answer repeats the refresh_token it was given, which stays valid (the
//! server may do so, §5.1). The faults rotate it, reject every refresh, or widen the scope.

use std::time::Duration;

use super::token::{ACCESS_TOKEN_SECONDS, Granted, client_bug};
use super::wire::{self, OAuthError, Params};
use super::{Ehr, Faults, PracticeClient};

/// What the `refresh_widen_scope` fault adds to the answer's scope.
const WIDENED: &str = "user/*.*";

/// Checks the refresh token and the asked scope, then issues a new access token.
pub(super) fn refresh(
    ehr: &Ehr,
    faults: &Faults,
    client: &PracticeClient,
    params: &Params,
) -> Result<Granted, OAuthError> {
    let Some(refresh_token) = params.get("refresh_token") else {
        return Err(client_bug(
            ehr,
            "invalid_request",
            "refresh_token is missing",
        ));
    };
    if faults.refresh_reject {
        return Err(OAuthError::bad_request(
            "invalid_grant",
            "refresh token expired",
        ));
    }
    let Some(grant) = ehr.with(|s| s.refresh_tokens.get(refresh_token).cloned()) else {
        return Err(OAuthError::bad_request(
            "invalid_grant",
            "unknown or revoked refresh token",
        ));
    };
    if grant.client_id != client.client_id {
        return Err(OAuthError::bad_request(
            "invalid_grant",
            "refresh token was issued to another client",
        ));
    }
    let mut scope = match params.get("scope") {
        None => grant.scope.clone(),
        Some(asked)
            if asked
                .split_ascii_whitespace()
                .all(|w| wire::has_scope(&grant.scope, w)) =>
        {
            asked.to_owned()
        }
        Some(_) => {
            return Err(OAuthError::bad_request(
                "invalid_scope",
                "the requested scope exceeds the one originally granted",
            ));
        }
    };
    let access_token = wire::random_token();
    let refresh_token = ehr.with(|s| {
        let lifetime = Duration::from_secs(ACCESS_TOKEN_SECONDS);
        s.grant_access(&access_token, &client.client_id, lifetime);
        if !faults.refresh_rotation {
            return refresh_token.to_owned();
        }
        let rotated = wire::random_token();
        s.refresh_tokens.remove(refresh_token);
        s.refresh_tokens.insert(rotated.clone(), grant.clone());
        // A replayed code must still revoke the refresh token it led to.
        s.codes
            .values_mut()
            .filter(|c| c.refresh_token.as_deref() == Some(refresh_token))
            .for_each(|c| c.refresh_token = Some(rotated.clone()));
        rotated
    });
    if faults.refresh_widen_scope && !wire::has_scope(&scope, WIDENED) {
        scope = format!("{scope} {WIDENED}");
    }
    Ok(Granted {
        access_token,
        refresh_token: Some(refresh_token),
        scope,
        context: grant.context,
        id_token: None,
        by_code: false,
    })
}
