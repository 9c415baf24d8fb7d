//! How one registration authenticates at the token (and introspection) endpoint, built once
//! when the registration is validated (configuration, ad-hoc form, an ad-hoc app unsealed), so
//! a method without its secret or key cannot exist at run time.

use std::fmt;
use std::sync::Arc;

use super::{AuthMethod, Secret};
use crate::smart::client_auth::SigningKey;

/// A registration's client authentication, with what it sends.
#[derive(Clone)]
pub enum ClientAuth {
    /// A public client: `client_id` in the body, nothing secret.
    None,
    /// `client_secret_basic`: the form-encoded id and secret in HTTP Basic (RFC 6749 §2.3.1).
    Basic(Secret),
    /// `client_secret_post`: the secret in the form body.
    Post(Secret),
    /// `private_key_jwt`: an assertion signed with this key.
    PrivateKeyJwt(Arc<SigningKey>),
}

impl ClientAuth {
    /// The method, with what it needs: a secret for the two secret methods (not empty), a key for
    /// `private_key_jwt`, nothing else. `Err` names what is missing or too much.
    pub fn new(
        method: AuthMethod,
        secret: Option<Secret>,
        key: Option<Arc<SigningKey>>,
    ) -> Result<Self, String> {
        let name = method.as_str();
        match (method, secret, key) {
            (_, Some(s), _) if s.expose().is_empty() => Err("the client secret is empty".into()),
            (AuthMethod::None, None, None) => Ok(ClientAuth::None),
            (AuthMethod::ClientSecretBasic, Some(s), None) => Ok(ClientAuth::Basic(s)),
            (AuthMethod::ClientSecretPost, Some(s), None) => Ok(ClientAuth::Post(s)),
            (AuthMethod::PrivateKeyJwt, None, Some(k)) => Ok(ClientAuth::PrivateKeyJwt(k)),
            (AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost, None, _) => {
                Err(format!("auth = {name:?} needs a client secret"))
            }
            (AuthMethod::PrivateKeyJwt, _, None) => Err(format!("auth = {name:?} needs a key")),
            (_, Some(_), _) => Err(format!("auth = {name:?} sends no secret")),
            (_, None, Some(_)) => Err(format!("auth = {name:?} signs nothing")),
        }
    }

    /// The method's name in configuration, discovery and pages.
    pub fn method(&self) -> AuthMethod {
        match self {
            ClientAuth::None => AuthMethod::None,
            ClientAuth::Basic(_) => AuthMethod::ClientSecretBasic,
            ClientAuth::Post(_) => AuthMethod::ClientSecretPost,
            ClientAuth::PrivateKeyJwt(_) => AuthMethod::PrivateKeyJwt,
        }
    }

    /// The shared secret of `client_secret_basic` / `client_secret_post`.
    pub fn secret(&self) -> Option<&Secret> {
        match self {
            ClientAuth::Basic(s) | ClientAuth::Post(s) => Some(s),
            _ => None,
        }
    }

    /// The signing key of `private_key_jwt`.
    pub fn key(&self) -> Option<&Arc<SigningKey>> {
        match self {
            ClientAuth::PrivateKeyJwt(k) => Some(k),
            _ => None,
        }
    }

    /// The same secret sent the other symmetric way (Basic ↔ Post), for the check's second try.
    pub fn other_symmetric(&self) -> Option<ClientAuth> {
        match self {
            ClientAuth::Basic(s) => Some(ClientAuth::Post(s.clone())),
            ClientAuth::Post(s) => Some(ClientAuth::Basic(s.clone())),
            _ => None,
        }
    }
}

/// The method and the key id only: a secret never shows.
impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientAuth::PrivateKeyJwt(k) => write!(f, "PrivateKeyJwt(kid {:?})", k.kid),
            other => write!(f, "{}", other.method().as_str()),
        }
    }
}

/// Same method, same secret, same key (by identity).
impl PartialEq for ClientAuth {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (ClientAuth::None, ClientAuth::None) => true,
            (ClientAuth::Basic(a), ClientAuth::Basic(b))
            | (ClientAuth::Post(a), ClientAuth::Post(b)) => a == b,
            (ClientAuth::PrivateKeyJwt(a), ClientAuth::PrivateKeyJwt(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for ClientAuth {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_method_is_built_only_with_what_it_sends() {
        let s = || Some(Secret::new("s"));
        assert_eq!(
            ClientAuth::new(AuthMethod::ClientSecretBasic, s(), None)
                .unwrap()
                .method(),
            AuthMethod::ClientSecretBasic
        );
        assert!(ClientAuth::new(AuthMethod::ClientSecretPost, None, None).is_err());
        assert!(ClientAuth::new(AuthMethod::None, s(), None).is_err());
        assert!(ClientAuth::new(AuthMethod::PrivateKeyJwt, None, None).is_err());
        assert!(
            ClientAuth::new(AuthMethod::ClientSecretBasic, Some(Secret::new("")), None).is_err()
        );
        let basic = ClientAuth::Basic(Secret::new("hunter2"));
        assert!(!format!("{basic:?}").contains("hunter2"));
        assert_eq!(
            basic.other_symmetric().unwrap().method(),
            AuthMethod::ClientSecretPost
        );
    }
}
