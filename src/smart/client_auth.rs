//! `private_key_jwt` (SMART client-confidential-asymmetric): signing keys, the client assertion
//! and our public JWKS. The other methods (none, client_secret_basic, client_secret_post) are
//! sent by oauth2-rs in [`super::token`].

use std::fmt;
use std::path::Path;

use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::{Value, json};

/// The assertion type SMART requires.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long an assertion is valid: SMART allows at most five minutes.
pub const ASSERTION_LIFETIME_SECS: i64 = 240;

/// A private key for client assertions, with its public JWK. `Debug` shows only the kid.
pub struct SigningKey {
    pub kid: String,
    pub alg: Algorithm,
    pub jku: Option<String>,
    key: EncodingKey,
    /// The public JWK to register with the EHR (`kid`, `alg`, `use` set).
    pub public_jwk: Value,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(kid {:?}, {:?})", self.kid, self.alg)
    }
}

fn parse_alg(alg: &str) -> Result<Algorithm, String> {
    match alg {
        "RS384" => Ok(Algorithm::RS384),
        "ES384" => Ok(Algorithm::ES384),
        other => Err(format!("{other:?} is not RS384 or ES384")),
    }
}

impl SigningKey {
    /// Reads a PEM private key (RSA: PKCS#1 or PKCS#8; EC P-384: PKCS#8) for `alg`.
    pub fn load(path: &Path, kid: &str, alg: &str, jku: Option<String>) -> Result<Self, String> {
        let alg = parse_alg(alg)?;
        let pem =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let key = match alg {
            Algorithm::ES384 => EncodingKey::from_ec_pem(&pem),
            _ => EncodingKey::from_rsa_pem(&pem),
        }
        .map_err(|e| {
            format!(
                "{} is not a PEM private key for {alg:?}: {e}",
                path.display()
            )
        })?;
        Self::new(key, kid, alg, jku)
    }

    fn new(
        key: EncodingKey,
        kid: &str,
        alg: Algorithm,
        jku: Option<String>,
    ) -> Result<Self, String> {
        let mut jwk = Jwk::from_encoding_key(&key, alg)
            .map_err(|e| format!("the key does not fit {alg:?}: {e}"))?;
        let kid = if kid.is_empty() {
            jwk.thumbprint(ThumbprintHash::SHA256)
                .map_err(|e| e.to_string())?
        } else {
            kid.to_string()
        };
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Signature);
        let public_jwk = serde_json::to_value(&jwk).map_err(|e| e.to_string())?;
        // Prove the key signs before any launch depends on it.
        let key = SigningKey {
            kid,
            alg,
            jku,
            key,
            public_jwk,
        };
        key.sign(&json!({"probe": true}))
            .map_err(|e| format!("the key cannot sign {alg:?}: {e}"))?;
        Ok(key)
    }

    /// A new key for `alg`, as PKCS#8 PEM text and the loaded key (kid = JWK thumbprint).
    pub fn generate(alg: &str) -> Result<(String, Self), String> {
        use aws_lc_rs::encoding::AsDer;
        let alg = parse_alg(alg)?;
        let der: Vec<u8> = match alg {
            Algorithm::ES384 => {
                let pair = aws_lc_rs::signature::EcdsaKeyPair::generate(
                    &aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED_SIGNING,
                )
                .map_err(|_| "EC key generation failed".to_string())?;
                pair.to_pkcs8v1()
                    .map_err(|_| "EC key export failed".to_string())?
                    .as_ref()
                    .to_vec()
            }
            _ => {
                let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(|_| "RSA key generation failed".to_string())?;
                pair.as_der()
                    .map_err(|_| "RSA key export failed".to_string())?
                    .as_ref()
                    .to_vec()
            }
        };
        let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der));
        // Loaded back from the PEM, exactly as `load` will read the file.
        let key = match alg {
            Algorithm::ES384 => EncodingKey::from_ec_pem(pem.as_bytes()),
            _ => EncodingKey::from_rsa_pem(pem.as_bytes()),
        }
        .map_err(|e| format!("the generated key does not load: {e}"))?;
        Ok((pem, Self::new(key, "", alg, None)?))
    }

    fn sign<T: Serialize>(&self, claims: &T) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        header.jku.clone_from(&self.jku);
        jsonwebtoken::encode(&header, claims, &self.key)
    }

    /// A client assertion for `client_id` at `token_url`: `iss` = `sub` = client id, `aud` =
    /// the token URL, `exp` 4 minutes ahead, a fresh 128-bit `jti`.
    pub fn assertion(&self, client_id: &str, token_url: &str, now: i64) -> Result<String, String> {
        let claims = json!({
            "iss": client_id,
            "sub": client_id,
            "aud": token_url,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
            "jti": oauth2::CsrfToken::new_random().secret(),
        });
        self.sign(&claims)
            .map_err(|e| format!("signing the client assertion failed: {e}"))
    }
}

