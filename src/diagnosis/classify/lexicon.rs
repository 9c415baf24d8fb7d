//! What an error answer's words mean, whatever server wrote them: a lexicon of meanings, each
//! with the phrases servers use for it (taken from vendor documentation, public trackers and
//! server source code). The step and the configuration turn a meaning into a catalogue id
//! (see `choose`); the matched phrase becomes evidence. Pure.

/// One thing an error answer can say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Meaning {
    SecretExpired,
    SecretWrong,
    /// The server wants credentials the client did not send (a confidential client).
    ConfidentialRequired,
    /// The server says the client is public and must send no credentials.
    PublicClient,
    ClientUnknown,
    ClientDisabled,
    MethodNotAllowed,
    BadAuthHeader,
    AssertionTypeMissing,
    AssertionAudience,
    AssertionKey,
    AssertionSignature,
    AssertionLifetime,
    AssertionJti,
    /// A required `redirect_uri` was not sent (a malformed request, not a mismatch).
    RedirectMissing,
    /// An API gateway's own key (subscription key, API key) or quota, not the access token.
    GatewayKey,
    RedirectMismatch,
    PkceVerifier,
    CodeUsed,
    CodeExpired,
    CodeInvalid,
    RefreshInvalid,
    GrantNotAllowed,
    ScopeInvalid,
    /// The `aud` parameter of the authorization request (not an assertion's audience).
    AudParameter,
    TokenExpired,
    TokenMissingContext,
    Tenant,
    Consent,
}

impl Meaning {
    /// A few words for the evidence line.
    pub fn as_str(self) -> &'static str {
        use Meaning::*;
        match self {
            SecretExpired => "the client secret has expired",
            SecretWrong => "the client secret is wrong",
            ConfidentialRequired => "the server wants client credentials (a confidential client)",
            PublicClient => "the server treats the client as public (no credentials)",
            ClientUnknown => "the client id is unknown",
            ClientDisabled => "the client is disabled",
            MethodNotAllowed => "the authentication method is not the registered one",
            BadAuthHeader => "the Authorization header is malformed",
            AssertionTypeMissing => {
                "client_assertion_type is missing (the server wants a signed JWT)"
            }
            AssertionAudience => "the client assertion's audience is wrong",
            AssertionKey => "the client assertion's key is not known",
            AssertionSignature => "the client assertion's signature does not verify",
            AssertionLifetime => "the client assertion is outside its validity window",
            AssertionJti => "the client assertion's jti was already used",
            RedirectMissing => "the redirect_uri parameter is missing",
            GatewayKey => "an API gateway wants its own key (subscription or API key) or quota",
            RedirectMismatch => "the redirect URI does not match",
            PkceVerifier => "the PKCE verifier does not match",
            CodeUsed => "the code was already used",
            CodeExpired => "the code has expired",
            CodeInvalid => "the code is invalid",
            RefreshInvalid => "the refresh token is invalid, expired or revoked",
            GrantNotAllowed => "the grant is not allowed for this client",
            ScopeInvalid => "the scope is unknown, or not on the resource",
            AudParameter => "the aud parameter is wrong",
            TokenExpired => "the access token has expired",
            TokenMissingContext => "the access token lacks the launch context claim",
            Tenant => "the tenant is wrong",
            Consent => "consent is missing",
        }
    }

    /// Whether this meaning says the client was not authenticated (its credentials, type,
    /// method or identity), as opposed to a problem after authentication.
    pub fn refuses_the_client(self) -> bool {
        self.natural_code() == "invalid_client"
    }

    /// The OAuth code a server would normally send with this meaning: an answer whose code
    /// agrees ranks this meaning first.
    fn natural_code(self) -> &'static str {
        use Meaning::*;
        match self {
            SecretExpired | SecretWrong | ConfidentialRequired | PublicClient | ClientUnknown
            | ClientDisabled | MethodNotAllowed | BadAuthHeader | AssertionTypeMissing
            | AssertionAudience | AssertionKey | AssertionSignature | AssertionLifetime
            | AssertionJti => "invalid_client",
            RedirectMismatch | PkceVerifier | CodeUsed | CodeExpired | CodeInvalid
            | RefreshInvalid | Consent => "invalid_grant",
            GrantNotAllowed => "unauthorized_client",
            ScopeInvalid => "invalid_scope",
            AudParameter | Tenant | RedirectMissing => "invalid_request",
            GatewayKey => "",
            TokenExpired | TokenMissingContext => "invalid_token",
        }
    }
}

use Meaning::*;
use phrases::{GENERIC, LEXICON};

mod phrases;

/// Most characters a `*` stands for.
const GAP: usize = 60;

