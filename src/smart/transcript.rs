//! The transcript: every outbound exchange of a launch, timed and redacted.
//!
//! Redaction happens when an exchange is recorded, so nothing downstream (pages, JSON, logs) can
//! show a secret by accident. A redacted value becomes a marker with its length and a short
//! fingerprint. Tokens keep a plain SHA-256 prefix (two people can tell whether they hold the same
//! token); client secrets, codes, verifiers and key material get an HMAC-SHA256 prefix under a
//! random per-process key, so a shared report cannot be used to test guesses offline.
//!
//! [`Gate`] is the last filter every output passes through (result page, JSON twin, reports): it
//! knows the configured secrets and removes each in every form it may take.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::spelling::Spelled;

/// Form fields, query parameters and JSON members whose values are secrets in any context.
/// `code` is not among them: it is a secret only in the callback query and the token request
/// (forms, see [`redact_form`]); FHIR resources carry `code` members that must stay readable.
const SECRET_FIELDS: &[&str] = &[
    "client_secret",
    "code_verifier",
    "client_assertion",
    "refresh_token",
    "access_token",
    "id_token",
    "password",
    "assertion",
    // RFC 7662 introspection request: the token being introspected.
    "token",
];

/// Bodies kept in a transcript are cut at this many bytes.
pub const BODY_CAP: usize = 16 * 1024;

/// The step an exchange belongs to; stored and shown as its name (`discovery`, `token`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExchangeStep {
    Launch,
    Discovery,
    Authorize,
    Callback,
    Token,
    IdToken,
    Fhir,
    Refresh,
    Introspection,
    Style,
    /// The invalid-code probe of `check`.
    Probe,
    /// A monitor's webhook delivery (never part of a launch).
    Webhook,
    /// Active probes (deliberate, `active_probes = true`): the foreign-`aud` authorize request.
    #[serde(rename = "active probe (deliberate): authorize with a foreign aud")]
    ActiveAud,
    /// The practice EHR's sign-in followed for that request.
    #[serde(rename = "active probe (deliberate): practice EHR sign-in for the foreign aud")]
    ActiveAudLogin,
    /// The replayed code exchange.
    #[serde(rename = "active probe (deliberate): the same code exchanged again")]
    ActiveReplay,
    /// The CORS requests.
    #[serde(rename = "active probe (deliberate): CORS preflight-free GET with Origin")]
    ActiveCors,
    /// Backend Services rule probes: an unknown grant_type.
    #[serde(rename = "probe: unknown grant_type (Backend Services rule)")]
    BackendGrantType,
    /// An unknown client_assertion_type.
    #[serde(rename = "probe: unknown client_assertion_type (Backend Services rule)")]
    BackendAssertionType,
    /// A step this build does not know (a record stored by another version).
    #[serde(other)]
    Other,
}

impl ExchangeStep {
    pub fn as_str(self) -> &'static str {
        match self {
            ExchangeStep::Launch => "launch",
            ExchangeStep::Discovery => "discovery",
            ExchangeStep::Authorize => "authorize",
            ExchangeStep::Callback => "callback",
            ExchangeStep::Token => "token",
            ExchangeStep::IdToken => "id_token",
            ExchangeStep::Fhir => "fhir",
            ExchangeStep::Refresh => "refresh",
            ExchangeStep::Introspection => "introspection",
            ExchangeStep::Style => "style",
            ExchangeStep::Probe => "probe",
            ExchangeStep::Webhook => "webhook",
            ExchangeStep::ActiveAud => "active probe (deliberate): authorize with a foreign aud",
            ExchangeStep::ActiveAudLogin => {
                "active probe (deliberate): practice EHR sign-in for the foreign aud"
            }
            ExchangeStep::ActiveReplay => {
                "active probe (deliberate): the same code exchanged again"
            }
            ExchangeStep::ActiveCors => {
                "active probe (deliberate): CORS preflight-free GET with Origin"
            }
            ExchangeStep::BackendGrantType => "probe: unknown grant_type (Backend Services rule)",
            ExchangeStep::BackendAssertionType => {
                "probe: unknown client_assertion_type (Backend Services rule)"
            }
            ExchangeStep::Other => "other",
        }
    }

    /// The exchange step of a launch step.
    pub fn of(step: super::Step) -> ExchangeStep {
        use super::Step;
        match step {
            Step::Launch => ExchangeStep::Launch,
            Step::Discovery => ExchangeStep::Discovery,
            Step::Authorize => ExchangeStep::Authorize,
            Step::Callback => ExchangeStep::Callback,
            Step::Token => ExchangeStep::Token,
            Step::IdToken => ExchangeStep::IdToken,
            Step::Fhir => ExchangeStep::Fhir,
        }
    }
}

