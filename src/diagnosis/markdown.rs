//! Markdown that stays inert whatever an EHR sends: every value that did not come from this app
//! goes into a code span or is escaped as text, so a downloaded `report.md` shows no heading,
//! link, image or HTML the app did not write. Links point only at the catalogue's spec URLs.

/// `s` as a code span that no character can leave: line breaks and other control characters
/// become visible symbols (a `\r` or `\n` would end the line, and with it the span), and the
/// fence is one backtick longer than the longest run of backticks inside.
pub fn code(s: &str) -> String {
    if s.is_empty() {
        return "(empty)".into();
    }
    let s = visible(s);
    let longest = s
        .split(|c| c != '`')
        .map(str::len)
        .max()
        .unwrap_or_default();
    let fence = "`".repeat(longest + 1);
    // A space on each side keeps a leading or trailing backtick apart from the fence; CommonMark
    // strips exactly one space on each side again.
    let pad = if s.starts_with(['`', ' ']) || s.ends_with(['`', ' ']) {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// A fenced code block (`info` after the opening fence) that its content cannot close: the fence
/// is longer than any run of backticks inside.
pub fn fenced(info: &str, content: &str) -> String {
    let longest = content
        .split(|c| c != '`')
        .map(str::len)
        .max()
        .unwrap_or_default();
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}{info}\n{content}\n{fence}\n")
}

/// Characters that start Markdown (CommonMark or GitHub's extensions) anywhere in a line: emphasis,
/// code, links and images, autolinks and raw HTML, entities, tables, strike-through, math, and
/// `:` so no `scheme://` or link definition forms.
const ACTIVE: &[char] = &[
    '\\', '`', '*', '_', '[', ']', '(', ')', '<', '>', '!', '&', '~', '|', '#', ':', '@', '$', '=',
    '+', '{', '}', '^',
];

/// `s` as plain text on one line: control characters become spaces and every character that could
/// start Markdown is backslash-escaped (at the start also list markers and numbered items), so
/// the text renders as written and forms no element.
pub fn text(s: &str) -> String {
    let line: String = s
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .collect();
    let mut out = String::with_capacity(line.len() + 8);
    // A block may start where this text starts (a list item, a paragraph): `-`, `+`, `1.` and
    // `1)` there would open a list.
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    for (i, c) in line.chars().enumerate() {
        let at_start = i == 0 && c.is_ascii_punctuation();
        let numbered = i == digits && digits > 0 && matches!(c, '.' | ')');
        if ACTIVE.contains(&c) || at_start || numbered {
            out.push('\\');
        }
        out.push(c);
    }
    // GitHub links a bare `www.host` too.
    defuse_www(&out)
}

fn defuse_www(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    if !lower.contains("www.") {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 4);
    let mut rest = s;
    let mut rest_lower = lower.as_str();
    while let Some(at) = rest_lower.find("www.") {
        out.push_str(&rest[..at + 3]);
        out.push_str("\\.");
        rest = &rest[at + 4..];
        rest_lower = &rest_lower[at + 4..];
    }
    out.push_str(rest);
    out
}

/// Line breaks and other control characters as visible symbols (Unicode Control Pictures: `\r`
/// is `␍`, `\n` is `␊`).
fn visible(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
            '\u{7f}' => '\u{2421}',
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => '\u{fffd}',
            c => c,
        })
        .collect()
}

/// A link to `url` when it is one of the catalogue's spec URLs (the only links a report carries);
/// any other URL is shown as code.
pub fn spec_link(label: &str, url: &str) -> String {
    if super::catalog::is_spec_url(url) {
        format!("[{}]({url})", text(label))
    } else {
        format!("{} {}", text(label), code(url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_keep_backticks_and_line_breaks_inside() {
        assert_eq!(code("a"), "`a`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x``"), "``` `x`` ```");
        assert_eq!(code("x\r# h\ny"), "`x␍# h␊y`");
        assert_eq!(code(""), "(empty)");
    }

    #[test]
    fn text_escapes_what_starts_markdown() {
        assert_eq!(text("a [b](c) <i>"), r"a \[b\]\(c\) \<i\>");
        assert_eq!(text("# h"), r"\# h");
        assert_eq!(text("- item"), r"\- item");
        assert_eq!(text("12. item"), r"12\. item");
        assert_eq!(text("see www.evil.example"), r"see www\.evil.example");
        assert_eq!(text("a\rb"), "a b");
        assert_eq!(text("https://x"), r"https\://x");
    }

    #[test]
    fn fences_outlast_their_content() {
        assert_eq!(fenced("sh", "a"), "```sh\na\n```\n");
        assert_eq!(fenced("", "````"), "`````\n````\n`````\n");
    }
}
