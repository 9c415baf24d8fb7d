//! Bounded copies of what an EHR sends. An EHR decides how large its answers are; we decide how
//! much of them we keep. Pretty-printing multiplies a body by its nesting depth (an 800 KB body
//! of nested arrays is 99 MB pretty-printed), so JSON is pretty-printed straight from the parser
//! into a text that stops growing at its cap: what lies beyond is only counted, and the note at
//! the end says how much was cut. Parsing keeps serde_json's recursion limit (128 levels) and
//! builds no `Value`. Values kept in records are shrunk to a size ([`shrink`]), and sizes are
//! measured by counting serialized bytes, never by building the text ([`json_len`]).

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Text kept up to a cap; everything beyond it only counted.
struct Capped {
    text: String,
    cap: usize,
    /// Bytes of the whole text, kept or not.
    total: usize,
    /// A piece did not fit: nothing more is kept (no later short piece squeezes in).
    full: bool,
}

impl Capped {
    fn new(cap: usize) -> Self {
        Capped {
            text: String::new(),
            cap,
            total: 0,
            full: false,
        }
    }

    fn push(&mut self, s: &str) {
        self.total += s.len();
        if self.full {
            return;
        }
        let room = self.cap - self.text.len();
        if s.len() <= room {
            self.text.push_str(s);
        } else {
            let mut end = room;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            self.text.push_str(&s[..end]);
            self.full = true;
        }
    }

    /// A line break and the indentation of `depth` (two spaces a level, as serde_json's).
    fn newline(&mut self, depth: usize) {
        if self.full || self.text.len() + 1 + 2 * depth > self.cap {
            // Counted without building it: deep indentation is where the bytes come from.
            self.total += 1 + 2 * depth;
            self.full = true;
            return;
        }
        self.push("\n");
        for _ in 0..depth {
            self.push("  ");
        }
    }

    fn finish(self) -> String {
        if self.total <= self.text.len() {
            return self.text;
        }
        let cut = self.total - self.text.len();
        format!(
            "{}\n… [{cut} bytes cut: {} bytes in all, the first {} kept]",
            self.text,
            self.total,
            self.text.len()
        )
    }
}

/// Replaces the string value of a member (name, value) when it must not be shown.
pub type Redact<'r> = &'r dyn Fn(&str, &str) -> Option<String>;

/// Emits one JSON value, pretty-printed, into `out`.
struct Emit<'a, 'r> {
    out: &'a mut Capped,
    depth: usize,
    /// The name of the member this value belongs to (for `redact`).
    member: Option<&'a str>,
    redact: Option<Redact<'r>>,
    /// Written before the value: `"\n"` for the first element, `",\n"` for the next ones.
    lead: Option<&'static str>,
}

impl<'a, 'r> Emit<'a, 'r> {
    fn lead(&mut self) {
        if let Some(lead) = self.lead {
            self.out.push(lead.trim_end_matches('\n'));
            self.out.newline(self.depth);
        }
    }

    fn string(&mut self, s: &str) {
        let quoted = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
        let replaced = match (self.member, self.redact) {
            (Some(m), Some(r)) => r(m, s),
            _ => None,
        };
        self.out.push(&quoted(replaced.as_deref().unwrap_or(s)));
    }
}

