//! Bounded copies of what an EHR sends. An EHR decides how large its answers are; we decide how
//! much of them we keep. Pretty-printing multiplies a body by its nesting depth (an 800 KB body
//! of nested arrays is 99 MB pretty-printed), so JSON is pretty-printed straight from the parser
//! into a text that stops growing at its cap: what lies beyond is only counted, and the note at
//! the end says how much was cut. Parsing keeps serde_json's recursion limit (128 levels) and
//! builds no `Value`. Values kept in records are shrunk to a size ([`shrink`]), and sizes are
//! measured by counting serialized bytes, never by building the text ([`json_len`]).

use serde::Serialize;
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

/// Counts bytes written; keeps none.
#[derive(Default)]
struct Count(usize);

impl std::io::Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The length of `v` serialized as compact JSON, counted without building the text.
pub fn json_len<T: Serialize + ?Sized>(v: &T) -> usize {
    let mut count = Count::default();
    match serde_json::to_writer(&mut count, v) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

/// Counts bytes and the separators between values (`,`), keeping none.
#[derive(Default)]
struct CountItems {
    bytes: usize,
    items: usize,
}

impl std::io::Write for CountItems {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes += buf.len();
        self.items += buf.iter().filter(|b| **b == b',').count();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Bytes of memory charged per value held (a `String` or `Value` and its allocation), beyond its
/// serialized bytes: a list of a million one-letter strings is 4 MB as JSON but ten times that
/// in memory.
const PER_ITEM: usize = 48;

/// What holding `v` in memory costs, roughly: its compact JSON plus [`PER_ITEM`] for each value
/// in it; as a cache weight (moka's are `u32`), saturating.
pub fn weight<T: Serialize + ?Sized>(v: &T) -> u32 {
    let mut count = CountItems::default();
    if serde_json::to_writer(&mut count, v).is_err() {
        return u32::MAX;
    }
    let w = count
        .bytes
        .saturating_add(count.items.saturating_mul(PER_ITEM));
    u32::try_from(w).unwrap_or(u32::MAX)
}

/// Shrinks `v` until its compact JSON is at most `cap` bytes (roughly: a note is a few dozen
/// bytes): the largest members or elements are shrunk first, so small ones (tokens, ids) stay
/// whole while a hostile one is cut; strings keep their head and a note; members or elements
/// that still do not fit are dropped from the end, with a note saying how many.
pub fn shrink(v: &mut Value, cap: usize) {
    let len = json_len(v);
    shrink_sized(v, len, cap);
}

/// [`shrink`] for a value whose length is known; returns its new length. A container's
/// children are measured once per level (a single child's length follows from its parent's), so
/// a deep chain of arrays costs its length, not its length times its depth.
fn shrink_sized(v: &mut Value, len: usize, cap: usize) -> usize {
    if len <= cap {
        return len;
    }
    match v {
        Value::String(s) => {
            let keep = cap.saturating_sub(48).min(s.len());
            let mut end = keep;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            let cut = s.len() - end;
            s.truncate(end);
            s.push_str(&format!("… [{cut} bytes cut]"));
        }
        Value::Array(items) => {
            let sizes: Vec<usize> = if items.len() == 1 {
                vec![len - 2]
            } else {
                items.iter().map(json_len).collect()
            };
            let mut children: Vec<&mut Value> = items.iter_mut().collect();
            let sizes = fit_children(&mut children, sizes, len, cap);
            let kept = keep_within(&sizes, cap);
            if kept < items.len() {
                let cut = items.len() - kept;
                items.truncate(kept);
                items.push(Value::String(format!("[{cut} more elements cut]")));
            }
        }
        Value::Object(map) => {
            let sizes: Vec<usize> = map.values().map(json_len).collect();
            let mut children: Vec<&mut Value> = map.values_mut().collect();
            let sizes = fit_children(&mut children, sizes, len, cap);
            let with_keys: Vec<usize> = map
                .keys()
                .zip(&sizes)
                .map(|(k, s)| k.len() + 3 + s)
                .collect();
            let kept = keep_within(&with_keys, cap);
            if kept < map.len() {
                let cut = map.len() - kept;
                let keys: Vec<String> = map.keys().skip(kept).cloned().collect();
                for k in keys {
                    map.remove(&k);
                }
                map.insert(
                    "…".into(),
                    Value::String(format!("[{cut} more members cut]")),
                );
            }
        }
        _ => return len,
    }
    json_len(v)
}

/// Shrinks the largest children (of these sizes) first until the whole (`len` bytes) fits in
/// `cap`; no child is shrunk below an even share of the cap. Returns the children's new sizes.
fn fit_children(
    children: &mut [&mut Value],
    mut sizes: Vec<usize>,
    mut len: usize,
    cap: usize,
) -> Vec<usize> {
    let share = (cap / children.len().max(1)).max(64);
    let mut order: Vec<(usize, usize)> = sizes.iter().copied().zip(0..).collect();
    order.sort_by(|a, b| b.cmp(a));
    for (size, i) in order {
        if len <= cap || size <= share {
            break;
        }
        let target = share.max(size.saturating_sub(len - cap));
        let new = shrink_sized(children[i], size, target);
        len = len - size + new;
        sizes[i] = new;
    }
    sizes
}

/// How many of the leading items (of these sizes) fit in `cap`, with room for a note.
fn keep_within(sizes: &[usize], cap: usize) -> usize {
    if sizes.iter().sum::<usize>() + sizes.len() + 2 <= cap {
        return sizes.len();
    }
    let room = cap.saturating_sub(48);
    let mut used = 2;
    let mut kept = 0;
    for s in sizes {
        if used + s + 1 > room {
            break;
        }
        used += s + 1;
        kept += 1;
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(depth: usize, zeros: usize) -> String {
        let zeros = vec!["0"; zeros].join(",");
        format!("{}{zeros}{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn small_bodies_print_as_serde_json_prints_them() {
        let v = json!({"a": [1, 2.5, {"b": null, "c": true}], "d": {}, "e": [], "f": "x\"y"});
        let expected = serde_json::to_string_pretty(&v).unwrap();
        assert_eq!(
            pretty_body(&v.to_string(), 1 << 20, None),
            Some(expected.clone())
        );
        assert_eq!(pretty_value(&v, 1 << 20), expected);
    }

    #[test]
    fn nested_arrays_stop_at_the_cap_and_say_how_much_was_cut() {
        // 800 KB that serde_json would pretty-print into about 100 MB.
        let body = nested(120, 400_000);
        let started = std::time::Instant::now();
        let out = pretty_body(&body, 16 * 1024, None).unwrap();
        let took = started.elapsed();
        assert!(out.len() < 16 * 1024 + 200, "{}", out.len());
        assert!(out.starts_with("[\n  [\n    ["));
        // Parsing stops with the text: far less than the whole body's parse even unoptimised.
        assert!(took < std::time::Duration::from_millis(100), "{took:?}");
        let (kept, note) = out.rsplit_once("\n… [").unwrap();
        assert!(kept.len() <= 16 * 1024 && kept.len() > 15 * 1024);
        // The zeros shown and the zeros cut add up to the body.
        let shown = kept.matches('0').count();
        let (cut, total) = note
            .strip_prefix(&format!("cut after {} bytes pretty-printed: ", kept.len()))
            .and_then(|n| n.strip_suffix(" bytes not shown]"))
            .and_then(|n| n.split_once(" of the body's "))
            .unwrap();
        assert_eq!(total, body.len().to_string());
        let cut: usize = cut.parse().unwrap();
        let accounted = shown * 2 + 120 + cut;
        assert!(
            accounted.abs_diff(body.len()) <= 4,
            "{accounted} for {note}"
        );
    }

    #[test]
    fn a_body_that_grows_past_the_cap_only_at_its_end_counts_what_was_cut() {
        let v = json!({"a": "x".repeat(100), "b": [1, 2, 3]});
        let full = serde_json::to_string_pretty(&v).unwrap();
        let out = pretty_body(&v.to_string(), 100, None).unwrap();
        assert!(out.starts_with(&full[..90]), "{out}");
        assert!(out.contains(" bytes"), "{out}");
    }

    #[test]
    fn a_large_value_on_a_page_is_cut_with_a_note() {
        let v: Value = serde_json::from_str(&nested(50, 20_000)).unwrap();
        let out = pretty_value(&v, 4096);
        assert!(out.len() < 4096 + 64, "{}", out.len());
        assert!(out.starts_with("[\n  ["), "{out}");
        assert!(out.ends_with(" bytes pretty-printed]"), "{out}");
    }

    #[test]
    fn deeper_than_the_recursion_limit_is_not_json_here() {
        assert_eq!(pretty_body(&nested(10_000, 1), 1024, None), None);
        assert_eq!(pretty_body("{\"a\": 1} trailing", 1024, None), None);
    }

    #[test]
    fn members_are_redacted_while_printing() {
        let redact = |k: &str, _: &str| (k == "access_token").then(|| "[gone]".to_string());
        let out = pretty_body(
            r#"{"access_token":"AT1","x":{"access_token":"AT2","n":1},"y":["AT3"]}"#,
            1024,
            Some(&redact),
        )
        .unwrap();
        assert!(!out.contains("AT1") && !out.contains("AT2"), "{out}");
        assert!(
            out.contains("AT3"),
            "array items have no member name: {out}"
        );
    }

    #[test]
    fn named_members_are_read_and_the_rest_skipped() {
        let body = format!(
            r#"{{"resourceType":"Patient","junk":{},"name":[{{"text":"Amy"}}]}}"#,
            nested(100, 1000)
        );
        let m = json_members(&body, &["resourceType", "name"]).unwrap();
        assert_eq!(
            Value::Object(m),
            json!({"resourceType": "Patient", "name": [{"text": "Amy"}]})
        );
        assert_eq!(json_members(&nested(100, 1000), &["resourceType"]), None);
        assert_eq!(json_members("{\"a\":1} x", &["a"]), None);
        assert_eq!(
            json_members("{\"a\":[1,}", &["b"]),
            None,
            "the rest is still checked"
        );
    }

    #[test]
    fn text_is_cut_on_a_character_boundary() {
        let out = cap_text(&"é".repeat(100), 11);
        assert!(out.starts_with("ééééé\n… [190 bytes cut"), "{out}");
        assert_eq!(cap_text("short", 10), "short");
    }

    #[test]
    fn shrinking_cuts_the_large_member_and_keeps_the_small_ones() {
        let junk: Value = serde_json::from_str(&nested(50, 50_000)).unwrap();
        let mut v = json!({"access_token": "a".repeat(3000), "patient": "p1", "junk": junk});
        shrink(&mut v, 16 * 1024);
        assert!(json_len(&v) <= 16 * 1024 + 64, "{}", json_len(&v));
        assert_eq!(v["access_token"].as_str().map(str::len), Some(3000));
        assert_eq!(v["patient"], "p1");
        let mut long = json!(["x".repeat(100_000)]);
        shrink(&mut long, 1000);
        assert!(json_len(&long) <= 1100, "{}", json_len(&long));
        assert!(long[0].as_str().unwrap().ends_with("bytes cut]"));
    }
}