/// What a vendor code means, when the vendor documents it.
pub fn aadsts(code: u64) -> Option<Meaning> {
    Some(match code {
        7000215 => SecretWrong,
        7000222 => SecretExpired,
        7000218 => ConfidentialRequired,
        700025 => PublicClient,
        700016 => ClientUnknown,
        7000112 => ClientDisabled,
        90002 | 700005 => Tenant,
        50011 => RedirectMismatch,
        65001 => Consent,
        70008 => CodeExpired,
        54005 => CodeUsed,
        501481 => PkceVerifier,
        700024 => AssertionLifetime,
        700027 => AssertionSignature,
        70011 | 28002 | 28003 | 650053 => ScopeInvalid,
        _ => return None,
    })
}

/// A meaning found in an answer's text, with the words that said it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub meaning: Meaning,
    /// The matched words, as the server wrote them.
    pub phrase: String,
}

fn boundary_before(s: &str, at: usize) -> bool {
    s[..at]
        .chars()
        .next_back()
        .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
}

/// Where `pattern` matches in `lower`: the byte span.
fn find(lower: &str, pattern: &str) -> Option<(usize, usize)> {
    let mut parts = pattern.split('*');
    let first = parts.next()?;
    let rest: Vec<&str> = parts.collect();
    let mut from = 0;
    'start: while let Some(i) = lower[from..].find(first) {
        let start = from + i;
        from = start + first.len().max(1);
        if !boundary_before(lower, start) {
            continue;
        }
        let mut end = start + first.len();
        for part in &rest {
            let window_end = (end + GAP + part.len()).min(lower.len());
            let window_end = (window_end..=lower.len())
                .find(|&e| lower.is_char_boundary(e))
                .unwrap_or(lower.len());
            match lower[end..window_end].find(part) {
                Some(j) => end = end + j + part.len(),
                None => continue 'start,
            }
        }
        return Some((start, end));
    }
    None
}

/// Whether `text` lists every possible cause (RFC wording a server quotes) and so names none.
pub fn is_generic(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    GENERIC.iter().any(|g| lower.contains(g))
}

/// Every meaning `text` states, in lexicon order, each with its first matched phrase.
pub fn meanings(text: &str) -> Vec<Found> {
    // ASCII lowercasing keeps byte offsets, so a span found in `lower` slices `text`.
    if is_generic(text) {
        return Vec::new();
    }
    let lower = text.to_ascii_lowercase();
    LEXICON
        .iter()
        .filter_map(|(meaning, phrases)| {
            phrases
                .iter()
                .find_map(|p| find(&lower, p))
                .map(|(s, e)| Found {
                    meaning: *meaning,
                    phrase: text[s..e].to_string(),
                })
        })
        .collect()
}

/// The meanings ranked for an answer with OAuth code `code`: those the code agrees with first
/// (the code ranks candidates), then the others in lexicon order (a description that says
/// something else is never overridden by the code).
pub fn ranked(text: &str, code: &str) -> Vec<Found> {
    let mut found = meanings(text);
    found.sort_by_key(|f| f.meaning.natural_code() != code);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(text: &str, code: &str) -> Option<(Meaning, String)> {
        ranked(text, code)
            .into_iter()
            .next()
            .map(|f| (f.meaning, f.phrase))
    }

    #[test]
    fn phrases_match_at_word_starts_with_gaps() {
        assert_eq!(
            first(
                "could not authenticate the client - its client secret is expired",
                "invalid_client"
            ),
            Some((SecretExpired, "secret is expired".into()))
        );
        assert_eq!(
            first("could not decode client credentials", ""),
            Some((BadAuthHeader, "could not decode client credentials".into()))
        );
        assert!(meanings("decode").is_empty());
        assert_eq!(
            first(
                "The grant type client_credentials is not allowed for this client",
                "unauthorized_client"
            )
            .map(|f| f.0),
            Some(GrantNotAllowed)
        );
    }

    #[test]
    fn the_code_ranks_but_a_description_that_says_otherwise_wins() {
        // Keycloak's unauthorized_client for wrong credentials.
        assert_eq!(
            first(
                "Invalid client or Invalid client credentials",
                "unauthorized_client"
            )
            .map(|f| f.0),
            Some(SecretWrong)
        );
        // An invalid_request that names the redirect URI.
        assert_eq!(
            first("Invalid redirect_uri parameter", "invalid_request").map(|f| f.0),
            Some(RedirectMismatch)
        );
        assert_eq!(first("nothing we know", "invalid_client"), None);
    }

    #[test]
    fn a_description_listing_every_cause_names_none() {
        // Ory Hydra and Doorkeeper quote RFC 6749's list of what invalid_client may mean.
        let hydra = "Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method)";
        assert!(is_generic(hydra) && meanings(hydra).is_empty());
        assert_eq!(
            first("Missing 'redirect_uri' parameter", "invalid_request").map(|f| f.0),
            Some(RedirectMissing)
        );
        assert_eq!(
            first("client_assertion_type must be provided", "invalid_request").map(|f| f.0),
            Some(AssertionTypeMissing)
        );
    }

    #[test]
    fn non_ascii_text_never_panics() {
        assert!(meanings("clé secrète expirée — ünknown").is_empty());
        let _ = meanings("secret ééééééééééééééééééééééééééééééééééééééééééééééééééééééé expired");
    }
}
