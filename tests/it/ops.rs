//! Running it for a hospital: metrics, the support view, PHI kept to its owner, safe defaults.

use std::collections::HashSet;

use reqwest::{StatusCode, header};
use serde_json::Value;
use smart_launch_doctor::metrics::FIXED_LABEL_VALUES;
use smart_launch_doctor::practice::Faults;

use crate::support::{Auth, Setup, TestApp, browser, error_ids, location};

/// Names and birth dates the fake puts in context: Dr. Adele Smith signs in, Amy Shaw (born
/// 1987-02-20) is the standalone launch's patient.
/// (Four letters at least: a shorter name could occur by chance in a random id.)
const PEOPLE: &[&str] = &["Adele", "Smith", "Shaw", "1987-02-20"];

fn assert_no_people(what: &str, text: &str) {
    for p in PEOPLE {
        assert!(!text.contains(p), "{what} shows {p:?}: {text}");
    }
}

/// A standalone launch by `b` (any browser) ending on the callback: (result path, the
/// callback's request id).
async fn launch_with(app: &TestApp, b: &reqwest::Client) -> (String, String) {
    let r = b.get(app.url("/standalone/app")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = b.get(location(&r)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND, "authorize");
    let r = b.get(location(&r)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "callback");
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    (location(&r), id)
}

async fn json_of(b: &reqwest::Client, url: &str) -> (StatusCode, Value) {
    let r = b
        .get(url)
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

fn catalogue_ids() -> HashSet<String> {
    smart_launch_doctor::diagnosis::catalogue_doc::json()["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect()
}

/// Every `name{k="v",…} value` line of an exposition, as (name, labels).
fn samples(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (name, rest) = match line.split_once('{') {
            Some((n, rest)) => (n.to_string(), rest.rsplit_once('}').unwrap().0.to_string()),
            None => (line.split(' ').next().unwrap().to_string(), String::new()),
        };
        let mut labels = Vec::new();
        let mut rest = rest.as_str();
        while let Some((k, after)) = rest.split_once("=\"") {
            let end = after.find('"').expect("closing quote");
            labels.push((
                k.trim_start_matches(',').to_string(),
                after[..end].to_string(),
            ));
            rest = &after[end + 1..];
        }
        out.push((name, labels));
    }
    out
}

#[tokio::test]
async fn metrics_count_both_outcomes_with_bounded_labels() {
    let app = TestApp::start(Setup {
        extra_toml: "metrics = true".into(),
        ..Setup::new(Auth::Basic)
    })
    .await;
    let ok = app.standalone_result().await;
    assert_eq!(ok["outcome"], "success", "{ok:#}");
    app.ehr.ehr.set_faults(Faults {
        token_error: Some((401, r#"{"error":"invalid_client"}"#.into())),
        ..Faults::default()
    });
    let failed = app.standalone_result().await;
    assert_eq!(failed["outcome"], "error");
    let failure = error_ids(&failed)[0].clone();
    // An error page with no launch behind it counts its diagnosis under "none".
    let (status, page) = app.get_json("/callback?state=matches-nothing&code=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let page_id = crate::support::diagnosis_ids(&page)[0].clone();

    let resp = app.get("/metrics").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = resp.text().await.unwrap();
    for expected in [
        "sld_launches_started_total{registration=\"app\",kind=\"standalone\"} 2".to_string(),
        "sld_launches_finished_total{registration=\"app\",kind=\"standalone\",outcome=\"success\",step=\"fhir\"} 1".to_string(),
        "outcome=\"error\",step=\"token\"} 1".to_string(),
        format!("sld_diagnoses_total{{id=\"{failure}\",severity=\"error\",registration=\"app\"}} 1"),
        "sld_upstream_exchanges_total{step=\"discovery\",result=\"2xx\"}".to_string(),
        "sld_upstream_exchanges_total{step=\"token\",result=\"2xx\"} 1".to_string(),
        "sld_upstream_exchanges_total{step=\"token\",result=\"4xx\"} 1".to_string(),
        "sld_upstream_duration_seconds_bucket{step=\"token\",le=".to_string(),
        format!("sld_diagnoses_total{{id=\"{page_id}\",severity=\"error\",registration=\"none\"}} 1"),
    ] {
        assert!(text.contains(&expected), "missing {expected}:\n{text}");
    }

    // Every label value is a registration id, a catalogue id, a fixed value or a bucket bound.
    let registrations: HashSet<String> = app
        .state
        .config
        .registrations
        .iter()
        .map(|r| r.id.clone())
        .collect();
    let catalogue = catalogue_ids();
    let all = samples(&text);
    assert!(all.len() > 10, "{text}");
    for (name, labels) in all {
        for (k, v) in labels {
            let fine = registrations.contains(&v)
                || catalogue.contains(&v)
                || FIXED_LABEL_VALUES.contains(&v.as_str())
                || (k == "le" && (v == "+Inf" || v.parse::<f64>().is_ok()));
            assert!(fine, "{name}: label {k}={v:?} is free text");
        }
    }
}

#[tokio::test]
async fn metrics_are_off_by_default_and_stay_off_the_main_listener_with_metrics_listen() {
    // `/probe` starts outbound requests and answers metrics: it lives where `/metrics` does.
    let probe = "/probe?registration=app";
    let off = TestApp::start(Setup::new(Auth::None)).await;
    assert_eq!(off.get("/metrics").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(off.get(probe).await.status(), StatusCode::NOT_FOUND);
    assert!(off.ehr.ehr.requests().is_empty(), "/probe went out");

    let own = TestApp::start(Setup {
        extra_toml: "metrics = true\nmetrics_listen = \"127.0.0.1:1\"".into(),
        ..Setup::new(Auth::None)
    })
    .await;
    assert_eq!(own.get("/metrics").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(own.get(probe).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(own.standalone_result().await["outcome"], "success");
    // The router main.rs serves on metrics_listen.
    let router = smart_launch_doctor::web::ops::metrics_router(own.state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let text = browser()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("# TYPE sld_launches_started_total counter"),
        "{text}"
    );
    let text = browser()
        .get(format!("http://{addr}{probe}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("sld_probe_success{registration=\"app\"}"),
        "{text}"
    );
    let other = browser()
        .get(format!("http://{addr}/admin/launches"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
}

const TOKEN: &str = "support-token-for-the-tests-0123";

/// An app with the support view on (its token in a variable of this test's own name).
/// The support list of `app` as JSON, asked for with the token.
async fn support_list(app: &TestApp) -> Value {
    let r = browser()
        .get(app.url("/admin/launches?format=json"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// One field of every row of a support list, in its order.
fn column<'a>(list: &'a Value, field: &str) -> Vec<&'a str> {
    list["launches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l[field].as_str().unwrap())
        .collect()
}

async fn with_support_view(var: &str, extra: &str) -> TestApp {
    // SAFETY: nextest runs every test in its own process; the variable is this test's own.
    unsafe { std::env::set_var(var, TOKEN) };
    TestApp::start(Setup {
        extra_toml: format!("admin_token_env = \"{var}\"\n{extra}"),
        ..Setup::new(Auth::Basic)
    })
    .await
}

#[tokio::test]
async fn the_support_view_needs_the_token_and_shows_no_people() {
    let off = TestApp::start(Setup::new(Auth::None)).await;
    assert_eq!(
        off.get("/admin/launches").await.status(),
        StatusCode::NOT_FOUND
    );

    let app = with_support_view("SLD_TEST_ADMIN_TOKEN_A", "").await;
    // Two browsers, one launch each; the owner sees the patient, as before.
    let (first, first_rid) = launch_with(&app, &app.browser).await;
    let (owner_status, owner) = json_of(&app.browser, &app.url(&first)).await;
    assert_eq!(owner_status, StatusCode::OK);
    assert_eq!(owner["outcome"], "success", "{owner:#}");
    assert!(
        owner.to_string().contains("Amy Shaw"),
        "the owner sees the patient"
    );
    assert_eq!(owner["request_id"], first_rid.as_str());
    let other = browser();
    let (second, second_rid) = launch_with(&app, &other).await;
    assert_ne!(first_rid, second_rid);

    // Without the token, or with another: 401, as a page and as JSON.
    let support = browser();
    let r = support
        .get(app.url("/admin/launches"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
    assert!(r.text().await.unwrap().contains("/admin/login"));
    let (status, json) = json_of(&support, &app.url("/admin/launches")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json["error"]["status"], 401);
    let wrong = support
        .get(app.url(&format!("/admin/launches/{}", &first["/launches/".len()..])))
        .bearer_auth("support-token-for-the-tests-0124")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_no_people("a 401", &wrong.text().await.unwrap());

    // With it: both browsers' launches, no patient or user details.
    let list = support
        .get(app.url("/admin/launches"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), StatusCode::OK);
    let html = list.text().await.unwrap();
    assert!(
        html.contains(&first_rid) && html.contains(&second_rid),
        "{html}"
    );
    assert_no_people("the support list", &html);
    let json = support_list(&app).await;
    let ids = column(&json, "id");
    assert!(ids.contains(&&first["/launches/".len()..]), "{json:#}");
    assert!(ids.contains(&&second["/launches/".len()..]), "{json:#}");
    assert_eq!(
        json["launches"][0]["request_id"],
        second_rid.as_str(),
        "newest first"
    );
    assert_eq!(json["launches"][0]["registration"], "app");
    assert_eq!(json["launches"][0]["outcome"], "success");
    assert_no_people("the support list's JSON", &json.to_string());

    // Search by the request id the user reads off their page.
    let found: Value = support
        .get(app.url(&format!(
            "/admin/launches?format=json&request_id={second_rid}"
        )))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["launches"].as_array().unwrap().len(), 1, "{found:#}");
    assert_eq!(found["launches"][0]["request_id"], second_rid.as_str());

    // The developer view of another browser's launch: transcript yes, people no.
    for accept in ["text/html", "application/json"] {
        let one = support
            .get(app.url(&format!("/admin{first}")))
            .bearer_auth(TOKEN)
            .header(header::ACCEPT, accept)
            .send()
            .await
            .unwrap();
        assert_eq!(one.status(), StatusCode::OK);
        let text = one.text().await.unwrap();
        assert!(text.contains("/token"), "the transcript is shown: {text}");
        assert!(text.contains(&first_rid));
        assert_no_people("the developer view", &text);
        assert!(!text.contains(crate::support::TRICKY_SECRET));
    }
    let missing = support
        .get(app.url("/admin/launches/nope"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

/// The support list says "Started": rows go newest start first, however recently a record
/// was written (a refresh or a settle rewrites an older launch), as a page and as JSON.
#[tokio::test]
async fn the_support_list_is_in_start_order_not_write_order() {
    let app = with_support_view("SLD_TEST_ADMIN_TOKEN_ORDER", "").await;
    let (older, _) = launch_with(&app, &app.browser).await;
    let (newer, _) = launch_with(&app, &browser()).await;
    let (older, newer) = (&older["/launches/".len()..], &newer["/launches/".len()..]);
    // The older launch is written again (as a refresh would), an hour earlier than the other.
    let stored = app.state.store.launch(older).await.unwrap().unwrap();
    let mut v = serde_json::to_value(stored.as_ref()).unwrap();
    let newer_start = app.state.store.launch(newer).await.unwrap().unwrap();
    let newer_start = serde_json::to_value(newer_start.as_ref()).unwrap()["started_at"].clone();
    v["started_at"] = (newer_start.as_i64().unwrap() - 3600).into();
    let rewritten = serde_json::from_value(v).unwrap();
    app.state.store.put_launch(&rewritten).await.unwrap();

    let json = support_list(&app).await;
    let ids = column(&json, "id");
    assert_eq!(ids, [newer, older], "newest start first: {json:#}");
    let html = browser()
        .get(app.url("/admin/launches"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = |id: &str| html.find(&format!("/admin/launches/{id}")).unwrap();
    assert!(at(newer) < at(older), "newest start first: {html}");
}

#[tokio::test]
async fn the_sign_in_form_sets_a_strict_admin_cookie() {
    let app = with_support_view("SLD_TEST_ADMIN_TOKEN_B", "").await;
    let (status, twin) = json_of(&browser(), &app.url("/admin/login")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(twin["login"]["action"], "/admin/login");
    let b = browser();
    let form = b.get(app.url("/admin/login")).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let page = form.text().await.unwrap();
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let post = |token: &'static str, csrf: String| {
        let b = b.clone();
        let url = app.url("/admin/login");
        async move {
            b.post(url)
                .form(&[("csrf", csrf.as_str()), ("token", token)])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        post(TOKEN, "x".repeat(22)).await.status(),
        StatusCode::FORBIDDEN,
        "CSRF token checked"
    );
    let wrong = post("not-the-token-at-all-xxxxxxxx", csrf.clone()).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get(header::SET_COOKIE).is_none());
    let ok = post(TOKEN, csrf.clone()).await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let cookie = ok.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("sld_admin="), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains(TOKEN), "the cookie is not the token");
    let list = b.get(app.url("/admin/launches")).send().await.unwrap();
    assert_eq!(list.status(), StatusCode::OK);
    // The cookie is not sent outside /admin and opens nothing else. Signing out is a form with
    // the CSRF token, like signing in.
    let view = list.text().await.unwrap();
    let out = b
        .post(app.url("/admin/logout"))
        .form(&[("csrf", hidden_csrf(&view).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let after = b.get(app.url("/admin/launches")).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

/// Signs in with a fresh browser; the `sld_admin` value set.
async fn sign_in(app: &TestApp) -> String {
    let b = browser();
    let form = b.get(app.url("/admin/login")).send().await.unwrap();
    let page = form.text().await.unwrap();
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let ok = b
        .post(app.url("/admin/login"))
        .form(&[("csrf", csrf.as_str()), ("token", TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let set = ok.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(set.contains("Max-Age=28800"), "{set}");
    set.strip_prefix("sld_admin=")
        .and_then(|s| s.split(';').next())
        .unwrap()
        .to_string()
}

/// The value of a page's hidden `csrf` field.
fn hidden_csrf(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a form with the CSRF token")
        .to_string()
}

/// The status of `/admin/launches` for a cookie-less client sending `sld_admin=value`.
async fn list_with_cookie(app: &TestApp, value: &str) -> StatusCode {
    reqwest::Client::new()
        .get(app.url("/admin/launches?format=json"))
        .header(header::COOKIE, format!("sld_admin={value}"))
        .send()
        .await
        .unwrap()
        .status()
}

/// A cookie value as the server would issue it at `issued` (Unix seconds), signed with `token`.
fn crafted(token: &str, issued: u64, nonce: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, token.as_bytes());
    let mut ctx = aws_lc_rs::hmac::Context::with_key(&key);
    ctx.update(b"smart-launch-doctor support view cookie v2");
    ctx.update(format!("|{issued}|{nonce}").as_bytes());
    format!("v2.{issued}.{nonce}.{}", B64.encode(ctx.sign().as_ref()))
}

#[tokio::test]
async fn each_sign_in_gets_its_own_cookie_refused_after_logout_or_8_hours() {
    let app = with_support_view("SLD_TEST_ADMIN_TOKEN_F", "").await;
    let (one, two) = (sign_in(&app).await, sign_in(&app).await);
    assert_ne!(one, two, "two sign-ins, two values");
    assert_eq!(list_with_cookie(&app, &one).await, StatusCode::OK);
    assert_eq!(list_with_cookie(&app, &two).await, StatusCode::OK);

    // Signing out revokes that value on the server, even when replayed from elsewhere.
    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let view = bare
        .get(app.url("/admin/launches"))
        .header(header::COOKIE, format!("sld_admin={one}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_csrf(&view);
    let out = bare
        .post(app.url("/admin/logout"))
        .header(header::COOKIE, format!("sld_admin={one}; sld_csrf={csrf}"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(
        out.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(list_with_cookie(&app, &one).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        list_with_cookie(&app, &two).await,
        StatusCode::OK,
        "only that one"
    );

    // The format as crafted here is the server's: a fresh value signed with the token opens it.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let nonce = "Y3JhZnRlZC1pbi10aGUtdGVzdA";
    assert_eq!(
        list_with_cookie(&app, &crafted(TOKEN, now - 60, nonce)).await,
        StatusCode::OK
    );
    // Expired (issued 8 hours and a minute ago), though correctly signed: 401.
    let old = crafted(TOKEN, now - 8 * 3600 - 60, nonce);
    assert_eq!(list_with_cookie(&app, &old).await, StatusCode::UNAUTHORIZED);
    // Forged: signed with another key, or a live value with its time moved: 401.
    let other_key = crafted("not-the-support-token-at-all", now - 60, nonce);
    assert_eq!(
        list_with_cookie(&app, &other_key).await,
        StatusCode::UNAUTHORIZED
    );
    let issued = two.split('.').nth(1).unwrap();
    let moved = two.replacen(issued, &(now + 3600).to_string(), 1);
    assert_eq!(
        list_with_cookie(&app, &moved).await,
        StatusCode::UNAUTHORIZED
    );
    // The value of the old format (an HMAC of a fixed label) opens nothing any more.
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, TOKEN.as_bytes());
    let v1: String = aws_lc_rs::hmac::sign(&key, b"smart-launch-doctor support view cookie v1")
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(list_with_cookie(&app, &v1).await, StatusCode::UNAUTHORIZED);

    // Bearer: the scheme in any case (RFC 7235), the token exact.
    for (auth, want) in [
        (format!("Bearer {TOKEN}"), StatusCode::OK),
        (format!("bearer {TOKEN}"), StatusCode::OK),
        (format!("BEARER {TOKEN}"), StatusCode::OK),
        (format!("Basic {TOKEN}"), StatusCode::UNAUTHORIZED),
        (format!("bearer {TOKEN}x"), StatusCode::UNAUTHORIZED),
    ] {
        let r = reqwest::Client::new()
            .get(app.url("/admin/launches?format=json"))
            .header(header::AUTHORIZATION, &auth)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want, "{}", auth.replace(TOKEN, "TOKEN"));
    }
}

#[tokio::test]
async fn reports_carry_no_patient_data_unless_the_owner_asks() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let (result, _) = launch_with(&app, &app.browser).await;
    let json = app
        .get(&format!("{result}/report.json"))
        .await
        .text()
        .await
        .unwrap();
    assert!(json.contains("\"outcome\": \"success\""), "{json}");
    assert_no_people("report.json", &json);
    let md = app
        .get(&format!("{result}/report.md"))
        .await
        .text()
        .await
        .unwrap();
    assert_no_people("report.md", &md);
    let revealed = app
        .get(&format!("{result}/report.json?reveal=patient"))
        .await
        .text()
        .await
        .unwrap();
    assert!(revealed.contains("Amy Shaw"), "{revealed}");
    // The sentences of the redacted downloads name no person, not even by reference; the
    // download with patient details (and the owner's own page) still name them.
    let shared: Value = serde_json::from_str(&json).unwrap();
    let sentence = shared["headline"].as_str().unwrap();
    assert_eq!(
        sentence,
        "Signed in as the signed-in user (Practitioner). Patient in context: the patient in context (not named in a shared report)."
    );
    let revealed: Value = serde_json::from_str(&revealed).unwrap();
    let named = revealed["headline"].as_str().unwrap();
    assert!(named.contains("Patient in context: Amy Shaw"), "{named}");
    let (_, page) = json_of(&app.browser, &app.url(&result)).await;
    assert_eq!(page["headline"], named);
    // The sentence as Markdown escapes it (`\(`, `\:`), unescaped.
    let lead = |md: &str| {
        md.lines()
            .find(|l| l.starts_with("**"))
            .unwrap()
            .replace('\\', "")
    };
    let result_lines = |md: &str| {
        md.split("## Result")
            .nth(1)
            .unwrap()
            .split("\n## ")
            .next()
            .unwrap()
            .to_string()
    };
    assert!(lead(&md).ends_with(sentence), "{md}");
    let lines = result_lines(&md);
    assert!(
        lines.contains(
            "- Patient in context: the patient in context (not named in a shared report)"
        ) && lines.contains(
            "- Signed in as: the signed-in user (Practitioner; not named in a shared report)"
        ),
        "{lines}"
    );
    for reference in ["patient-123", "Practitioner/"] {
        assert!(
            !lines.contains(reference) && !sentence.contains(reference),
            "{md}"
        );
    }
    let md_named = app
        .get(&format!("{result}/report.md?reveal=patient"))
        .await
        .text()
        .await
        .unwrap();
    assert!(lead(&md_named).ends_with(named), "{md_named}");
    assert!(
        result_lines(&md_named).contains("- Patient in context: Amy Shaw"),
        "{md_named}"
    );
}

#[tokio::test]
async fn sqlite_keeps_no_patient_data_or_tokens_in_clear_and_lists_recent_launches() {
    let dir = std::env::temp_dir().join(format!("sld-ops-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("sessions.db");
    let app = with_support_view(
        "SLD_TEST_ADMIN_TOKEN_C",
        &format!("session_store = \"sqlite://{}\"", db.display()),
    )
    .await;
    let (result, rid) = launch_with(&app, &app.browser).await;
    let (_, owner) = json_of(&app.browser, &app.url(&format!("{result}?reveal=tokens"))).await;
    assert_eq!(owner["outcome"], "success", "{owner:#}");
    assert!(
        owner.to_string().contains("Amy Shaw"),
        "read back and opened"
    );
    let access = owner["token_response"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let mut raw = Vec::new();
    for f in std::fs::read_dir(&dir).unwrap() {
        raw.extend(std::fs::read(f.unwrap().path()).unwrap());
    }
    let raw = String::from_utf8_lossy(&raw);
    assert!(raw.contains(&rid), "the record is in the database");
    assert_no_people("the SQLite file", &raw);
    assert!(!raw.contains(&access), "the access token is sealed");

    let list: Value = browser()
        .get(app.url("/admin/launches?format=json"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["launches"][0]["request_id"], rid.as_str(), "{list:#}");
}

/// The app on its own listener with a configuration of its own (the practice EHR on).
async fn serve(toml: &str) -> String {
    crate::support::practice_app::serve_practice(toml).await.0
}

#[tokio::test]
async fn the_practice_ehr_is_rate_limited_and_caps_bodies() {
    let base = serve("launch_rate_limit_per_minute = 1\nmetrics = true").await;
    let b = browser();
    let url = format!("{base}/practice/fhir/.well-known/smart-configuration");
    // One launch a minute allows the practice EHR eight requests.
    for i in 0..8 {
        let r = b.get(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "request {i}");
    }
    let r = b.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key(header::RETRY_AFTER));
    let metrics = b.get(format!("{base}/metrics")).send().await.unwrap();
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains("sld_rate_limited_total{scope=\"practice\"} 1"),
        "{text}"
    );

    let open = serve("launch_rate_limit_per_minute = 0").await;
    let big = format!("a={}", "x".repeat(100 * 1024));
    let r = b
        .post(format!("{open}/practice/auth/token"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

const BIN: &str = env!("CARGO_BIN_EXE_smart-launch-doctor");

/// A free loopback port (bound, then released).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Polls `url` until it answers (true) or `deadline` passes (false).
async fn answers_within(url: &str, deadline: std::time::Duration) -> bool {
    let end = std::time::Instant::now() + deadline;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    while std::time::Instant::now() < end {
        if client.get(url).send().await.is_ok() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

/// The real binary with `args`, in an empty directory (so no `smart-launch-doctor.toml` is
/// read), logs piped; waits for `/healthz` on `port`.
async fn binary(args: &[&str], port: u16) -> tokio::process::Child {
    let dir = std::env::temp_dir().join(format!("sld-ops-bin-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let child = tokio::process::Command::new(BIN)
        .args(args)
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let up = answers_within(
        &format!("http://127.0.0.1:{port}/healthz"),
        std::time::Duration::from_secs(30),
    )
    .await;
    assert!(up, "the binary started on {port}");
    child
}

async fn stderr_of(mut child: tokio::process::Child) -> String {
    use tokio::io::AsyncReadExt;
    child.start_kill().unwrap();
    let _ = child.wait().await;
    let mut out = String::new();
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut out).await.unwrap();
    }
    out
}

#[tokio::test]
async fn a_public_listen_address_serves_no_practice_ehr_unless_asked_and_then_warns() {
    let b = browser();
    let port = free_port();
    let public = binary(&["serve", "--listen", &format!("0.0.0.0:{port}")], port).await;
    let r = b
        .get(format!("http://127.0.0.1:{port}/practice/ehr"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "no practice EHR on 0.0.0.0"
    );
    let home = b
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !home.contains("/standalone/practice"),
        "no practice registration"
    );
    let logs = stderr_of(public).await;
    assert!(
        !logs.contains("practice_ehr = true on a non-loopback"),
        "{logs}"
    );

    let port = free_port();
    let local = binary(&["serve", "--listen", &format!("127.0.0.1:{port}")], port).await;
    let r = b
        .get(format!("http://127.0.0.1:{port}/practice/ehr"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the practice EHR on loopback");
    drop(local);

    let port = free_port();
    let dir = std::env::temp_dir().join(format!("sld-ops-cfg-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(&config, "practice_ehr = true\n").unwrap();
    let asked = binary(
        &[
            "serve",
            "--listen",
            &format!("0.0.0.0:{port}"),
            "--config",
            config.to_str().unwrap(),
        ],
        port,
    )
    .await;
    let r = b
        .get(format!("http://127.0.0.1:{port}/practice/ehr"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "asked for");
    let logs = stderr_of(asked).await;
    assert!(
        logs.contains("practice_ehr = true on a non-loopback"),
        "{logs}"
    );
}

/// SIGTERM while the token endpoint holds the exchange: the server stops accepting, the held
/// exchange completes when released, the browser gets its 303 and the process exits 0.
#[tokio::test]
async fn sigterm_during_a_slow_token_exchange_lets_it_finish_and_exits_0() {
    use axum::body::Bytes;
    use axum::http::HeaderMap;
    use std::sync::{Arc, Mutex};
    use tokio::sync::{Notify, mpsc};

    use smart_launch_doctor::practice::{self, ClientAuth, PracticeClient, PracticeOptions};

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    // The token endpoint: says when a request arrived, holds it until released, then passes it
    // to the fake EHR's real token endpoint.
    let (arrived_tx, mut arrived) = mpsc::channel::<()>(1);
    let release = Arc::new(Notify::new());
    let real_token = Arc::new(Mutex::new(String::new()));
    let answered = Arc::new(Mutex::new(0u16));
    let gate = {
        let (release, real_token, answered) =
            (release.clone(), real_token.clone(), answered.clone());
        axum::Router::new().route(
            "/token",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let (release, arrived_tx) = (release.clone(), arrived_tx.clone());
                let (real_token, answered) = (real_token.clone(), answered.clone());
                async move {
                    arrived_tx.send(()).await.unwrap();
                    release.notified().await;
                    let url = real_token.lock().unwrap().clone();
                    let mut req = reqwest::Client::new().post(url).body(body);
                    for (k, v) in &headers {
                        if k == header::CONTENT_TYPE || k == header::AUTHORIZATION {
                            req = req.header(k.as_str(), v.to_str().unwrap());
                        }
                    }
                    let resp = req.send().await.unwrap();
                    let status = resp.status();
                    *answered.lock().unwrap() = status.as_u16();
                    (
                        StatusCode::from_u16(status.as_u16()).unwrap(),
                        [(header::CONTENT_TYPE, "application/json")],
                        resp.text().await.unwrap(),
                    )
                }
            }),
        )
    };
    let gate_base = crate::support::upstream::serve(gate).await;
    let ehr = practice::spawn(PracticeOptions {
        clients: vec![PracticeClient {
            client_id: crate::support::CLIENT_ID.into(),
            auth: ClientAuth::None,
            redirect_uris: vec![format!("{base}/callback")],
        }],
        faults: Faults {
            well_known_patch: vec![(
                "token_endpoint".into(),
                Value::String(format!("{}/token", gate_base.trim_end_matches('/'))),
            )],
            ..Faults::default()
        },
        path_prefix: String::new(),
    })
    .await
    .unwrap();
    *real_token.lock().unwrap() = format!("{}auth/token", ehr.origin);
    let dir = std::env::temp_dir().join(format!("sld-ops-term-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    // The token endpoint is on another loopback port than the registered FHIR base: allowed
    // deliberately, as an on-premises EHR's other hosts would be.
    let registration = crate::support::config_toml(port, &ehr.fhir_base(), Auth::None, None)
        .replace("http_timeout_seconds = 3", "http_timeout_seconds = 60");
    let toml = format!("allow_private_hosts = [\"127.0.0.1\"]\n{registration}");
    std::fs::write(&config, toml).unwrap();
    let mut child = binary(
        &[
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--config",
            config.to_str().unwrap(),
        ],
        port,
    )
    .await;

    let b = browser();
    let r = b
        .get(format!("{base}/standalone/app"))
        .send()
        .await
        .unwrap();
    let r = b.get(location(&r)).send().await.unwrap();
    let callback = location(&r);
    let pending = tokio::spawn({
        let b = b.clone();
        async move { b.get(callback).send().await }
    });
    arrived.recv().await.unwrap();
    let pid = child.id().unwrap().to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    // Shutting down: new connections are refused while the exchange is still held.
    let end = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    while fresh.get(format!("{base}/healthz")).send().await.is_ok() {
        assert!(std::time::Instant::now() < end, "the server kept accepting");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(!pending.is_finished(), "the callback is still waiting");
    release.notify_one();
    let resp = pending.await.unwrap().unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&resp).starts_with("/launches/"),
        "{}",
        location(&resp)
    );
    assert_eq!(*answered.lock().unwrap(), 200, "the exchange completed");
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait())
        .await
        .expect("the process exits")
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn a_store_that_does_not_answer_is_counted() {
    let dead = format!("redis://127.0.0.1:{}", free_port());
    let base = serve(&format!("metrics = true\nsession_store = \"{dead}\"")).await;
    let b = browser();
    let r = b
        .get(format!("{base}/standalone/practice"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let text = b
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("sld_store_errors_total{store=\"session\"} 1"),
        "{text}"
    );
}

/// Redis: two instances, two browsers; the support view of either lists both launches, and
/// Redis holds no patient data or tokens in clear.
#[tokio::test]
#[ignore = "needs redis-server: tests/run.sh installs it"]
async fn redis_lists_recent_launches_of_every_instance_sealed() {
    use smart_launch_doctor::store::Kind;
    use tower_sessions_redis_store::fred::prelude::KeysInterface;

    let (_redis, url) = crate::sessions::redis().await;
    // SAFETY: nextest runs every test in its own process; the variable is this test's own.
    unsafe {
        std::env::set_var("SLD_TEST_ADMIN_TOKEN_D", TOKEN);
        std::env::set_var("SLD_TEST_SEALING_KEY_D", "ab".repeat(32));
    }
    let extra = format!(
        "session_store = \"{url}\"\nsealing_key_env = \"SLD_TEST_SEALING_KEY_D\"\nadmin_token_env = \"SLD_TEST_ADMIN_TOKEN_D\""
    );
    let one = TestApp::start(Setup {
        extra_toml: extra.clone(),
        ..Setup::new(Auth::Basic)
    })
    .await;
    let two = TestApp::start(Setup {
        extra_toml: extra.clone(),
        ..Setup::new(Auth::Basic)
    })
    .await;
    let (first, first_rid) = launch_with(&one, &one.browser).await;
    let (second, second_rid) = launch_with(&two, &two.browser).await;
    let list = support_list(&one).await;
    let rids = column(&list, "request_id");
    assert_eq!(rids, [second_rid.as_str(), first_rid.as_str()], "{list:#}");
    assert_no_people("the support list", &list.to_string());
    let (_, owner) = json_of(&one.browser, &one.url(&first)).await;
    assert!(
        owner.to_string().contains("Amy Shaw"),
        "opened for the owner"
    );
    let Kind::Redis(r) = &one.state.store.kind else {
        panic!("a Redis store")
    };
    for path in [&first, &second] {
        let raw: String = r
            .pool
            .get(format!("sld:launch:{}", &path["/launches/".len()..]))
            .await
            .unwrap();
        assert!(raw.contains("\"sealed\""), "{raw}");
        assert_no_people("the Redis value", &raw);
        // As a member name: `server.token_access_token` (a scorecard check id) may stay.
        assert!(!raw.contains("\"access_token\""), "tokens sealed: {raw}");
    }
}

#[tokio::test]
async fn sign_in_attempts_count_towards_the_rate_limit() {
    // SAFETY: nextest runs every test in its own process; the variable is this test's own.
    unsafe { std::env::set_var("SLD_TEST_ADMIN_TOKEN_E", TOKEN) };
    let base =
        serve("admin_token_env = \"SLD_TEST_ADMIN_TOKEN_E\"\nlaunch_rate_limit_per_minute = 1")
            .await;
    let b = browser();
    for _ in 0..3 {
        // The form itself is not limited.
        let form = b.get(format!("{base}/admin/login")).send().await.unwrap();
        assert_eq!(form.status(), StatusCode::OK);
    }
    let attempt = || {
        b.post(format!("{base}/admin/login"))
            .form(&[("csrf", "x"), ("token", "guess")])
            .send()
    };
    assert_eq!(attempt().await.unwrap().status(), StatusCode::FORBIDDEN);
    let limited = attempt().await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key(header::RETRY_AFTER));
}

/// The real binary at trace level through a whole launch (patient and user read, owner's page
/// shown): no log line names the patient or the user.
#[tokio::test]
async fn no_log_line_carries_patient_data_even_at_trace_level() {
    use smart_launch_doctor::practice::{self, ClientAuth, PracticeClient, PracticeOptions};

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let ehr = practice::spawn(PracticeOptions {
        clients: vec![PracticeClient {
            client_id: crate::support::CLIENT_ID.into(),
            auth: ClientAuth::None,
            redirect_uris: vec![format!("{base}/callback")],
        }],
        faults: Faults::default(),
        path_prefix: String::new(),
    })
    .await
    .unwrap();
    let dir = std::env::temp_dir().join(format!("sld-ops-log-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        crate::support::config_toml(port, &ehr.fhir_base(), Auth::None, None),
    )
    .unwrap();
    let log_path = dir.join("stderr.log");
    let mut child = tokio::process::Command::new(BIN)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--config",
        ])
        .arg(&config)
        .env("RUST_LOG", "trace")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    assert!(
        answers_within(
            &format!("{base}/healthz"),
            std::time::Duration::from_secs(30)
        )
        .await
    );
    let b = browser();
    let r = b
        .get(format!("{base}/standalone/app"))
        .send()
        .await
        .unwrap();
    let r = b.get(location(&r)).send().await.unwrap();
    let r = b.get(location(&r)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, owner) = json_of(&b, &format!("{base}{}", location(&r))).await;
    assert!(owner.to_string().contains("Amy Shaw"), "{owner:#}");
    child.start_kill().unwrap();
    let _ = child.wait().await;
    let logs = std::fs::read_to_string(&log_path).unwrap();
    assert!(logs.contains("launch finished"), "logs were captured");
    assert_no_people("the logs", &logs);
}