impl<'de> DeserializeSeed<'de> for Emit<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Emit<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(mut self, v: bool) -> Result<(), E> {
        self.lead();
        self.out.push(if v { "true" } else { "false" });
        Ok(())
    }

    fn visit_i64<E>(mut self, v: i64) -> Result<(), E> {
        self.lead();
        self.out.push(&v.to_string());
        Ok(())
    }

    fn visit_u64<E>(mut self, v: u64) -> Result<(), E> {
        self.lead();
        self.out.push(&v.to_string());
        Ok(())
    }

    fn visit_f64<E>(mut self, v: f64) -> Result<(), E> {
        self.lead();
        let n = serde_json::Number::from_f64(v).map_or_else(|| "null".into(), |n| n.to_string());
        self.out.push(&n);
        Ok(())
    }

    fn visit_str<E>(mut self, v: &str) -> Result<(), E> {
        self.lead();
        self.string(v);
        Ok(())
    }

    fn visit_unit<E>(mut self) -> Result<(), E> {
        self.lead();
        self.out.push("null");
        Ok(())
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        self.lead();
        self.out.push("[");
        let mut lead = "\n";
        let mut any = false;
        while seq
            .next_element_seed(Emit {
                out: &mut *self.out,
                depth: self.depth + 1,
                member: None,
                redact: self.redact,
                lead: Some(lead),
            })?
            .is_some()
        {
            lead = ",\n";
            any = true;
            if self.out.full {
                return Err(serde::de::Error::custom(FULL));
            }
        }
        if any {
            self.out.newline(self.depth);
        }
        self.out.push("]");
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        self.lead();
        self.out.push("{");
        let mut any = false;
        while let Some(key) = map.next_key::<String>()? {
            if any {
                self.out.push(",");
            }
            self.out.newline(self.depth + 1);
            self.out
                .push(&serde_json::to_string(&key).unwrap_or_default());
            self.out.push(": ");
            map.next_value_seed(Emit {
                out: &mut *self.out,
                depth: self.depth + 1,
                member: Some(&key),
                redact: self.redact,
                lead: None,
            })?;
            any = true;
            if self.out.full {
                return Err(serde::de::Error::custom(FULL));
            }
        }
        if any {
            self.out.newline(self.depth);
        }
        self.out.push("}");
        Ok(())
    }
}

/// The error that stops printing once the text is full.
const FULL: &str = "the printed text reached its cap";

/// The byte offset of serde_json's (1-based) line and column in `text`.
fn offset(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (start + column).min(text.len())
}

/// `body` pretty-printed (serde_json's layout), string members replaced where `redact` says so,
/// cut after `cap` bytes with a note saying how many bytes of the body were not shown. `None`
/// when `body` is not one JSON value (or nests deeper than serde_json's limit of 128). Parsing
/// stops where the text is full, so the cost is that of the part shown, whatever the body's
/// length and nesting.
pub fn pretty_body(body: &str, cap: usize, redact: Option<Redact<'_>>) -> Option<String> {
    let mut out = Capped::new(cap);
    let mut de = serde_json::Deserializer::from_str(body);
    let emitted = Emit {
        out: &mut out,
        depth: 0,
        member: None,
        redact,
        lead: None,
    }
    .deserialize(&mut de);
    match emitted {
        Ok(()) => {
            de.end().ok()?;
            Some(out.finish())
        }
        Err(e) if out.full && e.to_string().starts_with(FULL) => {
            let read = offset(body, e.line(), e.column());
            Some(format!(
                "{}\n… [cut after {} bytes pretty-printed: {} of the body's {} bytes not shown]",
                out.text,
                out.text.len(),
                body.len() - read,
                body.len()
            ))
        }
        Err(_) => None,
    }
}

/// A value pretty-printed for a page, cut after `cap` bytes with a note.
pub fn pretty_value(v: &Value, cap: usize) -> String {
    let mut out = Capped::new(cap);
    let emitted = Emit {
        out: &mut out,
        depth: 0,
        member: None,
        redact: None,
        lead: None,
    }
    .deserialize(v);
    match emitted {
        Ok(()) => out.finish(),
        Err(_) if out.full => format!(
            "{}\n… [cut after {} bytes pretty-printed]",
            out.text,
            out.text.len()
        ),
        Err(_) => String::new(),
    }
}

/// `text` cut after `cap` bytes (on a character boundary) with a note saying how much was cut.
pub fn cap_text(text: &str, cap: usize) -> String {
    let mut out = Capped::new(cap);
    out.push(text);
    out.finish()
}

/// The members named `names` of a JSON object `body`, the others skipped unparsed (serde's
/// `IgnoredAny`: no value built, nothing kept), so a large or deeply nested body costs one pass
/// and no memory beyond what is asked for. `None` when `body` is not one JSON object.
pub fn json_members(body: &str, names: &[&str]) -> Option<Map<String, Value>> {
    struct Members<'n>(&'n [&'n str]);
    impl<'de> Visitor<'de> for Members<'_> {
        type Value = Map<String, Value>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Map::new();
            while let Some(key) = map.next_key::<String>()? {
                if self.0.contains(&key.as_str()) {
                    out.insert(key, map.next_value::<Value>()?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(out)
        }
    }
    let mut de = serde_json::Deserializer::from_str(body);
    let members = de.deserialize_map(Members(names)).ok()?;
    de.end().ok()?;
    Some(members)
}

mod size;
#[cfg(test)]
mod tests;

pub use size::{json_len, shrink, weight};
