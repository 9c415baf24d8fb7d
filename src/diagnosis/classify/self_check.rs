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

/// Our own client assertion, decoded and checked claim by claim (SMART asymmetric auth).
fn assertion_check(assertion: &str, kind: Option<&str>, ctx: &TokenContext<'_>) -> Vec<Evidence> {
    let Some((header, claims)) = crate::smart::id_token::decode_unverified(assertion) else {
        return vec![ev(
            "Self-check: client assertion",
            "not a decodable JWT".into(),
        )];
    };
    let s = |v: &serde_json::Value, k: &str| {
        v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string()
    };
    let ok = |good: bool| if good { "✓" } else { "✗" };
    let (iss, sub, aud) = (s(&claims, "iss"), s(&claims, "sub"), s(&claims, "aud"));
    let exp_in = claims
        .get("exp")
        .and_then(|v| v.as_i64())
        .map(|e| e - now_secs(ctx));
    let alg = s(&header, "alg");
    vec![
        ev(
            "Self-check: assertion header",
            format!(
                "alg {alg} {}; kid {:?} {}; client_assertion_type {}",
                ok(matches!(alg.as_str(), "RS384" | "ES384")),
                s(&header, "kid"),
                ok(!s(&header, "kid").is_empty()),
                ok(kind == Some(crate::smart::client_auth::ASSERTION_TYPE)),
            ),
        ),
        ev(
            "Self-check: assertion claims",
            format!(
                "iss = sub = client_id {}; aud = token endpoint {} ({aud}); exp in {} s {}; jti {}",
                ok(iss == ctx.client_id && sub == ctx.client_id),
                ok(aud == ctx.token_endpoint),
                exp_in.map(|e| e.to_string()).unwrap_or_else(|| "?".into()),
                ok(exp_in.is_some_and(|e| e > 0 && e <= 300)),
                ok(!s(&claims, "jti").is_empty()),
            ),
        ),
        ev(
            "Self-check: public key",
            format!(
                "kid {:?} is published at /.well-known/jwks.json: the EHR must have that key registered (or fetch that URL)",
                s(&header, "kid")
            ),
        ),
    ]
}

fn now_secs(ctx: &TokenContext<'_>) -> i64 {
    ctx.now
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
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
        if let Some(assertion) = field("client_assertion") {
            out.extend(assertion_check(
                assertion,
                field("client_assertion_type"),
                ctx,
            ));
        }
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
