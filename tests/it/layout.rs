//! Layout in a real browser at 1200 and 390 px, on every page type: no table cell narrower than
//! six characters of its font, no word broken inside (identifiers wrap only after `.`, `_`, `-`,
//! `/`, `?`, `&`, `=`), no sideways scrolling, and no WCAG 2.1 A/AA violation found by axe-core.
//! Screenshots of each page at both widths go to `test-artifacts/layout-{width}-{page}.png`.

use std::time::Duration;

use thirtyfour::prelude::*;

use crate::browser::{Session, session_with, walk_gallery_entry};

const ADMIN_ENV: &str = "SLD_LAYOUT_TEST_ADMIN_TOKEN";
const ADMIN_TOKEN: &str = "layout-test-admin-token-0123456789";

/// Measures the page; returns one line per problem.
const MEASURE: &str = r#"
const problems = [];
const ctx = document.createElement('canvas').getContext('2d');
const charWidth = el => { ctx.font = getComputedStyle(el).font; return ctx.measureText('0').width; };
for (const cell of document.querySelectorAll('main td, main th')) {
  const r = cell.getBoundingClientRect();
  if (r.width <= 1 || !cell.getClientRects().length || cell.closest('thead')) continue;
  const cs = getComputedStyle(cell);
  const inner = r.width - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
  const need = 6 * charWidth(cell);
  if (inner + 0.5 < need) problems.push(`cell ${inner.toFixed(0)} px < ${need.toFixed(0)} px: "${cell.textContent.trim().slice(0, 50)}"`);
}
const walker = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
const range = document.createRange();
while (walker.nextNode()) {
  const node = walker.currentNode, el = node.parentElement;
  if (!el || el.closest('pre, .opaque, .visually-hidden, thead, script, style, select, option')) continue;
  if (!el.getClientRects().length) continue;
  const re = /%?[^\s._\-\/?&=,:%]+[._\-\/?&=,:]*/g;
  let m;
  while ((m = re.exec(node.data))) {
    range.setStart(node, m.index);
    range.setEnd(node, m.index + m[0].length);
    const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
    if (tops.size > 1) problems.push(`word broken inside: "${m[0]}" in <${el.tagName.toLowerCase()}${el.className ? '.' + el.className : ''}>`);
  }
}
if (document.documentElement.scrollWidth > window.innerWidth) problems.push(`page is ${document.documentElement.scrollWidth} px wide in ${window.innerWidth} px`);
return problems;
"#;

