//! Pending launches in SQLite: the table `sld_pending` (id, start time; indexed by start time)
//! beside the records. Storing a pending launch inserts its record only where none exists, and
//! its row in the same transaction; settling deletes the row and, only if that deletion took
//! it (one caller on any number of instances: SQLite serializes writers), rewrites the record
//! in the same transaction. The callback's write deletes the row before writing (see `put`).

use tower_sessions_sqlx_store::sqlx;

use super::{SqliteBackend, err};
use crate::record::now;
use crate::store::StoreError;

impl SqliteBackend {
    /// Stores pending launch `id` (stored form `text`, started at `started_at`) unless a record
    /// of it exists.
    pub async fn put_new(&self, id: &str, text: &str, started_at: i64) -> Result<(), StoreError> {
        let pool = self.ready().await?;
        // Not `failed` (which replaces the pool): a launch's first write fails like the session
        // written beside it, and leaves healing to the probe and the results' writes.
        let fail = err;
        let mut tx = pool.begin().await.map_err(fail)?;
        let inserted = sqlx::query(
            "INSERT INTO sld_launches (id, data, expires) VALUES (?, ?, ?) ON CONFLICT(id) DO NOTHING",
        )
        .bind(id)
        .bind(text)
        .bind(now() + self.0.ttl_secs)
        .execute(&mut *tx)
        .await
        .map_err(fail)?
        .rows_affected();
        if inserted == 1 {
            sqlx::query(
                "INSERT INTO sld_pending (id, started) VALUES (?, ?) ON CONFLICT(id) DO NOTHING",
            )
            .bind(id)
            .bind(started_at)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        }
        tx.commit().await.map_err(fail)
    }

    /// Replaces pending launch `id` by its settled form `text` if it is still pending: true for
    /// exactly one caller.
    pub async fn settle(&self, id: &str, text: &str) -> Result<bool, StoreError> {
        let pool = self.ready().await?;
        let fail = |e| self.failed(err(e));
        let mut tx = pool.begin().await.map_err(fail)?;
        let claimed = sqlx::query("DELETE FROM sld_pending WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(fail)?
            .rows_affected();
        let mut written = 0;
        if claimed == 1 {
            written = sqlx::query(
                "UPDATE sld_launches SET data = ?, expires = ? WHERE id = ? AND expires >= ?",
            )
            .bind(text)
            .bind(now() + self.0.ttl_secs)
            .bind(id)
            .bind(now())
            .execute(&mut *tx)
            .await
            .map_err(fail)?
            .rows_affected();
        }
        tx.commit().await.map_err(fail)?;
        Ok(written == 1)
    }

    /// Ids of pending launches started at `cutoff` or before, oldest first, at most `limit`.
    pub async fn overdue(&self, cutoff: i64, limit: usize) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar("SELECT id FROM sld_pending WHERE started <= ? ORDER BY started LIMIT ?")
            .bind(cutoff)
            .bind(limit as i64)
            .fetch_all(&self.ready().await?)
            .await
            .map_err(|e| self.failed(err(e)))
    }

    /// Launch `id` is pending no more (its record is gone).
    pub async fn forget(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sld_pending WHERE id = ?")
            .bind(id)
            .execute(&self.ready().await?)
            .await
            .map_err(|e| self.failed(err(e)))?;
        Ok(())
    }

    /// Whether launch `id`'s callback arrived (consumed its state).
    pub async fn returned(&self, id: &str) -> Result<bool, StoreError> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM sld_states WHERE launch_id = ? LIMIT 1")
                .bind(id)
                .fetch_optional(&self.ready().await?)
                .await
                .map_err(|e| self.failed(err(e)))?;
        Ok(found.is_some())
    }
}
