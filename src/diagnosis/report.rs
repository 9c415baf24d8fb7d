//! Exports of a launch: a reproducible `curl` for the failing request (secrets as shell
//! variables) and a Markdown report for a support forum. Built from the redacted record only, so
//! neither can carry a secret.

use std::fmt::Write as _;

use super::Diagnosis;
use super::launch_report::LaunchReport;
use super::markdown::{code, fenced, spec_link, text};
use super::transcript::{Exchange, ExchangeStep};
use crate::record::LaunchRecord;

/// Form fields whose values become shell variables in the `curl`.
const PLACEHOLDERS: &[(&str, &str)] = &[
    ("client_secret", "$CLIENT_SECRET"),
    ("code", "$CODE"),
    ("code_verifier", "$CODE_VERIFIER"),
    ("client_assertion", "$CLIENT_ASSERTION"),
    ("refresh_token", "$REFRESH_TOKEN"),
];

/// Single-quotes `s` for a POSIX shell.
fn sh(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The exchange a `curl` should reproduce: the last one that failed, else the last one. An
/// id_token that failed its checks came in the token response: that request, unless fetching
/// the id_token's keys or configuration is what failed (a later style or FHIR read is not it).
pub fn failing_exchange(r: &LaunchRecord) -> Option<&Exchange> {
    let failed = |x: &&Exchange| x.error.is_some() || x.status.is_none_or(|s| s >= 300);
    let mut all = r.transcript().iter().rev();
    if r.step() == crate::smart::Step::IdToken {
        return all
            .clone()
            .find(|x| x.step == ExchangeStep::IdToken && failed(x))
            .or_else(|| all.find(|x| x.step == ExchangeStep::Token));
    }
    all.clone().find(failed).or(r.transcript().last())
}

/// A `curl` command line reproducing `x`; redacted values become `$VARIABLES`.
pub fn curl(x: &Exchange) -> String {
    let mut out = String::new();
    let mut vars = Vec::new();
    let _ = write!(out, "curl -i -X {} {}", x.method, sh(&x.url));
    for (name, value) in &x.request_headers {
        match name.as_str() {
            "authorization" if value.starts_with("Basic ") => {
                vars.push("CLIENT_ID_ENC and CLIENT_SECRET_ENC: the client id and secret, each form-urlencoded first (RFC 6749 §2.3.1)");
                out.push_str(" \\\n  -u \"$CLIENT_ID_ENC:$CLIENT_SECRET_ENC\"");
            }
            "authorization" => {
                vars.push("AUTHORIZATION: the Authorization header value");
                out.push_str(" \\\n  -H \"Authorization: $AUTHORIZATION\"");
            }
            "content-type" if x.request_body.is_some() => {}
            _ => {
                let _ = write!(out, " \\\n  -H {}", sh(&format!("{name}: {value}")));
            }
        }
    }
    if let Some(body) = &x.request_body {
        // The transcript keeps form bodies as `k=v&…` with values decoded and secrets redacted.
        for pair in body.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            // A client assertion is single use (fresh jti): the user must make a new one.
            match PLACEHOLDERS.iter().find(|(f, _)| *f == k) {
                Some((_, var)) => {
                    vars.push(var.trim_start_matches('$'));
                    let _ = write!(out, " \\\n  --data-urlencode \"{k}={var}\"");
                }
                None => {
                    let _ = write!(out, " \\\n  --data-urlencode {}", sh(&format!("{k}={v}")));
                }
            }
        }
    }
    if vars.is_empty() {
        return out;
    }
    let mut header = String::from("# Set first (never paste their values into a forum):\n");
    for v in vars {
        let _ = writeln!(header, "#   {v}");
    }
    header + &out
}

fn diagnosis_md(out: &mut String, d: &Diagnosis) {
    let sev = d.shown_as();
    let _ = writeln!(
        out,
        "### {} ({sev}): {}\n\n{}\n",
        code(d.id().as_str()),
        text(d.title()),
        text(&d.summary)
    );
    if !d.evidence.is_empty() {
        out.push_str("Evidence:\n\n");
        for e in &d.evidence {
            let _ = writeln!(out, "- {}: {}", text(&e.label), code(&e.value));
        }
        out.push('\n');
    }
    for (title, list) in [
        ("Likely causes, most frequent first", d.causes()),
        ("Fix", d.fixes()),
    ] {
        if !list.is_empty() {
            let _ = writeln!(out, "{title}:\n");
            for (i, c) in list.iter().enumerate() {
                let _ = writeln!(out, "{}. {}", i + 1, text(c));
            }
            out.push('\n');
        }
    }
    for s in d.spec_refs() {
        let _ = writeln!(out, "- Rule: {}", spec_link(s.label, s.url));
    }
    out.push('\n');
}

