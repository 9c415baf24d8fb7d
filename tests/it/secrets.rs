//! Suite-wide: no configured secret, code, verifier or token appears in any page, JSON answer or
//! report. The one exception is the token page's explicit reveal.

use crate::support::{Auth, Setup, TRICKY_SECRET, TestApp, form_value, location, query_value};

/// Every secret value of a launch, raw and form-encoded.
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, name: &str, value: &str) {
        let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        self.0.push((name.to_string(), value.to_string()));
        self.0.push((format!("{name} (form-encoded)"), encoded));
    }

    fn assert_absent(&self, what: &str, text: &str) {
        for (name, value) in &self.0 {
            assert!(
                !text.contains(value.as_str()),
                "the {name} appears in {what}"
            );
        }
    }
}

#[tokio::test]
async fn no_secret_code_verifier_or_token_appears_in_pages_json_or_reports() {
    let app = TestApp::start(Setup::new(Auth::Basic)).await;
    let mut secrets = Secrets(Vec::new());
    secrets.add("client secret", TRICKY_SECRET);

    let (callback, resp) = app.through_authorize(app.open_ehr_launch().await).await;
    let code = query_value(&callback, "code");
    secrets.add("code", &code);
    let ok = location(&resp);
    let (_, revealed) = app.get_json(&format!("{ok}?reveal=tokens")).await;
    for t in ["access_token", "refresh_token"] {
        secrets.add(t, revealed["token_response"][t].as_str().unwrap());
    }
    let token_req = app.token_request();
    let verifier = form_value(&token_req.body, "code_verifier");
    secrets.add("verifier", &verifier);
    let basic = token_req
        .headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .unwrap()
        .1
        .clone();
    secrets.add("Basic credential", basic.trim_start_matches("Basic "));

    // A failed launch in the same browser: the token endpoint now rejects the client.
    app.ehr
        .ehr
        .set_faults(smart_launch_doctor::practice::Faults {
            token_error: Some((401, r#"{"error":"invalid_client"}"#.into())),
            ..Default::default()
        });
    let (callback2, resp2) = app.through_authorize(app.open_ehr_launch().await).await;
    let code2 = query_value(&callback2, "code");
    secrets.add("second code", &code2);
    let failed = location(&resp2);

    let mut pages = vec![
        "/".to_string(),
        "/launches".into(),
        "/launches?format=json".into(),
    ];
    for r in [&ok, &failed] {
        pages.extend([
            r.clone(),
            format!("{r}?format=json"),
            format!("{r}/report.json"),
            format!("{r}/report.md"),
        ]);
    }
    pages.push(callback.clone()); // the replay: an error page
    for page in &pages {
        let html = app.get(page).await.text().await.unwrap();
        secrets.assert_absent(page, &html);
        let json = app.get_accepting(page, "application/json").await;
        secrets.assert_absent(&format!("{page} (JSON)"), &json.text().await.unwrap());
    }
    let md = app
        .get(&format!("{failed}/report.md"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        md.contains("token.bad_client_credentials") && md.contains("$CLIENT_SECRET_ENC"),
        "{md}"
    );
}

/// A JWT (unsigned: the app only decodes access tokens) with these claims.
fn jwt(claims: serde_json::Value) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b64.encode(br#"{"alg":"RS256","typ":"JWT"}"#),
        b64.encode(claims.to_string())
    )
}

/// The forms a secret may take in an output: raw, form- and percent-encoded, base64(url).
fn forms_of(secret: &str) -> Vec<(&'static str, String)> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    vec![
        ("raw", secret.to_string()),
        ("percent-encoded", form.replace('+', "%20")),
        ("form-encoded", form),
        ("base64", STANDARD.encode(secret)),
        ("base64url", URL_SAFE_NO_PAD.encode(secret)),
    ]
}

fn assert_no_form_of(secret: &str, what: &str, text: &str) {
    for (form, value) in forms_of(secret) {
        assert!(
            !text.contains(&value),
            "the secret ({form}) appears in {what}"
        );
    }
}

#[tokio::test]
async fn a_jwt_access_token_carrying_the_client_secret_shows_it_nowhere() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(TRICKY_SECRET);
    let token = jwt(serde_json::json!({
        "sub": "visible-subject",
        "client_secret": TRICKY_SECRET,
        "echo": TRICKY_SECRET,
        "wrapped": format!("secret was {TRICKY_SECRET}!"),
        "encoded": b64,
        "nested": {"Password": "pw-not-configured", "api_key": 12345},
    }));
    let faults = smart_launch_doctor::practice::Faults {
        token_patch: vec![("access_token".into(), Some(serde_json::json!(token)))],
        ..Default::default()
    };
    let app = TestApp::with_faults(Auth::Basic, faults).await;
    let (_, resp) = app.through_authorize(app.open_ehr_launch().await).await;
    let result = location(&resp);
    let (_, json) = app.get_json(&result).await;
    let claims = &json["access_token_jwt"]["claims"];
    assert_eq!(claims["sub"], "visible-subject", "{json:#}");
    for masked in [
        &claims["client_secret"],
        &claims["echo"],
        &claims["nested"]["Password"],
        &claims["nested"]["api_key"],
    ] {
        assert!(
            masked
                .as_str()
                .is_some_and(|s| s.starts_with("[redacted: ")),
            "{claims:#}"
        );
    }
    for page in [
        result.clone(),
        format!("{result}?reveal=tokens"),
        format!("{result}?format=json"),
        format!("{result}?format=json&reveal=tokens"),
        format!("{result}/report.json"),
        format!("{result}/report.md"),
    ] {
        let text = app.get(&page).await.text().await.unwrap();
        assert_no_form_of(TRICKY_SECRET, &page, &text);
        assert!(!text.contains("pw-not-configured"), "{page}");
    }
    // The revealed token itself carries the secret in its base64url: it is masked whole.
    let (_, revealed) = app.get_json(&format!("{result}?reveal=tokens")).await;
    assert_eq!(revealed["tokens_revealed"], true);
    let at = revealed["token_response"]["access_token"].as_str().unwrap();
    assert!(at.starts_with("[redacted: "), "{at}");
    assert!(
        revealed["token_response"]["refresh_token"]
            .as_str()
            .is_some_and(|t| !t.starts_with("[redacted"))
    );
}

