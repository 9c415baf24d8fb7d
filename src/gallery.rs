//! The failure gallery: every condition the built-in practice EHR can produce, each run as a real
//! launch by its own practice client (per-client faults, so entries never interfere), so users
//! learn what each diagnosis looks like.

use serde_json::json;

use crate::config::AuthMethod;
use crate::diagnosis::DiagnosisId;
use crate::practice::{CannedAnswer, Faults, IdTokenFault};

mod vendors;

/// The secret the practice EHR holds for confidential gallery clients.
pub const PRACTICE_SECRET: &str = "practice secret: 100% + fun";

/// One gallery entry.
pub struct Entry {
    /// URL-safe; the practice client id is `gallery-{id}`.
    pub id: &'static str,
    pub title: &'static str,
    /// The diagnosis id the launch shows (`None`: a clean success, `"none"` in the JSON).
    pub expect: Option<DiagnosisId>,
    pub explain: &'static str,
    pub auth: AuthMethod,
    /// The secret the app sends (the practice EHR expects [`PRACTICE_SECRET`]).
    pub app_secret: Option<&'static str>,
    /// Registered redirect URI other than ours (to show a mismatch).
    pub foreign_redirect: bool,
    pub faults: Faults,
    /// A Backend Services client (`client_credentials`) instead of a standalone launch: with
    /// `private_key_jwt` the app signs with a key of its own, which the EHR never registered;
    /// with a client secret (`auth`, `app_secret`) it is the non-SMART symmetric variant.
    pub backend: bool,
    /// Runs against the sloppy practice EHR (`/practice-sloppy`, [`sloppy_faults`]).
    pub sloppy: bool,
    /// The launch signs in although `expect` is an error: a refused side fetch.
    pub signs_in: bool,
    /// The registration has `active_probes = true` (a foreign aud, a replayed code).
    pub active_probes: bool,
}

impl Entry {
    /// The expected id as the page and JSON show it: `none` for a clean success.
    pub fn expect_str(&self) -> &'static str {
        self.expect.map_or("none", DiagnosisId::as_str)
    }
}

/// The scope of the gallery's backend clients.
pub const BACKEND_SCOPE: &str = "system/*.read";

const SEED_BODY: &str = r#"{"error":"invalid_client","error_uri":"https://authorization.cerner.com/errors/urn%3Acerner%3Aerror%3Aauthorization-server%3Aoauth2%3Atoken%3Ainvalid-client-credentials/instances/14c93355-be14-47c0-9f4a-132ef6124fe5?client=unknown&tenant=ec2458f2-1e24-41c8-b71b-0e701af7583d"}"#;

fn entry(
    id: &'static str,
    title: &'static str,
    expect: Option<DiagnosisId>,
    explain: &'static str,
    faults: Faults,
) -> Entry {
    Entry {
        id,
        title,
        expect,
        explain,
        auth: AuthMethod::None,
        app_secret: None,
        foreign_redirect: false,
        faults,
        backend: false,
        sloppy: false,
        signs_in: false,
        active_probes: false,
    }
}

/// The sloppy practice EHR's faults: everything a launch survives but SMART forbids or
/// requires otherwise.
pub fn sloppy_faults() -> Faults {
    Faults {
        well_known_content_type: Some("text/plain".into()),
        well_known_omit: vec!["capabilities".into()],
        well_known_patch: vec![(
            "code_challenge_methods_supported".into(),
            json!(["S256", "plain"]),
        )],
        token_patch: vec![("scope".into(), None), ("expires_in".into(), None)],
        no_cache_headers: true,
        token_cache_control: Some("private".into()),
        ..Faults::default()
    }
}

fn sloppy(mut e: Entry) -> Entry {
    e.sloppy = true;
    e
}

fn confidential(mut e: Entry, auth: AuthMethod, secret: &'static str) -> Entry {
    e.auth = auth;
    e.app_secret = Some(secret);
    e
}