impl std::fmt::Display for ExchangeStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One outbound request and what came back (or why nothing did).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// The launch step it belongs to: `discovery`, `token`, …
    pub step: ExchangeStep,
    pub method: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    pub request_body: Option<String>,
    pub status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
    pub duration_ms: u64,
    /// The network or TLS failure, when there was no response.
    pub error: Option<String>,
    /// Made for an earlier launch and served from the cache (discovery documents).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
}

/// Shortens upstream text for evidence: at most `max` characters, control characters removed.
/// Only the head is looked at: an excerpt of a megabyte costs what one of a line does.
pub fn excerpt(text: &str, max: usize) -> String {
    let blank = |c: char| c.is_whitespace() || c.is_control();
    let mut chars = text.trim_start_matches(blank).chars();
    let head: String = chars
        .by_ref()
        .take(max)
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect();
    if chars.as_str().trim_end_matches(blank).is_empty() {
        head.trim_end().to_string()
    } else {
        format!("{head}…")
    }
}

/// Tokens: server-issued, high entropy; their markers keep a plain SHA-256 prefix.
const TOKEN_FIELDS: &[&str] = &["access_token", "refresh_token", "id_token", "token"];

/// The per-process key of keyed fingerprints: random, never stored, never shown.
fn fingerprint_key() -> &'static aws_lc_rs::hmac::Key {
    static KEY: OnceLock<aws_lc_rs::hmac::Key> = OnceLock::new();
    KEY.get_or_init(|| {
        aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &rand::random::<[u8; 32]>())
    })
}

