//! Validation of one `[[registration]]` table.

use std::path::Path;
use std::sync::Arc;

use super::registration::default_backend_read;
use super::{
    AuthMethod, AuthorizeMethod, ClientAuth, ConfigError, RawRegistration, Registration, Secret,
    invalid, normalize_iss, standalone_scope_from,
};
use crate::smart::client_auth::SigningKey;

pub(super) fn validate_registration(
    r: RawRegistration,
    i: usize,
) -> Result<Registration, ConfigError> {
    let key = |k: &str| format!("registration[{i}].{k}");
    let required = |v: Option<String>, k: &str| -> Result<String, ConfigError> {
        match v.map(|s| s.trim().to_string()) {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(invalid(key(k), "is required")),
        }
    };
    let id = required(r.id, "id")?;
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(invalid(
            key("id"),
            format!("{id:?} must be url-safe: letters, digits, '-', '_' or '.'"),
        ));
    }
    let iss = normalize_iss(&required(r.iss, "iss")?).map_err(|m| invalid(key("iss"), m))?;
    let client_id = required(r.client_id, "client_id")?;
    let auth_name = r.auth.unwrap_or_else(|| "none".into());
    let auth = AuthMethod::parse(&auth_name).ok_or_else(|| {
        invalid(
            key("auth"),
            format!(
                "{auth_name:?} is not one of none, client_secret_basic, client_secret_post, private_key_jwt"
            ),
        )
    })?;
    let client_secret = match (r.client_secret, r.client_secret_env) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                key("client_secret_env"),
                "give client_secret or client_secret_env, not both",
            ));
        }
        (Some(s), None) => Some(Secret::new(s)),
        (None, Some(var)) => match std::env::var(&var) {
            Ok(s) => Some(Secret::new(s)),
            Err(_) => {
                return Err(invalid(
                    key("client_secret_env"),
                    format!("environment variable {var:?} is not set (or not UTF-8)"),
                ));
            }
        },
        (None, None) => None,
    };
    match (&client_secret, auth.uses_secret()) {
        (None, true) => {
            return Err(invalid(
                key("client_secret"),
                format!(
                    "auth = {:?} needs client_secret or client_secret_env",
                    auth.as_str()
                ),
            ));
        }
        (Some(s), _) if s.expose().is_empty() => {
            return Err(invalid(key("client_secret"), "is empty"));
        }
        (Some(_), false) => {
            return Err(invalid(
                key("client_secret"),
                format!("auth = {:?} sends no secret: remove it", auth.as_str()),
            ));
        }
        _ => {}
    }
    if auth == AuthMethod::PrivateKeyJwt {
        if r.private_key.is_none() {
            return Err(invalid(
                key("private_key"),
                "auth = \"private_key_jwt\" needs private_key (a PEM file) and key_id",
            ));
        }
        if r.key_id.as_deref().is_none_or(|k| k.trim().is_empty()) {
            return Err(invalid(
                key("key_id"),
                "auth = \"private_key_jwt\" needs key_id (the kid registered with the EHR)",
            ));
        }
        if let Some(alg) = &r.alg
            && !matches!(alg.as_str(), "RS384" | "ES384")
        {
            return Err(invalid(
                key("alg"),
                format!("{alg:?} is not RS384 or ES384"),
            ));
        }
    } else if r.private_key.is_some() {
        return Err(invalid(
            key("private_key"),
            format!("auth = {:?} signs nothing: remove it", auth.as_str()),
        ));
    }
    let scope = required(r.scope, "scope")?;
    let (backend, backend_read, authorize_method) = validate_extras(
        (
            r.backend,
            r.backend_read.as_deref(),
            r.authorize_method.as_deref(),
        ),
        &scope,
        auth,
        &key,
    )?;
    let standalone_scope = r
        .standalone_scope
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| standalone_scope_from(&scope));
    let signing_key = match &r.private_key {
        Some(path) => Some(Arc::new(
            SigningKey::load(
                Path::new(path),
                r.key_id.as_deref().unwrap_or(""),
                r.alg.as_deref().unwrap_or("RS384"),
                r.jku.clone(),
            )
            .map_err(|m| invalid(key("private_key"), m))?,
        )),
        None => None,
    };
    // Everything a method needs was checked above with its own message; this builds it once.
    let auth =
        ClientAuth::new(auth, client_secret, signing_key).map_err(|m| invalid(key("auth"), m))?;
    Ok(Registration {
        name: r.name.unwrap_or_else(|| id.clone()),
        id,
        iss,
        client_id,
        auth,
        scope: scope.split_whitespace().collect::<Vec<_>>().join(" "),
        standalone_scope,
        backend,
        backend_read,
        authorize_method,
        active_probes: r.active_probes.unwrap_or(false),
    })
}

/// The Backend Services and authorize-POST keys of a registration: `backend` (needs a
/// confidential client, `private_key_jwt` or a secret, and `system/` scopes), `backend_read` (a relative FHIR path) and
/// `authorize_method`.
fn validate_extras(
    (backend, backend_read, authorize_method): (Option<bool>, Option<&str>, Option<&str>),
    scope: &str,
    auth: AuthMethod,
    key: &dyn Fn(&str) -> String,
) -> Result<(bool, String, AuthorizeMethod), ConfigError> {
    let backend = backend.unwrap_or(false);
    if backend {
        // client_secret_basic / client_secret_post are accepted as a non-SMART variant (Oracle
        // Health system accounts, MEDITECH, Entra): runs and checks warn about it.
        if auth == AuthMethod::None {
            return Err(invalid(
                key("auth"),
                "backend = true needs a confidential client: auth = \"private_key_jwt\" (SMART Backend Services), or client_secret_basic / client_secret_post (not SMART, warned about)",
            ));
        }
        if let Some(s) = scope.split_whitespace().find(|s| !s.starts_with("system/")) {
            return Err(invalid(
                key("scope"),
                format!("backend = true asks for system/ scopes only; {s:?} is not one"),
            ));
        }
    }
    let backend_read = match backend_read {
        None => default_backend_read(),
        Some(path) => {
            let path = path.trim().trim_start_matches('/');
            let bad = path.is_empty()
                || path.contains("://")
                || path.contains('#')
                || path.split(['/', '?']).any(|seg| seg == "..")
                || path.chars().any(|c| c.is_whitespace() || c.is_control());
            if bad {
                return Err(invalid(
                    key("backend_read"),
                    format!(
                        "{path:?} is not a FHIR path relative to iss, e.g. \"Patient?_count=1\""
                    ),
                ));
            }
            path.to_string()
        }
    };
    let authorize_method = match authorize_method {
        None | Some("get") => AuthorizeMethod::Get,
        Some("post") => AuthorizeMethod::Post,
        Some(other) => {
            return Err(invalid(
                key("authorize_method"),
                format!("{other:?} is not \"get\" or \"post\""),
            ));
        }
    };
    Ok((backend, backend_read, authorize_method))
}