/// Said instead of a person in a shared report (no name, no reference).
const NOT_NAMED: &str = "not named in a shared report";

/// What a successful launch established: granted scopes, patient, identity; a `shared` report
/// names no person, not even by reference.
fn outcome_md(out: &mut String, r: &LaunchRecord, shared: bool) {
    out.push_str("## Result\n\n");
    let token = r.token();
    let _ = writeln!(out, "- Granted scope: {}", code(r.granted_scope()));
    let patient = match (&r.patient(), token.and_then(|t| t.patient.as_deref())) {
        (Some(_), _) | (None, Some(_)) if shared => format!("the patient in context ({NOT_NAMED})"),
        // Without a name (the read gave none) the reference is said once.
        (Some(p), _) => match (&p.name, &p.birth_date) {
            (Some(name), Some(b)) => {
                format!("{}, born {} ({})", text(name), text(b), code(&p.reference))
            }
            (Some(name), None) => format!("{} ({})", text(name), code(&p.reference)),
            (None, Some(b)) => format!("{}, born {}", code(&p.reference), text(b)),
            (None, None) => code(&p.reference),
        },
        (None, Some(id)) => code(id),
        (None, None) => "none".into(),
    };
    let _ = writeln!(out, "- Patient in context: {patient}");
    if let Some(e) = token.and_then(|t| t.encounter.as_deref()) {
        let e = if shared {
            format!("the encounter in context ({NOT_NAMED})")
        } else {
            code(e)
        };
        let _ = writeln!(out, "- Encounter in context: {e}");
    }
    let identity = match &r.identity() {
        Some(i) => {
            let who = match &i.user {
                Some(u) if shared => format!(
                    "the signed-in user ({}; {NOT_NAMED})",
                    text(&u.resource_type)
                ),
                None if shared && i.id_token.fhir_user.is_some() => {
                    format!("the signed-in user ({NOT_NAMED})")
                }
                Some(u) => format!(
                    "{} ({})",
                    u.name
                        .as_deref()
                        .map(text)
                        .unwrap_or_else(|| code(&u.reference)),
                    text(&u.resource_type)
                ),
                None => i
                    .id_token
                    .fhir_user
                    .as_deref()
                    .map(code)
                    .unwrap_or_else(|| "unknown (no fhirUser)".into()),
            };
            let verified = if i.id_token.verified {
                "id_token verified"
            } else {
                "id_token NOT verified"
            };
            format!("{who}; {verified}")
        }
        None => "no id_token".into(),
    };
    let _ = writeln!(out, "- Signed in as: {identity}\n");
}

