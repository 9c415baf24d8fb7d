//! The ad-hoc form: a standalone launch of an app typed in, CSRF-protected, secret never echoed.

use reqwest::StatusCode;

use crate::support::{Auth, CLIENT_ID, Setup, TRICKY_SECRET, TestApp, diagnosis_ids, location};

async fn csrf(app: &TestApp) -> String {
    let page = app.get("/").await.text().await.unwrap();
    let at =
        page.find("name=\"csrf\" value=\"").expect("csrf field") + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn adhoc_confidential_app_launches_and_its_secret_is_never_shown() {
    // The configured registration is public; the ad-hoc one uses the fake's Basic client.
    let app = TestApp::start(Setup::new(Auth::Basic)).await;
    let token = csrf(&app).await;
    let form = [
        ("csrf", token.as_str()),
        ("iss", &app.ehr.fhir_base()),
        ("client_id", CLIENT_ID),
        ("auth", "client_secret_basic"),
        ("client_secret", TRICKY_SECRET),
        ("scope", "launch/patient openid patient/*.read"),
    ];
    let resp = app.post_form("/standalone", &form).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let authorize = location(&resp);
    let encoded: String = url::form_urlencoded::byte_serialize(TRICKY_SECRET.as_bytes()).collect();
    assert!(
        !authorize.contains(TRICKY_SECRET) && !authorize.contains(&encoded),
        "the secret is not in the authorize URL"
    );
    let json = app.launch_to_result(resp).await;
    assert_eq!(json["outcome"], "success", "{json:#}");
    assert_eq!(json["registration"]["adhoc"], true);
    app.assert_no_violations();
    let page = app
        .get(&format!("/launches/{}", json["id"].as_str().unwrap()))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains(TRICKY_SECRET) && !json.to_string().contains(TRICKY_SECRET));
}

#[tokio::test]
async fn adhoc_form_errors_are_shown_without_echoing_the_secret() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let token = csrf(&app).await;
    let form = [
        ("csrf", token.as_str()),
        ("iss", "not a url"),
        ("client_id", ""),
        ("auth", "client_secret_post"),
        ("client_secret", "typed-secret-123"),
        ("scope", "openid"),
    ];
    let resp = app.post_form("/standalone", &form).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let page = resp.text().await.unwrap();
    assert!(page.contains("is not a full URL") && page.contains("is required"));
    assert!(
        !page.contains("relative URL without a base"),
        "no raw parser error"
    );
    assert!(!page.contains("typed-secret-123"));
    assert!(app.ehr.ehr.requests().is_empty());
}

#[tokio::test]
async fn adhoc_form_errors_are_summarised_at_the_top_and_the_first_field_is_focused() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let token = csrf(&app).await;
    let form = [
        ("csrf", token.as_str()),
        ("iss", "https://fhir.example.org/r4"),
        ("client_id", ""),
        ("auth", "none"),
        ("scope", ""),
    ];
    let page = app
        .post_form("/standalone", &form)
        .await
        .text()
        .await
        .unwrap();
    let main = &page[page.find("<main").unwrap()..];
    // The summary comes first in the page and links to each field in page order.
    let summary = main
        .find("class=\"error-summary\"")
        .expect("an error summary");
    assert!(
        summary < main.find("<h1").unwrap(),
        "the summary is at the top"
    );
    let client = main
        .find("href=\"#f-client\"")
        .expect("a link to the client id");
    let scope = main.find("href=\"#f-scope\"").expect("a link to the scope");
    assert!(client < scope);
    assert!(
        !main.contains("href=\"#f-iss\""),
        "a valid field is not listed"
    );
    // Each invalid field says so and points at its message; only the first is focused.
    let input = |id: &str| {
        let at = main.find(&format!("id=\"{id}\"")).unwrap();
        main[at..].split('>').next().unwrap().to_string()
    };
    let client = input("f-client");
    assert!(
        client.contains("aria-invalid=\"true\"")
            && client.contains("aria-describedby=\"e-client_id\"")
            && client.contains("autofocus"),
        "{client}"
    );
    let scope = input("f-scope");
    assert!(scope.contains("aria-invalid=\"true\"") && !scope.contains("autofocus"));
    assert!(!input("f-iss").contains("aria-invalid"));
    assert_eq!(main.matches("autofocus").count(), 1);
}

