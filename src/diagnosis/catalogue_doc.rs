//! The catalogue as documents: what `smart-launch-doctor catalogue` prints, as text, JSON or
//! Markdown. `docs/diagnoses.md` is the Markdown rendering, generated with
//! `cargo run -- catalogue --format markdown > docs/diagnoses.md`; a test keeps it current.
//!
//! Pure functions over [`ENTRIES`]: same build, same output.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::Severity;
use super::catalog::{ENTRIES, Entry, Family};

/// The command that regenerates `docs/diagnoses.md`.
pub const REGENERATE: &str = "cargo run -- catalogue --format markdown > docs/diagnoses.md";

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warn => "warn",
    }
}

/// The entries grouped by section: sections in order of first appearance, entries in catalogue
/// order within each.
fn sections() -> Vec<(Family, Vec<&'static Entry>)> {
    let mut groups: Vec<(Family, Vec<&'static Entry>)> = Vec::new();
    for e in ENTRIES {
        let s = e.id().family();
        match groups.iter_mut().find(|(name, _)| *name == s) {
            Some((_, list)) => list.push(e),
            None => groups.push((s, vec![e])),
        }
    }
    groups
}

/// Plain text, one block per entry, in catalogue order.
pub fn text() -> String {
    let mut out = format!("{} diagnoses\n", ENTRIES.len());
    for e in ENTRIES {
        let _ = writeln!(out, "\n{} [{}]", e.id(), severity(e.severity));
        let _ = writeln!(out, "  {}", e.title);
        let _ = writeln!(out, "  Plain: {}", e.plain);
        let _ = writeln!(out, "  Who acts: {}", e.acts.as_str());
        let lists = [
            ("Causes (most frequent first)", e.causes),
            ("Fixes", e.fixes),
        ];
        for (label, items) in lists {
            if !items.is_empty() {
                let _ = writeln!(out, "  {label}:");
                for item in items {
                    let _ = writeln!(out, "    - {item}");
                }
            }
        }
        if !e.rules.is_empty() {
            let _ = writeln!(out, "  Rules:");
            for (label, url) in e.rules {
                let _ = writeln!(out, "    - {label} <{url}>");
            }
        }
    }
    out
}

/// `{"diagnoses": [{"id", "severity", "title", "plain", "causes", "fixes", "rules": [{"label", "url"}]}]}`.
pub fn json() -> Value {
    let diagnoses: Vec<Value> = ENTRIES
        .iter()
        .map(|e| {
            json!({
                "id": e.id(),
                "severity": severity(e.severity),
                "title": e.title,
                "plain": e.plain,
                "acts": e.acts.as_str(),
                "causes": e.causes,
                "fixes": e.fixes,
                "rules": e
                    .rules
                    .iter()
                    .map(|(label, url)| json!({ "label": label, "url": url }))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "diagnoses": diagnoses })
}

/// Escapes the few characters that would change the meaning of catalogue text in Markdown.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '*' | '`' | '<' | '>' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The anchor GitHub gives a heading: lower case, punctuation other than `-` and `_` dropped,
/// spaces as `-`.
fn anchor(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

fn section_heading(family: Family) -> String {
    format!("{} (`{}`)", family.heading(), family.as_str())
}

fn entry_heading(e: &Entry) -> String {
    format!("`{}`", e.id())
}

/// The Markdown copy in the repository (`docs/diagnoses.md`): sections by id prefix, in
/// catalogue order, with a table of contents.
pub fn markdown() -> String {
    let groups = sections();
    let mut out = String::new();
    out.push_str("# Diagnosis catalogue\n\n");
    let _ = writeln!(
        out,
        "Generated from the code (`src/diagnosis/catalog/`) by `{REGENERATE}`; do not edit by hand. \
         The running program prints the same list: `smart-launch-doctor catalogue [--format text|json|markdown]`.\n"
    );
    out.push_str(
        "Every failure or finding the app reports carries one of these ids, on its pages, in its JSON \
         and in `check` reports. Ids are stable: new ones are added, none is renamed or reused. \
         Severity **error** stops a launch; **warn** lets it continue and is shown beside the result.\n\n",
    );
    let _ = writeln!(
        out,
        "{} diagnoses in {} sections.\n",
        ENTRIES.len(),
        groups.len()
    );
    out.push_str("## Contents\n\n");
    for (name, entries) in &groups {
        let heading = section_heading(*name);
        let ids: Vec<String> = entries
            .iter()
            .map(|e| format!("[`{}`](#{})", e.id(), anchor(&entry_heading(e))))
            .collect();
        let _ = writeln!(
            out,
            "- [{}](#{}): {}",
            name.heading(),
            anchor(&heading),
            ids.join(", ")
        );
    }
    for (name, entries) in &groups {
        let _ = write!(out, "\n## {}\n", section_heading(*name));
        for e in entries {
            let _ = write!(out, "\n### {}\n\n", entry_heading(e));
            let _ = writeln!(out, "**{}** — {}\n", severity(e.severity), md(e.title));
            let _ = writeln!(out, "What the user is told: {}\n", md(e.plain));
            let _ = writeln!(out, "Who acts: {}", e.acts.as_str());
            if !e.causes.is_empty() {
                out.push_str("\nLikely causes, most frequent first:\n\n");
                for (i, c) in e.causes.iter().enumerate() {
                    let _ = writeln!(out, "{}. {}", i + 1, md(c));
                }
            }
            if !e.fixes.is_empty() {
                out.push_str("\nFixes:\n\n");
                for f in e.fixes {
                    let _ = writeln!(out, "- {}", md(f));
                }
            }
            if !e.rules.is_empty() {
                out.push_str("\nRules:\n\n");
                for (label, url) in e.rules {
                    let _ = writeln!(out, "- [{}]({url})", md(label));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The copy in the repository is what `catalogue --format markdown` prints today.
    #[test]
    fn catalogue_markdown_copy_is_current() {
        let committed = include_str!("../../docs/diagnoses.md");
        let current = markdown();
        if committed != current {
            let line = committed
                .lines()
                .zip(current.lines())
                .position(|(a, b)| a != b)
                .map_or_else(
                    || committed.lines().count().min(current.lines().count()) + 1,
                    |i| i + 1,
                );
            panic!(
                "docs/diagnoses.md is stale (first difference at line {line}); regenerate it with\n    {REGENERATE}"
            );
        }
    }

    #[test]
    fn catalogue_json_lists_every_entry_in_order() {
        let value = json();
        let list = value["diagnoses"].as_array().cloned().unwrap_or_default();
        assert_eq!(list.len(), ENTRIES.len());
        for (d, e) in list.iter().zip(ENTRIES) {
            assert_eq!(d["id"], e.id().as_str());
            assert_eq!(d["severity"], severity(e.severity));
            assert_eq!(d["title"], e.title);
            assert_eq!(d["plain"], e.plain);
            assert_eq!(d["causes"].as_array().map(Vec::len), Some(e.causes.len()));
            assert_eq!(d["fixes"].as_array().map(Vec::len), Some(e.fixes.len()));
            let rules = d["rules"].as_array().cloned().unwrap_or_default();
            assert_eq!(rules.len(), e.rules.len());
            for (r, (label, url)) in rules.iter().zip(e.rules) {
                assert_eq!(r["label"], *label);
                assert_eq!(r["url"], *url);
            }
        }
    }

    #[test]
    fn catalogue_text_and_markdown_name_every_id_once_per_entry() {
        let text = text();
        let markdown = markdown();
        for e in ENTRIES {
            assert!(
                text.contains(&format!("\n{} [", e.id())),
                "{} missing from text",
                e.id()
            );
            assert!(
                markdown.contains(&format!("\n### `{}`\n", e.id())),
                "{} missing from markdown",
                e.id()
            );
        }
    }

    #[test]
    fn catalogue_sections_keep_catalogue_order() {
        let flat: Vec<&str> = sections()
            .into_iter()
            .flat_map(|(_, list)| list.into_iter().map(|e| e.id().as_str()))
            .collect();
        assert_eq!(flat.len(), ENTRIES.len());
        for (name, list) in sections() {
            assert!(list.iter().all(|e| e.id().family() == name));
            let positions: Vec<usize> = list
                .iter()
                .filter_map(|e| ENTRIES.iter().position(|x| x == *e))
                .collect();
            assert!(positions.windows(2).all(|w| w[0] < w[1]), "{name:?}");
        }
    }

    #[test]
    fn catalogue_anchors_follow_github() {
        assert_eq!(anchor("`net.dns`"), "netdns");
        assert_eq!(anchor("`id_token.bad_signature`"), "id_tokenbad_signature");
        assert_eq!(anchor("Token exchange (`token`)"), "token-exchange-token");
    }
}
