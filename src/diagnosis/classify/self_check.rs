//! The client-authentication self-check run on every `invalid_client`: what we actually sent,
//! decoded, compared with the configuration and with discovery. Never shows a secret: only
//! whether it matches, its length and whether form-encoding changed it.

use base64::Engine as _;

use super::token::{TokenContext, skew_from_date};
use crate::config::AuthMethod;
use crate::diagnosis::Evidence;

fn ev(label: &str, value: String) -> Evidence {
    Evidence {
        label: label.to_string(),
        value,
    }
}

fn form_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("v={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn matches(sent: &str, configured: Option<&str>) -> &'static str {
    match configured {
        Some(c) if c == sent => "matches the configuration",
        Some(_) => "DIFFERS from the configuration",
        None => "none is configured",
    }
}

/// Decodes a `Basic` credential the way an RFC 6749 §2.3.1 server does.
fn basic(cred: &str, ctx: &TokenContext<'_>) -> String {
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(cred.trim()) else {
        return "Basic, but the credential is not valid base64".into();
    };
    let raw = String::from_utf8_lossy(&raw);
    let Some((id_enc, secret_enc)) = raw.split_once(':') else {
        return "Basic, but the decoded credential has no ':' between id and secret".into();
    };
    let (id, secret) = (form_decode(id_enc), form_decode(secret_enc));
    let configured = ctx.secret.map(|s| s.expose());
    let changed = id_enc != id || secret_enc != secret;
    format!(
        "Basic: client_id {id:?} ({}); secret of {} chars ({}); form-encoding {}",
        if id == ctx.client_id {
            "matches the configuration"
        } else {
            "DIFFERS from the configuration"
        },
        secret.chars().count(),
        matches(&secret, configured),
        if changed {
            "applied before base64 (RFC 6749 §2.3.1)"
        } else {
            "changes nothing for these values"
        },
    )
}

/// The self-check's evidence lines.
pub fn client_auth(ctx: &TokenContext<'_>, server_date: Option<&str>) -> Vec<Evidence> {
    let mut out = Vec::new();
    if let Some(sent) = ctx.sent {
        let header = match sent.authorization.as_deref() {
            None => match ctx.auth {
                AuthMethod::ClientSecretBasic => {
                    "none sent, although the method is client_secret_basic".into()
                }
                _ => "none sent (right for this method)".into(),
            },
            Some(h) => match h.split_once(' ') {
                Some((scheme, cred)) if scheme.eq_ignore_ascii_case("basic") => basic(cred, ctx),
                Some((scheme, _)) => {
                    format!("scheme {scheme}: not what {} sends", ctx.auth.as_str())
                }
                None => "present but without a scheme".into(),
            },
        };
        out.push(ev("Self-check: Authorization header", header));
        let form: Vec<(String, String)> = url::form_urlencoded::parse(sent.body.as_bytes())
            .into_owned()
            .collect();
        let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let body = format!(
            "client_id {}; client_secret {}",
            match field("client_id") {
                Some(id) if id == ctx.client_id =>
                    "present (matches the configuration)".to_string(),
                Some(id) => format!("present as {id:?} (DIFFERS from the configuration)"),
                None => "absent".to_string(),
            },
            match field("client_secret") {
                Some(s) => format!("present ({})", matches(s, ctx.secret.map(|s| s.expose()))),
                None => "absent".to_string(),
            }
        );
        out.push(ev("Self-check: body credentials", body));
    }
    let methods = ctx.auth_methods_supported;
    let advertised = if methods.is_empty() {
        "discovery lists no token_endpoint_auth_methods_supported".to_string()
    } else if ctx.auth == AuthMethod::None || methods.iter().any(|m| m == ctx.auth.as_str()) {
        format!(
            "{} fits what discovery advertises ({})",
            ctx.auth.as_str(),
            methods.join(", ")
        )
    } else {
        format!(
            "{} is NOT advertised; discovery lists {}",
            ctx.auth.as_str(),
            methods.join(", ")
        )
    };
    out.push(ev("Self-check: method vs discovery", advertised));
    if let Some(date) = server_date
        && let Some(skew) = skew_from_date(date, ctx.now)
    {
        out.push(ev(
            "Self-check: clocks",
            format!("server Date {date}; ours differs by {} s", -skew),
        ));
    }
    out
}
