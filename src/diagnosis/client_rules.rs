//! The client-side rules: what a developer's own app can get wrong in a SMART launch, read from
//! the requests it made (a HAR's exchanges, see `crate::har`). Pure: parameters in, diagnoses
//! out. Evidence names parameters, lengths and redacted URLs, never a secret's value.

use super::Diagnosis;
use super::classify::reserved_chars;
use super::transcript::redact_url;

/// Decoded parameters of one request.
pub type Params = [(String, String)];

/// What the app sent (and got back) in one launch.
#[derive(Default)]
pub struct ClientLaunch<'a> {
    /// The authorization request's parameters.
    pub authorize: Option<&'a Params>,
    /// The EHR's launch URL of the app (`iss`, `launch`), on an EHR launch.
    pub launch: Option<&'a Params>,
    /// The callback's parameters.
    pub callback: Option<&'a Params>,
    /// The authorization_code token request's form.
    pub token_form: Option<&'a Params>,
    /// Every token request's Basic credential, decoded from base64 only: (id, secret).
    pub basic: Vec<(String, String)>,
    /// The FHIR base the launch is for: the launch URL's `iss`, else discovery's base.
    pub fhir_base: Option<&'a str>,
    /// Another launch in the same HAR sent the same `state`.
    pub state_reused: bool,
    /// Every request URL of the launch: (step, URL).
    pub urls: Vec<(&'static str, &'a str)>,
}

fn get<'a>(p: &'a Params, name: &str) -> Option<&'a str> {
    p.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Bits of randomness a `state` value can carry at most, from its length and alphabet.
pub fn state_bits(state: &str) -> f64 {
    let n = state.chars().count() as f64;
    let per_char: f64 = if state.chars().all(|c| c.is_ascii_digit()) {
        10f64.log2()
    } else if state.chars().all(|c| c.is_ascii_hexdigit()) {
        4.0
    } else if state
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        6.0
    } else {
        // Anything wider (base64 with + /, printable ASCII): at most ~6.5 bits a character.
        6.5
    };
    n * per_char
}

/// RFC 6749 §10.10 / RFC 9700: at least 128 bits from a CSPRNG; a UUIDv4 carries 122.
pub const MIN_STATE_BITS: f64 = 122.0;

/// Every client-side rule the launch breaks.
pub fn check(l: &ClientLaunch<'_>) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    if let Some(a) = l.authorize {
        out.extend(pkce(a));
        out.extend(state(a, l.callback, l.state_reused));
        out.extend(aud(a, l.fhir_base));
        out.extend(launch_dropped(a, l.launch));
        out.extend(scope_syntax(a));
        out.extend(nonce(a));
        if let Some(form) = l.token_form {
            out.extend(redirect_uri(a, form));
        }
    }
    out.extend(l.basic.iter().find_map(|(id, secret)| basic(id, secret)));
    out.extend(in_urls(&l.urls));
    out
}

fn pkce(a: &Params) -> Option<Diagnosis> {
    match (get(a, "code_challenge"), get(a, "code_challenge_method")) {
        (None, _) => Some(Diagnosis::new(
            id!("client.pkce_missing"),
            "The authorization request has no code_challenge: the app does not use PKCE, which SMART App Launch 2 requires.",
        )
        .with("code_challenge", "(absent)")),
        (Some(_), m) if m != Some("S256") => Some(
            Diagnosis::new(
                id!("client.pkce_plain"),
                "The authorization request uses PKCE without S256: the challenge is the verifier itself (plain), which SMART App Launch 2 forbids.",
            )
            .with(
                "code_challenge_method",
                m.unwrap_or("(absent: plain by default, RFC 7636 §4.3)"),
            ),
        ),
        _ => None,
    }
}

fn state(a: &Params, callback: Option<&Params>, reused: bool) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    let Some(s) = get(a, "state").filter(|s| !s.is_empty()) else {
        out.push(Diagnosis::new(
            id!("client.state_missing"),
            "The authorization request has no state: nothing ties the callback to this browser (CSRF).",
        ));
        return out;
    };
    let bits = state_bits(s);
    if bits < MIN_STATE_BITS {
        out.push(
            Diagnosis::new(
                id!("client.state_short"),
                format!(
                    "The state is {} characters, at most {bits:.0} bits of randomness; at least 122 (128 recommended) are needed.",
                    s.chars().count()
                ),
            )
            .with("state length", s.chars().count().to_string())
            .with("Randomness at most", format!("{bits:.0} bits")),
        );
    }
    if reused {
        out.push(Diagnosis::new(
            id!("client.state_reused"),
            "The same state was sent in more than one authorization request: it is not fresh per launch.",
        ));
    }
    if let Some(cb) = callback {
        let echoed = get(cb, "state");
        if echoed != Some(s) {
            out.push(
                Diagnosis::new(
                    id!("client.state_not_echoed"),
                    "The callback did not bring back the state the authorization request sent; the app must refuse such a callback.",
                )
                .with(
                    "state in the callback",
                    if echoed.is_none() { "(absent)" } else { "a different value" },
                ),
            );
        }
    }
    out
}

fn aud(a: &Params, fhir_base: Option<&str>) -> Option<Diagnosis> {
    let Some(aud) = get(a, "aud") else {
        return Some(Diagnosis::new(
            id!("client.aud_missing"),
            "The authorization request has no aud: SMART requires the FHIR base URL there, so the EHR knows which server the token is for.",
        ));
    };
    let base = fhir_base?;
    (aud != base).then(|| {
        let slash = aud.trim_end_matches('/') == base.trim_end_matches('/');
        Diagnosis::new(
            id!("client.aud_not_fhir_base"),
            if slash {
                "aud differs from the FHIR base only by a trailing slash; servers compare it exactly."
            } else {
                "aud is not the FHIR base URL the launch is for."
            },
        )
        .with("aud sent", aud)
        .with("FHIR base (iss)", base)
    })
}

