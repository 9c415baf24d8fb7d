use super::*;

fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn ids(l: &ClientLaunch<'_>) -> Vec<&'static str> {
    check(l).iter().map(|d| d.id().as_str()).collect()
}

const STATE: &str = "Zq3vJ1xk0Yb8Wn2Lr5Tc7Gd9Hf4Ps6Mq";

fn good() -> Vec<(String, String)> {
    p(&[
        ("response_type", "code"),
        ("client_id", "app"),
        ("redirect_uri", "https://app/cb"),
        ("scope", "launch openid fhirUser patient/*.rs"),
        ("state", STATE),
        ("aud", "https://ehr/fhir"),
        ("code_challenge", "abc"),
        ("code_challenge_method", "S256"),
        ("nonce", "n"),
        ("launch", "L1"),
    ])
}

#[test]
fn a_careful_app_breaks_no_rule() {
    let a = good();
    let launch = p(&[("iss", "https://ehr/fhir"), ("launch", "L1")]);
    let cb = p(&[("code", "c"), ("state", STATE)]);
    let form = p(&[
        ("grant_type", "authorization_code"),
        ("redirect_uri", "https://app/cb"),
    ]);
    let l = ClientLaunch {
        authorize: Some(&a),
        launch: Some(&launch),
        callback: Some(&cb),
        token_form: Some(&form),
        basic: vec![("app".into(), "s%2Bcret".into())],
        fhir_base: Some("https://ehr/fhir"),
        urls: vec![("fhir", "https://ehr/fhir/Patient/1")],
        ..Default::default()
    };
    assert_eq!(ids(&l), Vec::<&str>::new());
}

#[test]
fn each_mistake_is_named() {
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("code_challenge", "")], "client.pkce_plain"),
        (vec![("state", "abc123")], "client.state_short"),
        (
            vec![("aud", "https://ehr/fhir/")],
            "client.aud_not_fhir_base",
        ),
        (
            vec![("scope", "openid,patient/*.read")],
            "client.scope_syntax",
        ),
        (
            vec![("scope", "patient/*.read user/*.rs")],
            "client.scope_syntax",
        ),
        (vec![("launch", "other")], "client.launch_dropped"),
    ];
    for (change, id) in cases {
        let mut a = good();
        for (k, v) in &change {
            a.retain(|(x, _)| x != k);
            a.push((k.to_string(), v.to_string()));
        }
        a.retain(|(k, _)| {
            !(change.iter().any(|c| c.0 == "code_challenge") && k == "code_challenge_method")
        });
        let launch = p(&[("iss", "https://ehr/fhir"), ("launch", "L1")]);
        let l = ClientLaunch {
            authorize: Some(&a),
            launch: Some(&launch),
            fhir_base: Some("https://ehr/fhir"),
            ..Default::default()
        };
        assert!(ids(&l).contains(&id), "{change:?}: {:?}", ids(&l));
    }
    for (drop, id) in [
        ("code_challenge", "client.pkce_missing"),
        ("state", "client.state_missing"),
        ("aud", "client.aud_missing"),
        ("nonce", "client.nonce_missing"),
    ] {
        let mut a = good();
        a.retain(|(k, _)| k != drop);
        let l = ClientLaunch {
            authorize: Some(&a),
            ..Default::default()
        };
        assert!(ids(&l).contains(&id), "{drop}: {:?}", ids(&l));
    }
}

#[test]
fn token_side_and_url_mistakes_are_named() {
    let a = good();
    let cb = p(&[("code", "c")]);
    let form = p(&[("redirect_uri", "https://app/cb/")]);
    let l = ClientLaunch {
        authorize: Some(&a),
        callback: Some(&cb),
        token_form: Some(&form),
        basic: vec![("app".into(), "p@ss word".into())],
        state_reused: true,
        urls: vec![
            ("token", "https://ehr/token?client_secret=shh"),
            ("fhir", "https://ehr/fhir/Patient?access_token=abc"),
        ],
        ..Default::default()
    };
    let found = ids(&l);
    for id in [
        "client.state_not_echoed",
        "client.state_reused",
        "client.redirect_uri_mismatch",
        "client.basic_not_form_encoded",
        "client.secret_in_query",
        "client.token_in_url",
    ] {
        assert!(found.contains(&id), "{id}: {found:?}");
    }
    let shown = format!("{:?}", check(&l));
    assert!(!shown.contains("shh") && !shown.contains("p@ss"), "{shown}");
}

#[test]
fn state_bits_follow_the_alphabet() {
    assert!(state_bits(STATE) >= MIN_STATE_BITS);
    assert!(state_bits(&"a".repeat(30)) < MIN_STATE_BITS);
    assert!(state_bits("0123456789abcdef0123456789abcdef") >= 122.0);
}
