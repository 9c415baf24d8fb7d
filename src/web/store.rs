//! Session stores. In memory by default: tower-sessions' `MemoryStore` keeps expired sessions
//! forever, so [`ExpiringMemoryStore`] sweeps them at most once a minute. With
//! `session_store = "redis://…"` sessions live in Redis, so a launch started on one instance can
//! complete on another behind a load balancer; with `session_store = "sqlite://PATH"` they
//! survive a restart of a single instance.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use std::str::FromStr;
use time::OffsetDateTime;
use tokio::sync::Mutex;
use tower_sessions::ExpiredDeletion;
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store;
use tower_sessions_redis_store::RedisStore;
use tower_sessions_redis_store::fred::prelude::{
    ClientLike, Config as RedisConfig, ConnectionConfig, PerformanceConfig, Pool, ReconnectPolicy,
};
use tower_sessions_sqlx_store::SqliteStore;
use tower_sessions_sqlx_store::sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

const SWEEP_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Inner {
    records: HashMap<Id, Record>,
    last_sweep: Instant,
}

/// Sessions in memory, expired ones swept.
#[derive(Clone, Debug)]
pub struct ExpiringMemoryStore(Arc<Mutex<Inner>>);

impl Default for ExpiringMemoryStore {
    fn default() -> Self {
        ExpiringMemoryStore(Arc::new(Mutex::new(Inner {
            records: HashMap::new(),
            last_sweep: Instant::now(),
        })))
    }
}

impl ExpiringMemoryStore {
    /// Live and not-yet-swept sessions (for tests and the benchmark).
    pub async fn session_count(&self) -> usize {
        self.0.lock().await.records.len()
    }

    /// Removes every expired session now.
    pub async fn sweep(&self) {
        let mut inner = self.0.lock().await;
        let now = OffsetDateTime::now_utc();
        inner.records.retain(|_, r| r.expiry_date > now);
        inner.last_sweep = Instant::now();
    }
}

#[async_trait]
impl SessionStore for ExpiringMemoryStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let mut inner = self.0.lock().await;
        if inner.last_sweep.elapsed() >= SWEEP_EVERY {
            let now = OffsetDateTime::now_utc();
            inner.records.retain(|_, r| r.expiry_date > now);
            inner.last_sweep = Instant::now();
        }
        while inner.records.contains_key(&record.id) {
            record.id = Id::default();
        }
        inner.records.insert(record.id, record.clone());
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.0
            .lock()
            .await
            .records
            .insert(record.id, record.clone());
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = OffsetDateTime::now_utc();
        Ok(self
            .0
            .lock()
            .await
            .records
            .get(id)
            .filter(|r| r.expiry_date > now)
            .cloned())
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.0.lock().await.records.remove(id);
        Ok(())
    }
}

/// The configured store.
#[derive(Clone, Debug)]
pub enum Store {
    Memory(ExpiringMemoryStore),
    Redis(RedisStore<Pool>),
    Sqlite(SqliteSessions),
}

/// SQLite sessions; the table is created on first use (the pool connects lazily).
#[derive(Clone, Debug)]
pub struct SqliteSessions {
    store: SqliteStore,
    migrated: Arc<tokio::sync::OnceCell<()>>,
}

impl SqliteSessions {
    async fn ready(&self) -> session_store::Result<&SqliteStore> {
        self.migrated
            .get_or_try_init(|| async { self.store.migrate().await })
            .await
            .map_err(|e| session_store::Error::Backend(e.to_string()))?;
        Ok(&self.store)
    }
}

impl Store {
    /// Connects (in the background) to Redis for a `redis://` URL; memory otherwise.
    /// A store that does not answer makes requests fail fast with `session.store_unavailable`.
    pub fn open(url: Option<&str>) -> Result<Self, String> {
        let Some(url) = url else {
            return Ok(Store::Memory(ExpiringMemoryStore::default()));
        };
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| e.to_string())?
                .create_if_missing(true)
                .busy_timeout(Duration::from_secs(2));
            let pool = SqlitePoolOptions::new()
                .acquire_timeout(Duration::from_secs(2))
                .connect_lazy_with(options);
            let store = SqliteStore::new(pool);
            // Expired sessions are deleted every minute.
            tokio::spawn(
                store
                    .clone()
                    .continuously_delete_expired(tokio::time::Duration::from_secs(60)),
            );
            return Ok(Store::Sqlite(SqliteSessions {
                store,
                migrated: Arc::default(),
            }));
        }
        let config = RedisConfig::from_url(url).map_err(|e| e.to_string())?;
        let perf = PerformanceConfig {
            default_command_timeout: Duration::from_secs(2),
            ..Default::default()
        };
        let connection = ConnectionConfig {
            connection_timeout: Duration::from_secs(2),
            max_command_attempts: 1,
            ..Default::default()
        };
        let policy = ReconnectPolicy::new_constant(0, 500);
        let pool = Pool::new(config, Some(perf), Some(connection), Some(policy), 2)
            .map_err(|e| e.to_string())?;
        // Connects in the background and keeps reconnecting; never blocks start-up.
        drop(pool.connect());
        Ok(Store::Redis(RedisStore::new(pool)))
    }

    /// Live sessions, for the in-memory store (tests and the benchmark); `None` for Redis.
    pub async fn session_count(&self) -> Option<usize> {
        match self {
            Store::Memory(m) => Some(m.session_count().await),
            Store::Redis(_) | Store::Sqlite(_) => None,
        }
    }
}

#[async_trait]
impl SessionStore for Store {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Store::Memory(s) => s.create(record).await,
            Store::Redis(s) => s.create(record).await,
            Store::Sqlite(s) => s.ready().await?.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Store::Memory(s) => s.save(record).await,
            Store::Redis(s) => s.save(record).await,
            Store::Sqlite(s) => s.ready().await?.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Store::Memory(s) => s.load(id).await,
            Store::Redis(s) => s.load(id).await,
            Store::Sqlite(s) => s.ready().await?.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Store::Memory(s) => s.delete(id).await,
            Store::Redis(s) => s.delete(id).await,
            Store::Sqlite(s) => s.ready().await?.delete(id).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn expired_sessions_are_not_loaded_and_are_swept() {
        let store = ExpiringMemoryStore::default();
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
        assert_eq!(store.session_count().await, 2);
        store.sweep().await;
        assert_eq!(store.session_count().await, 1);
    }
}
