//! The words pages use: names of rules that read the same whether they passed or failed, and
//! identifiers that wrap at 390 px. Presentation only: ids and JSON fields are unchanged. (A
//! launch's headline and ranked diagnoses come from its report: `diagnosis::assess`.)

use crate::diagnosis::DiagnosisId;

/// The rule a check tests, named the same whether it passed or failed, for the checks whose id
/// names the failure (`server.backend_bogus_grant_accepted` passed reads as a fault).
pub fn rule_name(check_id: &DiagnosisId) -> Option<&'static str> {
    check_id.rule_name()
}

/// Template filters (`views` and `admin` bring this module into scope as `filters`).
pub mod filters {
    /// Escapes an identifier, URL or scope and lets it wrap only after `.`, `_`, `-`, `/`, `?`,
    /// `&`, `=` or `:` or before a `%` escape (a `<wbr>` there), never inside a word. Safe: it
    /// escapes everything itself.
    #[askama::filter_fn]
    pub fn wbr(
        s: impl std::fmt::Display,
        _: &dyn askama::Values,
    ) -> askama::Result<askama::filters::Safe<String>> {
        Ok(askama::filters::Safe(super::with_breaks(&s.to_string())))
    }
}

/// `s` HTML-escaped, with a `<wbr>` after each character an identifier may wrap at.
pub fn with_breaks(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 4);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        // Percent-encoded text (`urn%3Acerner%3A…`) may wrap before each escape.
        if c == '%' && !out.is_empty() && !out.ends_with("<wbr>") {
            out.push_str("<wbr>");
        }
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
        let breaks_after = matches!(c, '.' | '_' | '-' | '/' | '?' | '&' | '=' | ':');
        if breaks_after && chars.peek().is_some_and(|n| !n.is_whitespace()) {
            out.push_str("<wbr>");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaks_go_after_separators_and_markup_is_escaped() {
        assert_eq!(
            with_breaks("token.unknown_client"),
            "token.<wbr>unknown_<wbr>client"
        );
        assert_eq!(
            with_breaks("<b a=\"x\">&'"),
            "&lt;b a=<wbr>&quot;x&quot;&gt;&amp;<wbr>&#39;"
        );
        assert_eq!(with_breaks("a- b."), "a- b.");
        assert_eq!(with_breaks("urn%3Ax:y"), "urn<wbr>%3Ax:<wbr>y");
    }
}
