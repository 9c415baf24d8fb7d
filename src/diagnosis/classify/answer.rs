//! Any error answer reduced to the same evidence: status, the OAuth-style code if there is one,
//! the human text, and vendor codes (Microsoft Entra `AADSTS` numbers, Oracle Health URNs).
//! Shapes read: OAuth JSON (RFC 6749 §5.2), non-OAuth vendor JSON (athenahealth's
//! `status`/`statusmessage`/`description`), RFC 7807 problem details, FHIR OperationOutcome,
//! API-gateway faults (`fault.faultstring`, `message`, `error.message`), the `WWW-Authenticate`
//! challenge, `text/plain` and an HTML `<title>`. The body is parsed as JSON whatever its
//! content type or charset says. Pure: evidence in, evidence out.

use serde_json::Value;

use super::super::excerpt;
use super::super::vendor::{CernerError, Challenge};

/// How the answer was shaped (shown as evidence: a reader knows where the text came from).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    OAuth,
    VendorJson,
    Problem,
    OperationOutcome,
    GatewayFault,
    OtherJson,
    Html,
    Text,
    Empty,
}

impl Shape {
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::OAuth => "OAuth error JSON",
            Shape::VendorJson => "vendor error JSON (not OAuth)",
            Shape::Problem => "RFC 7807 problem details",
            Shape::OperationOutcome => "FHIR OperationOutcome",
            Shape::GatewayFault => "API gateway fault",
            Shape::OtherJson => "JSON without an error member",
            Shape::Html => "HTML page",
            Shape::Text => "plain text",
            Shape::Empty => "empty body",
        }
    }
}

/// One error answer as evidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorAnswer {
    pub status: u16,
    pub shape: Shape,
    /// `error` (or athenahealth's `statusmessage`, or the challenge's `error`); empty if none.
    pub code: String,
    /// The human text, each with the member it came from, in the order found.
    pub texts: Vec<(&'static str, String)>,
    /// The first Microsoft Entra `AADSTSnnnn` code, from `error_codes` or any text.
    pub aadsts: Option<u64>,
    /// An Oracle Health (Cerner) `error_uri`, taken apart.
    pub oracle: Option<CernerError>,
}

/// Longest text kept from any one member (descriptions are short; pages are not).
const MAX_TEXT: usize = 400;

