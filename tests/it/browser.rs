//! End to end in a real browser: Debian's chromium driven through chromedriver, both started by
//! the test. The app runs with its built-in practice EHR, as a newcomer gets it. Screenshots go
//! to `test-artifacts/`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use smart_launch_doctor::config::Config;
use smart_launch_doctor::smart::net_policy::Loopback;
use smart_launch_doctor::{AppState, app};
use thirtyfour::prelude::*;
use tokio::process::{Child, Command};

pub(crate) struct Session {
    pub(crate) base: String,
    pub(crate) driver: WebDriver,
    _chromedriver: Child,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The app on its defaults (practice EHR on), chromedriver, and a headless chromium.
async fn session() -> Session {
    session_with("").await
}

/// The same with `extra` appended to the configuration (`{base}` stands for the app's origin).
pub(crate) async fn session_with(extra: &str) -> Session {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://127.0.0.1:{}", addr.port());
    let toml = format!(
        "http_timeout_seconds = 3\nnever_returned_after_seconds = 1\n{}",
        extra.replace("{base}", &base)
    );
    let mut config = Config::from_toml(&toml, "browser test", addr).unwrap();
    // Outbound connections bound to lo: the gallery's internal-address entry (and anything
    // else) cannot leave this machine, even if the address check were broken.
    config.loopback = Loopback::TestPublic127001;
    let state = AppState::new(config).unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app(state)).await;
    });
    let port = free_port();
    let chromedriver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver is installed (tests/run.sh installs chromium-driver)");
    let status = format!("http://127.0.0.1:{port}/status");
    for _ in 0..100 {
        if reqwest::get(&status).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let profile = std::env::temp_dir().join(format!("sld-chromium-{}-{port}", std::process::id()));
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary("/usr/bin/chromium").unwrap();
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1200,1800",
        &format!("--user-data-dir={}", profile.display()),
    ] {
        caps.add_arg(arg).unwrap();
    }
    let driver = WebDriver::new(format!("http://127.0.0.1:{port}"), caps)
        .await
        .expect("a chromium session");
    Session {
        base,
        driver,
        _chromedriver: chromedriver,
    }
}