/// axe-core's WCAG 2.0/2.1 A and AA rules on the page; returns one line per violation.
const AXE_RUN: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
  .then(r => done(r.violations.map(v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`)))
  .catch(e => done([`axe failed: ${e}`]));
"#;

fn axe_source() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/peer/node_modules/axe-core/axe.min.js"
    );
    std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!("{path}: {e} (tests/run.sh installs it with npm ci in tests/peer)")
    })
}

impl Session {
    /// Measures the page now on screen, runs axe on it and takes its screenshots.
    async fn inspect(&self, width: u32, name: &str, axe: &str) -> Vec<String> {
        let v = self.driver.execute(MEASURE, Vec::new()).await.unwrap();
        let mut problems: Vec<String> = v.convert().unwrap();
        self.driver.execute(axe, Vec::new()).await.unwrap();
        let v = self
            .driver
            .execute_async(AXE_RUN, Vec::new())
            .await
            .unwrap();
        let violations: Vec<String> = v.convert().unwrap();
        problems.extend(violations.into_iter().map(|v| format!("axe: {v}")));
        self.screenshot(&format!("layout-{width}-{name}.png")).await;
        // The first table further down, when there is one: the part most likely to read badly.
        let table = "const t = document.querySelector('main table'); if (t && t.getBoundingClientRect().top > window.innerHeight / 2) { t.scrollIntoView(); return true; } return false;";
        let scrolled = self.driver.execute(table, Vec::new()).await.unwrap();
        if scrolled.convert::<bool>().unwrap_or(false) {
            self.screenshot(&format!("layout-{width}-{name}-table.png"))
                .await;
        }
        problems
            .into_iter()
            .map(|p| format!("{width} px {name}: {p}"))
            .collect()
    }

    async fn width(&self, width: u32) {
        self.driver
            .set_window_rect(0, 0, width, 1400)
            .await
            .unwrap();
    }

    async fn url(&self) -> String {
        let u = self.driver.current_url().await.unwrap();
        format!(
            "{}{}",
            u.path(),
            u.query().map(|q| format!("?{q}")).unwrap_or_default()
        )
    }
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver: tests/run.sh installs them"]
async fn every_page_type_reads_at_1200_and_390_pixels() {
    // SAFETY: this test's process (nextest runs one test per process) reads it only here.
    unsafe { std::env::set_var(ADMIN_ENV, ADMIN_TOKEN) };
    let s = session_with(&format!("admin_token_env = \"{ADMIN_ENV}\"\n")).await;
    let axe = axe_source();
    s.width(1200).await;
    // Launches to look at: a success, a failure, a Backend Services run.
    s.open("/").await;
    s.click("//*[self::button or self::a][contains(., 'Launch Practice EHR')]")
        .await;
    s.sign_in().await;
    s.text_with("Launch succeeded").await;
    let success = s.url().await;
    walk_gallery_entry(&s, "Oracle Health: client unknown", "token.unknown_client").await;
    let failure = s.url().await;
    s.open("/").await;
    s.click("//button[contains(., 'Backend Services')]").await;
    s.text_with("Backend Services run").await;
    let backend = s.url().await;
    // The support view: signed in once, its cookie serves both widths.
    s.open("/admin/login").await;
    s.driver
        .find(By::Id("token"))
        .await
        .unwrap()
        .send_keys(ADMIN_TOKEN)
        .await
        .unwrap();
    s.sign_in().await;
    s.text_with("Recent launches").await;
    s.click("//table//a").await;
    s.text_with("Support view").await;
    let admin_launch = s.url().await;
    let pages = [
        ("home", "/".to_string()),
        ("gallery", "/gallery".into()),
        ("practice-chart", "/practice/ehr".into()),
        ("launches", "/launches".into()),
        ("check", "/check/practice".into()),
        ("success", success.clone()),
        ("success-revealed", format!("{success}?reveal=tokens")),
        ("failure", failure),
        ("backend", backend),
        ("error", "/callback?state=x&state=y".into()),
        ("admin-launches", "/admin/launches".into()),
        ("admin-launch", admin_launch),
        ("status", "/status".into()),
        ("status-history", "/status/practice".into()),
    ];
    let mut problems = Vec::new();
    for width in [1200, 390] {
        s.width(width).await;
        for (name, path) in &pages {
            s.open(path).await;
            s.text_with("").await;
            problems.extend(s.inspect(width, name, &axe).await);
        }
        problems.extend(form_errors(&s, width, &axe).await);
    }
    s.quit().await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The ad-hoc form sent empty: the page opens at the first invalid field, focused, with the
/// error summary at the top linking to it.
async fn form_errors(s: &Session, width: u32, axe: &str) -> Vec<String> {
    s.open("/").await;
    s.click("//form[contains(@class, 'adhoc')]//button[normalize-space(.) = 'Launch']")
        .await;
    s.text_with("There is a problem with the form").await;
    // Focus moves with the page load; allow it a moment on a loaded machine.
    let mut focused = String::new();
    for _ in 0..50 {
        let v = s
            .driver
            .execute("return document.activeElement.id;", Vec::new())
            .await
            .unwrap();
        focused = v.convert().unwrap();
        if !focused.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        focused, "f-iss",
        "{width} px: the first invalid field has focus"
    );
    let v = s
        .driver
        .execute(
            "const r = document.activeElement.getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight;",
            Vec::new(),
        )
        .await
        .unwrap();
    assert!(
        v.convert::<bool>().unwrap(),
        "{width} px: the focused field is on screen"
    );
    let mut problems = s.inspect(width, "form-errors", axe).await;
    s.click("//div[@class='error-summary']//a[contains(@href, '#f-client')]")
        .await;
    let v = s
        .driver
        .execute("return location.hash;", Vec::new())
        .await
        .unwrap();
    if v.convert::<String>().unwrap() != "#f-client" {
        problems.push(format!(
            "{width} px: the summary's link does not lead to the field"
        ));
    }
    problems
}
