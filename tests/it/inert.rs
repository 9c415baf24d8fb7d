//! A hostile EHR's text in `report.md`: rendered with a CommonMark parser (and again with every
//! extension pulldown-cmark knows), the download shows no heading, link, image or HTML the app
//! did not write, whichever field the text came in.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde_json::{Value, json};
use smart_launch_doctor::diagnosis::catalog::is_spec_url;
use smart_launch_doctor::practice::{CannedAnswer, Faults};

use crate::support::{Auth, TestApp, location};

/// What an attacker would put in any string field.
const INJECTION: &str = "x\r# INJECTED HEADING\r[Click to fix your app](https://evil.example/phish) <img src=x onerror=alert(1)>\n\n# SECOND\n```\n<script>alert(2)</script>\n![i](https://evil.example/i.png)\n[ref]: https://evil.example/ref\n<https://evil.example/auto> | a | b |\n|---|---|\n~~s~~ $x$ [^1] `` ` ``";

/// The elements a report may contain, checked on one rendering.
fn assert_inert(md: &str, options: Options, diagnoses: usize) {
    let mut heading: Option<(HeadingLevel, String)> = None;
    let mut h3 = 0;
    let mut h1 = 0;
    for event in Parser::new_ext(md, options) {
        match &event {
            Event::Html(h) | Event::InlineHtml(h) => panic!("raw HTML {h:?} in\n{md}"),
            Event::Start(Tag::Image { dest_url, .. }) => panic!("image {dest_url} in\n{md}"),
            Event::Start(Tag::Link { dest_url, .. }) => {
                assert!(is_spec_url(dest_url), "a link to {dest_url} in\n{md}")
            }
            Event::Start(Tag::Heading { level, .. }) => heading = Some((*level, String::new())),
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, text)) = heading.as_mut() {
                    text.push_str(t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                let (level, text) = heading.take().unwrap();
                match level {
                    HeadingLevel::H1 => {
                        h1 += 1;
                        assert!(text.starts_with("SMART launch report: "), "{text}");
                    }
                    HeadingLevel::H2 => assert!(
                        [
                            "Result",
                            "Diagnoses",
                            "Server scorecard",
                            "Reproduce",
                            "Requests ("
                        ]
                        .iter()
                        .any(|h| text.starts_with(h)),
                        "heading {text:?} in\n{md}"
                    ),
                    HeadingLevel::H3 => h3 += 1,
                    other => panic!("heading {other:?} {text:?} in\n{md}"),
                }
                assert!(
                    !text.contains("INJECTED") && !text.contains("SECOND"),
                    "{text}"
                );
            }
            Event::Start(
                Tag::Table(_)
                | Tag::FootnoteDefinition(_)
                | Tag::Strikethrough
                | Tag::HtmlBlock
                | Tag::MetadataBlock(_),
            )
            | Event::InlineMath(_)
            | Event::DisplayMath(_)
            | Event::FootnoteReference(_) => panic!("{event:?} in\n{md}"),
            _ => {}
        }
    }
    assert_eq!(h1, 1, "{md}");
    assert_eq!(h3, diagnoses, "one heading per diagnosis:\n{md}");
}

/// Runs one launch against the fake EHR with `faults` and checks its `report.md` (and the
/// `?reveal=patient` one) in both renderings; returns the JSON twin.
async fn launch_and_check(faults: Faults) -> Value {
    let app = TestApp::with_faults(Auth::Basic, faults).await;
    let (_, resp) = app.through_authorize(app.open_ehr_launch().await).await;
    let result = location(&resp);
    let (_, json) = app.get_json(&result).await;
    let diagnoses = json["diagnoses"].as_array().map_or(0, Vec::len);
    let mut reached = false;
    for page in [
        format!("{result}/report.md"),
        format!("{result}/report.md?reveal=patient"),
    ] {
        let md = app.get(&page).await.text().await.unwrap();
        reached |= md.contains("INJECTED");
        assert_inert(&md, Options::empty(), diagnoses);
        assert_inert(&md, Options::all(), diagnoses);
    }
    assert!(reached, "the hostile text reached report.md: {json:#}");
    json
}

#[tokio::test]
async fn an_authorization_error_full_of_markdown_stays_text_in_report_md() {
    let faults = Faults {
        authorize_error: Some((
            INJECTION.into(),
            Some(INJECTION.into()),
            Some("https://evil.example/phish".into()),
        )),
        ..Faults::default()
    };
    let json = launch_and_check(faults).await;
    assert_eq!(json["outcome"], "error", "{json:#}");
}

#[tokio::test]
async fn a_token_error_full_of_markdown_stays_text_in_report_md() {
    let faults = Faults {
        token_answer: Some(CannedAnswer {
            status: 400,
            headers: vec![("content-type".into(), "application/json".into())],
            body: json!({
                "error": INJECTION,
                "error_description": INJECTION,
                "error_uri": "https://evil.example/phish",
            })
            .to_string(),
        }),
        ..Faults::default()
    };
    let json = launch_and_check(faults).await;
    assert_eq!(json["outcome"], "error", "{json:#}");
}

#[tokio::test]
async fn discovery_arrays_names_and_context_ids_full_of_markdown_stay_text_in_report_md() {
    let faults = Faults {
        well_known_patch: vec![
            ("scopes_supported".into(), json!([INJECTION, "openid"])),
            ("capabilities".into(), json!([INJECTION, "launch-ehr"])),
            (
                "code_challenge_methods_supported".into(),
                json!([INJECTION]),
            ),
            (
                "token_endpoint_auth_methods_supported".into(),
                json!([INJECTION]),
            ),
        ],
        fhir_patch: vec![
            ("name".into(), json!([{"text": INJECTION}])),
            ("birthDate".into(), json!(INJECTION)),
        ],
        token_patch: vec![
            ("encounter".into(), Some(json!(INJECTION))),
            ("scope".into(), Some(json!(INJECTION))),
        ],
        ..Faults::default()
    };
    launch_and_check(faults).await;
}

#[tokio::test]
async fn a_successful_launch_renders_its_names_as_text() {
    let faults = Faults {
        fhir_patch: vec![("name".into(), json!([{"text": INJECTION}]))],
        ..Faults::default()
    };
    let json = launch_and_check(faults).await;
    assert_eq!(json["outcome"], "success", "{json:#}");
}
