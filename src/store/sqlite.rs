//! The launch store in SQLite: two tables beside the sessions, created on first use. The
//! database runs in WAL mode with a busy timeout. A write that fails (disk full, I/O error)
//! replaces the pool, so no connection stuck in a failed state serves the next request, and a
//! database file deleted or replaced under the running process is noticed by the probe and
//! opened (created) afresh: the process heals without a restart.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tower_sessions_sqlx_store::SqliteStore;
use tower_sessions_sqlx_store::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
};
use tower_sessions_sqlx_store::sqlx::{self, Row};

use super::{Consumed, Limits, StoreError, decode, encode};
use crate::record::{LaunchRecord, now};
use crate::seal::Sealer;

mod pending;

/// A SQLite pool, shared with the session store; replaced after I/O errors.
#[derive(Clone, Debug)]
pub struct SqliteBackend(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    options: SqliteConnectOptions,
    /// The database file (`None` for an in-memory database).
    path: Option<PathBuf>,
    current: RwLock<Arc<Generation>>,
    /// When the pool was last replaced (at most once a second).
    reopened: Mutex<Instant>,
    ttl_secs: i64,
    sealer: Sealer,
}

/// One pool and what was set up on it.
#[derive(Debug)]
struct Generation {
    pool: SqlitePool,
    ready: tokio::sync::OnceCell<()>,
    sessions: tokio::sync::OnceCell<SqliteStore>,
    /// The file (device, inode) the pool opened, once known.
    file: std::sync::OnceLock<Option<(u64, u64)>>,
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("sqlite: {e}"))
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS sld_launches (
    id TEXT PRIMARY KEY NOT NULL, data TEXT NOT NULL, expires INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sld_states (
    hash TEXT PRIMARY KEY NOT NULL, launch_id TEXT NOT NULL, expires INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sld_probe (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS sld_pending (id TEXT PRIMARY KEY NOT NULL, started INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS sld_pending_started ON sld_pending (started);
CREATE INDEX IF NOT EXISTS sld_states_launch ON sld_states (launch_id);";

/// What the probe writes while the store is down: about one launch record.
const PROBE_BYTES: u32 = 64 * 1024;

/// The (device, inode) of `path`, if it exists.
fn identity(path: &std::path::Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(path).ok().map(|_| (0, 0))
    }
}

impl SqliteBackend {
    /// The pool connects lazily; the database file is created if missing.
    pub fn open(url: &str, limits: Limits, sealer: Sealer) -> Result<Self, String> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| e.to_string())?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5));
        let path = Some(options.get_filename().to_path_buf())
            .filter(|p| !p.as_os_str().is_empty() && p.as_os_str() != ":memory:");
        let backend = SqliteBackend(Arc::new(Inner {
            current: RwLock::new(Arc::new(Generation::new(&options))),
            options,
            path,
            reopened: Mutex::new(Instant::now()),
            ttl_secs: limits.ttl.as_secs().max(1) as i64,
            sealer,
        }));
        // Expired records and states are deleted every minute, the first time a minute after
        // start: a sweep at start wrote to the file while the first request created its tables.
        let sweeper = backend.clone();
        tokio::spawn(async move {
            let minute = Duration::from_secs(60);
            let mut every = tokio::time::interval_at(tokio::time::Instant::now() + minute, minute);
            loop {
                every.tick().await;
                if sweeper.sweep().await.is_err() {
                    tracing::warn!("sqlite: could not delete expired launches");
                }
            }
        });
        Ok(backend)
    }

    fn current(&self) -> Arc<Generation> {
        match self.0.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the pool (at most once a second): connections that met an I/O error, or a file
    /// that is gone, are not used again.
    fn reopen(&self, why: &str) {
        if let Ok(mut at) = self.0.reopened.lock() {
            if at.elapsed() < Duration::from_secs(1) {
                return;
            }
            *at = Instant::now();
        }
        tracing::warn!(why, "sqlite: opening the database afresh");
        let fresh = Arc::new(Generation::new(&self.0.options));
        let old = match self.0.current.write() {
            Ok(mut g) => std::mem::replace(&mut *g, fresh),
            Err(_) => return,
        };
        tokio::spawn(async move { old.pool.close().await });
    }

    /// The current pool, its tables created.
    async fn ready(&self) -> Result<SqlitePool, StoreError> {
        let g = self.current();
        g.ready
            .get_or_try_init(|| async { sqlx::raw_sql(SCHEMA).execute(&g.pool).await.map(|_| ()) })
            .await
            .map_err(|e| self.failed(err(e)))?;
        if let Some(path) = &self.0.path {
            g.file.get_or_init(|| identity(path));
        }
        Ok(g.pool.clone())
    }

    /// The current pool, its tables created (the monitor's history keeps its own tables here).
    pub async fn pool(&self) -> Result<SqlitePool, StoreError> {
        self.ready().await
    }

    /// The session store on the current pool, its table created.
    pub async fn sessions(&self) -> Result<SqliteStore, StoreError> {
        // Our tables first, then the session table: one schema change at a time.
        self.ready().await?;
        let g = self.current();
        g.sessions
            .get_or_try_init(|| async {
                let store = SqliteStore::new(g.pool.clone());
                store.migrate().await.map(|_| store)
            })
            .await
            .cloned()
            .map_err(|e| self.failed(err(e)))
    }

    /// A failure of the pool: replace it, and pass the error on.
    fn failed(&self, e: StoreError) -> StoreError {
        self.reopen(&e.0);
        e
    }

    /// The probe: while the store is up, whether its file is still the one opened (a deleted or
    /// replaced file is opened afresh); while it is down, whether a record-sized write succeeds.
    pub async fn probe(&self, down: bool) -> Result<(), StoreError> {
        let g = self.current();
        if let (Some(path), Some(Some(opened))) = (&self.0.path, g.file.get())
            && identity(path) != Some(*opened)
        {
            self.reopen("the database file was deleted or replaced");
            // The fresh pool creates the file and its tables.
            return self.ready().await.map(|_| ());
        }
        if !down {
            return Ok(());
        }
        let pool = self.ready().await?;
        sqlx::query("INSERT INTO sld_probe (id, data) VALUES (1, randomblob(?)) ON CONFLICT(id) DO UPDATE SET data = excluded.data")
            .bind(PROBE_BYTES)
            .execute(&pool)
            .await
            .map_err(|e| self.failed(err(e)))?;
        Ok(())
    }

    async fn sweep(&self) -> Result<(), StoreError> {
        let pool = self.ready().await?;
        for table in ["sld_launches", "sld_states"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE expires < ?"))
                .bind(now())
                .execute(&pool)
                .await
                .map_err(err)?;
        }
        Ok(())
    }

    /// `record` as stored.
    pub fn encode(&self, record: &LaunchRecord) -> Result<String, StoreError> {
        encode(record, &self.0.sealer)
    }

    /// Stores record `id` in its stored form `text`. The launch stops being pending first: a
    /// settlement either happened before (and is replaced) or finds nothing to settle.
    pub async fn put(&self, id: &str, text: &str) -> Result<(), StoreError> {
        let pool = self.ready().await?;
        sqlx::query("DELETE FROM sld_pending WHERE id = ?")
            .bind(id)
            .execute(&pool)
            .await
            .map_err(|e| self.failed(err(e)))?;
        sqlx::query(
            "INSERT INTO sld_launches (id, data, expires) VALUES (?, ?, ?)
             ON CONFLICT(id) DO UPDATE SET data = excluded.data, expires = excluded.expires",
        )
        .bind(id)
        .bind(text)
        .bind(now() + self.0.ttl_secs)
        .execute(&pool)
        .await
        .map_err(|e| self.failed(err(e)))?;
        Ok(())
    }

    pub async fn get_many(&self, ids: &[String]) -> Result<Vec<Arc<LaunchRecord>>, StoreError> {
        let pool = self.ready().await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let row = sqlx::query("SELECT data FROM sld_launches WHERE id = ? AND expires >= ?")
                .bind(id)
                .bind(now())
                .fetch_optional(&pool)
                .await
                .map_err(|e| self.failed(err(e)))?;
            if let Some(row) = row {
                let text: String = row.try_get("data").map_err(err)?;
                out.extend(decode(id, &text, &self.0.sealer));
            }
        }
        Ok(out)
    }

    /// The newest `limit` records (last written first: `expires` is the write time plus the TTL).
    pub async fn recent(&self, limit: usize) -> Result<Vec<Arc<LaunchRecord>>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, data FROM sld_launches WHERE expires >= ? ORDER BY expires DESC, rowid DESC LIMIT ?",
        )
        .bind(now())
        .bind(limit as i64)
        .fetch_all(&self.ready().await?)
        .await
        .map_err(|e| self.failed(err(e)))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get("id").map_err(err)?;
            let text: String = row.try_get("data").map_err(err)?;
            out.extend(decode(&id, &text, &self.0.sealer));
        }
        Ok(out)
    }

    /// A unique insert: of concurrent callers, exactly one inserts the row.
    pub async fn consume(&self, state_hash: &str, launch_id: &str) -> Result<Consumed, StoreError> {
        let pool = self.ready().await?;
        let inserted = sqlx::query(
            "INSERT INTO sld_states (hash, launch_id, expires) VALUES (?, ?, ?)
             ON CONFLICT(hash) DO NOTHING",
        )
        .bind(state_hash)
        .bind(launch_id)
        .bind(now() + self.0.ttl_secs)
        .execute(&pool)
        .await
        .map_err(|e| self.failed(err(e)))?
        .rows_affected();
        if inserted == 1 {
            return Ok(Consumed::Now);
        }
        let by: Option<String> =
            sqlx::query_scalar("SELECT launch_id FROM sld_states WHERE hash = ?")
                .bind(state_hash)
                .fetch_optional(&pool)
                .await
                .map_err(|e| self.failed(err(e)))?;
        Ok(Consumed::Before(by.unwrap_or_default()))
    }

    /// Remembers `key` as revoked for `ttl_secs`, in the states table under a `revoked:` key.
    pub async fn revoke(&self, key: &str, ttl_secs: i64) -> Result<(), StoreError> {
        let pool = self.ready().await?;
        sqlx::query(
            "INSERT INTO sld_states (hash, launch_id, expires) VALUES (?, '', ?)
             ON CONFLICT(hash) DO UPDATE SET expires = excluded.expires",
        )
        .bind(format!("revoked:{key}"))
        .bind(now() + ttl_secs)
        .execute(&pool)
        .await
        .map_err(|e| self.failed(err(e)))?;
        Ok(())
    }

    pub async fn is_revoked(&self, key: &str) -> Result<bool, StoreError> {
        let pool = self.ready().await?;
        let found: Option<i64> =
            sqlx::query_scalar("SELECT expires FROM sld_states WHERE hash = ? AND expires > ?")
                .bind(format!("revoked:{key}"))
                .bind(now())
                .fetch_optional(&pool)
                .await
                .map_err(|e| self.failed(err(e)))?;
        Ok(found.is_some())
    }

    pub async fn consumed_by(&self, state_hash: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT launch_id FROM sld_states WHERE hash = ?")
            .bind(state_hash)
            .fetch_optional(&self.ready().await?)
            .await
            .map_err(|e| self.failed(err(e)))
    }
}

impl Generation {
    fn new(options: &SqliteConnectOptions) -> Self {
        Generation {
            pool: SqlitePoolOptions::new()
                .acquire_timeout(Duration::from_secs(2))
                .connect_lazy_with(options.clone()),
            ready: tokio::sync::OnceCell::new(),
            sessions: tokio::sync::OnceCell::new(),
            file: std::sync::OnceLock::new(),
        }
    }
}
