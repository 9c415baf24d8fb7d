//! The words pages use for a launch: plain headlines (the step named second), which findings are
//! only notes in their context, lists with errors first, and names of rules that read the same
//! whether they passed or failed. Presentation only: ids and JSON fields are unchanged.

use crate::diagnosis::{Diagnosis, DiagnosisId, Family};
use crate::smart::Step;

/// A failed launch's headline in plain words, the step second: "The EHR did not accept this app
/// (token step)". `top` is the first error's id, which tells an unreachable server apart.
pub fn failure_headline(step: Step, top: Option<DiagnosisId>) -> String {
    let unreachable = top.is_some_and(|id| id.family() == Family::Net);
    let plain = match step {
        _ if unreachable => "The EHR could not be reached",
        Step::Launch => "The launch could not start",
        Step::Discovery => "The EHR's SMART configuration could not be used",
        Step::Authorize => "The sign-in at the EHR did not finish",
        Step::Callback => "The EHR sent the browser back without a usable sign-in",
        Step::Token => "The EHR did not accept this app",
        Step::IdToken => "The EHR's proof of who signed in did not check out",
        Step::Fhir => "Signed in, but the EHR's data could not be read",
    };
    format!("{plain} ({} step)", step.as_str())
}

/// A warning shown as a note (see [`Diagnosis::is_note`]).
pub fn is_note(d: &Diagnosis) -> bool {
    d.is_note()
}

/// A diagnosis list for a page: errors, then warnings, then notes, each in its original order.
pub fn ranked(ds: &[Diagnosis]) -> Vec<&Diagnosis> {
    let mut out: Vec<&Diagnosis> = ds.iter().collect();
    out.sort_by_key(|d| (!d.is_error(), is_note(d)));
    out
}

/// The ids for a one-line list: (errors then warnings, notes), each comma-separated.
pub fn ids_line(ds: &[Diagnosis]) -> (String, String) {
    let ranked = ranked(ds);
    let (notes, rest): (Vec<&Diagnosis>, Vec<&Diagnosis>) =
        ranked.into_iter().partition(|d| is_note(d));
    let join = |v: Vec<&Diagnosis>| {
        v.iter()
            .map(|d| d.id().as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    (join(rest), join(notes))
}

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

    fn insecure(iss: &str) -> Diagnosis {
        Diagnosis::new(id!("launch.insecure_iss"), "plain http").with("iss", iss)
    }

    #[test]
    fn plain_http_on_loopback_is_a_note_elsewhere_a_warning() {
        assert!(is_note(&insecure("http://127.0.0.1:8080/practice/fhir")));
        assert!(is_note(&insecure("http://localhost:9000/fhir")));
        assert!(!is_note(&insecure("http://ehr.example.org/fhir")));
    }

    #[test]
    fn lists_put_errors_first_and_notes_last() {
        let ds = vec![
            insecure("http://127.0.0.1:1/fhir"),
            Diagnosis::new(id!("token.scopes_reduced"), "fewer"),
            Diagnosis::new(id!("token.unknown_client"), "no"),
        ];
        assert_eq!(
            ids_line(&ds),
            (
                "token.unknown_client, token.scopes_reduced".to_string(),
                "launch.insecure_iss".to_string()
            )
        );
    }

    #[test]
    fn a_headline_says_what_happened_then_the_step() {
        assert_eq!(
            failure_headline(Step::Token, Some(id!("token.unknown_client"))),
            "The EHR did not accept this app (token step)"
        );
        assert_eq!(
            failure_headline(Step::Token, Some(id!("net.timeout"))),
            "The EHR could not be reached (token step)"
        );
    }

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
