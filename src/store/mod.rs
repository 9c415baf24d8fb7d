//! Where launches live between requests, in the backend `session_store` names: process memory
//! (bounded), Redis (keys with a TTL, shared by instances) or SQLite (a table, survives a
//! restart). Two things are kept here, apart from the browser's session:
//! - launch records, keyed by launch id, each with the browser that owns it, so results of two
//!   tabs never overwrite each other and a session read stays cheap;
//! - consumed `state` values, taken atomically (Redis `SET NX`, a SQLite unique insert, a
//!   memory map entry), so concurrent replays of one callback on any number of instances let
//!   exactly one through to the token endpoint.

mod memory;
mod redis;
mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use crate::record::LaunchRecord;

pub use memory::MemoryBackend;
pub use redis::RedisBackend;
pub use sqlite::SqliteBackend;

/// Why the store could not answer.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// What consuming a state found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Consumed {
    /// This request is the first and only one to use it.
    Now,
    /// Already used, by the callback of this launch.
    Before(String),
}

/// The configured backend, shared by the session store and the launch store.
#[derive(Clone, Debug)]
pub enum Backend {
    Memory(MemoryBackend),
    Redis(RedisBackend),
    Sqlite(SqliteBackend),
}

/// Limits of the launch store.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// How long a record (and a consumed state) is kept.
    pub ttl: Duration,
    /// In memory: records kept at most, oldest first out.
    pub max_records: u64,
}

impl Backend {
    /// Opens the backend for `session_store` (`None`: memory). Redis and SQLite connect lazily:
    /// start-up never blocks on them, and a store that does not answer fails requests fast.
    pub fn open(url: Option<&str>, limits: Limits) -> Result<Self, String> {
        match url {
            None => Ok(Backend::Memory(MemoryBackend::new(limits))),
            Some(u) if u.starts_with("sqlite:") => {
                Ok(Backend::Sqlite(SqliteBackend::open(u, limits)?))
            }
            Some(u) => Ok(Backend::Redis(RedisBackend::open(u, limits)?)),
        }
    }

    // Redis and SQLite arms are boxed: their futures are kilobytes, and unboxed every caller's
    // future (the memory backend's too) would carry and move that state on each request.

    /// Stores (or replaces) a launch record.
    pub async fn put_launch(&self, record: &LaunchRecord) -> Result<(), StoreError> {
        match self {
            Backend::Memory(m) => {
                m.put(record);
                Ok(())
            }
            Backend::Redis(r) => Box::pin(r.put(record)).await,
            Backend::Sqlite(s) => Box::pin(s.put(record)).await,
        }
    }

    /// The records among `ids` that are still kept, in the order of `ids`.
    pub async fn launches(&self, ids: &[String]) -> Result<Vec<Arc<LaunchRecord>>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        match self {
            Backend::Memory(m) => Ok(ids.iter().filter_map(|id| m.get(id)).collect()),
            Backend::Redis(r) => Box::pin(r.get_many(ids)).await,
            Backend::Sqlite(s) => Box::pin(s.get_many(ids)).await,
        }
    }

    /// One record.
    pub async fn launch(&self, id: &str) -> Result<Option<Arc<LaunchRecord>>, StoreError> {
        Ok(self.launches(&[id.to_string()]).await?.into_iter().next())
    }

    /// Marks `state_hash` used by `launch_id`, atomically across every instance on this backend.
    pub async fn consume_state(
        &self,
        state_hash: &str,
        launch_id: &str,
    ) -> Result<Consumed, StoreError> {
        match self {
            Backend::Memory(m) => Ok(m.consume(state_hash, launch_id)),
            Backend::Redis(r) => Box::pin(r.consume(state_hash, launch_id)).await,
            Backend::Sqlite(s) => Box::pin(s.consume(state_hash, launch_id)).await,
        }
    }
}

impl Backend {
    /// The launch that consumed `state_hash`, if one did (read only).
    pub async fn consumed_by(&self, state_hash: &str) -> Result<Option<String>, StoreError> {
        match self {
            Backend::Memory(m) => Ok(m.consumed_by(state_hash)),
            Backend::Redis(r) => Box::pin(r.consumed_by(state_hash)).await,
            Backend::Sqlite(s) => Box::pin(s.consumed_by(state_hash)).await,
        }
    }
}

/// A record as stored outside process memory.
fn encode(record: &LaunchRecord) -> Result<String, StoreError> {
    serde_json::to_string(record).map_err(|e| StoreError(e.to_string()))
}

/// A record read back; one that no longer decodes (written by another version) is skipped.
fn decode(id: &str, text: &str) -> Option<Arc<LaunchRecord>> {
    match serde_json::from_str(text) {
        Ok(r) => Some(Arc::new(r)),
        Err(e) => {
            tracing::warn!(launch = %id, error = %e, "a stored launch no longer decodes; skipped");
            None
        }
    }
}