#[tokio::test]
async fn an_adhoc_secret_in_a_jwt_claim_is_masked_too() {
    // The configuration holds another secret: the one in play is known only from the ad-hoc
    // form (the fake EHR expects TRICKY_SECRET from this client).
    let secret = TRICKY_SECRET;
    let setup = Setup {
        app_secret: Some("configured-other-secret".into()),
        faults: smart_launch_doctor::practice::Faults {
            token_patch: vec![(
                "access_token".into(),
                Some(serde_json::json!(jwt(
                    serde_json::json!({"sub": "s", "k": secret})
                ))),
            )],
            ..Default::default()
        },
        ..Setup::new(Auth::Post)
    };
    let app = TestApp::start(setup).await;
    let page = app.get("/").await.text().await.unwrap();
    let at = page.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    let csrf = page[at..].split('"').next().unwrap().to_string();
    let base = app.ehr.fhir_base();
    let form = [
        ("csrf", csrf.as_str()),
        ("iss", base.as_str()),
        ("client_id", crate::support::CLIENT_ID),
        ("auth", "client_secret_post"),
        ("client_secret", secret),
        ("scope", "launch/patient openid patient/*.read"),
    ];
    let resp = app.post_form("/standalone", &form).await;
    let (_, resp) = app.through_authorize(resp).await;
    let result = location(&resp);
    let (_, json) = app.get_json(&result).await;
    assert_eq!(json["registration"]["adhoc"], true);
    assert!(json["token_response"].is_object(), "{json:#}");
    for page in [
        format!("{result}?reveal=tokens"),
        format!("{result}?format=json&reveal=tokens"),
        format!("{result}/report.json"),
        format!("{result}/report.md"),
    ] {
        let text = app.get(&page).await.text().await.unwrap();
        assert_no_form_of(secret, &page, &text);
    }
}