fn push(texts: &mut Vec<(&'static str, String)>, from: &'static str, v: Option<&Value>) {
    if let Some(s) = v.and_then(Value::as_str).map(str::trim)
        && !s.is_empty()
        && !texts.iter().any(|(_, t)| t == s)
    {
        texts.push((from, excerpt(s, MAX_TEXT)));
    }
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// The first `AADSTS` number in `text`.
fn aadsts_in(text: &str) -> Option<u64> {
    let at = text.find("AADSTS")?;
    text[at + 6..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

fn from_json(v: &Value, a: &mut ErrorAnswer) {
    let t = &mut a.texts;
    match v.get("error") {
        Some(Value::String(code)) => {
            a.code = code.clone();
            a.shape = Shape::OAuth;
        }
        // {"error": {"code": "...", "message": "..."}} (Azure-style and many gateways).
        Some(e @ Value::Object(_)) => {
            a.code = str_of(e, "code").to_string();
            push(t, "error.message", e.get("message"));
            a.shape = Shape::GatewayFault;
        }
        _ => {}
    }
    push(t, "error_description", v.get("error_description"));
    if a.code.is_empty() && str_of(v, "status") == "error" {
        // athenahealth: {"status":"error","statusmessage":"invalid_client","description":"…"}.
        a.code = str_of(v, "statusmessage").to_string();
        a.shape = Shape::VendorJson;
    }
    push(t, "description", v.get("description"));
    if str_of(v, "resourceType") == "OperationOutcome" {
        a.shape = Shape::OperationOutcome;
        for issue in v
            .get("issue")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            push(t, "issue.details.text", issue.pointer("/details/text"));
            push(t, "issue.diagnostics", issue.get("diagnostics"));
        }
    }
    if v.get("detail").is_some_and(Value::is_string) || v.get("type").is_some_and(Value::is_string)
    {
        if a.shape == Shape::Empty {
            a.shape = Shape::Problem;
        }
        push(t, "detail", v.get("detail"));
        push(t, "title", v.get("title"));
    }
    if let Some(f) = v.get("fault") {
        a.shape = Shape::GatewayFault;
        push(t, "fault.faultstring", f.get("faultstring"));
        push(t, "fault.detail.errorcode", f.pointer("/detail/errorcode"));
    }
    for k in ["message", "Message", "error_message", "errorMessage"] {
        push(t, "message", v.get(k));
    }
    if t.is_empty()
        && a.code.is_empty()
        && let Some(map) = v.as_object()
    {
        // A JSON object of its own shape ({"exp": "token expired"}): its short string members.
        for (_, value) in map.iter().take(8) {
            if value
                .as_str()
                .is_some_and(|s| s.len() <= MAX_TEXT && s.contains(' '))
            {
                push(t, "JSON member", Some(value));
            }
        }
    }
    if a.shape == Shape::Empty {
        a.shape = if t.is_empty() && a.code.is_empty() {
            Shape::OtherJson
        } else {
            Shape::GatewayFault
        };
    }
    a.aadsts = v
        .get("error_codes")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .and_then(Value::as_u64);
    a.oracle = CernerError::parse(str_of(v, "error_uri"));
}

fn html_title(body: &str) -> Option<String> {
    let lower = body.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let open_end = start + lower[start..].find('>')? + 1;
    let close = open_end + lower[open_end..].find("</title")?;
    Some(excerpt(&body[open_end..close], 120))
}

/// Reduces an error answer to evidence. `www_authenticate` is the header's value, if any.
pub fn read(status: u16, www_authenticate: Option<&str>, body: &str) -> ErrorAnswer {
    let mut a = ErrorAnswer {
        status,
        shape: Shape::Empty,
        code: String::new(),
        texts: Vec::new(),
        aadsts: None,
        oracle: None,
    };
    let trimmed = body.trim_start_matches('\u{feff}').trim();
    match serde_json::from_str::<Value>(trimmed) {
        Ok(v @ Value::Object(_)) => from_json(&v, &mut a),
        Ok(_) => a.shape = Shape::OtherJson,
        Err(_) if trimmed.is_empty() => {}
        Err(_) if trimmed.starts_with('<') => {
            a.shape = Shape::Html;
            if let Some(title) = html_title(trimmed).filter(|t| !t.is_empty()) {
                a.texts.push(("HTML title", title));
            }
        }
        Err(_) => {
            a.shape = Shape::Text;
            a.texts.push(("body", excerpt(trimmed, MAX_TEXT)));
        }
    }
    if let Some(c) = www_authenticate.and_then(Challenge::parse) {
        if a.code.is_empty() {
            a.code = c.param("error").unwrap_or("").to_string();
        }
        if let Some(d) = c
            .param("error_description")
            .filter(|d| !d.trim().is_empty())
            && !a.texts.iter().any(|(_, t)| t == d)
        {
            a.texts
                .push(("WWW-Authenticate error_description", excerpt(d, MAX_TEXT)));
        }
    }
    if a.aadsts.is_none() {
        a.aadsts = a.texts.iter().find_map(|(_, t)| aadsts_in(t));
    }
    a
}

impl ErrorAnswer {
    /// Every human text, joined: what the lexicon reads.
    pub fn text(&self) -> String {
        self.texts
            .iter()
            .map(|(_, t)| t.as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    }

    /// The first text, for the `error_description` evidence line.
    pub fn description(&self) -> &str {
        self.texts.first().map(|(_, t)| t.as_str()).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_json_with_a_null_description_has_a_code_and_no_text() {
        let a = read(
            400,
            None,
            r#"{"error":"invalid_client","error_description":null}"#,
        );
        assert_eq!((a.shape, a.code.as_str()), (Shape::OAuth, "invalid_client"));
        assert!(a.texts.is_empty());
    }

    #[test]
    fn athenahealth_vendor_json_is_read_like_oauth() {
        let a = read(
            401,
            None,
            r#"{"status":"error","statusmessage":"invalid_client","description":"Invalid client_id: 0oa1. Contact FHIR Server Administrator."}"#,
        );
        assert_eq!(a.shape, Shape::VendorJson);
        assert_eq!(a.code, "invalid_client");
        assert!(a.text().starts_with("Invalid client_id"));
    }

    #[test]
    fn problem_details_operation_outcome_and_gateway_faults_give_their_text() {
        let p = read(
            401,
            None,
            r#"{"type":"about:blank","title":"Unauthorized","status":401,"detail":"The client secret has expired"}"#,
        );
        assert_eq!(p.shape, Shape::Problem);
        assert_eq!(
            p.texts[0],
            ("detail", "The client secret has expired".into())
        );
        let oo = read(
            403,
            None,
            r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","details":{"text":"Token lacks patient context"},"diagnostics":"no patient claim"}]}"#,
        );
        assert_eq!(oo.shape, Shape::OperationOutcome);
        assert_eq!(oo.text(), "Token lacks patient context | no patient claim");
        let f = read(
            401,
            None,
            r#"{"fault":{"faultstring":"Invalid access token","detail":{"errorcode":"oauth.v2.InvalidAccessToken"}}}"#,
        );
        assert_eq!(f.shape, Shape::GatewayFault);
        assert!(f.text().contains("Invalid access token"));
        let m = read(401, None, r#"{"message":"Unauthorized"}"#);
        assert_eq!(m.texts, [("message", "Unauthorized".to_string())]);
    }

    #[test]
    fn challenge_plain_text_and_html_title_are_read() {
        let c = read(
            401,
            Some(
                r#"Bearer realm="fhir", error="invalid_token", error_description="The access token expired""#,
            ),
            "",
        );
        assert_eq!(c.code, "invalid_token");
        assert_eq!(c.text(), "The access token expired");
        let t = read(401, None, "Client authentication failed: bad secret\n");
        assert_eq!(
            (t.shape, t.text().as_str()),
            (Shape::Text, "Client authentication failed: bad secret")
        );
        let h = read(
            502,
            None,
            "<html><head><TITLE>502 Bad Gateway</TITLE></head></html>",
        );
        assert_eq!(
            (h.shape, h.text().as_str()),
            (Shape::Html, "502 Bad Gateway")
        );
    }

    #[test]
    fn entra_codes_come_from_error_codes_or_any_text() {
        let a = read(
            401,
            None,
            r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}"#,
        );
        assert_eq!(a.aadsts, Some(7000215));
        let b = read(
            400,
            None,
            r#"{"message":"login failed: AADSTS50011: The redirect URI does not match"}"#,
        );
        assert_eq!(b.aadsts, Some(50011));
    }

    #[test]
    fn a_json_object_of_its_own_shape_gives_its_sentences() {
        // Kong's JWT plugin: {"exp":"token expired"}.
        let a = read(401, None, r#"{"exp":"token expired","id":401}"#);
        assert_eq!(a.texts, [("JSON member", "token expired".to_string())]);
    }

    #[test]
    fn a_json_body_with_a_bom_is_still_json() {
        let a = read(400, None, "\u{feff}{\"error\":\"invalid_grant\"}");
        assert_eq!(a.code, "invalid_grant");
    }
}
