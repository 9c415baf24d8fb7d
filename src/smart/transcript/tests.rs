use super::*;

/// Steps are stored as their names: records written before the step was typed read back,
/// and a step this build does not know reads as `other` instead of failing the record.
#[test]
fn exchange_steps_are_stored_as_their_names() {
    for (name, step) in [
        ("discovery", ExchangeStep::Discovery),
        ("id_token", ExchangeStep::IdToken),
        ("introspection", ExchangeStep::Introspection),
        (
            "active probe (deliberate): the same code exchanged again",
            ExchangeStep::ActiveReplay,
        ),
        (
            "probe: unknown grant_type (Backend Services rule)",
            ExchangeStep::BackendGrantType,
        ),
    ] {
        assert_eq!(serde_json::to_value(step).unwrap(), name);
        assert_eq!(step.as_str(), name);
        let back: ExchangeStep = serde_json::from_value(serde_json::json!(name)).unwrap();
        assert_eq!(back, step);
    }
    let unknown: ExchangeStep = serde_json::from_value(serde_json::json!("userinfo")).unwrap();
    assert_eq!(unknown, ExchangeStep::Other);
}

#[test]
fn form_secrets_become_markers_and_other_fields_stay() {
    let out =
        redact_form("grant_type=authorization_code&code=abc123&code_verifier=v&client_id=app");
    assert!(out.contains("grant_type=authorization_code"));
    assert!(out.contains("client_id=app"));
    assert!(!out.contains("abc123"));
    assert!(out.contains(&marker("abc123")));
}

#[test]
fn client_assertion_keeps_header_and_claims_but_not_the_signature() {
    let out = redact_form("client_assertion=aGVhZA.Y2xhaW1z.c2lnbmF0dXJl&x=1");
    assert!(
        out.starts_with("client_assertion=aGVhZA.Y2xhaW1z.[redacted: 12 chars"),
        "{out}"
    );
    assert!(!out.contains("c2lnbmF0dXJl"));
}

#[test]
fn basic_header_keeps_its_scheme_only() {
    let out = redact_header("Authorization", "Basic Y2xpZW50OnNlY3JldA==");
    assert!(out.starts_with("Basic [redacted: 20 chars"));
    assert!(!out.contains("Y2xp"));
}

