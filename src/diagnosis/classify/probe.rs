//! The credential probe's verdict: did the server authenticate the client?

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::{Diagnosis, excerpt};
use crate::config::AuthMethod;

/// What a probe tells about the credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Accepted,
    Rejected,
    Inconclusive,
    /// No probe was sent (discovery failed: there was no token endpoint to ask).
    #[serde(rename = "not_probed")]
    NotProbed,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::Rejected => "rejected",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotProbed => "not probed",
        }
    }
}

/// Why the invalid-code probe cannot tell when the server checks the code before the client.
pub const CODE_FIRST: &str = "this server checks the code before the client; the probe cannot tell";

/// `error` and `error_description` of a token error body (a `null` description reads as empty);
/// athenahealth's `statusmessage`/`description` shape is read the same way.
pub fn oauth_error(body: &str) -> (String, String) {
    let json: Option<Value> = serde_json::from_str(body).ok();
    let field = |k: &str| {
        json.as_ref()
            .and_then(|j| j.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let mut error = field("error");
    let mut desc = field("error_description");
    if error.is_empty() && field("status") == "error" {
        error = field("statusmessage");
    }
    if desc.is_empty() {
        desc = field("description");
    }
    (error, desc)
}

fn words(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
}

/// An `invalid_client` description that is about the code or the grant, not the client
/// (e.g. "Invalid token (supplied as code parameter in the POST body). jwt malformed").
pub fn about_the_code(desc: &str) -> bool {
    words(desc).any(|w| {
        matches!(
            w.as_str(),
            "code" | "authorization_code" | "grant" | "code_verifier" | "verifier" | "pkce"
        )
    })
}

/// Keycloak's non-standard `unauthorized_client` for wrong credentials.
fn keycloak_bad_client(error: &str, desc: &str) -> bool {
    let d = desc.to_ascii_lowercase();
    error == "unauthorized_client" && (d.contains("invalid client") || d.contains("unknown_client"))
}

/// A symmetric method refused in a way that names the other one: configured
/// `client_secret_post` and told "Basic authentication is required", or the reverse.
/// Returns the method the server names.
pub fn names_other_method(configured: AuthMethod, body: &str) -> Option<AuthMethod> {
    let (error, desc) = oauth_error(body);
    if !matches!(
        error.as_str(),
        "invalid_request" | "invalid_client" | "unauthorized_client"
    ) {
        return None;
    }
    let d = desc.to_ascii_lowercase();
    let demands = [
        "required",
        "require",
        "must",
        "only",
        "expected",
        "not supported",
        "unsupported",
        "not allowed",
        "not permitted",
    ]
    .iter()
    .any(|w| d.contains(w));
    if !demands {
        return None;
    }
    match configured {
        AuthMethod::ClientSecretPost
            if d.contains("client_secret_basic") || words(&d).any(|w| w == "basic") =>
        {
            Some(AuthMethod::ClientSecretBasic)
        }
        AuthMethod::ClientSecretBasic
            if d.contains("client_secret_post")
                || ((d.contains("request body")
                    || d.contains("in the body")
                    || d.contains("form"))
                    && (d.contains("client_secret") || d.contains("credentials"))
                    && !about_the_code(&d)) =>
        {
            Some(AuthMethod::ClientSecretPost)
        }
        _ => None,
    }
}

/// A probe's verdict and, when the answer alone does not say it plainly, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reading {
    pub verdict: Verdict,
    /// One sentence: why inconclusive, or what "accepted" rests on when it is not `invalid_grant`.
    pub note: Option<String>,
}

impl Reading {
    fn plain(verdict: Verdict) -> Self {
        Reading {
            verdict,
            note: None,
        }
    }

    fn noted(verdict: Verdict, note: impl Into<String>) -> Self {
        Reading {
            verdict,
            note: Some(note.into()),
        }
    }
}

/// What an error answer says about authentication, for either probe.
fn read_error(status: u16, error: &str, desc: &str, grant: &str) -> Reading {
    // What the words say first: an unauthorized_client whose description refuses the client
    // (Keycloak's "Client secret not provided in request") was no authentication at all.
    let said = super::lexicon::ranked(desc, error)
        .into_iter()
        .next()
        .map(|f| f.meaning);
    match error {
        _ if keycloak_bad_client(error, desc) => Reading::plain(Verdict::Rejected),
        "unauthorized_client" | "invalid_request"
            if said.is_some_and(|m| m.refuses_the_client()) =>
        {
            Reading::plain(Verdict::Rejected)
        }
        "invalid_client" if about_the_code(desc) => Reading::noted(
            Verdict::Inconclusive,
            format!(
                "the server answered invalid_client about the code, not the client: {CODE_FIRST}"
            ),
        ),
        "invalid_client" => Reading::plain(Verdict::Rejected),
        // RFC 6749 §5.2: "The authenticated client is not authorized to use this grant type."
        "unauthorized_client" => Reading::noted(
            Verdict::Accepted,
            format!(
                "unauthorized_client: the client was authenticated but is not allowed the {grant} grant"
            ),
        ),
        "invalid_scope" => Reading::noted(
            Verdict::Accepted,
            "invalid_scope: the client was authenticated; the scope was refused",
        ),
        // A 401 with no OAuth error (a Basic challenge, an empty body) refuses authentication.
        "" if status == 401 => Reading::plain(Verdict::Rejected),
        _ if status == 401 && error == "invalid_request" => Reading::plain(Verdict::Rejected),
        _ => Reading::plain(Verdict::Inconclusive),
    }
}

/// The reading of an invalid-code probe from the token endpoint's answer.
pub fn read_invalid_code(status: u16, body: &str) -> Reading {
    let (error, desc) = oauth_error(body);
    match error.as_str() {
        // The code was looked at: the client got past authentication.
        "invalid_grant" => Reading::plain(Verdict::Accepted),
        e => read_error(status, e, &desc, "authorization_code"),
    }
}

/// The verdict of an invalid-code probe from the token endpoint's answer.
pub fn invalid_code(status: u16, body: &str) -> Verdict {
    read_invalid_code(status, body).verdict
}

/// The reading of a `client_credentials` probe: a token, or an error that shows the client was
/// authenticated (`invalid_scope`, `unauthorized_client`), is `accepted`; only an
/// authentication error is `rejected`.
pub fn read_client_credentials(status: u16, body: &str) -> Reading {
    let json: Option<Value> = serde_json::from_str(body).ok();
    if (200..300).contains(&status) && json.as_ref().and_then(|j| j.get("access_token")).is_some() {
        return Reading::plain(Verdict::Accepted);
    }
    let (error, desc) = oauth_error(body);
    let grant_refused = super::lexicon::ranked(&desc, &error)
        .first()
        .is_some_and(|f| f.meaning == super::lexicon::Meaning::GrantNotAllowed);
    match error.as_str() {
        // No code was sent: a refusal of the grant in words (MEDITECH-like servers, some answer
        // invalid_grant or unsupported_grant_type) follows authentication.
        "invalid_grant" | "unsupported_grant_type" if grant_refused => Reading::noted(
            Verdict::Accepted,
            format!(
                "{error}: the client was authenticated but the client_credentials grant is not enabled for it"
            ),
        ),
        // Otherwise invalid_grant here is about the grant, not the client.
        "invalid_grant" => Reading::plain(Verdict::Inconclusive),
        e => read_error(status, e, &desc, "client_credentials"),
    }
}

/// The verdict of a `client_credentials` probe.
pub fn client_credentials(status: u16, body: &str) -> Verdict {
    read_client_credentials(status, body).verdict
}

/// The two probes' verdicts in one line. `code` is the invalid-code probe (already reconciled:
/// an `invalid_client` that `client_credentials` contradicts is inconclusive); `cc` the
/// `client_credentials` probe, when one ran.
pub fn summary(code: &Reading, cc: Option<&Reading>) -> String {
    // "invalid-code probe accepted" read as "the server accepted an invalid code": say whose
    // verdict it is (the credentials'), not the probe's.
    let part = |what: &str, r: &Reading| {
        let verdict = match r.verdict {
            Verdict::Accepted | Verdict::Rejected => format!("credentials {}", r.verdict.as_str()),
            other => other.as_str().to_string(),
        };
        match &r.note {
            Some(n) => format!("{what}: {verdict} ({n})"),
            None => format!("{what}: {verdict}"),
        }
    };
    let verdicts: Vec<Verdict> = std::iter::once(code.verdict)
        .chain(cc.map(|r| r.verdict))
        .collect();
    let accepted = verdicts.contains(&Verdict::Accepted);
    let rejected = verdicts.contains(&Verdict::Rejected);
    let overall = match (accepted, rejected) {
        (true, false) => "Credentials accepted",
        (false, true) => "Credentials rejected",
        (true, true) => "Contradictory: the server authenticates the two grants differently",
        (false, false) => "Inconclusive",
    };
    let Some(cc) = cc else {
        // One probe: its verdict is the overall one, said once.
        return match &code.note {
            Some(n) => format!("{overall} (invalid-code probe: {n})."),
            None => format!("{overall} (invalid-code probe)."),
        };
    };
    format!(
        "{overall}: {}; {}.",
        part("invalid-code probe", code),
        part("client_credentials probe", cc)
    )
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

/// An answer that looks like a verdict but cannot be one, with the reason.
pub fn inconclusive_because(
    what: &str,
    status: Option<u16>,
    body: &str,
    reason: &str,
) -> Diagnosis {
    Diagnosis::new(
        id!("check.probe_inconclusive"),
        format!("The {what} cannot tell whether the credentials are right: {reason}."),
    )
    .with("Status", status.map(|s| s.to_string()).unwrap_or_else(|| "no answer".into()))
    .with("Answer (first bytes)", excerpt(body, 300))
    .with_first_cause("The server validates the code before it authenticates the client, so a deliberately invalid code is refused as invalid_client whatever the secret")
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
mod tests;
