//! Faults the fake EHR can be told to produce, so tests can see how the client copes with a
//! server that is wrong, unusual or hostile. All are off by default; with none set the fake
//! answers as the specs say.
//!
//! Faults are global, or given to one client with `Ehr::set_client_faults`: wherever the
//! client is known (authorize, token, refresh, id_token, FHIR reads by its access token) its own
//! faults replace the global ones. Discovery, the CapabilityStatement and the JWKS serve every
//! client alike, so their faults (`no_well_known`, `well_known_*`, `metadata_disagrees`,
//! `openid_issuer`, and the JWKS side of [`IdTokenFault::NoKid`]) are always the global ones.

use serde_json::Value;

/// Faults the fake can be told to produce.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// client_secret_basic: decode the credentials *without* RFC 6749 §2.3.1 form-decoding, as
    /// some servers do (a secret with reserved characters then only works sent raw).
    pub basic_raw_only: bool,
    /// `.well-known/smart-configuration` answers 404: the client must fall back to `{fhir}/metadata`.
    pub no_well_known: bool,
    /// Authorize redirects back with `error=access_denied` (+ `error_description`, `state`).
    pub deny_authorization: bool,
    /// Canned token endpoint answer: status + JSON body, content-type `application/json`.
    /// [`Faults::token_answer`] wins when both are set.
    pub token_error: Option<(u16, String)>,
    /// Redirect back from authorize with this error instead of a code:
    /// (error, error_description, error_uri). Wins over every other authorize outcome except
    /// the error page for an unknown client or redirect URI.
    pub authorize_error: Option<(String, Option<String>, Option<String>)>,
    /// Add RFC 9207 `iss` with this value to every authorization response (success and error).
    pub authorize_iss: Option<String>,
    /// Redirect back from authorize with only `state` (no code, no error); `iss` is still added
    /// under [`Faults::authorize_iss`]. [`Faults::authorize_error`] wins when both are set.
    pub authorize_no_code: bool,
    /// Canned token answer with full control: status, extra headers, body (sent verbatim, no
    /// Content-Type unless given in headers).
    pub token_answer: Option<CannedAnswer>,
    /// On a successful code exchange, change the JSON: set (Some) or remove (None) these members.
    pub token_patch: Vec<(String, Option<Value>)>,
    /// On a successful code exchange, leave out Cache-Control: no-store and Pragma: no-cache.
    pub no_cache_headers: bool,
    /// With [`Faults::no_cache_headers`]: send this Cache-Control instead (e.g. "private"),
    /// as servers behind a proxy that sets its own do.
    pub token_cache_control: Option<String>,
    /// Add a `Date` header this many seconds away from now to every token endpoint answer
    /// (success or error). A `Date` given by a canned answer is kept.
    pub token_date_offset_secs: Option<i64>,
    /// Discovery: the CapabilityStatement names [`super::paths::TOKEN_LEGACY`] as token endpoint
    /// while `.well-known` names [`super::paths::TOKEN`], so the two sources disagree. The legacy
    /// endpoint then works, but using it while `.well-known` is served is a violation.
    pub metadata_disagrees: bool,
    /// Discovery: the `.well-known` document lacks these members (e.g. "capabilities",
    /// "grant_types_supported", "code_challenge_methods_supported", "token_endpoint").
    pub well_known_omit: Vec<String>,
    /// Discovery: replace (or add) these members of the `.well-known` document, after
    /// [`Faults::well_known_omit`] (e.g. ("code_challenge_methods_supported", json!(["plain"]))).
    pub well_known_patch: Vec<(String, Value)>,
    /// Discovery: serve `.well-known/smart-configuration` with this Content-Type instead of
    /// `application/json` (e.g. "text/plain").
    pub well_known_content_type: Option<String>,
    /// Introspection: report this member changed (set, or removed with `None`) from what the
    /// token was granted, e.g. ("scope", json!("patient/*.rs")).
    pub introspection_patch: Vec<(String, Option<Value>)>,
    /// private_key_jwt: the fake's clock runs this many seconds ahead (negative: behind) when
    /// it checks a client assertion's `exp`, so a fresh assertion can look expired.
    pub assertion_clock_skew_secs: Option<i64>,
    /// Make the id_token of a code exchange wrong in this one way.
    pub id_token_fault: Option<IdTokenFault>,
    /// `.well-known/openid-configuration` names this `issuer` instead of the FHIR base (global:
    /// with `well_known_patch` of `issuer` too, a server that publishes its issuer with a
    /// trailing slash but signs id_tokens without it).
    pub openid_issuer: Option<String>,
    /// Every FHIR read answers this status: 401 with the Bearer challenge, anything else with an
    /// OperationOutcome. Wins over [`Faults::fhir_not_fhir`].
    pub fhir_status: Option<u16>,
    /// Every FHIR read is answered with this, verbatim (wins over [`Faults::fhir_status`]):
    /// for a server's own refusal bodies (an OperationOutcome naming the missing launch context).
    pub fhir_answer: Option<CannedAnswer>,
    /// The introspection endpoint answers this, verbatim, to every request (a refusal of the
    /// app, or `{"active": false}`).
    pub introspection_answer: Option<CannedAnswer>,
    /// Every FHIR read answers 200 with an HTML page instead of FHIR JSON.
    pub fhir_not_fhir: bool,
    /// Every successful FHIR read has these members replaced (e.g. `("resourceType",
    /// json!("Bundle"))`, or a hostile `name`).
    pub fhir_patch: Vec<(String, Value)>,
    /// Each refresh returns a new refresh_token and invalidates the one it used. Without this
    /// fault a refresh answer repeats the refresh_token it was given, which stays valid.
    pub refresh_rotation: bool,
    /// Every refresh (after client authentication) fails: 400 invalid_grant
    /// "refresh token expired".
    pub refresh_reject: bool,
    /// The refresh answer's `scope` adds `user/*.*`, more than was ever granted.
    pub refresh_widen_scope: bool,
    /// The token endpoint waits this many seconds before it answers anything (without holding
    /// a thread), so that a client's timeout fires first.
    pub token_hang_secs: Option<u64>,
    /// Authorize grants this scope instead of the requested one. It is what the code carries:
    /// the token answer's `scope`, whether a refresh token or id_token is issued, and what
    /// refresh allows all follow it. (To change only the answer's `scope` member, use
    /// [`Faults::token_patch`].)
    pub reduce_scopes_to: Option<String>,
    /// `client_credentials`: once the client is authenticated, answer this status and JSON body
    /// instead of a token (MEDITECH Greenfield answers an authenticated client whose backend
    /// grant is not enabled with 400 `unauthorized_client`). A wrong secret still gets 401.
    pub client_credentials_refusal: Option<(u16, String)>,
    /// `client_credentials`: change the successful answer's JSON: set (Some) or remove (None)
    /// these members (e.g. Oracle Health's `"token_type": "Bearer"`, `"expires_in": 570`).
    pub client_credentials_patch: Vec<(String, Option<Value>)>,
    /// Authorize accepts any `aud` (not only the FHIR base URL) and issues a code for it.
    pub accept_foreign_aud: bool,
    /// The token endpoint exchanges an already used code again (a new token each time) instead
    /// of refusing it (RFC 6749 §4.1.2).
    pub accept_code_replay: bool,
    /// Discovery and the CapabilityStatement answer without `Access-Control-Allow-Origin`
    /// (global, like every discovery fault).
    pub no_cors: bool,
    /// Every `grant_type=refresh_token` request is answered with this, verbatim (the code
    /// exchange before it is answered as usual): a server's own refresh refusal.
    pub refresh_answer: Option<CannedAnswer>,
}

