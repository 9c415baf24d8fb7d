//! Every spelling of a secret an output may carry. Encoders differ in which characters they
//! escape and how (a JSON writer escapes `"` and `\`, maybe `/` and non-ASCII; percent-encoders
//! differ in their sets and hex case; HTML escapers in named, decimal or hex references, with or
//! without `>` and quotes), and they nest (a JSON body inside a JSON answer, JSON inside HTML).
//! Rather than list every combination, a [`Spelled`] secret matches each of its characters in
//! any of that character's spellings, so mixed and partial escaping are found too.

use std::collections::HashSet;
use std::ops::Range;

/// A secret as a sequence of characters, each with every spelling it may have in output.
#[derive(Clone, Debug)]
pub struct Spelled {
    /// Per character: its spellings, longest first (the raw character among them).
    atoms: Vec<Vec<String>>,
    /// The secret as given.
    source: String,
    /// The longest run of characters that only have their raw spelling: a text without it
    /// cannot contain the secret, so most texts are passed over with one substring search.
    anchor: String,
}

/// A cut-off beginning of a secret this long or longer is masked too.
pub const MIN_CUT: usize = 3;

/// Characters every encoder leaves alone.
fn plain(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// One level of escaping of `s` in each way an encoder may apply it.
fn escapes(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    // JSON: as serde_json writes it, with `/` escaped, and non-ASCII as `\uXXXX`.
    let json = serde_json::to_string(s).unwrap_or_default();
    let json = json
        .strip_prefix('"')
        .and_then(|j| j.strip_suffix('"'))
        .unwrap_or_default()
        .to_string();
    out.push(json.replace('/', "\\/"));
    let utf16: String = json
        .encode_utf16()
        .map(|u| match u8::try_from(u) {
            Ok(b) if b.is_ascii() => char::from(b).to_string(),
            _ => format!("\\u{u:04x}"),
        })
        .collect();
    out.push(utf16.to_uppercase().replace("\\U", "\\u"));
    out.push(utf16);
    out.push(json);
    // Writers that escape every punctuation character as `\uXXXX` (Go escapes `<`, `>`, `&`).
    let all_u: String = s
        .encode_utf16()
        .map(|u| match u8::try_from(u) {
            Ok(b) if b.is_ascii_alphanumeric() => char::from(b).to_string(),
            _ => format!("\\u{u:04x}"),
        })
        .collect();
    out.push(all_u.to_uppercase().replace("\\U", "\\u"));
    out.push(all_u);
    // Percent-encoding (upper and lower hex); a space also as `+` (forms).
    let pct: String = s.bytes().map(|b| format!("%{b:02X}")).collect();
    out.push(pct.to_lowercase());
    out.push(pct);
    if s == " " {
        out.push("+".into());
    }
    // HTML: named, decimal and hex references.
    let named = s
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    out.push(named.replace("&#39;", "&apos;"));
    out.push(named);
    let numeric = |hex: bool| -> String {
        s.chars()
            .map(|c| match c {
                '&' | '<' | '>' | '"' | '\'' if hex => format!("&#x{:x};", c as u32),
                '&' | '<' | '>' | '"' | '\'' => format!("&#{};", c as u32),
                c => c.to_string(),
            })
            .collect()
    };
    out.push(numeric(true));
    out.push(numeric(false));
    out
}

/// Every spelling of `c` up to two levels of escaping deep.
fn spellings(c: char) -> Vec<String> {
    let mut all = vec![c.to_string()];
    if plain(c) {
        return all;
    }
    for _ in 0..2 {
        let next: Vec<String> = all.iter().flat_map(|s| escapes(s)).collect();
        for s in next {
            if !all.contains(&s) {
                all.push(s);
            }
        }
    }
    all.sort_by_key(|s| std::cmp::Reverse(s.len()));
    all
}

impl Spelled {
    pub fn new(secret: &str) -> Self {
        let atoms: Vec<Vec<String>> = secret.chars().map(spellings).collect();
        let anchor = secret
            .split(|c: char| !plain(c))
            .max_by_key(|run| run.len())
            .unwrap_or_default()
            .to_string();
        Spelled {
            atoms,
            anchor,
            source: secret.to_string(),
        }
    }

    /// The text this pattern spells.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The end of a match of atoms `k..` starting at byte `at` of `text`. `failed` remembers
    /// the (atom, offset) pairs known not to match, so overlapping spellings (`\` and `\\`)
    /// cannot make the search exponential.
    fn match_from(
        &self,
        text: &str,
        k: usize,
        at: usize,
        failed: &mut HashSet<(usize, usize)>,
    ) -> Option<usize> {
        let Some(atom) = self.atoms.get(k) else {
            return Some(at);
        };
        if failed.contains(&(k, at)) {
            return None;
        }
        let rest = &text[at..];
        let end = atom
            .iter()
            .filter(|s| rest.starts_with(s.as_str()))
            .find_map(|s| self.match_from(text, k + 1, at + s.len(), failed));
        // Each start is tried once: only inner positions are worth remembering.
        if end.is_none() && k > 0 {
            failed.insert((k, at));
        }
        end
    }

    /// Whether atoms `k..` spell `text[at..end]` exactly, possibly stopping early (a cut).
    fn prefix_to(&self, text: &str, k: usize, at: usize, end: usize) -> Option<usize> {
        if at == end {
            return Some(k);
        }
        let atom = self.atoms.get(k)?;
        let rest = &text[at..end];
        atom.iter()
            .filter(|s| rest.starts_with(s.as_str()))
            .find_map(|s| self.prefix_to(text, k + 1, at + s.len(), end))
    }

    /// Where a beginning of the secret (at least [`MIN_CUT`] characters) ends `text[..end]`:
    /// what is left when a text was cut short in the middle of the secret.
    pub fn cut_before(&self, text: &str, end: usize) -> Option<usize> {
        let longest: usize = self
            .atoms
            .iter()
            .map(|a| a.first().map_or(0, String::len))
            .sum();
        let from = end.saturating_sub(longest);
        (from..end)
            .filter(|&p| text.is_char_boundary(p))
            .find(|&p| {
                self.prefix_to(text, 0, p, end)
                    .is_some_and(|k| k >= MIN_CUT.min(self.atoms.len()))
            })
    }

    /// The byte ranges of `text` that spell the secret, leftmost first, not overlapping.
    pub fn find_all(&self, text: &str) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        if self.atoms.is_empty() || !text.contains(self.anchor.as_str()) {
            return out;
        }
        let mut failed = HashSet::new();
        let mut at = 0;
        while at < text.len() {
            match self.match_from(text, 0, at, &mut failed) {
                Some(end) if end > at => {
                    out.push(at..end);
                    at = end;
                }
                _ => {
                    at += text[at..].chars().next().map_or(1, char::len_utf8);
                }
            }
        }
        out
    }

    /// `text` with every spelling of the secret replaced by `mark`.
    pub fn replace(&self, text: &str, mark: &str) -> Option<String> {
        let found = self.find_all(text);
        if found.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for r in found {
            out.push_str(&text[last..r.start]);
            out.push_str(mark);
            last = r.end;
        }
        out.push_str(&text[last..]);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_and_nested_escapes_are_found() {
        let s = Spelled::new("ab\"c\\d%e+ f&<g>é");
        for text in [
            "ab\"c\\d%e+ f&<g>é",
            r#"ab\"c\\d%e+ f&<g>é"#,
            r#"ab\\\"c\\\\d%e+ f&<g>é"#,
            "ab%22c%5Cd%25e%2B+f%26%3Cg%3E%C3%A9",
            "ab%22c%5cd%25e%2b%20f%26%3cg%3e%c3%a9",
            "ab&quot;c\\d%e+ f&amp;&lt;g>é",
            "ab&#34;c\\d%e+ f&#38;&#60;g&#62;é",
            r#"ab\u0022c\\d%e+ f\u0026<g>\u00e9"#,
            r#"ab\&quot;c\\d%e+ f&amp;&lt;g&gt;é"#,
        ] {
            let found = s.find_all(&format!("x {text} y"));
            assert_eq!(found.len(), 1, "{text}");
            assert_eq!(found[0], 2..2 + text.len(), "{text}");
        }
        assert!(
            s.find_all("ab\"c\\d%e+ f&<g>").is_empty(),
            "all of it, not a part"
        );
        let cut = "x ab&quot;c\\d";
        assert_eq!(s.cut_before(cut, cut.len()), Some(2));
        assert_eq!(s.cut_before("x ab", 4), None, "too short to tell");
        assert_eq!(
            Spelled::new("k3y")
                .replace("a k3y and k3y", "[x]")
                .as_deref(),
            Some("a [x] and [x]")
        );
    }
}