fn hex8(bytes: &[u8]) -> String {
    bytes[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// A keyed fingerprint for secrets (client secrets, key material, codes, verifiers): the first 8
/// hex digits of HMAC-SHA256 under a random per-process key. Stable within one process, so two
/// values can be compared on one page; useless for testing guesses offline.
pub fn fingerprint(value: &str) -> String {
    hex8(aws_lc_rs::hmac::sign(fingerprint_key(), value.as_bytes()).as_ref())
}

/// A plain fingerprint for tokens: the first 8 hex digits of SHA-256.
pub fn token_fingerprint(value: &str) -> String {
    hex8(&Sha256::digest(value.as_bytes()))
}

/// The marker that stands in for a secret value (keyed fingerprint).
pub fn marker(value: &str) -> String {
    format!(
        "[redacted: {} chars, hmac {}]",
        value.chars().count(),
        fingerprint(value)
    )
}

/// The marker that stands in for a token (plain SHA-256 fingerprint).
pub fn token_marker(value: &str) -> String {
    format!(
        "[redacted: {} chars, sha256 {}]",
        value.chars().count(),
        token_fingerprint(value)
    )
}

/// The marker for a secret member `name`: tokens keep a plain fingerprint, the rest a keyed one.
fn marker_for(name: &str, value: &str) -> String {
    if TOKEN_FIELDS.contains(&name) {
        token_marker(value)
    } else {
        marker(value)
    }
}

fn is_secret_field(name: &str) -> bool {
    SECRET_FIELDS.contains(&name)
}

/// A JWT's signature becomes a marker; its header and claims stay readable (no secret there).
fn redact_jws(token: &str) -> String {
    match token.rsplit_once('.') {
        Some((signed, sig)) if signed.contains('.') => format!("{signed}.{}", marker(sig)),
        _ => marker(token),
    }
}

/// Redacts the secret members of an `application/x-www-form-urlencoded` text: the token request
/// body or the callback query, where `code` is the authorization code (a secret).
pub fn redact_form(text: &str) -> String {
    redact_form_in(text, true)
}

fn redact_form_in(text: &str, code_is_secret: bool) -> String {
    url::form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| {
            let v = if k == "client_assertion" {
                redact_jws(&v)
            } else if is_secret_field(&k) || (code_is_secret && k == "code") {
                marker_for(&k, &v)
            } else {
                v.into_owned()
            };
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Redacts secret query parameters of a callback URL (`code` included); other URLs come back
/// unchanged.
pub fn redact_url(raw: &str) -> String {
    redact_url_in(raw, true)
}

/// Redacts secret query parameters of an outbound request URL (discovery, FHIR reads): `code`
/// there is a FHIR search parameter and stays.
pub fn redact_request_url(raw: &str) -> String {
    redact_url_in(raw, false)
}

fn redact_url_in(raw: &str, code_is_secret: bool) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            let userinfo = !url.username().is_empty() || url.password().is_some();
            if url.query().is_none() && !userinfo {
                return raw.to_string();
            }
            if url.query().is_some() {
                let q = redact_form_in(url.query().unwrap_or(""), code_is_secret);
                url.set_query(Some(&q));
            }
            if userinfo {
                let _ = url.set_username("");
                let _ = url.set_password(None);
            }
            url.to_string()
        }
        Err(_) => raw.to_string(),
    }
}

/// Redacts a header value when the header carries credentials.
pub fn redact_header(name: &str, value: &str) -> String {
    match name.to_ascii_lowercase().as_str() {
        "authorization" | "proxy-authorization" => match value.split_once(' ') {
            Some((scheme, cred)) if scheme.eq_ignore_ascii_case("bearer") => {
                format!("{scheme} {}", token_marker(cred))
            }
            Some((scheme, cred)) => format!("{scheme} {}", marker(cred)),
            None => marker(value),
        },
        "cookie" | "set-cookie" => marker(value),
        _ => value.to_string(),
    }
}

/// Redacts token members of a JSON body, at any depth (`code` members stay: in JSON they are
/// FHIR codes); a form body is redacted as a token request; other text is only capped.
///
/// What is kept is at most [`BODY_CAP`] bytes *after* pretty-printing and redaction, with a note
/// saying how many bytes were cut: JSON is printed straight from the parser and stops growing
/// at the cap (see [`super::bounded`]), so a deeply nested body costs no more than its length.
pub fn redact_body(body: &str) -> String {
    let redact = |name: &str, value: &str| is_secret_field(name).then(|| marker_for(name, value));
    if let Some(pretty) = super::bounded::pretty_body(body, BODY_CAP, Some(&redact)) {
        return pretty;
    }
    if looks_like_form(body) {
        cap(&redact_form(body))
    } else {
        cap(body)
    }
}

/// Replaces secret members of a JSON value with markers, in place.
pub fn redact_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                match val {
                    serde_json::Value::String(s) if is_secret_field(k) => {
                        *val = serde_json::Value::String(marker_for(k, s));
                    }
                    _ => redact_json(val),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

fn looks_like_form(body: &str) -> bool {
    !body.is_empty()
        && !body.contains(char::is_whitespace)
        && body.contains('=')
        && !body.starts_with('<')
}

fn cap(body: &str) -> String {
    super::bounded::cap_text(body, BODY_CAP)
}

/// Claim and member names whose values are secrets whatever their value (compared without case,
/// `-` and `_`): `client_secret`, `clientSecret`, `api-key`, …
const SECRET_NAME_PARTS: &[&str] = &[
    "secret",
    "password",
    "passwd",
    "passphrase",
    "privatekey",
    "apikey",
    "credential",
];

/// Whether a claim or member named `name` holds a secret by its name alone.
pub fn is_secret_name(name: &str) -> bool {
    let n: String = name
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    n == "pwd" || SECRET_NAME_PARTS.iter().any(|p| n.contains(p))
}

/// Shorter secrets are masked only where a whole value equals them: replacing them inside other
/// text would mangle it (a secret `abc` inside `abcdef`) and say more than it hides.
const MIN_SCRUB_LEN: usize = 6;

/// The one redaction gate: every output (result page, JSON twin, `report.json`, `report.md`)
/// passes through it. It knows every configured client secret (and the launch's ad-hoc secret)
/// and removes each in every form it may take: raw, base64 and base64url (also inside Basic
/// credentials), and inside the claims of a JWT; each of them in any spelling an encoder gives
/// it — percent- and form-encoded, JSON- and HTML-escaped, mixed and nested (see
/// [`Spelled`](super::spelling::Spelled)).
#[derive(Clone, Debug, Default)]
pub struct Gate {
    /// The secrets themselves.
    secrets: Vec<String>,
    /// (a form of a secret in all its spellings, its marker), longest first.
    patterns: Vec<(Spelled, String)>,
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl Gate {
    /// A gate that knows `secrets` (empty values are ignored).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut gate = Gate::default();
        for s in secrets {
            gate.add(s);
        }
        gate
    }

    fn push(&mut self, form: String, mark: String) {
        if !self.patterns.iter().any(|(p, _)| p.source() == form) {
            self.patterns.push((Spelled::new(&form), mark));
        }
        self.patterns
            .sort_by_key(|(p, _)| std::cmp::Reverse(p.source().len()));
    }

    /// Adds a secret and the forms it may take.
    pub fn add(&mut self, secret: &str) {
        if secret.is_empty() || self.secrets.iter().any(|s| s == secret) {
            return;
        }
        self.secrets.push(secret.to_string());
        if secret.chars().count() < MIN_SCRUB_LEN {
            return;
        }
        let mark = marker(secret);
        for form in [
            secret.to_string(),
            STANDARD.encode(secret),
            STANDARD_NO_PAD.encode(secret),
            URL_SAFE.encode(secret),
            URL_SAFE_NO_PAD.encode(secret),
        ] {
            self.push(form, mark.clone());
        }
    }

    /// Adds the Basic credential (`base64(form(id):form(secret))`) of a client, so a copied
    /// Authorization header is caught whole.
    pub fn add_basic(&mut self, client_id: &str, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let cred = STANDARD.encode(format!(
            "{}:{}",
            form_encode(client_id),
            form_encode(secret)
        ));
        let raw = STANDARD.encode(format!("{client_id}:{secret}"));
        for c in [cred, raw] {
            let mark = marker(&c);
            self.push(c, mark);
        }
    }

    fn is_secret(&self, value: &str) -> bool {
        self.secrets.iter().any(|s| s == value)
    }

    /// `text` with every known secret, in every form and spelling, replaced by its marker.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (pattern, mark) in &self.patterns {
            if let Some(replaced) = pattern.replace(&out, mark) {
                out = replaced;
            }
        }
        // A text cut short (`…`, see `excerpt` and the body cap) may end in part of a secret.
        let cuts: Vec<usize> = out.match_indices('…').map(|(i, _)| i).collect();
        for end in cuts.into_iter().rev() {
            if let Some((start, mark)) = self
                .patterns
                .iter()
                .find_map(|(p, mark)| p.cut_before(&out, end).map(|s| (s, mark)))
            {
                out.replace_range(start..end, mark);
            }
        }
        out
    }

    /// One string value: a known secret becomes its marker; a JWT whose claims hold a secret
    /// (by name or value) becomes a marker as a whole (its base64url would carry the secret);
    /// secrets inside other text are replaced.
    pub fn scrub_value(&self, value: &str) -> String {
        if self.is_secret(value) {
            return marker(value);
        }
        // A JSON document kept as text (a stored body): its strings are scrubbed decoded, before
        // it is written again, so no escaping of the writer's can hide a secret; the text scrub
        // below then catches what remains (a body cut short no longer parses).
        if value.trim_start().starts_with(['{', '['])
            && !self.secrets.is_empty()
            && let Ok(mut doc) = serde_json::from_str::<Value>(value)
        {
            let before = doc.clone();
            self.scrub_json(&mut doc);
            if doc != before {
                let again = serde_json::to_string_pretty(&doc).unwrap_or_default();
                return self.scrub(&again);
            }
        }
        if let Some((_, claims)) = crate::smart::id_token::decode_unverified(value) {
            let mut masked = claims.clone();
            self.mask_claims(&mut masked);
            if masked != claims {
                return token_marker(value);
            }
        }
        self.scrub(value)
    }

    /// Every string of a JSON value (object keys included) through [`Gate::scrub_value`].
    pub fn scrub_json(&self, v: &mut Value) {
        match v {
            Value::String(s) => *s = self.scrub_value(s),
            Value::Array(items) => items.iter_mut().for_each(|i| self.scrub_json(i)),
            Value::Object(map) => {
                let entries = std::mem::take(map);
                for (k, mut val) in entries {
                    self.scrub_json(&mut val);
                    map.insert(self.scrub(&k), val);
                }
            }
            _ => {}
        }
    }

    /// Decoded JWT claims (or any member list shown whole): members named like a secret and
    /// values equal to a known secret become markers, at any depth; then every string is
    /// scrubbed. Applies even when tokens are revealed.
    pub fn mask_claims(&self, v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (k, val) in map.iter_mut() {
                    if is_secret_name(k) {
                        mask_whole(val);
                    } else {
                        self.mask_claims(val);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| self.mask_claims(i)),
            Value::String(s) => *s = self.scrub_value_flat(s),
            _ => {}
        }
    }

    /// [`Gate::scrub_value`] without looking into JWTs (claims are already decoded).
    fn scrub_value_flat(&self, value: &str) -> String {
        if self.is_secret(value) {
            marker(value)
        } else {
            self.scrub(value)
        }
    }
}