/// The launch as Markdown, for a support forum or a ticket. Inert: every value that did not come
/// from this app is a code span or escaped text (see [`super::markdown`]); links go only to
/// catalogue spec URLs.
pub fn markdown(report: &LaunchReport, when: &str) -> String {
    let mut out = String::new();
    let (r, diagnoses) = (report.record(), report.diagnoses());
    let outcome = match report.outcome() {
        crate::record::Outcome::Success if report.refresh_failed() => {
            "succeeded; the last token refresh failed".to_string()
        }
        crate::record::Outcome::Success => "succeeded".to_string(),
        crate::record::Outcome::Error => format!("failed at the {} step", report.step().as_str()),
        crate::record::Outcome::Pending => "is waiting for the callback".to_string(),
    };
    let _ = writeln!(
        out,
        "# SMART launch report: {}: launch {outcome}\n\n**{}.** {}\n",
        text(&r.app().name),
        text(report.headline()),
        text(report.plain())
    );
    // Our own `2026-12-07 01:22:08 UTC`: nothing in it starts Markdown (escaping its colons
    // only showed backslashes in renderers that keep them).
    let _ = writeln!(out, "- Started: {when}");
    let _ = writeln!(out, "- FHIR base (iss, aud): {}", code(&r.app().iss));
    let _ = writeln!(
        out,
        "- Client id: {} ({})",
        code(&r.app().client_id),
        r.app().auth.as_str()
    );
    let _ = writeln!(out, "- redirect_uri: {}", code(r.redirect_uri()));
    let _ = writeln!(out, "- Requested scope: {}", code(r.requested_scope()));
    if let Some(e) = &r.endpoints() {
        let _ = writeln!(
            out,
            "- Token endpoint (discovered, from {}): {}",
            text(&e.source),
            code(&e.token_endpoint)
        );
    }
    let refresh = report.failed_refresh_diagnoses();
    let ids: Vec<String> = report.listed_ids().into_iter().map(code).collect();
    let _ = writeln!(
        out,
        "- Diagnoses: {}\n",
        if ids.is_empty() {
            "none".into()
        } else {
            ids.join(", ")
        }
    );
    if report.outcome() == crate::record::Outcome::Success {
        outcome_md(&mut out, r, report.shared());
    }
    // A failed last refresh is what went wrong last: said first, as the lists name it.
    if !refresh.is_empty() {
        out.push_str("## Last token refresh (failed)\n\n");
        for d in refresh {
            diagnosis_md(&mut out, d);
        }
    }
    if !diagnoses.is_empty() {
        out.push_str("## Diagnoses\n\n");
        for d in diagnoses {
            diagnosis_md(&mut out, d);
        }
    }
    let checks = r.conformance();
    if !checks.is_empty() {
        let passed = checks.iter().filter(|c| c.passed).count();
        let untested = checks.iter().filter(|c| c.is_not_tested()).count();
        let _ = writeln!(
            out,
            "## Server scorecard\n\n{passed} of {} SMART App Launch 2.2 / Inferno checks passed ({untested} not tested).\n",
            checks.len()
        );
        for c in checks.iter().filter(|c| c.failed()) {
            let _ = writeln!(
                out,
                "- Failed {}: {} ({})",
                code(c.id.as_str()),
                text(&c.detail),
                spec_link("rule", &c.rule)
            );
        }
        out.push('\n');
    }
    // A success has no failing request to reproduce.
    if let Some(x) =
        failing_exchange(r).filter(|_| report.outcome() != crate::record::Outcome::Success)
    {
        out.push_str("## Reproduce\n\n");
        out.push_str(&fenced("sh", &curl(x)));
        out.push('\n');
    }
    out.push_str("## Requests (secrets redacted to length and a fingerprint: SHA-256 for tokens, HMAC with a key private to the server for everything else)\n\n");
    for x in r.transcript() {
        let status = x
            .status
            .map(|s| s.to_string())
            .unwrap_or_else(|| x.error.clone().unwrap_or_default());
        let _ = writeln!(
            out,
            "- {} {} {} → {} ({} ms)",
            text(x.step.as_str()),
            text(&x.method),
            code(&x.url),
            text(&status),
            x.duration_ms
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange() -> Exchange {
        Exchange {
            step: crate::smart::transcript::ExchangeStep::Token,
            method: "POST".into(),
            url: "https://ehr.example/token".into(),
            request_headers: vec![
                ("content-type".into(), "application/x-www-form-urlencoded".into()),
                ("authorization".into(), "Basic [redacted: 20 chars, hmac 1234abcd]".into()),
            ],
            request_body: Some("grant_type=authorization_code&code=[redacted: 43 chars, hmac 0123abcd]&redirect_uri=http://127.0.0.1:8080/callback".into()),
            status: Some(401),
            response_headers: vec![],
            response_body: None,
            duration_ms: 3,
            error: None,
            cached: false,
        }
    }

    #[test]
    fn an_id_token_failure_reproduces_the_token_request_not_a_later_read() {
        let failed_at = |step: &str| -> LaunchRecord {
            serde_json::from_value(serde_json::json!({
                "id": "l1", "kind": "standalone",
                "app": {"id": "p", "name": "P", "iss": "https://ehr.example/fhir",
                        "client_id": "app", "auth": "none", "adhoc": false},
                "started_at": 1, "finished_at": 2, "outcome": "error", "step": step,
                "requested_scope": "openid", "redirect_uri": "https://sld.example/callback",
                "endpoints": null, "authorize_url": null,
                "diagnoses": [], "token_response": null, "transcript": [],
            }))
            .unwrap()
        };
        let mut r = failed_at("id_token");
        let token = Exchange {
            status: Some(200),
            ..exchange()
        };
        let style = Exchange {
            step: crate::smart::transcript::ExchangeStep::Style,
            method: "GET".into(),
            url: "https://ehr.example/style.json".into(),
            status: Some(404),
            ..exchange()
        };
        r.transcribed([token.clone(), style.clone()]);
        assert_eq!(
            failing_exchange(&r).map(|x| x.url.as_str()),
            Some("https://ehr.example/token")
        );
        let mut r = failed_at("fhir");
        r.transcribed([token, style]);
        assert_eq!(
            failing_exchange(&r).map(|x| x.url.as_str()),
            Some("https://ehr.example/style.json")
        );
    }

    #[test]
    fn curl_uses_variables_for_secrets_and_keeps_the_rest() {
        let c = curl(&exchange());
        assert!(
            c.contains("-u \"$CLIENT_ID_ENC:$CLIENT_SECRET_ENC\""),
            "{c}"
        );
        assert!(c.contains("--data-urlencode \"code=$CODE\""), "{c}");
        assert!(
            c.contains("--data-urlencode 'redirect_uri=http://127.0.0.1:8080/callback'"),
            "{c}"
        );
        assert!(!c.contains("redacted"), "{c}");
    }

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(sh("it's"), r"'it'\''s'");
    }
}
