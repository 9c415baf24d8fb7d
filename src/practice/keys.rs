//! The fake's OpenID Connect signing keys: RSA 2048 made with aws-lc-rs at start, rotated on
//! demand, published as a JWK Set (RFC 7517) with every key ever used, so that id_tokens signed
//! before a rotation still verify.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::EncodingKey;
use serde_json::{Value, json};

/// One RSA signing key and the public JWK that announces it.
#[derive(Clone)]
pub(super) struct SigningKey {
    /// The `kid` in the JWKS and in id_token headers.
    pub(super) kid: String,
    /// The private key, for jsonwebtoken.
    pub(super) encoding: EncodingKey,
    /// Public JWK: `kty`, `n`, `e`, `kid`, `alg` RS256, `use` sig.
    pub(super) jwk: Value,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish()
    }
}

impl SigningKey {
    /// A fresh RSA 2048 key named `kid`.
    pub(super) fn generate(kid: &str) -> Result<Self, String> {
        let pair = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|e| format!("RSA key generation failed: {e}"))?;
        let pkcs8 = pair
            .as_der()
            .map_err(|e| format!("PKCS#8 export failed: {e}"))?;
        // jsonwebtoken's `from_rsa_der` wants PKCS#1 (aws-lc-rs parses it as RFC 8017
        // RSAPrivateKey); its PEM reader unwraps PKCS#8 itself, so hand it a PEM.
        let encoding = EncodingKey::from_rsa_pem(pkcs8_pem(pkcs8.as_ref()).as_bytes())
            .map_err(|e| format!("jsonwebtoken refused the key: {e}"))?;
        let public = pair.public_key();
        let jwk = json!({
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
            "kid": kid,
            "alg": "RS256",
            "use": "sig",
        });
        Ok(Self {
            kid: kid.to_owned(),
            encoding,
            jwk,
        })
    }
}

/// PKCS#8 DER as a `PRIVATE KEY` PEM document.
fn pkcs8_pem(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    // RFC 7468: base64 lines of 64 characters; the alphabet is ASCII, so byte chunks are safe.
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    pem
}

/// Every signing key made so far; the last one signs.
#[derive(Debug, Default)]
pub(super) struct KeyRing {
    keys: Vec<SigningKey>,
    /// Generated on first use by the `BadSignature` fault: never published.
    impostor: Option<SigningKey>,
}

impl KeyRing {
    /// A ring with one fresh key, or an empty one (id_tokens then fail) if generation fails.
    pub(super) fn generate() -> Self {
        let mut ring = Self::default();
        match SigningKey::generate(&kid(1)) {
            Ok(key) => ring.keys.push(key),
            Err(why) => tracing::error!(%why, "fake EHR has no id_token signing key"),
        }
        ring
    }

    /// The `kid` the next rotation will use.
    pub(super) fn next_kid(&self) -> String {
        kid(self.keys.len() + 1)
    }

    /// Makes `key` the signing key; the older ones stay published.
    pub(super) fn push(&mut self, key: SigningKey) {
        self.keys.push(key);
    }

    /// The key id_tokens are signed with now.
    pub(super) fn current(&self) -> Option<&SigningKey> {
        self.keys.last()
    }

    /// The unpublished key the `BadSignature` fault signs with, once made.
    pub(super) fn impostor(&self) -> Option<SigningKey> {
        self.impostor.clone()
    }

    /// Keeps the impostor key (made outside the lock: RSA generation takes a moment).
    pub(super) fn set_impostor(&mut self, key: SigningKey) {
        self.impostor = Some(key);
    }

    /// The published JWK Set: every key, or only the current one when `only_current`.
    pub(super) fn jwks(&self, only_current: bool) -> Value {
        let keys: Vec<&Value> = if only_current {
            self.current().map(|k| &k.jwk).into_iter().collect()
        } else {
            self.keys.iter().map(|k| &k.jwk).collect()
        };
        json!({ "keys": keys })
    }
}

/// `fake-1`, `fake-2`, …
fn kid(n: usize) -> String {
    format!("fake-{n}")
}
