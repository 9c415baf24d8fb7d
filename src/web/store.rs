//! The session store over the configured [`Backend`](crate::store::Backend): process memory by
//! default (moka: bounded, least recently used out first, idle sessions expire), Redis for
//! `session_store = "redis://…"` (a launch started on one instance completes on another),
//! SQLite for `sqlite://PATH` (survives a restart). A stored session that no longer decodes
//! (another version wrote it, or it was damaged) reads as absent: the browser starts afresh
//! with a new cookie instead of getting an error on every page.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use moka::sync::Cache;
use time::OffsetDateTime;
use tower_sessions::ExpiredDeletion;
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store;
use tower_sessions_redis_store::RedisStore;
use tower_sessions_redis_store::fred::prelude::Pool;
use tower_sessions_sqlx_store::SqliteStore;

use crate::store::{Backend, Health, Kind, SqliteBackend, StoreError};

/// Sessions kept in memory at most; beyond, the least recently used go first.
pub const MAX_MEMORY_SESSIONS: u64 = 200_000;

/// Sessions in memory, each kept as its expiry and one string: the typed data's compact JSON
/// (see `session`) when that is all it holds, else the whole map as JSON. One allocation per
/// session instead of a map of `serde_json::Value`s.
#[derive(Clone, Debug)]
pub struct MemorySessions(Cache<Id, Arc<Compact>>);

#[derive(Debug)]
pub struct Compact {
    expiry: OffsetDateTime,
    /// `Some(key)`: `text` is the one string value under `key`; `None`: `text` is the map.
    only: Option<&'static str>,
    text: Box<str>,
}

impl Compact {
    fn of(record: &Record) -> Self {
        let key = super::session::KEY;
        if let (1, Some(serde_json::Value::String(text))) =
            (record.data.len(), record.data.get(key))
        {
            return Compact {
                expiry: record.expiry_date,
                only: Some(key),
                text: text.as_str().into(),
            };
        }
        Compact {
            expiry: record.expiry_date,
            only: None,
            text: serde_json::to_string(&record.data)
                .unwrap_or_default()
                .into(),
        }
    }

    fn record(&self, id: Id) -> Record {
        let data = match self.only {
            Some(key) => [(
                key.to_string(),
                serde_json::Value::String(self.text.to_string()),
            )]
            .into_iter()
            .collect(),
            None => serde_json::from_str(&self.text).unwrap_or_default(),
        };
        Record {
            id,
            data,
            expiry_date: self.expiry,
        }
    }
}

impl MemorySessions {
    fn new(idle: Duration) -> Self {
        MemorySessions(
            Cache::builder()
                .max_capacity(MAX_MEMORY_SESSIONS)
                .time_to_idle(idle)
                .build(),
        )
    }
}

/// The configured store. Redis and SQLite go through the launch store's breaker: while it is
/// open, a session read or write fails at once (`session.store_unavailable`, 503).
#[derive(Clone, Debug)]
pub enum Store {
    Memory(MemorySessions),
    Redis(RedisStore<Pool>, Health),
    Sqlite(SqliteBackend, Health),
}

impl Store {
    /// The session store on `backend`; memory sessions expire after `idle`.
    pub fn on(backend: &Backend, idle: Duration) -> Self {
        let health = backend.health.clone();
        match &backend.kind {
            Kind::Memory(_) => Store::Memory(MemorySessions::new(idle)),
            Kind::Redis(r) => Store::Redis(RedisStore::new(r.pool.clone()), health),
            Kind::Sqlite(s) => {
                // Expired sessions are deleted every minute (on whichever pool is current), the
                // first time a minute after start: not while the first request creates tables.
                let sweeper = s.clone();
                tokio::spawn(async move {
                    let minute = Duration::from_secs(60);
                    let mut every =
                        tokio::time::interval_at(tokio::time::Instant::now() + minute, minute);
                    loop {
                        every.tick().await;
                        if let Ok(store) = sweeper.sessions().await {
                            let _ = store.delete_expired().await;
                        }
                    }
                });
                Store::Sqlite(s.clone(), health)
            }
        }
    }

    /// Live sessions, for the in-memory store (tests and the benchmark); `None` otherwise.
    pub fn session_count(&self) -> Option<u64> {
        match self {
            Store::Memory(m) => {
                m.0.run_pending_tasks();
                Some(m.0.entry_count())
            }
            Store::Redis(..) | Store::Sqlite(..) => None,
        }
    }

    /// Whether a new browser's session can be kept without pushing out another's pending launch.
    pub fn readiness(&self) -> Result<(), String> {
        match self.session_count() {
            Some(n) if n >= MAX_MEMORY_SESSIONS => Err(format!(
                "memory session store full ({n} sessions): a new one would push out a launch in progress"
            )),
            _ => Ok(()),
        }
    }
}