/// The gallery, in the order a launch meets its failures.
pub fn entries() -> Vec<Entry> {
    let none = Faults::default;
    let mut all = vec![
        confidential(
            entry(
                "works-basic",
                "Works: client_secret_basic",
                None,
                "A confidential client whose secret has reserved characters, form-encoded before Basic (RFC 6749 §2.3.1).",
                none(),
            ),
            AuthMethod::ClientSecretBasic,
            PRACTICE_SECRET,
        ),
        confidential(
            entry(
                "works-post",
                "Works: client_secret_post",
                None,
                "The same secret sent in the body.",
                none(),
            ),
            AuthMethod::ClientSecretPost,
            PRACTICE_SECRET,
        ),
        Entry {
            foreign_redirect: true,
            ..entry(
                "wrong-redirect-uri",
                "Wrong redirect_uri",
                Some(id!("authorize.never_returned")),
                "The EHR has another redirect URI registered: it must not send the browser back, so it shows its own error page and the launch never returns.",
                none(),
            )
        },
        entry(
            "access-denied",
            "The user cancels",
            Some(id!("authorize.access_denied")),
            "The authorization server sends the browser back with error=access_denied.",
            Faults {
                deny_authorization: true,
                ..none()
            },
        ),
        entry(
            "invalid-scope",
            "Scope not registered",
            Some(id!("authorize.invalid_scope")),
            "The authorization server refuses the requested scope.",
            Faults {
                authorize_error: Some((
                    "invalid_scope".into(),
                    Some("patient/*.read is not registered for this app".into()),
                    None,
                )),
                ..none()
            },
        ),
        confidential(
            entry(
                "wrong-secret",
                "Wrong client secret",
                Some(id!("token.bad_client_credentials")),
                "The token endpoint rejects the secret (401 invalid_client).",
                none(),
            ),
            AuthMethod::ClientSecretBasic,
            "an old secret",
        ),
        confidential(
            entry(
                "oracle-unknown-client",
                "Oracle Health: client unknown",
                Some(id!("token.unknown_client")),
                "The token endpoint answers exactly what Oracle Health answered in the case that started this project: invalid_client with client=unknown in its error_uri.",
                Faults {
                    token_error: Some((401, SEED_BODY.into())),
                    ..none()
                },
            ),
            AuthMethod::ClientSecretBasic,
            PRACTICE_SECRET,
        ),
        entry(
            "reused-code",
            "Code already used",
            Some(id!("token.code_reused")),
            "The token endpoint says the code was already exchanged.",
            Faults::code_reused(),
        ),
        entry(
            "pkce-mismatch",
            "PKCE verifier rejected",
            Some(id!("token.pkce_rejected")),
            "The token endpoint says code_verifier does not match code_challenge.",
            Faults::pkce_mismatch(),
        ),
        entry(
            "token-500",
            "Token endpoint error 500",
            Some(id!("token.http_error")),
            "The token endpoint fails with HTTP 500.",
            Faults {
                token_answer: Some(CannedAnswer {
                    status: 500,
                    headers: vec![("content-type".into(), "application/json".into())],
                    body: json!({"message": "internal error"}).to_string(),
                }),
                ..none()
            },
        ),
        entry(
            "token-html",
            "Token endpoint answers an HTML page",
            Some(id!("token.http_error")),
            "A proxy or portal answers instead of the token endpoint.",
            Faults {
                token_answer: Some(CannedAnswer {
                    status: 502,
                    headers: vec![("content-type".into(), "text/html".into())],
                    body:
                        "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
                            .into(),
                }),
                ..none()
            },
        ),
        entry(
            "token-no-answer",
            "Token endpoint never answers",
            Some(id!("net.timeout")),
            "The token endpoint holds the connection past the timeout (takes a while).",
            Faults {
                token_hang_secs: Some(600),
                ..none()
            },
        ),
        entry(
            "scopes-reduced",
            "Fewer scopes granted",
            Some(id!("token.scopes_reduced")),
            "The server grants less than was asked; the launch works, with a warning.",
            Faults {
                reduce_scopes_to: Some("launch/patient openid patient/*.read".into()),
                ..none()
            },
        ),
        entry(
            "missing-patient",
            "No patient in context",
            Some(id!("token.missing_context")),
            "launch/patient was granted but the token response has no patient.",
            Faults {
                token_patch: vec![("patient".into(), None)],
                ..none()
            },
        ),
        entry(
            "bad-id-token",
            "id_token signature does not verify",
            Some(id!("id_token.bad_signature")),
            "The id_token is signed by a key the server does not publish under that kid.",
            Faults {
                id_token_fault: Some(IdTokenFault::BadSignature),
                ..none()
            },
        ),
        entry(
            "id-token-issuer-slash",
            "id_token issuer differs by a trailing slash",
            Some(id!("id_token.issuer_trailing_slash")),
            "The id_token's iss has a trailing slash the server's issuer does not. Real servers get this wrong in both directions: several publish issuer with a trailing slash but sign id_tokens without it. OpenID Connect requires the two identical, so the identity is not trusted.",
            Faults {
                id_token_fault: Some(IdTokenFault::IssuerTrailingSlash),
                ..none()
            },
        ),
        entry(
            "expired-refresh",
            "Refresh token expired",
            Some(id!("refresh.rejected")),
            "The launch works; press Refresh now on the result page to see the refresh rejected.",
            Faults {
                refresh_reject: true,
                ..none()
            },
        ),
        entry(
            "fhir-401",
            "FHIR API rejects the token",
            Some(id!("fhir.invalid_token")),
            "The token works at the token endpoint but the FHIR API answers 401.",
            Faults {
                fhir_status: Some(401),
                ..none()
            },
        ),
        entry(
            "fhir-403",
            "FHIR API forbids the read",
            Some(id!("fhir.forbidden")),
            "The FHIR API answers 403 for the patient read.",
            Faults {
                fhir_status: Some(403),
                ..none()
            },
        ),
        Entry {
            auth: AuthMethod::PrivateKeyJwt,
            backend: true,
            ..entry(
                "backend-unregistered-key",
                "Backend client with an unregistered key",
                Some(id!("token.bad_client_assertion")),
                "A Backend Services client signs its client assertion with a key the EHR does not know; the self-check decodes the assertion and names the kid to register.",
                none(),
            )
        },
    ];
    all.extend(vendors::entries());
    all.extend(scorecard_entries());
    all
}

