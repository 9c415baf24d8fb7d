//! The credential probe's verdict: did the server authenticate the client?

use serde::Serialize;
use serde_json::Value;

use super::super::{Diagnosis, excerpt};

/// What a probe tells about the credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Accepted,
    Rejected,
    Inconclusive,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::Rejected => "rejected",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// The verdict of an invalid-code probe from the token endpoint's answer.
pub fn invalid_code(status: u16, body: &str) -> Verdict {
    let json: Option<Value> = serde_json::from_str(body).ok();
    let error = json
        .as_ref()
        .and_then(|j| j.get("error"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let desc = json
        .as_ref()
        .and_then(|j| j.get("error_description"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    match error {
        // The code was looked at: the client got past authentication.
        "invalid_grant" => Verdict::Accepted,
        "invalid_client" => Verdict::Rejected,
        // Keycloak's non-standard answer to wrong credentials.
        "unauthorized_client"
            if desc.contains("invalid client") || desc.contains("unknown_client") =>
        {
            Verdict::Rejected
        }
        _ if status == 401 => Verdict::Rejected,
        _ => Verdict::Inconclusive,
    }
}

/// The verdict of a `client_credentials` probe.
pub fn client_credentials(status: u16, body: &str) -> Verdict {
    let json: Option<Value> = serde_json::from_str(body).ok();
    if (200..300).contains(&status) && json.as_ref().and_then(|j| j.get("access_token")).is_some() {
        return Verdict::Accepted;
    }
    match invalid_code(status, body) {
        Verdict::Rejected => Verdict::Rejected,
        _ => Verdict::Inconclusive,
    }
}

/// Neither `invalid_grant` nor `invalid_client`: the raw answer is the evidence.
pub fn inconclusive(what: &str, status: Option<u16>, body: &str) -> Diagnosis {
    Diagnosis::new(
        id!("check.probe_inconclusive"),
        format!("The {what} got an answer that says neither 'client accepted' (invalid_grant) nor 'client rejected' (invalid_client)."),
    )
    .with("Status", status.map(|s| s.to_string()).unwrap_or_else(|| "no answer".into()))
    .with("Answer (first bytes)", excerpt(body, 300))
}

/// The server accepts the secret only without RFC 6749 §2.3.1 form-encoding.
pub fn raw_basic_only(reserved: &str) -> Diagnosis {
    Diagnosis::new(
        id!("token.bad_client_credentials"),
        "The server accepted the Basic credentials only raw, not form-encoded as RFC 6749 §2.3.1 requires; real code exchanges (which encode) will be rejected.",
    )
    .with("Secret contains", reserved)
    .with("Encoded form (RFC 6749)", "rejected")
    .with("Raw form", "accepted")
    .with_first_cause("The server does not form-decode Basic credentials (Keycloak before 20 did not); the secret has characters that encoding changes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_the_error_code() {
        assert_eq!(
            invalid_code(400, r#"{"error":"invalid_grant"}"#),
            Verdict::Accepted
        );
        assert_eq!(
            invalid_code(401, r#"{"error":"invalid_client"}"#),
            Verdict::Rejected
        );
        assert_eq!(
            invalid_code(
                400,
                r#"{"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}"#
            ),
            Verdict::Rejected
        );
        assert_eq!(invalid_code(500, "<html>"), Verdict::Inconclusive);
        assert_eq!(
            invalid_code(400, r#"{"error":"invalid_request"}"#),
            Verdict::Inconclusive
        );
        assert_eq!(
            client_credentials(200, r#"{"access_token":"x"}"#),
            Verdict::Accepted
        );
        assert_eq!(
            client_credentials(400, r#"{"error":"unsupported_grant_type"}"#),
            Verdict::Inconclusive
        );
    }
}
