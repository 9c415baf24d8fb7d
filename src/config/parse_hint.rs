//! Hints that make a TOML parse error findable: the key and the line.

/// The key (with its table, e.g. `registration[0].client_id`) whose line holds the start of a
/// parse error span, when that line is a `key = value` line.
pub(super) fn key_at(text: &str, span: Option<std::ops::Range<usize>>) -> Option<String> {
    let start = span?.start.min(text.len());
    let mut table = String::new();
    let mut registrations = 0usize;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if let Some(name) = trimmed
            .strip_prefix("[[")
            .and_then(|t| t.split("]]").next())
        {
            let count = if name.trim() == "registration" {
                registrations += 1;
                registrations - 1
            } else {
                0
            };
            table = format!("{}[{count}].", name.trim());
        } else if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.split(']').next()) {
            table = format!("{}.", name.trim());
        }
        if start < offset + line.len() {
            let (key, _) = line.split_once('=')?;
            let key = key.trim().trim_matches('"');
            let plain = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            return plain.then(|| format!("{table}{key}"));
        }
        offset += line.len();
    }
    None
}

/// " (line N)" for a parse error span, so the user can find the key.
pub(super) fn line_hint(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(r) => {
            let line = text[..r.start.min(text.len())].matches('\n').count() + 1;
            format!(" (line {line})")
        }
        None => String::new(),
    }
}
