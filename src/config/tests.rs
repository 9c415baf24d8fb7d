use super::*;

fn listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9123))
}

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(text, "test.toml", listen())
}

#[test]
fn public_url_defaults_to_the_listen_address() {
    let c = load("").unwrap();
    assert_eq!(c.redirect_uri(), "http://127.0.0.1:9123/callback");
}

#[test]
fn allow_private_hosts_takes_names_addresses_and_networks_and_names_a_bad_entry() {
    let c = load("allow_private_hosts = [\"ehr.local\", \"10.0.0.5\", \"10.0.0.0/8\"]").unwrap();
    let policy = c.net_policy();
    assert!(policy.allows_name("ehr.local"));
    assert!(policy.refuses("10.9.9.9".parse().unwrap()).is_none());
    assert!(policy.refuses("192.168.0.1".parse().unwrap()).is_some());
    assert_eq!(
        c.loopback,
        Loopback::Standard,
        "the test seam is never configured"
    );
    let err = load("allow_private_hosts = [\"ehr.local\", \"http://x/\"]")
        .unwrap_err()
        .to_string();
    assert!(err.contains("allow_private_hosts[1]"), "{err}");
    let err = load("loopback = \"TestPublic127001\"")
        .unwrap_err()
        .to_string();
    assert!(err.contains("loopback"), "not a configuration key: {err}");
}

#[test]
fn a_public_url_on_another_port_or_host_is_warned_about() {
    let warn = |toml: &str, listen: &str| {
        Config::from_toml(toml, "t", listen.parse().unwrap())
            .unwrap()
            .public_url_mismatch(listen.parse().unwrap())
    };
    let pinned = "public_url = \"http://127.0.0.1:8080\"";
    let w = warn(pinned, "127.0.0.1:9305").unwrap();
    assert!(
        w.contains("public_url http://127.0.0.1:8080") && w.contains("in port"),
        "{w}"
    );
    assert!(warn(pinned, "127.0.0.2:8080").unwrap().contains("in host"));
    assert_eq!(warn(pinned, "127.0.0.1:8080"), None);
    assert_eq!(
        warn("", "127.0.0.1:9305"),
        None,
        "the default follows --listen"
    );
    assert_eq!(
        warn("public_url = \"http://localhost:9305\"", "127.0.0.1:9305"),
        None
    );
    assert_eq!(
        warn("public_url = \"http://app.example:8080\"", "0.0.0.0:8080"),
        None
    );
    assert_eq!(
        warn("public_url = \"https://app.example\"", "127.0.0.1:8080"),
        None
    );
}

#[test]
fn unknown_key_is_named() {
    let err = load("public_urll = \"http://x\"").unwrap_err().to_string();
    assert!(err.contains("public_urll"), "{err}");
}

#[test]
fn a_value_of_the_wrong_type_names_its_key() {
    let err = load("session_idle_minutes = \"x\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("session_idle_minutes") && err.contains("line 1"),
        "{err}"
    );
    let err = load("[[registration]]\nid = \"a\"\n\n[[registration]]\nid = 7\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("registration[1].id") && err.contains("line 5"),
        "{err}"
    );
}