#[tokio::test]
async fn adhoc_form_without_the_csrf_token_is_refused() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let _ = csrf(&app).await;
    let iss = app.ehr.fhir_base();
    let form = [
        ("csrf", "forged"),
        ("iss", iss.as_str()),
        ("client_id", CLIENT_ID),
        ("auth", "none"),
        ("scope", "openid"),
    ];
    let resp = app
        .browser
        .post(app.url("/standalone"))
        .header("accept", "application/json")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let json: serde_json::Value = resp.json().await.unwrap();
    assert!(diagnosis_ids(&json).is_empty());
    assert!(app.ehr.ehr.requests().is_empty(), "nothing was fetched");
}

#[tokio::test]
async fn oversized_form_is_refused() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let token = csrf(&app).await;
    let big = "a".repeat(200 * 1024);
    let form = [("csrf", token.as_str()), ("iss", big.as_str())];
    let resp = app
        .browser
        .post(app.url("/standalone"))
        .header("accept", "application/json")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::PAYLOAD_TOO_LARGE);
    let json: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(json["error"]["title"], "Form too large", "{json:#}");
}

/// Posts the ad-hoc form with `iss` (JSON twin when `json`); the answer's status and body.
async fn post_iss(app: &TestApp, iss: &str, json: bool) -> (StatusCode, String) {
    let token = csrf(app).await;
    let form = [
        ("csrf", token.as_str()),
        ("iss", iss),
        ("client_id", CLIENT_ID),
        ("auth", "none"),
        ("scope", "launch/patient openid"),
    ];
    let path = if json {
        "/standalone?format=json"
    } else {
        "/standalone"
    };
    let resp = app.post_form(path, &form).await;
    (resp.status(), resp.text().await.unwrap())
}

#[tokio::test]
async fn bad_fhir_bases_are_explained_on_the_form_and_store_no_launch() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    for (iss, message) in [
        ("", "is required: the FHIR server"),
        ("/fhir", "is not a full URL: start it with https://"),
        (
            "ftp://ehr.example/fhir",
            "must be an http(s) URL with a host",
        ),
        (
            "https://user:pw@ehr.example/fhir",
            "must not carry a user name or password",
        ),
        (
            "http://10.1.2.3/fhir",
            "10.1.2.3 is a loopback, private or link-local address",
        ),
        (
            "http://localhost:9/fhir",
            "localhost is a loopback, private or link-local address",
        ),
    ] {
        let (status, page) = post_iss(&app, iss, false).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{iss}");
        assert!(page.contains("<form"), "{iss}: the form again");
        let escaped = message.replace('\'', "&#39;");
        assert!(page.contains(&escaped), "{iss}: {message}\n{page}");
        assert!(!page.contains("pw@"), "no password echoed");
        let (status, json) = post_iss(&app, iss, true).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{iss}");
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(json["error"]["fields"][0]["field"], "iss", "{json}");
        assert!(
            json["error"]["fields"][0]["message"]
                .as_str()
                .unwrap()
                .contains(message),
            "{json}"
        );
    }
    let (_, launches) = app.get_json("/launches").await;
    assert_eq!(
        launches["launches"],
        serde_json::json!([]),
        "no stored launch"
    );
}

/// A secret method without its secret is refused once, by the form's own check: the client
/// authentication is built only from a form that passed.
#[tokio::test]
async fn a_secret_method_without_a_secret_is_one_field_error() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let token = csrf(&app).await;
    let form = [
        ("csrf", token.as_str()),
        ("iss", &app.ehr.fhir_base()),
        ("client_id", CLIENT_ID),
        ("auth", "client_secret_basic"),
        ("client_secret", ""),
        ("scope", "launch/patient openid"),
    ];
    let resp = app.post_form("/standalone?format=json", &form).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let json: serde_json::Value = resp.json().await.unwrap();
    let fields = json["error"]["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 1, "{json}");
    assert_eq!(fields[0]["field"], "client_secret");
    assert_eq!(fields[0]["message"], "this method needs the client secret");
    assert!(app.ehr.ehr.requests().is_empty());
}