/// A secret-named member: strings become markers; numbers, objects and arrays are masked whole.
fn mask_whole(v: &mut Value) {
    let masked = match &*v {
        Value::String(s) => marker(s),
        Value::Null | Value::Bool(_) => return,
        other => marker(&other.to_string()),
    };
    *v = Value::String(masked);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Steps are stored as their names: records written before the step was typed read back,
    /// and a step this build does not know reads as `other` instead of failing the record.
    #[test]
    fn exchange_steps_are_stored_as_their_names() {
        for (name, step) in [
            ("discovery", ExchangeStep::Discovery),
            ("id_token", ExchangeStep::IdToken),
            ("introspection", ExchangeStep::Introspection),
            (
                "active probe (deliberate): the same code exchanged again",
                ExchangeStep::ActiveReplay,
            ),
            (
                "probe: unknown grant_type (Backend Services rule)",
                ExchangeStep::BackendGrantType,
            ),
        ] {
            assert_eq!(serde_json::to_value(step).unwrap(), name);
            assert_eq!(step.as_str(), name);
            let back: ExchangeStep = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(back, step);
        }
        let unknown: ExchangeStep = serde_json::from_value(serde_json::json!("userinfo")).unwrap();
        assert_eq!(unknown, ExchangeStep::Other);
    }

    #[test]
    fn form_secrets_become_markers_and_other_fields_stay() {
        let out =
            redact_form("grant_type=authorization_code&code=abc123&code_verifier=v&client_id=app");
        assert!(out.contains("grant_type=authorization_code"));
        assert!(out.contains("client_id=app"));
        assert!(!out.contains("abc123"));
        assert!(out.contains(&marker("abc123")));
    }

    #[test]
    fn client_assertion_keeps_header_and_claims_but_not_the_signature() {
        let out = redact_form("client_assertion=aGVhZA.Y2xhaW1z.c2lnbmF0dXJl&x=1");
        assert!(
            out.starts_with("client_assertion=aGVhZA.Y2xhaW1z.[redacted: 12 chars"),
            "{out}"
        );
        assert!(!out.contains("c2lnbmF0dXJl"));
    }

    #[test]
    fn basic_header_keeps_its_scheme_only() {
        let out = redact_header("Authorization", "Basic Y2xpZW50OnNlY3JldA==");
        assert!(out.starts_with("Basic [redacted: 20 chars"));
        assert!(!out.contains("Y2xp"));
    }

    #[test]
    fn json_tokens_are_redacted_at_any_depth() {
        let out = redact_body(
            r#"{"access_token":"AT1","nested":{"refresh_token":"RT1"},"patient":"p1"}"#,
        );
        assert!(!out.contains("AT1") && !out.contains("RT1"));
        assert!(out.contains("p1"));
    }

    #[test]
    fn url_query_code_is_redacted() {
        let out = redact_url("https://app/cb?code=SECRETCODE&state=s1");
        assert!(!out.contains("SECRETCODE"));
        assert!(out.contains("state=s1"));
    }

    #[test]
    fn fingerprints_tell_values_apart() {
        assert_eq!(fingerprint("a"), fingerprint("a"));
        assert_ne!(fingerprint("a"), fingerprint("b"));
        assert_eq!(fingerprint("a").len(), 8);
    }

    #[test]
    fn secret_fingerprints_are_keyed_and_token_fingerprints_plain() {
        let plain: String = Sha256::digest(b"hunter2")[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(token_fingerprint("hunter2"), plain);
        assert_ne!(
            fingerprint("hunter2"),
            plain,
            "keyed, not a bare SHA-256 prefix"
        );
        assert_eq!(
            fingerprint("hunter2"),
            fingerprint("hunter2"),
            "stable in a process"
        );
        assert!(marker("hunter2").starts_with("[redacted: 7 chars, hmac "));
        assert!(token_marker("AT1").starts_with("[redacted: 3 chars, sha256 "));
        let form = redact_form("client_secret=hunter2&code=c1&refresh_token=RT1");
        assert!(
            form.contains(&format!("client_secret={}", marker("hunter2"))),
            "{form}"
        );
        assert!(form.contains(&format!("code={}", marker("c1"))), "{form}");
        assert!(
            form.contains(&format!("refresh_token={}", token_marker("RT1"))),
            "{form}"
        );
        let bearer = redact_header("Authorization", "Bearer AT1");
        assert_eq!(bearer, format!("Bearer {}", token_marker("AT1")));
    }

    #[test]
    fn fhir_code_members_stay_and_token_members_go() {
        let out = redact_body(
            r#"{"resourceType":"CapabilityStatement","rest":[{"resource":[{"interaction":[{"code":"read"}]}]}],"access_token":"AT1","client_secret":"S1"}"#,
        );
        assert!(out.contains(r#""code": "read""#), "{out}");
        assert!(!out.contains("AT1") && !out.contains("\"S1\""), "{out}");
        // A FHIR search by code is no secret; the callback's code is.
        let search = redact_request_url("https://ehr/fhir/Observation?code=1234-5&patient=p");
        assert!(search.contains("code=1234-5"), "{search}");
        assert!(!redact_url("https://app/callback?code=C0DE&state=s").contains("C0DE"));
        // A token request body keeps redacting the code.
        assert!(!redact_body("grant_type=authorization_code&code=C0DE").contains("C0DE"));
    }

    #[test]
    fn request_urls_lose_their_userinfo() {
        let out = redact_request_url("https://alice:pw123@ehr.example/fhir/metadata");
        assert!(!out.contains("alice") && !out.contains("pw123"), "{out}");
        assert_eq!(
            redact_request_url("https://ehr.example/fhir"),
            "https://ehr.example/fhir"
        );
    }

    #[test]
    fn secret_names_are_recognised_without_case_or_separators() {
        for n in [
            "client_secret",
            "clientSecret",
            "SECRET",
            "password",
            "Passwd",
            "private_key",
            "privateKey",
            "api-key",
            "API_KEY",
            "pwd",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in ["sub", "scope", "fhirUser", "client_id", "code"] {
            assert!(!is_secret_name(n), "{n}");
        }
    }

    #[test]
    fn the_gate_removes_a_secret_in_every_form() {
        let secret = "s3:cr%t+ x/y";
        let gate = Gate::new([secret]);
        let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let forms = [
            secret.to_string(),
            form.clone(),
            form.replace('+', "%20"),
            STANDARD.encode(secret),
            URL_SAFE_NO_PAD.encode(secret),
        ];
        for f in &forms {
            let out = gate.scrub(&format!("before {f} after"));
            assert!(!out.contains(f.as_str()), "{f} in {out}");
            assert!(out.contains("[redacted: 12 chars, hmac "), "{out}");
        }
        let mut basic = gate.clone();
        basic.add_basic("app", secret);
        let cred = STANDARD.encode(format!("app:{form}"));
        assert!(!basic.scrub(&format!("Basic {cred}")).contains(&cred));
    }

    #[test]
    fn the_gate_masks_claims_by_name_and_by_value_and_jwts_whole() {
        let gate = Gate::new(["configured-secret", "abc"]);
        let mut claims = serde_json::json!({
            "sub": "u1",
            "client_secret": "anything",
            "nested": {"Password": "pw", "list": ["abc", "configured-secret-suffix"]},
            "api_key": 42,
            "other": "abc",
        });
        gate.mask_claims(&mut claims);
        let text = claims.to_string();
        assert_eq!(claims["sub"], "u1");
        for gone in ["anything", "\"pw\"", "configured-secret", "\"abc\""] {
            assert!(!text.contains(gone), "{gone} in {text}");
        }
        assert!(
            claims["api_key"]
                .as_str()
                .is_some_and(|s| s.starts_with("[redacted: 2 chars"))
        );
        // Short secrets are masked only as whole values, never inside other text.
        assert_eq!(gate.scrub("abcdef"), "abcdef");
        let b64 = URL_SAFE_NO_PAD;
        let jwt = format!(
            "{}.{}.sig",
            b64.encode(r#"{"alg":"none"}"#),
            b64.encode(r#"{"sub":"u","k":"configured-secret"}"#)
        );
        assert!(gate.scrub_value(&jwt).starts_with("[redacted: "));
        let clean = format!(
            "{}.{}.sig",
            b64.encode(r#"{"alg":"none"}"#),
            b64.encode(r#"{"sub":"u"}"#)
        );
        assert_eq!(gate.scrub_value(&clean), clean);
    }
}