#[test]
fn unknown_registration_key_is_named_with_its_line() {
    let err = load("[[registration]]\nid = \"a\"\nsecrett = \"x\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("secrett") && err.contains("line 3"), "{err}");
}

#[test]
fn duplicate_ids_are_rejected() {
    let reg = "[[registration]]\nid = \"a\"\niss = \"https://h/fhir\"\nclient_id = \"c\"\nscope = \"openid\"\n";
    let err = load(&format!("{reg}{reg}")).unwrap_err().to_string();
    assert!(err.contains("registration[1].id"), "{err}");
}

#[test]
fn confidential_method_without_secret_is_rejected() {
    let err = load("[[registration]]\nid = \"a\"\niss = \"https://h/fhir\"\nclient_id = \"c\"\nauth = \"client_secret_basic\"\nscope = \"openid\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("registration[0].client_secret"), "{err}");
}

#[test]
fn bad_iss_is_rejected() {
    let err = load("[[registration]]\nid = \"a\"\niss = \"fhir.example\"\nclient_id = \"c\"\nscope = \"openid\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("registration[0].iss"), "{err}");
}

#[test]
fn same_site_none_requires_https() {
    let err = load("cookie_same_site = \"none\"").unwrap_err().to_string();
    assert!(err.starts_with("cookie_same_site"), "{err}");
    assert!(load("cookie_same_site = \"none\"\npublic_url = \"https://app.example\"").is_ok());
}

#[test]
fn iss_matching_ignores_one_trailing_slash() {
    let c = load("[[registration]]\nid = \"a\"\niss = \"https://h/fhir/\"\nclient_id = \"c\"\nscope = \"launch openid\"\n").unwrap();
    let a = c.registration("a").unwrap();
    assert_eq!(a.iss, "https://h/fhir");
    assert!(c.registration_for_iss("https://h/fhir/").is_some());
    assert!(c.registration_for_iss("https://h/fhir").is_some());
    assert!(c.registration_for_iss("https://h/fhir2").is_none());
    assert_eq!(a.standalone_scope, "launch/patient openid");
}

#[test]
fn secret_debug_never_shows_the_value() {
    let s = Secret::new("hunter2");
    assert!(!format!("{s:?}").contains("hunter2"));
}

#[test]
fn a_fhir_base_with_userinfo_is_refused_without_echo() {
    for iss in [
        "https://alice:hunter2pw@ehr.example/fhir",
        "https://alice@ehr.example/fhir",
        "https://alice:hunter2 pw@ehr.example/fhir",
        "ftp://alice:hunter2pw@ehr.example/fhir",
    ] {
        let e = normalize_iss(iss).unwrap_err();
        assert!(!e.contains("hunter2") && !e.contains("alice"), "{e}");
    }
    assert_eq!(
        without_userinfo("https://alice:password@ehr.example/fhir?a@b"),
        "https://[redacted]@ehr.example/fhir?a@b"
    );
    assert!(normalize_iss("https://ehr.example/fhir").is_ok());
}

#[test]
fn a_registration_with_userinfo_names_the_key_not_the_password() {
    let toml = "[[registration]]\nid = \"a\"\niss = \"https://bob:hunter2xyz@ehr.example/fhir\"\nclient_id = \"c\"\nscope = \"openid\"\n";
    let e = load(toml).unwrap_err().to_string();
    assert!(e.contains("registration[0].iss"), "{e}");
    assert!(!e.contains("hunter2xyz"), "{e}");
}

#[test]
fn defaults_include_the_practice_ehr_and_the_public_sandbox() {
    let c = Config::defaults(listen()).unwrap();
    let sandbox = c.registration("sandbox").unwrap();
    assert_eq!(sandbox.iss, "https://launch.smarthealthit.org/v/r4/fhir");
    assert_eq!(sandbox.auth, ClientAuth::None);
    let practice = c.registration(PRACTICE_ID).unwrap();
    assert_eq!(practice.iss, "http://127.0.0.1:9123/practice/fhir");
    assert_eq!(
        practice.standalone_scope,
        "launch/patient openid fhirUser patient/*.read offline_access"
    );
    let backend = c.registration(PRACTICE_BACKEND_ID).unwrap();
    assert!(backend.backend && backend.auth.method() == AuthMethod::PrivateKeyJwt);
    assert_eq!(backend.scope, "system/*.read");
    assert_eq!(backend.backend_read, DEFAULT_BACKEND_READ);
    assert!(backend.auth.key().is_some());
    assert_eq!(c.signing_keys().count(), 1);
    let secret = c.registration(PRACTICE_BACKEND_SECRET_ID).unwrap();
    assert!(secret.backend && secret.auth.method() == AuthMethod::ClientSecretBasic);
    assert!(secret.auth.key().is_none());
    assert_eq!(
        secret.auth.secret().map(Secret::expose),
        Some(PRACTICE_BACKEND_SECRET)
    );
}

#[test]
fn the_practice_ehr_can_be_turned_off() {
    let c = load("practice_ehr = false").unwrap();
    assert!(c.registration(PRACTICE_ID).is_none());
    assert!(c.registration(PRACTICE_BACKEND_ID).is_none());
}

#[test]
fn the_practice_ehr_is_on_by_default_only_on_loopback() {
    let public = SocketAddr::from(([0, 0, 0, 0], 8080));
    let c = Config::defaults(public).unwrap();
    assert!(!c.practice_ehr && c.registration(PRACTICE_ID).is_none());
    let asked = Config::from_toml("practice_ehr = true", "t", public).unwrap();
    assert!(asked.practice_ehr);
    assert!(Config::defaults(listen()).unwrap().practice_ehr);
}

#[test]
fn metrics_listen_needs_metrics_and_another_address() {
    let c = load("metrics = true\nmetrics_listen = \"127.0.0.1:9464\"").unwrap();
    assert!(c.metrics);
    assert_eq!(c.metrics_listen, Some("127.0.0.1:9464".parse().unwrap()));
    for bad in [
        "metrics_listen = \"127.0.0.1:9464\"",
        "metrics = true\nmetrics_listen = \"nowhere\"",
        "metrics = true\nmetrics_listen = \"127.0.0.1:9123\"",
    ] {
        let e = load(bad).unwrap_err().to_string();
        assert!(e.starts_with("metrics_listen"), "{e}");
    }
    assert!(!load("").unwrap().metrics);
    let e = load("admin_token_env = \"not a name\"")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("admin_token_env"), "{e}");
}

/// A sealed ad-hoc app kept before `ClientAuth` existed reads back the same; an app whose method
/// needs a secret cannot be reopened without it.
#[test]
fn stored_registrations_keep_their_json_and_reopen_only_with_what_their_method_needs() {
    let old = r#"{"id":"adhoc","name":"Ad-hoc: c","iss":"https://ehr.example/fhir","client_id":"c","auth":"client_secret_post","scope":"openid","standalone_scope":"openid","backend":false,"backend_read":"Patient?_count=1","authorize_method":"get","active_probes":false}"#;
    let stored: StoredRegistration = serde_json::from_str(old).unwrap();
    let reg = stored.open(Some(Secret::new("s3cret"))).unwrap();
    assert_eq!(reg.auth, ClientAuth::Post(Secret::new("s3cret")));
    assert!(
        stored.open(None).is_err(),
        "a secret method needs its secret"
    );
    let again = serde_json::to_value(StoredRegistration::of(&reg)).unwrap();
    assert_eq!(
        again,
        serde_json::from_str::<serde_json::Value>(old).unwrap()
    );
    assert!(!again.to_string().contains("s3cret"));
}