impl SigningKey {
    /// The public key material alone (no `kid`, `alg`, `use`), to tell keys apart.
    pub fn material(&self) -> Value {
        let members = ["kty", "crv", "x", "y", "n", "e"];
        let m: serde_json::Map<String, Value> = members
            .iter()
            .filter_map(|k| Some((k.to_string(), self.public_jwk.get(*k)?.clone())))
            .collect();
        Value::Object(m)
    }
}

/// `{"keys": [...]}` with the public JWK of every configured key, each distinct key once
/// (registrations sharing a key file share one entry; strict servers refuse a JWKS that lists
/// one key twice: "Multiple usable public keys found").
pub fn jwks<'a>(keys: impl IntoIterator<Item = &'a SigningKey>) -> Value {
    let mut seen: Vec<Value> = Vec::new();
    let mut out = Vec::new();
    for k in keys {
        let m = k.material();
        if !seen.contains(&m) {
            seen.push(m);
            out.push(k.public_jwk.clone());
        }
    }
    json!({ "keys": out })
}

/// What is wrong with publishing `keys` together, one sentence each: one `kid` for different
/// keys, or one key under several `kid`s (only the first is published).
pub fn duplicates<'a>(keys: impl IntoIterator<Item = &'a SigningKey>) -> Vec<String> {
    let keys: Vec<&SigningKey> = keys.into_iter().collect();
    let mut out = Vec::new();
    for (i, a) in keys.iter().enumerate() {
        for b in &keys[i + 1..] {
            let same = a.material() == b.material();
            if a.kid == b.kid && !same {
                out.push(format!("kid {:?} names two different keys", a.kid));
            } else if same && a.kid != b.kid {
                out.push(format!(
                    "one key is configured under kid {:?} and kid {:?}; the JWKS publishes it once, under {:?}",
                    a.kid, b.kid, a.kid
                ));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    fn verify(token: &str, key: &SigningKey) -> Value {
        let jwk: Jwk = serde_json::from_value(key.public_jwk.clone()).unwrap();
        let mut v = Validation::new(key.alg);
        v.set_audience(&["https://ehr.example/token"]);
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(&jwk).unwrap(), &v)
            .unwrap()
            .claims
    }

    #[test]
    fn generated_keys_sign_assertions_their_public_jwk_verifies() {
        for alg in ["RS384", "ES384"] {
            let (pem, key) = SigningKey::generate(alg).unwrap();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let token = key
                .assertion("app", "https://ehr.example/token", now)
                .unwrap();
            let header = jsonwebtoken::decode_header(&token).unwrap();
            assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()));
            let claims = verify(&token, &key);
            assert_eq!(claims["iss"], "app");
            assert_eq!(claims["sub"], "app");
            assert!(claims["exp"].as_i64().unwrap() - now <= 300);
            assert_ne!(
                claims["jti"],
                verify(
                    &key.assertion("app", "https://ehr.example/token", now)
                        .unwrap(),
                    &key
                )["jti"]
            );
            assert!(
                !key.public_jwk.to_string().contains("\"d\""),
                "no private part in the JWK"
            );
        }
    }

    #[test]
    fn the_jwks_lists_each_key_once_and_names_kid_collisions() {
        let (pem, _) = SigningKey::generate("ES384").unwrap();
        let dir = std::env::temp_dir().join(format!("sld-dup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k.pem");
        std::fs::write(&path, pem).unwrap();
        let a = SigningKey::load(&path, "k1", "ES384", None).unwrap();
        let b = SigningKey::load(&path, "k1", "ES384", None).unwrap();
        assert_eq!(jwks([&a, &b])["keys"].as_array().unwrap().len(), 1);
        assert!(duplicates([&a, &b]).is_empty());
        let c = SigningKey::load(&path, "k2", "ES384", None).unwrap();
        assert_eq!(duplicates([&a, &c]).len(), 1);
        let (_, other) = SigningKey::generate("ES384").unwrap();
        let d = SigningKey::load(&path, &other.kid, "ES384", None).unwrap();
        assert!(duplicates([&other, &d])[0].contains("two different keys"));
        assert_eq!(jwks([&other, &d])["keys"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn a_generated_pem_loads_back_with_the_same_public_key() {
        let (pem, key) = SigningKey::generate("ES384").unwrap();
        let dir = std::env::temp_dir().join(format!("sld-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k.pem");
        std::fs::write(&path, pem).unwrap();
        let loaded = SigningKey::load(&path, "k1", "ES384", None).unwrap();
        assert_eq!(loaded.public_jwk["x"], key.public_jwk["x"]);
        assert_eq!(loaded.kid, "k1");
        assert!(
            SigningKey::load(&path, "k1", "RS384", None).is_err(),
            "an EC key is not an RSA key"
        );
    }
}