fn launch_dropped(a: &Params, launch: Option<&Params>) -> Option<Diagnosis> {
    let launch = launch?;
    let given = get(launch, "launch")?;
    match get(a, "launch") {
        Some(sent) if sent == given => None,
        sent => Some(
            Diagnosis::new(
                id!("client.launch_dropped"),
                "The EHR launched the app with a launch parameter, but the authorization request does not pass it on unchanged.",
            )
            .with("launch in the EHR's launch URL", format!("{} chars", given.chars().count()))
            .with(
                "launch in the authorization request",
                if sent.is_none() { "(absent)" } else { "a different value" },
            ),
        ),
    }
}

fn scope_syntax(a: &Params) -> Option<Diagnosis> {
    let scope = get(a, "scope").unwrap_or("");
    let mut problems = Vec::new();
    if scope.trim().is_empty() {
        problems.push("scope is empty or absent".to_string());
    }
    if scope.contains(',') {
        problems.push("scopes separated by commas (RFC 6749 §3.3: spaces)".to_string());
    }
    if scope.contains('+') || scope.contains("%20") {
        problems.push("a literal + or %20 after decoding: the scope was encoded twice".to_string());
    }
    let resource: Vec<&str> = scope
        .split_whitespace()
        .filter(|s| s.contains('/') && s.contains('.'))
        .collect();
    let v1 = resource
        .iter()
        .any(|s| [".read", ".write", ".*"].iter().any(|x| s.ends_with(x)));
    let v2 = resource.iter().any(|s| {
        s.rsplit_once('.').is_some_and(|(_, p)| {
            let p = p.split('?').next().unwrap_or("");
            !p.is_empty() && p.chars().all(|c| "cruds".contains(c))
        })
    });
    if v1 && v2 {
        problems.push("SMART v1 (.read/.write) and v2 (.rs, .cruds) scopes mixed".into());
    }
    (!problems.is_empty()).then(|| {
        Diagnosis::new(
            id!("client.scope_syntax"),
            format!("The requested scope is malformed: {}.", problems.join("; ")),
        )
        .with("scope", scope)
    })
}

fn nonce(a: &Params) -> Option<Diagnosis> {
    let openid = get(a, "scope").is_some_and(|s| s.split([' ', ',']).any(|x| x == "openid"));
    (openid && get(a, "nonce").is_none()).then(|| {
        Diagnosis::new(
            id!("client.nonce_missing"),
            "The app asks for an id_token (scope openid) without a nonce, so it cannot tie the id_token it gets to this sign-in.",
        )
    })
}

fn redirect_uri(a: &Params, form: &Params) -> Option<Diagnosis> {
    let sent = get(a, "redirect_uri")?;
    let exchanged = get(form, "redirect_uri");
    (exchanged != Some(sent)).then(|| {
        Diagnosis::new(
            id!("client.redirect_uri_mismatch"),
            "The token request's redirect_uri is not the one the authorization request sent; RFC 6749 §4.1.3 requires them identical.",
        )
        .with("redirect_uri at authorize", sent)
        .with("redirect_uri at token", exchanged.unwrap_or("(absent)"))
    })
}

/// A Basic credential whose id or secret carries characters RFC 6749 §2.3.1's form-encoding
/// would have changed: it was not form-encoded before base64.
fn basic(id: &str, secret: &str) -> Option<Diagnosis> {
    let raw = |s: &str| {
        let bad_char = s
            .chars()
            .any(|c| !(c.is_ascii_alphanumeric() || "-._*%+".contains(c)));
        let bad_percent = s.match_indices('%').any(|(i, _)| {
            let hex = s.get(i + 1..i + 3).unwrap_or("");
            hex.len() != 2 || !hex.chars().all(|c| c.is_ascii_hexdigit())
        });
        bad_char || bad_percent
    };
    (raw(id) || raw(secret)).then(|| {
        let which = match (raw(id), raw(secret)) {
            (true, true) => "the client id and the secret",
            (true, false) => "the client id",
            _ => "the secret",
        };
        Diagnosis::new(
            id!("client.basic_not_form_encoded"),
            format!(
                "The Basic credential carries {which} without form-encoding (RFC 6749 §2.3.1): servers that decode it get another value."
            ),
        )
        .with("Characters form-encoding changes", reserved_chars(&format!("{id}{secret}")))
    })
}

fn in_urls(urls: &[(&'static str, &str)]) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    let names = |url: &str| -> Vec<String> {
        url::Url::parse(url)
            .map(|u| u.query_pairs().map(|(k, _)| k.into_owned()).collect())
            .unwrap_or_default()
    };
    if let Some((step, url)) = urls.iter().find(|(_, u)| {
        names(u)
            .iter()
            .any(|n| matches!(n.as_str(), "client_secret" | "client_assertion"))
    }) {
        out.push(
            Diagnosis::new(
                id!("client.secret_in_query"),
                format!("The {step} request carries the client's credential in its URL, where logs, proxies and browser history keep it."),
            )
            .with("Request (redacted)", redact_url(url)),
        );
    }
    if let Some((step, url)) = urls.iter().find(|(_, u)| {
        names(u)
            .iter()
            .any(|n| matches!(n.as_str(), "access_token" | "refresh_token" | "id_token"))
    }) {
        out.push(
            Diagnosis::new(
                id!("client.token_in_url"),
                format!("The {step} request carries a token in its URL (RFC 6750 §2.3 advises against it: logs and history keep it); send it as Authorization: Bearer."),
            )
            .with("Request (redacted)", redact_url(url)),
        );
    }
    out
}

#[cfg(test)]
mod tests;
