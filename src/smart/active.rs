//! Active server probes (`active_probes = true` on a registration, never on by default): each
//! request is deliberate and labelled so in the transcript. Evidence only; the grading is
//! `diagnosis::conformance::active`.
//!
//! - an authorization request whose `aud` is not the server's FHIR base (must be refused);
//! - a second exchange of a code already exchanged (must fail), right after a real launch's;
//! - `Origin` sent to discovery and `/metadata` (CORS for browser apps).

use super::authorize::{self, AuthorizeParams};
use super::http::{Outbound, Recorder};
use super::token::{self, ClientCredentials, ExchangeError, Exchanged, Grant};
use super::transcript::ExchangeStep;

/// Transcript label of the foreign-`aud` authorize request.
pub const STEP_AUD: ExchangeStep = ExchangeStep::ActiveAud;
/// Transcript label of the practice EHR's sign-in followed for that request.
pub const STEP_AUD_LOGIN: ExchangeStep = ExchangeStep::ActiveAudLogin;
/// Transcript label of the replayed code exchange.
pub const STEP_REPLAY: ExchangeStep = ExchangeStep::ActiveReplay;
/// Transcript label of the CORS requests.
pub const STEP_CORS: ExchangeStep = ExchangeStep::ActiveCors;
/// The `aud` no server hosts (RFC 2606 `.invalid`).
pub const FOREIGN_AUD: &str = "https://rogue-resource-server.invalid/fhir";
/// The `Origin` a browser app would send.
pub const PROBE_ORIGIN: &str = "https://browser-app.invalid";

/// What the authorize endpoint answered to the foreign `aud`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AudAnswer {
    /// A redirect carrying a `code`: the foreign aud was accepted.
    Code,
    /// A redirect carrying `error` (its value), or a 4xx/5xx: refused.
    Refused(String),
    /// A page asking someone to sign in (the decision comes after it).
    LoginPage,
    /// Nothing we can read (no answer, another redirect): why.
    Unclear(String),
}

fn read_location(location: &str) -> AudAnswer {
    let query = url::Url::parse(location)
        .ok()
        .map(|u| u.query_pairs().into_owned().collect::<Vec<_>>())
        .unwrap_or_default();
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    match (get("code"), get("error")) {
        (_, Some(e)) => AudAnswer::Refused(format!("redirected with error={e}")),
        (Some(_), None) => AudAnswer::Code,
        (None, None) => AudAnswer::Unclear(format!(
            "redirected without code or error (to {})",
            location.split('?').next().unwrap_or("")
        )),
    }
}

/// The value of hidden input `name` in `html`.
fn hidden(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[at..];
    let v = rest.find("value=\"")? + 7;
    let end = rest[v..].find('"')?;
    Some(rest[v..v + end].replace("&amp;", "&"))
}

/// Sends an authorization request with `aud` = [`FOREIGN_AUD`] and reads the first answer;
/// `login` is the practice EHR's sign-in form URL, followed (approving) only when given.
pub async fn foreign_aud(
    http: &Outbound,
    p: &AuthorizeParams<'_>,
    login: Option<&str>,
    rec: &Recorder,
) -> AudAnswer {
    let params = AuthorizeParams {
        aud: FOREIGN_AUD,
        launch: None,
        ..*p
    };
    let url = match authorize::build(&params) {
        Ok(r) => r.url,
        Err(why) => return AudAnswer::Unclear(why),
    };
    let resp = match http.get(&url, "text/html", STEP_AUD, rec).await {
        Ok(r) => r,
        Err(e) => return AudAnswer::Unclear(e.to_string()),
    };
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(location) = location.filter(|_| (300..400).contains(&status)) {
        return read_location(&location);
    }
    if status >= 400 {
        return AudAnswer::Refused(format!("answered {status}"));
    }
    let html = String::from_utf8_lossy(resp.body()).into_owned();
    let (Some(login), Some(pending)) = (login, hidden(&html, "pending")) else {
        return AudAnswer::LoginPage;
    };
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("pending", &pending)
        .append_pair("decision", "approve")
        .finish();
    let req = http::Request::post(login)
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body.into_bytes());
    let Ok(req) = req else {
        return AudAnswer::LoginPage;
    };
    match http.send(req, STEP_AUD_LOGIN, rec).await {
        Ok(r) => match r.headers().get(http::header::LOCATION) {
            Some(l) => read_location(l.to_str().unwrap_or("")),
            None if r.status().as_u16() >= 400 => {
                AudAnswer::Refused(format!("sign-in answered {}", r.status().as_u16()))
            }
            None => AudAnswer::LoginPage,
        },
        Err(e) => AudAnswer::Unclear(e.to_string()),
    }
}

/// The same code exchanged a second time, authenticated as the real exchange was.
pub async fn replay_code(
    http: &Outbound,
    c: &ClientCredentials<'_>,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
    rec: &Recorder,
) -> Result<Exchanged, ExchangeError> {
    let grant = Grant::Code {
        code,
        verifier,
        redirect_uri,
    };
    token::request(http, c, &grant, STEP_REPLAY, rec).await
}

/// `GET url` with an `Origin`: the `Access-Control-Allow-Origin` answered (`None` without one),
/// or why there was no answer.
pub async fn cors(http: &Outbound, url: &str, rec: &Recorder) -> Result<Option<String>, String> {
    let req = http::Request::get(url)
        .header(http::header::ACCEPT, "application/json")
        .header(http::header::ORIGIN, PROBE_ORIGIN)
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    let resp = http
        .send(req, STEP_CORS, rec)
        .await
        .map_err(|e| e.to_string())?;
    Ok(resp
        .headers()
        .get(http::header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_is_read_by_its_code_or_error() {
        assert_eq!(
            read_location("https://app/cb?code=x&state=s"),
            AudAnswer::Code
        );
        assert!(matches!(
            read_location("https://app/cb?error=invalid_request&state=s"),
            AudAnswer::Refused(_)
        ));
        assert!(matches!(
            read_location("https://app/cb"),
            AudAnswer::Unclear(_)
        ));
        assert_eq!(
            hidden(
                r#"<input type="hidden" name="pending" value="a&amp;b">"#,
                "pending"
            ),
            Some("a&b".into())
        );
    }
}
