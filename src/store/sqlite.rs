//! The launch store in SQLite: two tables beside the sessions, created on first use.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tower_sessions_sqlx_store::sqlx::sqlite::{
    SqliteConnectOptions, SqlitePool, SqlitePoolOptions,
};
use tower_sessions_sqlx_store::sqlx::{self, Row};

use super::{Consumed, Limits, StoreError, decode, encode};
use crate::record::{LaunchRecord, now};
use crate::seal::Sealer;

/// A SQLite pool, shared with the session store.
#[derive(Clone, Debug)]
pub struct SqliteBackend {
    pub pool: SqlitePool,
    ttl_secs: i64,
    ready: Arc<tokio::sync::OnceCell<()>>,
    sealer: Sealer,
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("sqlite: {e}"))
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS sld_launches (
    id TEXT PRIMARY KEY NOT NULL, data TEXT NOT NULL, expires INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sld_states (
    hash TEXT PRIMARY KEY NOT NULL, launch_id TEXT NOT NULL, expires INTEGER NOT NULL);";

impl SqliteBackend {
    /// The pool connects lazily; the database file is created if missing.
    pub fn open(url: &str, limits: Limits, sealer: Sealer) -> Result<Self, String> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| e.to_string())?
            .create_if_missing(true)
            .busy_timeout(Duration::from_secs(2));
        let pool = SqlitePoolOptions::new()
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy_with(options);
        let backend = SqliteBackend {
            pool,
            ttl_secs: limits.ttl.as_secs().max(1) as i64,
            ready: Arc::default(),
            sealer,
        };
        // Expired records and states are deleted every minute.
        let sweeper = backend.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                if sweeper.sweep().await.is_err() {
                    tracing::warn!("sqlite: could not delete expired launches");
                }
            }
        });
        Ok(backend)
    }

    async fn ready(&self) -> Result<&SqlitePool, StoreError> {
        self.ready
            .get_or_try_init(|| async {
                sqlx::raw_sql(SCHEMA).execute(&self.pool).await.map(|_| ())
            })
            .await
            .map_err(err)?;
        Ok(&self.pool)
    }

    async fn sweep(&self) -> Result<(), StoreError> {
        let pool = self.ready().await?;
        for table in ["sld_launches", "sld_states"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE expires < ?"))
                .bind(now())
                .execute(pool)
                .await
                .map_err(err)?;
        }
        Ok(())
    }

    pub async fn put(&self, record: &LaunchRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sld_launches (id, data, expires) VALUES (?, ?, ?)
             ON CONFLICT(id) DO UPDATE SET data = excluded.data, expires = excluded.expires",
        )
        .bind(&record.id)
        .bind(encode(record, &self.sealer)?)
        .bind(now() + self.ttl_secs)
        .execute(self.ready().await?)
        .await
        .map_err(err)?;
        Ok(())
    }

    pub async fn get_many(&self, ids: &[String]) -> Result<Vec<Arc<LaunchRecord>>, StoreError> {
        let pool = self.ready().await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let row = sqlx::query("SELECT data FROM sld_launches WHERE id = ? AND expires >= ?")
                .bind(id)
                .bind(now())
                .fetch_optional(pool)
                .await
                .map_err(err)?;
            if let Some(row) = row {
                let text: String = row.try_get("data").map_err(err)?;
                out.extend(decode(id, &text, &self.sealer));
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
        .fetch_all(self.ready().await?)
        .await
        .map_err(err)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get("id").map_err(err)?;
            let text: String = row.try_get("data").map_err(err)?;
            out.extend(decode(&id, &text, &self.sealer));
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
        .bind(now() + self.ttl_secs)
        .execute(pool)
        .await
        .map_err(err)?
        .rows_affected();
        if inserted == 1 {
            return Ok(Consumed::Now);
        }
        let by: Option<String> =
            sqlx::query_scalar("SELECT launch_id FROM sld_states WHERE hash = ?")
                .bind(state_hash)
                .fetch_optional(pool)
                .await
                .map_err(err)?;
        Ok(Consumed::Before(by.unwrap_or_default()))
    }

    pub async fn consumed_by(&self, state_hash: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT launch_id FROM sld_states WHERE hash = ?")
            .bind(state_hash)
            .fetch_optional(self.ready().await?)
            .await
            .map_err(err)
    }
}
