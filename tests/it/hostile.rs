//! A hostile EHR gets nothing: URLs pointing inside the network, in every spelling WHATWG
//! parsing accepts and through every field an EHR controls, are refused before any connection
//! (a recording listener on 127.0.0.2 sees none) and named on the result as
//! `net.private_target` with the URL as written and the address it means.

use axum::Router;
use axum::response::Redirect;
use reqwest::StatusCode;
use serde_json::{Value, json};
use smart_launch_doctor::practice::{
    self, ClientAuth, Faults, PracticeClient, PracticeOptions, RunningEhr,
};
use smart_launch_doctor::smart::net_policy::Loopback;

use crate::support::hostile::{LEAKED, Targets};
use crate::support::practice_app::hidden;
use crate::support::upstream::serve;
use crate::support::{Auth, Setup, TestApp, evidence, location};

const UNREGISTERED_CLIENT: &str = "smart-launch-doctor";
const ADHOC_CLIENT: &str = "hostile-test";

/// The app with the test seam (127.0.0.1 public, the rest of 127/8 private), developer mode
/// on and no rate limit (many launches in a row).
async fn seam_app(loopback: Loopback) -> TestApp {
    TestApp::start(Setup {
        loopback,
        extra_toml: "allow_unregistered_iss = true\nlaunch_rate_limit_per_minute = 0".into(),
        ..Setup::new(Auth::None)
    })
    .await
}

/// An EHR nobody registered, on 127.0.0.1, knowing the ad-hoc and the developer-mode client,
/// with `faults`. A fresh one (a new port, so a new issuer) per case: discovery is cached.
async fn hostile_ehr(app: &TestApp, faults: Faults) -> RunningEhr {
    let clients = [UNREGISTERED_CLIENT, ADHOC_CLIENT]
        .map(|c| PracticeClient::new(c, ClientAuth::None, vec![app.url("/callback")]));
    practice::spawn(PracticeOptions {
        clients: clients.to_vec(),
        faults,
        path_prefix: String::new(),
    })
    .await
    .unwrap()
}

#[derive(Clone, Copy, Debug)]
enum Drive {
    /// The ad-hoc form, with the EHR's FHIR base typed in.
    AdHoc,
    /// An EHR launch from an unknown iss (`allow_unregistered_iss`).
    Unregistered,
}

async fn start(app: &TestApp, iss: &str, drive: Drive, code: &str) -> reqwest::Response {
    match drive {
        Drive::AdHoc => {
            let csrf = hidden(&app.get("/").await.text().await.unwrap(), "csrf");
            let form = [
                ("csrf", csrf.as_str()),
                ("iss", iss),
                ("client_id", ADHOC_CLIENT),
                ("auth", "none"),
                ("scope", "openid fhirUser"),
            ];
            app.post_form("/standalone", &form).await
        }
        Drive::Unregistered => {
            let q = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("iss", iss)
                .append_pair("launch", code)
                .finish();
            app.get(&format!("/launch?{q}")).await
        }
    }
}

/// One launch against `ehr`, followed through its authorize to the result's JSON twin.
async fn launch(app: &TestApp, ehr: &RunningEhr, drive: Drive) -> Value {
    let code = ehr.ehr.new_launch("patient-7", None);
    let resp = start(app, &ehr.fhir_base(), drive, &code).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{drive:?} starts");
    let target = location(&resp);
    if target.starts_with("/launches/") {
        return result(app, &target).await;
    }
    let at_ehr = app.get(&target).await;
    assert_eq!(at_ehr.status(), StatusCode::FOUND, "{drive:?}: authorize");
    let callback = app.get(&location(&at_ehr)).await;
    assert_eq!(
        callback.status(),
        StatusCode::SEE_OTHER,
        "{drive:?}: callback"
    );
    result(app, &location(&callback)).await
}

/// The result page (HTML and JSON twin): 200, and never what a refused address answers.
async fn result(app: &TestApp, path: &str) -> Value {
    let page = app.get(path).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(!page.text().await.unwrap().contains(LEAKED));
    let (status, json) = app.get_json(path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!json.to_string().contains(LEAKED), "{json:#}");
    json
}

fn assert_named(json: &Value, url: &str, meant: &str, case: &str) {
    let got = |label| evidence(json, "net.private_target", label);
    assert_eq!(got("URL").as_deref(), Some(url), "{case}: {json:#}");
    assert_eq!(got("Address it means").as_deref(), Some(meant), "{case}");
}

/// What each vector puts into the EHR's answers for one hostile URL.
fn faults_for(vector: &str, url: &str) -> Faults {
    let mut f = Faults::default();
    match vector {
        "smart_style_url" => f.token_patch = vec![("smart_style_url".into(), Some(json!(url)))],
        "token_endpoint" | "introspection_endpoint" => {
            f.well_known_patch = vec![(vector.into(), json!(url))]
        }
        // A `#` would turn the appended path into a fragment: the URL fetched is the issuer's.
        "issuer" => f.well_known_patch = vec![("issuer".into(), json!(format!("{url}#")))],
        other => panic!("no vector {other}"),
    }
    f
}

/// Every vector, every spelling, both ways in: nothing reaches the recorders, each refusal is
/// named with the URL as the EHR wrote it.
#[tokio::test]
async fn urls_an_unregistered_ehr_hands_us_never_reach_a_private_address() {
    let targets = Targets::start().await;
    let app = seam_app(Loopback::TestPublic127001).await;
    for drive in [Drive::AdHoc, Drive::Unregistered] {
        for vector in [
            "smart_style_url",
            "token_endpoint",
            "introspection_endpoint",
            "issuer",
        ] {
            for (url, meant) in targets.spellings("/latest/meta-data/") {
                let case = format!("{drive:?} {vector} {url}");
                let ehr = hostile_ehr(&app, faults_for(vector, &url)).await;
                let json = launch(&app, &ehr, drive).await;
                targets.assert_untouched(&case);
                let fetched = match vector {
                    "issuer" => format!(
                        "{}/.well-known/openid-configuration",
                        url.trim_end_matches('/')
                    ),
                    _ => url.clone(),
                };
                assert_named(&json, &fetched, meant, &case);
                if vector == "smart_style_url" {
                    // A refused side fetch is named; the launch itself still signs in.
                    assert_eq!(json["outcome"], "success", "{case}");
                }
            }
        }
    }
}

