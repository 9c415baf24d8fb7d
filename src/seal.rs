//! Sealing secrets that must be kept server-side between requests (an ad-hoc app's client
//! secret, in the session and in its launch record): AES-256-GCM (aws-lc-rs), a random nonce per
//! value. The key comes from the environment variable `sealing_key_env` names (64 hex digits;
//! the same on every instance that shares a store) or is generated per process, in which case a
//! restart or another instance cannot open what this one sealed, and the launch says so.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

/// Seals and opens values with one key. Clones share the key.
#[derive(Clone)]
pub struct Sealer {
    key: std::sync::Arc<LessSafeKey>,
    /// A MAC key derived from the sealing key (HMAC-SHA256 of a fixed label), for values that
    /// must be bound, not hidden (the CSRF token to the session id): shared by every instance
    /// that shares the sealing key.
    mac: std::sync::Arc<aws_lc_rs::hmac::Key>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([key redacted])")
    }
}

impl Sealer {
    /// A key from 32 bytes.
    pub fn new(key: &[u8; 32]) -> Self {
        // A 32-byte key is always a valid AES-256 key.
        let unbound = UnboundKey::new(&AES_256_GCM, key).unwrap_or_else(|_| unreachable!());
        let root = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
        let derived = aws_lc_rs::hmac::sign(&root, b"smart-launch-doctor mac key v1");
        Sealer {
            key: std::sync::Arc::new(LessSafeKey::new(unbound)),
            mac: std::sync::Arc::new(aws_lc_rs::hmac::Key::new(
                aws_lc_rs::hmac::HMAC_SHA256,
                derived.as_ref(),
            )),
        }
    }

    /// HMAC-SHA256 of `parts` (each length-prefixed, so no two lists give the same input) under
    /// the derived MAC key, as URL-safe base64.
    pub fn mac(&self, parts: &[&str]) -> String {
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&self.mac);
        for p in parts {
            ctx.update(&(p.len() as u64).to_be_bytes());
            ctx.update(p.as_bytes());
        }
        B64.encode(ctx.sign().as_ref())
    }

    /// A fresh random key, for this process only.
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        // The system RNG failing is not recoverable anywhere in this app.
        SystemRandom::new()
            .fill(&mut key)
            .unwrap_or_else(|_| panic!("the system random number generator failed"));
        Sealer::new(&key)
    }

    /// A key from 64 hex digits.
    pub fn from_hex(hex: &str) -> Result<Self, String> {
        let hex = hex.trim();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("must be 64 hexadecimal digits (32 bytes)".into());
        }
        let mut key = [0u8; 32];
        for (i, k) in key.iter_mut().enumerate() {
            *k = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
        }
        Ok(Sealer::new(&key))
    }

    /// `value` sealed, as URL-safe base64 of nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, value: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .unwrap_or_else(|_| panic!("the system random number generator failed"));
        let mut buf = value.as_bytes().to_vec();
        // Sealing in place cannot fail for inputs below GCM's 64 GiB limit.
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf)
            .unwrap_or_else(|_| unreachable!());
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        B64.encode(out)
    }

    /// The value, or `None` when it was sealed with another key or altered.
    pub fn open(&self, sealed: &str) -> Option<String> {
        let bytes = B64.decode(sealed).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut rest = rest.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut rest)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_with_the_same_key_only() {
        let a = Sealer::random();
        let sealed = a.seal("s3:cr%t+ x");
        assert!(!sealed.contains("s3:cr"));
        assert_ne!(sealed, a.seal("s3:cr%t+ x"), "nonce is random");
        assert_eq!(a.open(&sealed).as_deref(), Some("s3:cr%t+ x"));
        assert_eq!(Sealer::random().open(&sealed), None);
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(a.open(&String::from_utf8(tampered).unwrap()), None);
    }

    #[test]
    fn hex_keys_must_be_32_bytes() {
        assert!(Sealer::from_hex(&"ab".repeat(32)).is_ok());
        assert!(Sealer::from_hex("abcd").is_err());
        assert!(Sealer::from_hex(&"zz".repeat(32)).is_err());
    }
}