/// One way to get the OpenID Connect id_token wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdTokenFault {
    /// Signed by a different, unpublished key under the current `kid`.
    BadSignature,
    /// `iss` is not the FHIR base URL.
    WrongIssuer,
    /// `aud` is not the client_id.
    WrongAudience,
    /// `iat` and `exp` both two hours in the past.
    Expired,
    /// `iat` ten minutes in the future (and `exp` an hour after it).
    FutureIat,
    /// Header `kid` "ghost", which the JWKS never lists (signed by the current key).
    UnpublishedKey,
    /// Header without `kid`; the JWKS then lists only the current key, so exactly one.
    NoKid,
    /// Unsigned: header `alg` "none", empty signature.
    AlgNone,
    /// HS256 with the client_id as the HMAC secret (the current `kid` in the header).
    Hs256,
    /// `fhirUser` is the relative "Practitioner/practitioner-1", whatever the scope.
    RelativeFhirUser,
    /// `iss` is the FHIR base with a trailing slash, which discovery's `issuer` does not have
    /// (servers get the slash wrong one way or the other).
    IssuerTrailingSlash,
    /// `aud` is the client_id and "another-client", `azp` the client_id.
    ExtraAudience,
    /// `aud` is the client_id and "another-client", without `azp`.
    ExtraAudienceNoAzp,
    /// `aud` is the client_id, `azp` "another-client".
    WrongAzp,
}

