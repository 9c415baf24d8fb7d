//! Signing out of the support view on one instance signs out on every instance sharing the
//! store (a real redis-server, two app instances).

use reqwest::{StatusCode, header};

use crate::support::{Auth, Setup, TestApp, browser};

const TOKEN: &str = "support-token-for-signout-tests-01";

/// Signs in on `app` with the token; the sign-in cookie's value.
async fn sign_in(app: &TestApp) -> String {
    let b = browser();
    let page = b
        .get(app.url("/admin/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
    set.strip_prefix("sld_admin=")
        .and_then(|s| s.split(';').next())
        .unwrap()
        .to_string()
}

async fn view(app: &TestApp, cookie: &str) -> StatusCode {
    browser()
        .get(app.url("/admin/launches?format=json"))
        .header(header::COOKIE, format!("sld_admin={cookie}"))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
#[ignore = "needs redis-server: tests/run.sh installs it"]
async fn signing_out_on_one_instance_signs_out_on_every_instance_on_redis() {
    let (_redis, url) = crate::sessions::redis().await;
    // SAFETY: nextest runs every test in its own process; the variables are this test's own.
    unsafe {
        std::env::set_var("SLD_TEST_ADMIN_TOKEN_S", TOKEN);
        std::env::set_var("SLD_TEST_SEALING_KEY_S", "cd".repeat(32));
    }
    let extra = format!(
        "session_store = \"{url}\"\nsealing_key_env = \"SLD_TEST_SEALING_KEY_S\"\nadmin_token_env = \"SLD_TEST_ADMIN_TOKEN_S\""
    );
    let start = || {
        TestApp::start(Setup {
            extra_toml: extra.clone(),
            ..Setup::new(Auth::None)
        })
    };
    let (one, two) = (start().await, start().await);
    let cookie = sign_in(&one).await;
    let other = sign_in(&one).await;
    assert_eq!(view(&one, &cookie).await, StatusCode::OK);
    assert_eq!(
        view(&two, &cookie).await,
        StatusCode::OK,
        "same token, same cookie"
    );
    // Signed out on instance one (Bearer stands in for the form's CSRF token) ...
    let out = browser()
        .post(one.url("/admin/logout"))
        .header(header::COOKIE, format!("sld_admin={cookie}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    // ... it is signed out on instance two as well; another sign-in is not.
    assert_eq!(view(&one, &cookie).await, StatusCode::UNAUTHORIZED);
    assert_eq!(view(&two, &cookie).await, StatusCode::UNAUTHORIZED);
    assert_eq!(view(&two, &other).await, StatusCode::OK);
}