impl Session {
    pub(crate) async fn open(&self, path: &str) {
        self.driver
            .goto(format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    /// Clicks the element, waiting up to 15 s for it to appear (the page may still be loading).
    pub(crate) async fn click(&self, xpath: &str) {
        let elem = self
            .driver
            .query(By::XPath(xpath))
            .wait(Duration::from_secs(15), Duration::from_millis(100))
            .first()
            .await
            .unwrap_or_else(|e| panic!("{xpath}: {e}"));
        elem.click().await.unwrap();
    }

    /// Signs in on the practice EHR's login page.
    pub(crate) async fn sign_in(&self) {
        self.click("//button[contains(., 'Sign in')]").await;
    }

    pub(crate) async fn text(&self) -> String {
        match self.driver.find(By::Tag("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// The page text once it contains `needle` (polled for up to 15 s).
    pub(crate) async fn text_with(&self, needle: &str) -> String {
        let mut text = String::new();
        for _ in 0..150 {
            text = self.text().await;
            if text.contains(needle) {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{needle:?} never appeared on\n{text}");
    }

    pub(crate) async fn screenshot(&self, name: &str) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-artifacts");
        std::fs::create_dir_all(&dir).unwrap();
        self.driver.screenshot(&dir.join(name)).await.unwrap();
    }

    pub(crate) async fn quit(self) {
        let _ = self.driver.quit().await;
    }
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver: tests/run.sh installs them"]
async fn newcomer_launches_the_practice_ehr_from_the_home_page_and_sees_who_signed_in() {
    let s = session().await;
    s.open("/").await;
    s.click("//*[self::button or self::a][contains(., 'Launch Practice EHR')]")
        .await;
    s.sign_in().await;
    let text = s.text_with("Launch succeeded").await;
    assert!(
        text.contains("Signed in as Dr. Adele Smith (Practitioner)."),
        "{text}"
    );
    assert!(text.contains("Patient in context:"), "{text}");
    s.screenshot("token-page.png").await;
    s.quit().await;
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver: tests/run.sh installs them"]
async fn ehr_launch_from_the_practice_ehr_chart_puts_that_patient_in_context() {
    let s = session().await;
    s.open("/practice/ehr").await;
    s.click("(//*[self::button or self::a][contains(., 'Launch')])[1]")
        .await;
    s.sign_in().await;
    let text = s.text_with("Launch succeeded").await;
    assert!(text.contains("EHR launch"), "{text}");
    assert!(text.contains("Signed in as Dr. Adele Smith"), "{text}");
    assert!(text.contains("Patient in context:"), "{text}");
    s.quit().await;
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver: tests/run.sh installs them"]
async fn gallery_faults_show_their_diagnosis_ids() {
    let s = session().await;
    for (entry, id, shot) in [
        ("The user cancels", "authorize.access_denied", None),
        (
            "Oracle Health: client unknown",
            "token.unknown_client",
            Some("seed-case.png"),
        ),
        ("FHIR API rejects the token", "fhir.invalid_token", None),
    ] {
        s.open("/gallery").await;
        s.click(&format!("//tr[th[contains(., '{entry}')]]//button"))
            .await;
        // Every gallery launch goes through the practice EHR's sign-in page.
        s.sign_in().await;
        s.text_with(id).await;
        if let Some(name) = shot {
            s.screenshot(name).await;
        }
    }
    s.quit().await;
}

impl Session {
    /// The result page's outcome class (`success`, `error` or `pending`), once it shows one.
    pub(crate) async fn headline_class(&self) -> Option<String> {
        let h = self.driver.find(By::Css("section.headline")).await.ok()?;
        let class = h.class_name().await.ok()??;
        class
            .split_whitespace()
            .find_map(|c| c.strip_prefix("outcome-"))
            .map(str::to_string)
    }

    /// Whether an element matching `xpath` is on the page now.
    pub(crate) async fn has(&self, xpath: &str) -> bool {
        self.driver
            .find_all(By::XPath(xpath))
            .await
            .is_ok_and(|v| !v.is_empty())
    }

    /// Whether the page is wider than the window (horizontal scrolling).
    pub(crate) async fn overflows(&self) -> (i64, i64) {
        let v = self
            .driver
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth];",
                Vec::new(),
            )
            .await
            .unwrap();
        let pair: Vec<i64> = v.convert().unwrap();
        (pair[0], pair[1])
    }
}

/// Runs one gallery entry as a user would, up to its result page: signs in when the practice
/// EHR asks, presses Refresh when the entry's failure is the refresh, and, when the practice
/// EHR refuses to send the browser back, follows its link to the launches and waits on the
/// result until the launch has failed. Returns the headline class and the page text.
pub(crate) async fn walk_gallery_entry(s: &Session, title: &str, expect: &str) -> (String, String) {
    s.open("/gallery").await;
    s.click(&format!("//tr[th[contains(., {title:?})]]//button"))
        .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    let mut refreshed = false;
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "{title}: no final result page\n{}",
            s.text().await
        );
        if s.has("//button[contains(., 'Sign in')]").await {
            s.sign_in().await;
        } else if s
            .has("//a[contains(., 'Back to SMART Launch Doctor')]")
            .await
        {
            s.click("//a[contains(., 'Back to SMART Launch Doctor')]")
                .await;
            s.click("//table[contains(@class, 'launches')]//a").await;
        } else if let Some(class) = s.headline_class().await {
            let text = s.text().await;
            if class == "pending" {
                // The launch waits for never_returned_after_seconds (1 s here): look again.
                s.driver.refresh().await.unwrap();
            } else if expect.starts_with("refresh.") && !refreshed {
                s.click("//button[contains(., 'Refresh now')]").await;
                refreshed = true;
            } else if !expect.starts_with("refresh.") || text.contains(expect) {
                return (class, text);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver: tests/run.sh installs them"]
async fn every_gallery_entry_ends_on_a_headline_of_its_outcome_with_its_id() {
    use smart_launch_doctor::diagnosis::{Severity, catalog};
    let s = session().await;
    for e in smart_launch_doctor::gallery::entries() {
        let (class, text) = walk_gallery_entry(&s, e.title, e.expect_str()).await;
        let failure = e.expect_str() != "none"
            && !e.expect_str().starts_with("refresh.")
            && !e.signs_in
            && catalog::entry(e.expect_str()).severity == Severity::Error;
        let want = if failure { "error" } else { "success" };
        assert_eq!(class, want, "{}: headline class\n{text}", e.id);
        let h1 = s
            .driver
            .find(By::Tag("h1"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // A failure says what happened in plain words, the step second: "… (token step)".
        let heading = match (e.backend, failure) {
            (_, true) => " step)",
            (false, false) => "Launch succeeded",
            (true, false) => "Backend Services run succeeded",
        };
        assert!(h1.contains(heading), "{}: {heading} in {h1:?}", e.id);
        if e.expect_str() != "none" {
            assert!(
                text.contains(e.expect_str()),
                "{}: {}\n{text}",
                e.id,
                e.expect_str()
            );
        }
        if e.id == "wrong-redirect-uri" {
            assert!(text.contains("Retry the authorization request"), "{text}");
        }
    }
    s.quit().await;
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver: tests/run.sh installs them"]
async fn pages_fit_a_390_pixel_phone_without_sideways_scrolling() {
    let s = session().await;
    s.driver.set_window_rect(0, 0, 390, 900).await.unwrap();
    let mut checked = Vec::new();
    let mut fits = |name: &str, (scroll, inner): (i64, i64)| {
        checked.push(format!("{name}: {scroll} <= {inner}"));
        assert!(scroll <= inner, "{name} is {scroll} px wide in {inner} px");
    };
    s.open("/").await;
    fits("home", s.overflows().await);
    s.screenshot("390-home.png").await;
    // A token page.
    s.click("//*[self::button or self::a][contains(., 'Launch Practice EHR')]")
        .await;
    s.sign_in().await;
    s.text_with("Launch succeeded").await;
    s.click("//a[contains(., 'Reveal tokens')]").await;
    s.text_with("Tokens are shown in full").await;
    fits("token page (revealed)", s.overflows().await);
    s.screenshot("390-token-page.png").await;
    s.driver
        .execute(
            "document.getElementById('tok-h').scrollIntoView();",
            Vec::new(),
        )
        .await
        .unwrap();
    s.screenshot("390-token-table.png").await;
    // An error page (a diagnosed failure) and a plain error page.
    let (class, _) =
        walk_gallery_entry(&s, "Oracle Health: client unknown", "token.unknown_client").await;
    assert_eq!(class, "error");
    fits("result of a failure", s.overflows().await);
    s.screenshot("390-failure.png").await;
    s.open("/callback?state=x&state=y").await;
    fits("callback error page", s.overflows().await);
    s.screenshot("390-error-page.png").await;
    s.open("/launches").await;
    s.text_with("Your launches").await;
    fits("launches", s.overflows().await);
    s.screenshot("390-launches.png").await;
    s.open("/gallery").await;
    fits("gallery", s.overflows().await);
    s.open("/check/practice").await;
    s.text_with("What was checked").await;
    fits("check page", s.overflows().await);
    s.screenshot("390-check.png").await;
    s.open("/practice/ehr").await;
    fits("practice EHR chart", s.overflows().await);
    s.screenshot("390-practice-ehr.png").await;
    s.quit().await;
    eprintln!("{}", checked.join("\n"));
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver: tests/run.sh installs them"]
async fn a_launch_completes_through_the_authorize_post_form() {
    // The practice EHR's public client, sending its authorization request as a form.
    let s = session_with(
        "[[registration]]\nid = \"post\"\nname = \"Practice via POST\"\niss = \"{base}/practice/fhir\"\nclient_id = \"practice-app\"\nscope = \"launch openid fhirUser patient/*.read\"\nauthorize_method = \"post\"\n",
    )
    .await;
    s.open("/").await;
    s.click("//*[self::button or self::a][contains(., 'Launch Practice via POST')]")
        .await;
    // app.js submits the form; the practice EHR's sign-in page follows.
    s.sign_in().await;
    let text = s.text_with("Launch succeeded").await;
    assert!(text.contains("Signed in as Dr. Adele Smith"), "{text}");
    s.screenshot("authorize-post.png").await;
    s.quit().await;
}