/// A token endpoint answer sent exactly as given.
#[derive(Clone, Debug)]
pub struct CannedAnswer {
    /// HTTP status; an invalid one makes the fake answer 500 instead.
    pub status: u16,
    /// Headers added in this order (repeats kept); no Content-Type unless listed here.
    pub headers: Vec<(String, String)>,
    /// Body, sent verbatim.
    pub body: String,
}

impl Faults {
    /// The token endpoint answers 400 `invalid_grant` "authorization code already used" to
    /// every request, as a server does when a code is exchanged twice: a canned
    /// [`Faults::token_answer`] with the headers of a real token error.
    pub fn code_reused() -> Self {
        Self::invalid_grant("authorization code already used")
    }

    /// The token endpoint answers 400 `invalid_grant` "PKCE verification failed:
    /// code_verifier does not match code_challenge" to every request, even for a correct
    /// verifier: a canned [`Faults::token_answer`] with the headers of a real token error.
    pub fn pkce_mismatch() -> Self {
        Self::invalid_grant("PKCE verification failed: code_verifier does not match code_challenge")
    }

    /// Every token request answered 400 `invalid_grant` with this description.
    fn invalid_grant(description: &str) -> Self {
        let body =
            serde_json::json!({ "error": "invalid_grant", "error_description": description });
        let headers = [
            ("content-type", "application/json"),
            ("cache-control", "no-store"),
            ("pragma", "no-cache"),
        ];
        Self {
            token_answer: Some(CannedAnswer {
                status: 400,
                headers: headers
                    .into_iter()
                    .map(|(name, value)| (name.to_owned(), value.to_owned()))
                    .collect(),
                body: body.to_string(),
            }),
            ..Self::default()
        }
    }

    /// The canned token answer to send instead of processing the request, if any:
    /// `token_answer`, else `token_error` as a JSON answer.
    pub(super) fn canned_token_answer(&self) -> Option<CannedAnswer> {
        self.token_answer.clone().or_else(|| {
            self.token_error.clone().map(|(status, body)| CannedAnswer {
                status,
                headers: vec![("content-type".to_owned(), "application/json".to_owned())],
                body,
            })
        })
    }

    /// The authorization response that replaces the normal outcome, if a fault asks for one:
    /// the parameters to send back besides `state` and `iss`.
    pub(super) fn canned_authorize_answer(&self) -> Option<Vec<(&'static str, String)>> {
        if let Some((error, description, uri)) = &self.authorize_error {
            let optional = [("error_description", description), ("error_uri", uri)];
            let pairs = std::iter::once(("error", error.clone()))
                .chain(
                    optional
                        .into_iter()
                        .filter_map(|(name, value)| value.clone().map(|v| (name, v))),
                )
                .collect();
            return Some(pairs);
        }
        self.authorize_no_code.then(Vec::new)
    }
}
