//! [`Gate`]: the last filter every output passes through.

use super::*;

/// Shorter secrets are masked only where a whole value equals them: replacing them inside other
/// text would mangle it (a secret `abc` inside `abcdef`) and say more than it hides.
pub(super) const MIN_SCRUB_LEN: usize = 6;

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

pub(super) fn form_encode(s: &str) -> String {
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
pub(super) fn mask_whole(v: &mut Value) {
    let masked = match &*v {
        Value::String(s) => marker(s),
        Value::Null | Value::Bool(_) => return,
        other => marker(&other.to_string()),
    };
    *v = Value::String(masked);
}
