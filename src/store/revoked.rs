//! Revocations shared by every instance on the configured store (Redis or SQLite): the support
//! view's signed-out sign-ins. The memory store keeps none here (one process: the caller's own
//! cache is enough).

use super::{Backend, Kind, StoreError};

impl Backend {
    /// Remembers `key` as revoked for `ttl_secs`.
    pub async fn revoke(&self, key: &str, ttl_secs: i64) -> Result<(), StoreError> {
        match &self.kind {
            Kind::Memory(_) => Ok(()),
            Kind::Redis(r) => Box::pin(self.health.guard(r.revoke(key, ttl_secs))).await,
            Kind::Sqlite(s) => Box::pin(self.health.guard(s.revoke(key, ttl_secs))).await,
        }
    }

    /// Whether `key` was revoked (on any instance) and has not expired.
    pub async fn is_revoked(&self, key: &str) -> Result<bool, StoreError> {
        match &self.kind {
            Kind::Memory(_) => Ok(false),
            Kind::Redis(r) => Box::pin(self.health.guard(r.is_revoked(key))).await,
            Kind::Sqlite(s) => Box::pin(self.health.guard(s.is_revoked(key))).await,
        }
    }
}