/// `jwks_uri` comes from the issuer's OpenID configuration (here a public-looking server that
/// names the private address), and a redirect towards it is never followed.
#[tokio::test]
async fn a_jwks_uri_or_a_redirect_towards_a_private_address_is_not_followed() {
    let targets = Targets::start().await;
    let app = seam_app(Loopback::TestPublic127001).await;
    let (jwks, _) = targets.spellings("/jwks").remove(0);
    let (hop, _) = targets.spellings("/latest/meta-data/").remove(1);
    let (jwks2, hop2) = (jwks.clone(), hop.clone());
    // OpenID Connect Discovery §4.3: the configuration names the issuer it is served for.
    let own = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let issuer = own.clone();
    let side = serve(
        Router::new()
            .route(
                "/.well-known/openid-configuration",
                axum::routing::get(move || async move {
                    axum::Json(json!({"issuer": issuer.get(), "jwks_uri": jwks2}))
                }),
            )
            .route(
                "/style",
                axum::routing::get(move || async move { Redirect::temporary(&hop2) }),
            ),
    )
    .await;
    own.set(side.clone()).unwrap();
    for drive in [Drive::AdHoc, Drive::Unregistered] {
        let f = Faults {
            well_known_patch: vec![("issuer".into(), json!(side))],
            token_patch: vec![(
                "smart_style_url".into(),
                Some(json!(format!("{side}/style"))),
            )],
            ..Faults::default()
        };
        let ehr = hostile_ehr(&app, f).await;
        let json = launch(&app, &ehr, drive).await;
        targets.assert_untouched(&format!("{drive:?}"));
        assert_named(&json, &jwks, "127.0.0.2", &format!("{drive:?} jwks_uri"));
        assert_eq!(json["launch_context"]["style"]["status"], 307, "{json:#}");
    }
}

/// fhirContext references on another server are not read (the token never leaves the base).
#[tokio::test]
async fn fhir_context_references_to_a_private_address_are_not_read() {
    let targets = Targets::start().await;
    let app = seam_app(Loopback::TestPublic127001).await;
    for drive in [Drive::AdHoc, Drive::Unregistered] {
        for (url, _) in targets.spellings("/Patient/p1") {
            let f = Faults {
                token_patch: vec![("fhirContext".into(), Some(json!([{"reference": url}])))],
                ..Faults::default()
            };
            let ehr = hostile_ehr(&app, f).await;
            let json = launch(&app, &ehr, drive).await;
            targets.assert_untouched(&format!("{drive:?} {url}"));
            assert!(json.to_string().contains(&url), "{json:#}");
        }
    }
}

/// The iss itself: refused on the form (nothing stored, nothing sent), and in developer mode
/// refused at discovery, named with the address it means.
#[tokio::test]
async fn an_iss_spelling_a_private_address_is_refused_both_ways() {
    let targets = Targets::start().await;
    let app = seam_app(Loopback::TestPublic127001).await;
    for (base, meant) in targets.spellings("/fhir") {
        let resp = start(&app, &base, Drive::AdHoc, "").await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{base}");
        let page = resp.text().await.unwrap();
        let page = page.replace("&#x2f;", "/").replace("&#47;", "/");
        assert!(page.contains("net.private_target"), "{base}: {page}");
        assert!(
            page.contains(&format!("it means {meant}")),
            "{base}: {page}"
        );
        targets.assert_untouched(&base);

        let resp = start(&app, &base, Drive::Unregistered, "l1").await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{base}");
        let json = result(&app, &location(&resp)).await;
        targets.assert_untouched(&base);
        assert_eq!(
            evidence(&json, "net.private_target", "Address it means").as_deref(),
            Some(meant),
            "{base}: {json:#}"
        );
    }
}

/// A registered EHR is trusted for its own origin only: a private URL on another host that
/// its answers name gets the policy (here without the test seam: the real one).
#[tokio::test]
async fn a_registered_ehr_naming_a_private_url_on_another_host_is_refused() {
    let targets = Targets::start().await;
    let app = seam_app(Loopback::Standard).await;
    let (url, meant) = targets.spellings("/latest/meta-data/").remove(0);
    let mut f = faults_for("smart_style_url", &url);
    f.well_known_patch = vec![(
        "introspection_endpoint".into(),
        json!(format!("{url}introspect")),
    )];
    app.ehr.ehr.set_faults(f);
    let json = app.standalone_result().await;
    targets.assert_untouched("registered");
    assert_eq!(
        json["outcome"], "success",
        "its own origin is trusted: {json:#}"
    );
    let mut named: Vec<(String, String)> = json["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["id"] == "net.private_target")
        .map(|d| {
            let ev = |label: &str| {
                let e = d["evidence"].as_array().unwrap().iter();
                let mut e = e.filter(|e| e["label"] == label);
                e.next().unwrap()["value"].as_str().unwrap().to_string()
            };
            (ev("URL"), ev("Address it means"))
        })
        .collect();
    named.sort();
    let expected = [
        (url.clone(), meant.to_string()),
        (format!("{url}introspect"), meant.to_string()),
    ];
    assert_eq!(named, expected, "{json:#}");
}
