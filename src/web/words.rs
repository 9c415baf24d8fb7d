//! The words pages use for a launch: plain headlines (the step named second), which findings are
//! only notes in their context, lists with errors first, and names of rules that read the same
//! whether they passed or failed. Presentation only: ids and JSON fields are unchanged.

use crate::diagnosis::Diagnosis;
use crate::smart::Step;

/// A failed launch's headline in plain words, the step second: "The EHR did not accept this app
/// (token step)". `top` is the first error's id, which tells an unreachable server apart.
pub fn failure_headline(step: Step, top: Option<&str>) -> String {
    let unreachable = top.is_some_and(|id| id.starts_with("net."));
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

/// A warning that is expected where it arose, shown as a note rather than as a warning: plain
/// http to a FHIR base on this machine (the practice EHR, a local test server).
pub fn is_note(d: &Diagnosis) -> bool {
    d.id() == "launch.insecure_iss"
        && d.evidence
            .iter()
            .find(|e| e.label == "iss")
            .and_then(|e| url::Url::parse(&e.value).ok())
            .is_some_and(|u| match u.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                None => false,
            })
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
    let join = |v: Vec<&Diagnosis>| v.iter().map(|d| d.id()).collect::<Vec<_>>().join(", ");
    (join(rest), join(notes))
}

/// The rule a check tests, named the same whether it passed or failed, for the checks whose id
/// names the failure (`server.backend_bogus_grant_accepted` passed reads as a fault).
pub fn rule_name(check_id: &str) -> Option<&'static str> {
    Some(match check_id {
        "server.backend_bogus_grant_accepted" => "an unknown grant_type is refused with 400",
        "server.backend_bogus_assertion_type_accepted" => {
            "an unknown client_assertion_type is refused with 400 or 401"
        }
        "server.backend_refresh_token" => "no refresh token for a backend client",
        "server.backend_expires_in_long" => "expires_in at most 300 seconds",
        "server.backend_scope_not_system" => "only system/ scopes granted",
        "server.discovery_pkce_plain" => "PKCE plain not offered",
        "server.introspection_mismatch" => "introspection agrees with the token response",
        _ => return None,
    })
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
            failure_headline(Step::Token, Some("token.unknown_client")),
            "The EHR did not accept this app (token step)"
        );
        assert_eq!(
            failure_headline(Step::Token, Some("net.timeout")),
            "The EHR could not be reached (token step)"
        );
    }
}
