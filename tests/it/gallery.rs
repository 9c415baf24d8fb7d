//! Every gallery entry, run over plain HTTP against the built-in practice EHR (no browser):
//! the launch shows the diagnosis the gallery promises.

use reqwest::StatusCode;
use serde_json::Value;
use smart_launch_doctor::gallery;

use smart_launch_doctor::smart::net_policy::Loopback;

use crate::support::practice_app::{csrf_of, hidden, serve_practice_with};
use crate::support::{browser, location};

#[tokio::test]
async fn every_gallery_entry_shows_the_diagnosis_it_promises() {
    // Outbound connections bound to lo: the internal-address entry cannot leave this machine.
    let extra = "launch_rate_limit_per_minute = 0\nhttp_timeout_seconds = 2";
    let (base, _) = serve_practice_with(extra, Loopback::TestPublic127001).await;
    for entry in gallery::entries() {
        let b = browser();
        let csrf = csrf_of(&b, &base, "/gallery").await;
        let r = b
            .post(format!("{base}/gallery/{}", entry.id))
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", entry.id);
        if entry.backend {
            // A Backend Services run: no browser round trip, straight to its result.
            let result = format!("{base}{}", location(&r));
            let json: Value = b
                .get(&result)
                .header("accept", "application/json")
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(json["kind"], "backend", "{}", entry.id);
            let text = json.to_string();
            assert!(
                text.contains(&format!("\"id\":\"{}\"", entry.expect_str())),
                "{} promises {}: {json:#}",
                entry.id,
                entry.expect_str()
            );
            continue;
        }
        // The practice EHR's sign-in page (or its refusal to redirect).
        let r = b.get(location(&r)).send().await.unwrap();
        if entry.foreign_redirect {
            // An authorization server must not redirect to an unregistered URI: it shows an
            // error page and the launch never returns (authorize.never_returned, later).
            assert!(r.status().is_client_error(), "{}: {}", entry.id, r.status());
            continue;
        }
        let html = r.text().await.unwrap();
        let prefix = if entry.sloppy {
            "/practice-sloppy"
        } else {
            "/practice"
        };
        let action = format!("{base}{prefix}/auth/login");
        let r = b
            .post(&action)
            .form(&[
                ("pending", hidden(&html, "pending").as_str()),
                ("decision", "approve"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}: sign-in", entry.id);
        let r = b.get(location(&r)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}: callback", entry.id);
        let result = format!("{base}{}", location(&r));
        if entry.faults.refresh_reject {
            let page = b.get(&result).send().await.unwrap().text().await.unwrap();
            let csrf = hidden(&page, "csrf");
            let r = b
                .post(format!("{result}/refresh"))
                .form(&[("csrf", csrf.as_str())])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}: refresh", entry.id);
        }
        // Under load the callback may answer with the waiting page (its 2 s) before the
        // token request's own 2 s timeout settles it: read until the exchange is over.
        let mut json: Value = Value::Null;
        for _ in 0..200 {
            json = b
                .get(&result)
                .header("accept", "application/json")
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if !(json["outcome"] == "pending" && json["step"] == "token") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        // The practice EHR's own answers (a deliberate 500 included) reach the app as sent:
        // nothing of this app's error pages may appear in the EHR's evidence.
        assert!(
            !json.to_string().contains("session.store_unavailable"),
            "{}: {json:#}",
            entry.id
        );
        if entry.expect_str() == "none" {
            assert_eq!(json["outcome"], "success", "{}: {json:#}", entry.id);
            let errors: Vec<&Value> = json["diagnoses"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["severity"] == "error")
                .collect();
            assert!(errors.is_empty(), "{}: {errors:?}", entry.id);
        } else {
            if entry.signs_in {
                assert_eq!(json["outcome"], "success", "{}: {json:#}", entry.id);
            }
            let text = json.to_string();
            assert!(
                text.contains(&format!("\"id\":\"{}\"", entry.expect_str())),
                "{} promises {}: {json:#}",
                entry.id,
                entry.expect_str()
            );
        }
    }
}

/// The JSON twin names each expectation as the catalogue id's string, `"none"` for a clean
/// success (the entries hold typed ids).
#[tokio::test]
async fn the_gallery_json_names_each_expectation_as_a_string() {
    let (base, _) = serve_practice_with("", Loopback::TestPublic127001).await;
    let json: Value = browser()
        .get(format!("{base}/gallery?format=json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let expect = |id: &str| {
        json["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == id)
            .map(|e| e["expect"].clone())
            .unwrap_or_else(|| panic!("no {id} in {json}"))
    };
    assert_eq!(expect("works-basic"), "none");
    assert_eq!(expect("oracle-unknown-client"), "token.unknown_client");
    for entry in gallery::entries() {
        assert_eq!(expect(entry.id), entry.expect_str(), "{}", entry.id);
    }
}