fn backend_error(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

/// Runs a Redis or SQLite session operation behind the breaker.
async fn guarded<T>(
    health: &Health,
    op: impl Future<Output = session_store::Result<T>>,
) -> session_store::Result<T> {
    health.check().map_err(backend_error)?;
    let out = op.await;
    match &out {
        Ok(_) | Err(session_store::Error::Decode(_)) => {}
        Err(e) => health.failed(&StoreError(e.to_string())),
    }
    out
}

/// The SQLite session store on the current pool.
async fn sqlite(s: &SqliteBackend) -> session_store::Result<SqliteStore> {
    s.sessions().await.map_err(backend_error)
}

/// A record that does not decode is no session at all (the layer then starts a new one).
fn absent_if_undecodable(
    r: session_store::Result<Option<Record>>,
) -> session_store::Result<Option<Record>> {
    match r {
        Err(session_store::Error::Decode(e)) => {
            tracing::warn!(error = %e, "a stored session no longer decodes; starting afresh");
            Ok(None)
        }
        other => other,
    }
}

// The Redis and SQLite futures are boxed in their arms: unboxed, their kilobytes of state would
// be allocated and moved for every call, memory sessions included.
#[async_trait]
impl SessionStore for Store {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Store::Memory(m) => {
                while m.0.contains_key(&record.id) {
                    record.id = Id::default();
                }
                m.0.insert(record.id, Arc::new(Compact::of(record)));
                Ok(())
            }
            Store::Redis(s, h) => Box::pin(guarded(h, s.create(record))).await,
            Store::Sqlite(s, h) => {
                Box::pin(guarded(h, async { sqlite(s).await?.create(record).await })).await
            }
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Store::Memory(m) => {
                m.0.insert(record.id, Arc::new(Compact::of(record)));
                Ok(())
            }
            Store::Redis(s, h) => Box::pin(guarded(h, s.save(record))).await,
            Store::Sqlite(s, h) => {
                Box::pin(guarded(h, async { sqlite(s).await?.save(record).await })).await
            }
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let loaded = match self {
            Store::Memory(m) => {
                let now = OffsetDateTime::now_utc();
                Ok(m.0
                    .get(id)
                    .filter(|c| c.expiry > now)
                    .map(|c| c.record(*id)))
            }
            Store::Redis(s, h) => Box::pin(guarded(h, s.load(id))).await,
            Store::Sqlite(s, h) => {
                Box::pin(guarded(h, async { sqlite(s).await?.load(id).await })).await
            }
        };
        absent_if_undecodable(loaded)
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Store::Memory(m) => {
                m.0.invalidate(id);
                Ok(())
            }
            Store::Redis(s, h) => Box::pin(guarded(h, s.delete(id))).await,
            Store::Sqlite(s, h) => {
                Box::pin(guarded(h, async { sqlite(s).await?.delete(id).await })).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn expired_sessions_are_not_loaded() {
        let store = Store::Memory(MemorySessions::new(Duration::from_secs(60)));
        let mut live = Record {
            id: Id::default(),
            data: Default::default(),
            expiry_date: OffsetDateTime::now_utc() + time::Duration::minutes(5),
        };
        let mut dead = Record {
            id: Id::default(),
            data: Default::default(),
            expiry_date: OffsetDateTime::now_utc() - time::Duration::minutes(5),
        };
        store.create(&mut live).await.unwrap();
        store.create(&mut dead).await.unwrap();
        assert!(store.load(&live.id).await.unwrap().is_some());
        assert!(store.load(&dead.id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn memory_sessions_read_back_what_was_saved() {
        let store = Store::Memory(MemorySessions::new(Duration::from_secs(60)));
        let expiry = OffsetDateTime::now_utc() + time::Duration::minutes(5);
        let mut ours = Record {
            id: Id::default(),
            data: [(
                crate::web::session::KEY.to_string(),
                serde_json::Value::String(r#"{"b":"x"}"#.into()),
            )]
            .into_iter()
            .collect(),
            expiry_date: expiry,
        };
        let mut other = Record {
            id: Id::default(),
            data: [
                ("a".to_string(), serde_json::json!({"n": 1})),
                ("z".to_string(), serde_json::json!("s")),
            ]
            .into_iter()
            .collect(),
            expiry_date: expiry,
        };
        store.create(&mut ours).await.unwrap();
        store.create(&mut other).await.unwrap();
        assert_eq!(store.load(&ours.id).await.unwrap().unwrap().data, ours.data);
        assert_eq!(
            store.load(&other.id).await.unwrap().unwrap().data,
            other.data
        );
    }
}
