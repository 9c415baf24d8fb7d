//! A token endpoint's answer as the case keeps it: the members as received (stored as
//! `token_response`, shown masked unless revealed; the rules judge their JSON types) and their
//! typed reading ([`SmartTokenResponse`]), which everything else reads.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::smart::token_response::{NotATokenResponse, SmartTokenResponse};

/// One token response: raw and parsed. Serialized as the raw members (the stored shape).
#[derive(Clone, PartialEq)]
pub struct TokenExchange {
    raw: Map<String, Value>,
    parsed: Result<SmartTokenResponse, NotATokenResponse>,
}

impl TokenExchange {
    pub fn of(raw: Map<String, Value>) -> Self {
        let parsed = SmartTokenResponse::parse(&raw);
        TokenExchange { raw, parsed }
    }

    /// The members as received. Holds tokens: render masked unless revealed.
    pub fn raw(&self) -> &Map<String, Value> {
        &self.raw
    }

    /// The typed reading, or why the answer is not a token response.
    pub fn parsed(&self) -> Result<&SmartTokenResponse, &NotATokenResponse> {
        self.parsed.as_ref()
    }

    /// The typed reading when the answer is a token response.
    pub fn token(&self) -> Option<&SmartTokenResponse> {
        self.parsed.as_ref().ok()
    }

    /// The raw members shrunk to `cap` bytes (the record's budget), read again.
    pub(super) fn shrink(&mut self, cap: usize) {
        let mut v = Value::Object(std::mem::take(&mut self.raw));
        crate::smart::bounded::shrink(&mut v, cap);
        if let Value::Object(m) = v {
            self.raw = m;
        }
        self.parsed = SmartTokenResponse::parse(&self.raw);
    }
}

/// The member names only: never a token.
impl fmt::Debug for TokenExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenExchange")
            .field("members", &self.raw.keys().collect::<Vec<_>>())
            .field("parsed", &self.parsed.as_ref().map(|_| "ok"))
            .finish()
    }
}

impl Serialize for TokenExchange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(s)
    }
}

impl<'de> Deserialize<'de> for TokenExchange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Map::deserialize(d).map(TokenExchange::of)
    }
}