/// Entries for the server scorecard: run after the others.
fn scorecard_entries() -> Vec<Entry> {
    vec![
        sloppy(entry(
            "sloppy-server",
            "Sloppy server: works, but not SMART",
            Some(id!("server.discovery_content_type")),
            "Discovery as text/plain without capabilities, plain PKCE offered, a token answer without scope, expires_in or no-store: the launch succeeds and the scorecard names each deviation.",
            Faults::default(),
        )),
        Entry {
            signs_in: true,
            ..entry(
                "style-url-internal",
                "EHR points its style URL at an internal address",
                Some(id!("net.private_target")),
                "The token response's smart_style_url is http://2852039166/latest/meta-data/: one decimal number that URL parsers read as 169.254.169.254, the cloud metadata service. The launch signs in; the style document is not fetched (not even a connection is attempted) and the result names the address the URL means.",
                Faults {
                    token_patch: vec![(
                        "smart_style_url".into(),
                        Some(json!("http://2852039166/latest/meta-data/")),
                    )],
                    ..Faults::default()
                },
            )
        },
        entry(
            "introspection-mismatch",
            "Introspection disagrees with the token",
            Some(id!("server.introspection_mismatch")),
            "The introspection endpoint reports another scope and patient than the token response granted.",
            Faults {
                introspection_patch: vec![
                    ("scope".into(), Some(json!("patient/Observation.rs"))),
                    ("patient".into(), Some(json!("someone-else"))),
                ],
                ..Faults::default()
            },
        ),
    ]
}

/// Whether an ad-hoc app id is a gallery entry's (`gallery-{entry id}`): gallery launches are
/// labelled so in metrics and the support view instead of `adhoc` (a bounded set of values).
pub fn is_gallery_app(app_id: &str) -> bool {
    app_id
        .strip_prefix("gallery-")
        .is_some_and(|id| entries().iter().any(|e| e.id == id))
}

/// The entry with `id`.
pub fn find(id: &str) -> Option<Entry> {
    entries().into_iter().find(|e| e.id == id)
}

#[cfg(test)]
mod tests;