#[tokio::test]
async fn fhir_codes_survive_in_the_transcript_and_the_authorization_code_does_not() {
    let app = TestApp::start(Setup::new(Auth::Basic)).await;
    let json = app.launch_to_result(app.open_ehr_launch().await).await;
    let transcript = json["transcript"].as_array().unwrap();
    let bodies: Vec<&str> = transcript
        .iter()
        .filter_map(|x| x["response_body"].as_str())
        .collect();
    assert!(
        bodies.iter().any(|b| b.contains(r#""code": "AMB""#)),
        "the Encounter's class code is readable: {bodies:#?}"
    );
    let token = transcript
        .iter()
        .find(|x| x["step"] == "token")
        .and_then(|x| x["request_body"].as_str())
        .unwrap();
    assert!(token.contains("code=[redacted: "), "{token}");
    assert!(token.contains("code_verifier=[redacted: "), "{token}");
}

#[tokio::test]
async fn a_fhir_base_with_userinfo_is_refused_and_never_echoed() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let iss = "https://alice:hunter2pass@ehr.example/fhir";
    // The ad-hoc form.
    let page = app.get("/").await.text().await.unwrap();
    let at = page.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    let csrf = page[at..].split('"').next().unwrap().to_string();
    let form = [
        ("csrf", csrf.as_str()),
        ("iss", iss),
        ("client_id", "c"),
        ("auth", "none"),
        ("scope", "openid"),
    ];
    let resp = app.post_form("/standalone", &form).await;
    assert_eq!(resp.status(), reqwest::StatusCode::BAD_REQUEST);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("must not carry a user name or password"),
        "{html}"
    );
    assert!(
        !html.contains("hunter2pass") && !html.contains("alice"),
        "{html}"
    );
    // The EHR launch, as a page and as JSON, and with iss given twice.
    let q = |extra: &str| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        s.append_pair("iss", iss).append_pair("launch", "l1");
        if !extra.is_empty() {
            s.append_pair("iss", extra);
        }
        format!("/launch?{}", s.finish())
    };
    for path in [q(""), q("https://h/fhir")] {
        let resp = app.get(&path).await;
        assert_eq!(resp.status(), reqwest::StatusCode::BAD_REQUEST, "{path}");
        let text = resp.text().await.unwrap();
        assert!(!text.contains("hunter2pass"), "{text}");
        let json = app.get_accepting(&path, "application/json").await;
        let text = json.text().await.unwrap();
        assert!(!text.contains("hunter2pass"), "{text}");
    }
    // Nothing was stored.
    let (_, list) = app.get_json("/launches?format=json").await;
    assert!(!list.to_string().contains("hunter2pass"));
    assert_eq!(list["launches"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn secret_fingerprints_are_keyed_and_token_fingerprints_plain() {
    use sha2::Digest as _;
    let sha8 = |s: &str| -> String {
        sha2::Sha256::digest(s.as_bytes())[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let setup = Setup {
        app_secret: Some("wrong-secret".into()),
        ..Setup::new(Auth::Post)
    };
    let app = TestApp::start(setup).await;
    let json = app.launch_to_result(app.open_ehr_launch().await).await;
    let text = json.to_string();
    assert!(
        !text.contains(&sha8("wrong-secret")),
        "no plain fingerprint of the secret"
    );
    let token = json["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["step"] == "token")
        .and_then(|x| x["request_body"].as_str())
        .unwrap();
    assert!(
        token.contains("client_secret=[redacted: 12 chars, hmac "),
        "{token}"
    );
    let req = app.token_request();
    let code = crate::support::form_value(&req.body, "code");
    assert!(!token.contains(&sha8(&code)), "{token}");
    // The self-check compares values, not fingerprints: what was sent is what is configured.
    assert!(text.contains("(matches the configuration)"), "{text}");
}

#[tokio::test]
async fn a_server_echoing_the_secret_in_headers_descriptions_and_html_shows_it_nowhere() {
    use smart_launch_doctor::practice::{CannedAnswer, Faults};
    let json_echo = CannedAnswer {
        status: 401,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-echo".into(), format!("secret={TRICKY_SECRET}")),
        ],
        body: serde_json::json!({
            "error": "invalid_client",
            "error_description": format!("client secret '{TRICKY_SECRET}' does not match"),
        })
        .to_string(),
    };
    let html_echo = CannedAnswer {
        status: 500,
        headers: vec![("content-type".into(), "text/html".into())],
        body: format!("<html><title>Error</title><p>Login with {TRICKY_SECRET} failed</p></html>"),
    };
    for answer in [json_echo, html_echo] {
        let faults = Faults {
            token_answer: Some(answer),
            ..Faults::default()
        };
        let app = TestApp::with_faults(Auth::Basic, faults).await;
        let (_, resp) = app.through_authorize(app.open_ehr_launch().await).await;
        let result = location(&resp);
        let (_, json) = app.get_json(&result).await;
        assert_eq!(json["outcome"], "error", "{json:#}");
        for page in [
            result.clone(),
            format!("{result}?reveal=tokens"),
            format!("{result}?format=json"),
            format!("{result}/report.json"),
            format!("{result}/report.md"),
            "/check/app".to_string(),
            "/check/app?format=json".to_string(),
        ] {
            let text = app.get(&page).await.text().await.unwrap();
            assert_no_form_of(TRICKY_SECRET, &page, &text);
        }
    }
}

#[tokio::test]
async fn the_private_key_appears_in_no_page_json_report_or_check() {
    let app = TestApp::start(Setup::new(Auth::Jwt("RS384"))).await;
    // The registration's TOML keys (private_key, key_id, alg), as the test wrote them.
    let keys: toml::Table = toml::from_str(app.secret.as_deref().unwrap()).unwrap();
    let path = keys["private_key"]
        .as_str()
        .expect("a private_key_jwt registration has a key file")
        .to_string();
    let pem = std::fs::read_to_string(path).unwrap();
    // Every full line of the PEM body (64 base64 characters): any of them would be key material.
    let lines: Vec<&str> = pem
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 32)
        .collect();
    assert!(lines.len() > 5, "an RSA key has a long body");
    let json = app.standalone_result().await;
    assert_eq!(json["outcome"], "success", "{json:#}");
    let result = format!("/launches/{}", json["id"].as_str().unwrap());
    for page in [
        result.clone(),
        format!("{result}?reveal=tokens"),
        format!("{result}?format=json"),
        format!("{result}/report.json"),
        format!("{result}/report.md"),
        "/check/app".to_string(),
        "/check/app?format=json".to_string(),
        "/.well-known/jwks.json".to_string(),
    ] {
        let text = app.get(&page).await.text().await.unwrap();
        for line in &lines {
            assert!(!text.contains(line), "key material in {page}");
        }
    }
}

/// A secret with every character an encoding changes: JSON (`"`, `\`), percent and form (`%`,
/// `+`, space, `&`), HTML (`&`, `<`, `>`), and a non-ASCII letter. Its letter runs are
/// distinctive: any of them in an output means some encoding of the secret got through.
const ESCAPE_PRONE_SECRET: &str = "Zq9Kx7\"Wv4Hj\\Ty2Mn%2B+ Lp8Fg&<Rp8Cd>é";
const FRAGMENTS: [&str; 5] = ["Zq9Kx7", "Wv4Hj", "Ty2Mn", "Lp8Fg", "Rp8Cd"];

fn assert_no_fragment(what: &str, text: &str) {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    for f in FRAGMENTS {
        if let Some(at) = text.find(f) {
            let context: String = text[at.saturating_sub(60).min(at)..]
                .chars()
                .take(140)
                .collect();
            panic!("a piece of the secret ({f}) appears in {what}: …{context:?}…");
        }
    }
    for b64 in [
        STANDARD.encode(ESCAPE_PRONE_SECRET),
        URL_SAFE_NO_PAD.encode(ESCAPE_PRONE_SECRET),
    ] {
        // Base64 of a long secret: its first 12 characters are as telling as the whole.
        assert!(
            !text.contains(&b64[..12]),
            "the secret (base64) appears in {what}"
        );
    }
}

/// `%2B` → `%2b`.
fn lower_hex(s: &str) -> String {
    let mut out = String::new();
    let mut hex = 0u8;
    for c in s.chars() {
        out.push(if hex > 0 { c.to_ascii_lowercase() } else { c });
        hex = if c == '%' { 2 } else { hex.saturating_sub(1) };
    }
    out
}

/// The encodings a server may echo a secret in.
fn echoes(secret: &str) -> Vec<String> {
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let json = serde_json::to_string(secret).unwrap();
    vec![
        secret.to_string(),
        form.clone(),
        lower_hex(&form.replace('+', "%20")),
        json.trim_matches('"').to_string(),
        json.trim_matches('"').replace('/', "\\/"),
        secret
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('"', "&quot;"),
    ]
}

/// Every output of the app that may show `launch` (a result path), and the text of each.
async fn outputs(app: &TestApp, launch: &str, admin: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for page in [
        launch.to_string(),
        format!("{launch}?reveal=tokens"),
        format!("{launch}?format=json"),
        format!("{launch}?format=json&reveal=tokens"),
        format!("{launch}/report.json"),
        format!("{launch}/report.md"),
        format!("{launch}/report.md?reveal=patient"),
        "/check/app".into(),
        "/check/app?format=json".into(),
    ] {
        let text = app.get(&page).await.text().await.unwrap();
        out.push((page, text));
    }
    let support = format!("/admin{launch}");
    for accept in ["text/html", "application/json"] {
        let resp = app
            .browser
            .get(app.url(&support))
            .bearer_auth(admin)
            .header(reqwest::header::ACCEPT, accept)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), reqwest::StatusCode::OK, "{support}");
        out.push((format!("{support} ({accept})"), resp.text().await.unwrap()));
    }
    out
}

#[tokio::test]
async fn a_secret_with_quotes_backslashes_and_percents_echoed_in_any_encoding_shows_nowhere() {
    use smart_launch_doctor::practice::{CannedAnswer, Faults};
    const ADMIN: &str = "support-token-for-the-secrets-test";
    // SAFETY: nextest runs every test in its own process; the variable is this test's own.
    unsafe { std::env::set_var("SLD_TEST_SECRETS_ADMIN", ADMIN) };
    let secret = ESCAPE_PRONE_SECRET;
    let all = echoes(secret).join(" | ");
    let json_answer = CannedAnswer {
        status: 401,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-echo".into(), secret.into()),
            ("x-echo-form".into(), echoes(secret)[1].clone()),
        ],
        body: serde_json::json!({
            "error": "invalid_client",
            "error_description": format!("client secret \"{secret}\" does not match"),
            "echo": {"every": echoes(secret), "joined": all},
        })
        .to_string(),
    };
    let text_answer = CannedAnswer {
        status: 400,
        headers: vec![("content-type".into(), "text/plain".into())],
        body: format!("bad secret: {all}"),
    };
    let form_answer = CannedAnswer {
        status: 400,
        headers: vec![(
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: format!("error=invalid_client&secret={}", echoes(secret)[1]),
    };
    for (name, answer) in [
        ("JSON", Some(json_answer)),
        ("text", Some(text_answer)),
        ("form", Some(form_answer)),
        ("query", None),
    ] {
        let app = TestApp::start(Setup {
            app_secret: Some(secret.into()),
            extra_toml: "admin_token_env = \"SLD_TEST_SECRETS_ADMIN\"".into(),
            ..Setup::new(Auth::Basic)
        })
        .await;
        let mut faults = Faults {
            token_answer: answer,
            ..Faults::default()
        };
        if name == "query" {
            // The EHR names a token endpoint whose query carries the secret.
            let well_known = format!("{}/.well-known/smart-configuration", app.ehr.fhir_base());
            let doc: serde_json::Value = reqwest::get(&well_known)
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let token = doc["token_endpoint"].as_str().unwrap();
            let with_query = format!(
                "{token}?echo={}&raw={}",
                echoes(secret)[1],
                echoes(secret)[2]
            );
            faults
                .well_known_patch
                .push(("token_endpoint".into(), serde_json::json!(with_query)));
        }
        app.ehr.ehr.set_faults(faults);
        let (_, resp) = app.through_authorize(app.open_ehr_launch().await).await;
        let launch = location(&resp);
        let (_, json) = app.get_json(&launch).await;
        assert_eq!(json["outcome"], "error", "{name}: {json:#}");
        assert!(
            json.to_string().contains("[redacted: "),
            "{name}: the echo is shown, redacted: {json:#}"
        );
        for (page, text) in outputs(&app, &launch, ADMIN).await {
            assert_no_fragment(&format!("{page} ({name} echo)"), &text);
        }
    }
}

#[tokio::test]
async fn the_check_cli_prints_no_encoding_of_an_escape_prone_secret() {
    use smart_launch_doctor::practice::{CannedAnswer, Faults};
    let secret = ESCAPE_PRONE_SECRET;
    let app = TestApp::with_faults(
        Auth::Basic,
        Faults {
            token_answer: Some(CannedAnswer {
                status: 401,
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    ("x-echo".into(), secret.into()),
                ],
                body: serde_json::json!({
                    "error": "invalid_client",
                    "error_description": format!("client secret \"{secret}\" does not match"),
                    "echo": echoes(secret),
                })
                .to_string(),
            }),
            ..Faults::default()
        },
    )
    .await;
    let toml = crate::support::config_toml(
        app.addr.port(),
        &app.ehr.fhir_base(),
        Auth::Basic,
        Some(secret),
    );
    for format in ["text", "json"] {
        let (code, out, err) = crate::check::cli(&toml, &["--format", format]).await;
        assert_eq!(code, Some(1), "{out}{err}");
        assert_no_fragment(&format!("check --format {format}"), &out);
        assert_no_fragment(&format!("check --format {format} (stderr)"), &err);
    }
}
