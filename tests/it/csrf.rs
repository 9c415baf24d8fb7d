//! The forms' CSRF token: bound to the browser's session, so a cookie planted from elsewhere
//! does not pass; `__Host-` on https; the support view's sign-out carries it too.

use reqwest::{StatusCode, header};

use crate::support::{Auth, Setup, TestApp, location};

/// A client that keeps no cookies: the test sets each one by hand.
fn bare() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of cookie `name` set by `resp`.
fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

/// A new session: a standalone launch started (the session cookie's value).
async fn session(app: &TestApp) -> String {
    let resp = bare().get(app.url("/standalone/app")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    set_cookie(&resp, "sld_session").expect("a session cookie")
}

/// The home page's CSRF token for a browser with session `sid` (none: no session yet), as set
/// in the cookie and written in the form.
async fn token(app: &TestApp, sid: Option<&str>) -> String {
    let mut req = bare().get(app.url("/"));
    if let Some(sid) = sid {
        req = req.header(header::COOKIE, format!("sld_session={sid}"));
    }
    let resp = req.send().await.unwrap();
    let cookie = set_cookie(&resp, "sld_csrf").expect("a CSRF cookie");
    let page = resp.text().await.unwrap();
    let at = page.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    assert_eq!(page[at..].split('"').next().unwrap(), cookie);
    cookie
}

/// The ad-hoc form posted with these cookies and this form token; its status.
async fn post_adhoc(
    app: &TestApp,
    sid: Option<&str>,
    cookie: &str,
    form_token: &str,
) -> StatusCode {
    let base = app.ehr.fhir_base();
    let mut cookies = format!("sld_csrf={cookie}");
    if let Some(sid) = sid {
        cookies = format!("sld_session={sid}; {cookies}");
    }
    bare()
        .post(app.url("/standalone"))
        .header(header::COOKIE, cookies)
        .form(&[
            ("csrf", form_token),
            ("iss", base.as_str()),
            ("client_id", crate::support::CLIENT_ID),
            ("auth", "none"),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_csrf_cookie_planted_from_another_session_is_refused() {
    let app = TestApp::start(Setup::new(Auth::None)).await;
    let victim = session(&app).await;
    let attacker = session(&app).await;
    let own = token(&app, Some(&victim)).await;
    let planted = token(&app, Some(&attacker)).await;
    let anonymous = token(&app, None).await;
    for (what, t) in [
        ("another session's", &planted),
        ("a session-less", &anonymous),
    ] {
        assert_eq!(
            post_adhoc(&app, Some(&victim), t, t).await,
            StatusCode::FORBIDDEN,
            "{what} cookie and matching form value"
        );
    }
    // A forged token of the right shape: the MAC does not match.
    let (nonce, _) = own.split_once('.').unwrap();
    let forged = format!("{nonce}.{}", "A".repeat(43));
    assert_eq!(
        post_adhoc(&app, Some(&victim), &forged, &forged).await,
        StatusCode::FORBIDDEN
    );
    // The victim's own token passes (the launch goes on to the EHR), and so does a session-less
    // one for a browser that has no session yet.
    assert_eq!(
        post_adhoc(&app, Some(&victim), &own, &own).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        post_adhoc(&app, None, &anonymous, &anonymous).await,
        StatusCode::SEE_OTHER
    );
    // A cookie from another session gets a new token, bound to this one.
    let resp = bare()
        .get(app.url("/"))
        .header(
            header::COOKIE,
            format!("sld_session={victim}; sld_csrf={planted}"),
        )
        .send()
        .await
        .unwrap();
    let fresh = set_cookie(&resp, "sld_csrf").expect("a new cookie");
    assert_ne!(fresh, planted);
    assert_eq!(
        post_adhoc(&app, Some(&victim), &fresh, &fresh).await,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn on_https_the_csrf_cookie_is_host_prefixed_and_secure() {
    let app = TestApp::start(Setup {
        extra_toml: String::new(),
        ..Setup::new(Auth::None)
    })
    .await;
    let plain = bare().get(app.url("/")).send().await.unwrap();
    assert!(
        set_cookie(&plain, "sld_csrf").is_some(),
        "plain http keeps sld_csrf"
    );
    // The same app behind an https public_url.
    let mut config = app.state.config.clone();
    config.public_url = url::Url::parse("https://doctor.example/").unwrap();
    let state = smart_launch_doctor::AppState::new(config).unwrap();
    let router = smart_launch_doctor::app(state);
    let base = crate::support::upstream::serve(router).await;
    let resp = bare().get(format!("{base}/")).send().await.unwrap();
    let raw: Vec<String> = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let host = raw
        .iter()
        .find(|c| c.starts_with("__Host-sld_csrf="))
        .unwrap_or_else(|| panic!("{raw:?}"));
    for attr in ["Path=/", "Secure", "HttpOnly"] {
        assert!(host.contains(attr), "{host}");
    }
    assert!(!host.contains("Domain"), "{host}");
    assert!(!raw.iter().any(|c| c.starts_with("sld_csrf=")), "{raw:?}");
}

const TOKEN: &str = "support-token-for-the-csrf-tests";

#[tokio::test]
async fn signing_out_of_the_support_view_needs_the_form_token_or_a_bearer_token() {
    // SAFETY: nextest runs every test in its own process; the variable is this test's own.
    unsafe { std::env::set_var("SLD_TEST_CSRF_ADMIN", TOKEN) };
    let app = TestApp::start(Setup {
        extra_toml: "admin_token_env = \"SLD_TEST_CSRF_ADMIN\"".into(),
        ..Setup::new(Auth::None)
    })
    .await;
    let b = crate::support::browser();
    let page = b
        .get(app.url("/admin/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = page.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    let csrf = page[at..].split('"').next().unwrap().to_string();
    let ok = b
        .post(app.url("/admin/login"))
        .form(&[("csrf", csrf.as_str()), ("token", TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let list = |b: reqwest::Client| {
        let url = app.url("/admin/launches");
        async move { b.get(url).send().await.unwrap() }
    };
    // Without the token, or with a wrong one, another site cannot sign the view out.
    for form in [vec![], vec![("csrf", "x".repeat(40))]] {
        let out = b
            .post(app.url("/admin/logout"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), StatusCode::FORBIDDEN, "{form:?}");
        assert_eq!(
            list(b.clone()).await.status(),
            StatusCode::OK,
            "still signed in"
        );
    }
    // The support view's own sign-out form carries it.
    let view = list(b.clone()).await.text().await.unwrap();
    let form = view.split("action=\"/admin/logout\"").nth(1).unwrap();
    let at = form
        .find("name=\"csrf\" value=\"")
        .expect("the sign-out form has the token")
        + "name=\"csrf\" value=\"".len();
    let token = form[at..].split('"').next().unwrap().to_string();
    let out = b
        .post(app.url("/admin/logout"))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&out), "/admin/login");
    assert_eq!(list(b.clone()).await.status(), StatusCode::UNAUTHORIZED);
    // A Bearer client carries no ambient credential: it needs no form token.
    let bearer = bare()
        .post(app.url("/admin/logout"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), StatusCode::SEE_OTHER);
}
