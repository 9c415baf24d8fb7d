//! Grading the active server probes (`smart::active`) and the SMART v1-only reading of
//! discovery: each is a scorecard check, `not_tested` (with the reason) when it could not run.

use super::Check;
use crate::smart::active::AudAnswer;
use crate::smart::discovery::{Discovered, Source};

/// Why a probe did not run when the registration did not ask for it.
pub const PROBES_OFF: &str =
    "active probes are off for this registration (active_probes = true runs them)";

/// The foreign-`aud` authorize probe: refused passes, a code fails, a login page cannot tell.
pub fn aud(answer: Option<&AudAnswer>, off_reason: &str) -> Check {
    let entry = id!("probe.aud_not_enforced");
    match answer {
        None => Check::not_tested(entry, off_reason),
        Some(AudAnswer::Refused(how)) => {
            Check::from_entry(entry, true, format!("a foreign aud was refused: {how}"))
        }
        Some(AudAnswer::Code) => Check::from_entry(
            entry,
            false,
            "the authorize endpoint issued a code for aud https://rogue-resource-server.invalid/fhir, which is not its FHIR base URL",
        ),
        Some(AudAnswer::LoginPage) => Check::not_tested(
            entry,
            "the server showed a sign-in page first; whether it would issue a code for the foreign aud needs a person to sign in",
        ),
        Some(AudAnswer::Unclear(why)) => {
            Check::not_tested(entry, format!("the answer did not say: {why}"))
        }
    }
}

/// The replayed code: `Some((status, token issued))` of the second exchange.
pub fn code_replay(second: Option<(u16, bool)>, why_not: &str) -> Check {
    let entry = id!("probe.code_replay_accepted");
    match second {
        None => Check::not_tested(entry, why_not),
        Some((status, true)) => Check::from_entry(
            entry,
            false,
            format!("the second exchange of the same code answered {status} with an access token"),
        ),
        Some((status, false)) => Check::from_entry(
            entry,
            true,
            format!("the second exchange of the same code was refused ({status})"),
        ),
    }
}

/// CORS on discovery and `/metadata`: `(url, answered Access-Control-Allow-Origin)` each.
pub fn cors(answers: &[(String, Result<Option<String>, String>)], why_not: &str) -> Check {
    let entry = id!("server.cors_missing");
    if answers.is_empty() {
        return Check::not_tested(entry, why_not);
    }
    let missing: Vec<&str> = answers
        .iter()
        .filter(|(_, a)| matches!(a, Ok(None)))
        .map(|(u, _)| u.as_str())
        .collect();
    let failed: Vec<String> = answers
        .iter()
        .filter_map(|(u, a)| a.as_ref().err().map(|e| format!("{u}: {e}")))
        .collect();
    if !missing.is_empty() {
        return Check::from_entry(
            entry,
            false,
            format!(
                "no Access-Control-Allow-Origin for an Origin on {}",
                missing.join(", ")
            ),
        );
    }
    if !failed.is_empty() {
        return Check::not_tested(entry, format!("no answer: {}", failed.join("; ")));
    }
    Check::from_entry(
        entry,
        true,
        "discovery and /metadata answer Access-Control-Allow-Origin",
    )
}

/// SMART v2 capabilities: one of them shows a v2 server.
const V2: [&str; 2] = ["permission-v2", "permission-patient-v2"];

/// A server without `.well-known/smart-configuration`, or without SMART v2 capabilities, fails
/// current certification (the ONC (g)(10) test kit v8 no longer accepts v1-only servers).
pub fn smart_v1_only(d: &Discovered) -> Check {
    let entry = id!("server.smart_v1_only");
    if d.source == Source::CapabilityStatement {
        return Check::from_entry(
            entry,
            false,
            "no .well-known/smart-configuration: a SMART v1 server (CapabilityStatement only)",
        );
    }
    let v2 = d.capabilities.iter().any(|c| V2.contains(&c.as_str()));
    if v2 {
        Check::from_entry(entry, true, "SMART v2 capabilities advertised")
    } else {
        Check::from_entry(
            entry,
            false,
            "the SMART configuration advertises no v2 capability (permission-v2)",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::Status;
    use super::*;

    #[test]
    fn each_probe_passes_fails_or_is_not_tested_with_a_reason() {
        assert_eq!(aud(None, PROBES_OFF).status, Status::NotTested);
        assert!(aud(Some(&AudAnswer::Refused("400".into())), "").passed);
        assert_eq!(aud(Some(&AudAnswer::Code), "").status, Status::Failed);
        let login = aud(Some(&AudAnswer::LoginPage), "");
        assert_eq!(login.status, Status::NotTested);
        assert!(!login.passed && login.reason.is_some());
        assert_eq!(code_replay(Some((200, true)), "").status, Status::Failed);
        assert!(code_replay(Some((400, false)), "").passed);
        assert_eq!(code_replay(None, "x").reason.as_deref(), Some("x"));
        let ok = [("u".to_string(), Ok(Some("*".to_string())))];
        assert!(cors(&ok, "").passed);
        let none = [("u".to_string(), Ok(None))];
        assert_eq!(cors(&none, "").status, Status::Failed);
        assert_eq!(cors(&[], "off").status, Status::NotTested);
    }
}