#[test]
fn json_tokens_are_redacted_at_any_depth() {
    let out =
        redact_body(r#"{"access_token":"AT1","nested":{"refresh_token":"RT1"},"patient":"p1"}"#);
    assert!(!out.contains("AT1") && !out.contains("RT1"));
    assert!(out.contains("p1"));
}

#[test]
fn url_query_code_is_redacted() {
    let out = redact_url("https://app/cb?code=SECRETCODE&state=s1");
    assert!(!out.contains("SECRETCODE"));
    assert!(out.contains("state=s1"));
}

#[test]
fn fingerprints_tell_values_apart() {
    assert_eq!(fingerprint("a"), fingerprint("a"));
    assert_ne!(fingerprint("a"), fingerprint("b"));
    assert_eq!(fingerprint("a").len(), 8);
}

#[test]
fn secret_fingerprints_are_keyed_and_token_fingerprints_plain() {
    let plain: String = Sha256::digest(b"hunter2")[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(token_fingerprint("hunter2"), plain);
    assert_ne!(
        fingerprint("hunter2"),
        plain,
        "keyed, not a bare SHA-256 prefix"
    );
    assert_eq!(
        fingerprint("hunter2"),
        fingerprint("hunter2"),
        "stable in a process"
    );
    assert!(marker("hunter2").starts_with("[redacted: 7 chars, hmac "));
    assert!(token_marker("AT1").starts_with("[redacted: 3 chars, sha256 "));
    let form = redact_form("client_secret=hunter2&code=c1&refresh_token=RT1");
    assert!(
        form.contains(&format!("client_secret={}", marker("hunter2"))),
        "{form}"
    );
    assert!(form.contains(&format!("code={}", marker("c1"))), "{form}");
    assert!(
        form.contains(&format!("refresh_token={}", token_marker("RT1"))),
        "{form}"
    );
    let bearer = redact_header("Authorization", "Bearer AT1");
    assert_eq!(bearer, format!("Bearer {}", token_marker("AT1")));
}

#[test]
fn fhir_code_members_stay_and_token_members_go() {
    let out = redact_body(
        r#"{"resourceType":"CapabilityStatement","rest":[{"resource":[{"interaction":[{"code":"read"}]}]}],"access_token":"AT1","client_secret":"S1"}"#,
    );
    assert!(out.contains(r#""code": "read""#), "{out}");
    assert!(!out.contains("AT1") && !out.contains("\"S1\""), "{out}");
    // A FHIR search by code is no secret; the callback's code is.
    let search = redact_request_url("https://ehr/fhir/Observation?code=1234-5&patient=p");
    assert!(search.contains("code=1234-5"), "{search}");
    assert!(!redact_url("https://app/callback?code=C0DE&state=s").contains("C0DE"));
    // A token request body keeps redacting the code.
    assert!(!redact_body("grant_type=authorization_code&code=C0DE").contains("C0DE"));
}

#[test]
fn request_urls_lose_their_userinfo() {
    let out = redact_request_url("https://alice:pw123@ehr.example/fhir/metadata");
    assert!(!out.contains("alice") && !out.contains("pw123"), "{out}");
    assert_eq!(
        redact_request_url("https://ehr.example/fhir"),
        "https://ehr.example/fhir"
    );
}

#[test]
fn secret_names_are_recognised_without_case_or_separators() {
    for n in [
        "client_secret",
        "clientSecret",
        "SECRET",
        "password",
        "Passwd",
        "private_key",
        "privateKey",
        "api-key",
        "API_KEY",
        "pwd",
    ] {
        assert!(is_secret_name(n), "{n}");
    }
    for n in ["sub", "scope", "fhirUser", "client_id", "code"] {
        assert!(!is_secret_name(n), "{n}");
    }
}

#[test]
fn the_gate_removes_a_secret_in_every_form() {
    let secret = "s3:cr%t+ x/y";
    let gate = Gate::new([secret]);
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let forms = [
        secret.to_string(),
        form.clone(),
        form.replace('+', "%20"),
        STANDARD.encode(secret),
        URL_SAFE_NO_PAD.encode(secret),
    ];
    for f in &forms {
        let out = gate.scrub(&format!("before {f} after"));
        assert!(!out.contains(f.as_str()), "{f} in {out}");
        assert!(out.contains("[redacted: 12 chars, hmac "), "{out}");
    }
    let mut basic = gate.clone();
    basic.add_basic("app", secret);
    let cred = STANDARD.encode(format!("app:{form}"));
    assert!(!basic.scrub(&format!("Basic {cred}")).contains(&cred));
}

#[test]
fn the_gate_masks_claims_by_name_and_by_value_and_jwts_whole() {
    let gate = Gate::new(["configured-secret", "abc"]);
    let mut claims = serde_json::json!({
        "sub": "u1",
        "client_secret": "anything",
        "nested": {"Password": "pw", "list": ["abc", "configured-secret-suffix"]},
        "api_key": 42,
        "other": "abc",
    });
    gate.mask_claims(&mut claims);
    let text = claims.to_string();
    assert_eq!(claims["sub"], "u1");
    for gone in ["anything", "\"pw\"", "configured-secret", "\"abc\""] {
        assert!(!text.contains(gone), "{gone} in {text}");
    }
    assert!(
        claims["api_key"]
            .as_str()
            .is_some_and(|s| s.starts_with("[redacted: 2 chars"))
    );
    // Short secrets are masked only as whole values, never inside other text.
    assert_eq!(gate.scrub("abcdef"), "abcdef");
    let b64 = URL_SAFE_NO_PAD;
    let jwt = format!(
        "{}.{}.sig",
        b64.encode(r#"{"alg":"none"}"#),
        b64.encode(r#"{"sub":"u","k":"configured-secret"}"#)
    );
    assert!(gate.scrub_value(&jwt).starts_with("[redacted: "));
    let clean = format!(
        "{}.{}.sig",
        b64.encode(r#"{"alg":"none"}"#),
        b64.encode(r#"{"sub":"u"}"#)
    );
    assert_eq!(gate.scrub_value(&clean), clean);
}
