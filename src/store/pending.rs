//! Pending launches in the launch store. A launch is stored at `/launch`, right before the
//! browser is sent to the authorization server, so a launch whose browser never comes back is
//! listed, found by its request id and settled. Each backend indexes its pending launches by
//! start time (memory: an ordered index; Redis: a sorted set; SQLite: an indexed table), so
//! overdue ones are found without a scan, and settles one atomically (a compare-and-set under
//! the index lock; a Lua script removing it from the set; a transaction deleting its row): of
//! any number of callers on any number of instances sharing the store, exactly one settles a
//! launch. Any later write of the launch (its callback's result) replaces a settled record.

use std::sync::Arc;

use super::{Backend, Kept, Kind, StoreError};
use crate::record::LaunchRecord;

impl Backend {
    /// Keeps pending launch `record` unless a record of it exists: in the store, or, when the
    /// store does not answer, in this process until it does (as [`keep`](Self::keep)).
    pub async fn keep_pending(&self, record: Arc<LaunchRecord>) -> Kept {
        let text = match &self.kind {
            Kind::Memory(m) => {
                m.put_new(&record);
                return Kept::Stored;
            }
            Kind::Redis(r) => r.encode(&record),
            Kind::Sqlite(s) => s.encode(&record),
        };
        let text: Arc<str> = match text {
            Ok(t) => t.into(),
            Err(e) => return Kept::Lost(e),
        };
        match self.write_new(&record, &text).await {
            Ok(()) => return Kept::Stored,
            Err(e) => {
                tracing::warn!(launch = %record.id(), error = %e, "pending launch not stored; kept to write when the store answers")
            }
        }
        if self.waiting.push_as(record.clone(), text, true) {
            Kept::Waiting
        } else {
            tracing::error!(launch = %record.id(), "pending launch not stored: the store does not answer and no room is left to keep it; only its browser's session knows it");
            Kept::Lost(StoreError(
                "the store does not answer and no room is left to keep the pending launch".into(),
            ))
        }
    }

    pub(super) async fn write_new(
        &self,
        record: &Arc<LaunchRecord>,
        text: &str,
    ) -> Result<(), StoreError> {
        let (id, at) = (record.id(), record.started_at());
        match &self.kind {
            Kind::Memory(m) => {
                m.put_new(record);
                Ok(())
            }
            Kind::Redis(r) => Box::pin(self.health.guard(r.put_new(id, text, at))).await,
            Kind::Sqlite(s) => Box::pin(self.health.guard(s.put_new(id, text, at))).await,
        }
    }

    /// Ids of pending launches started at `cutoff` (Unix seconds) or before, oldest first, at
    /// most `limit`: a bounded read of the index, never a scan of the records.
    pub async fn overdue(&self, cutoff: i64, limit: usize) -> Result<Vec<String>, StoreError> {
        match &self.kind {
            Kind::Memory(m) => Ok(m.overdue(cutoff, limit)),
            Kind::Redis(r) => Box::pin(self.health.guard(r.overdue(cutoff, limit))).await,
            Kind::Sqlite(s) => Box::pin(self.health.guard(s.overdue(cutoff, limit))).await,
        }
    }

    /// Launch `id` is pending no more: its record is gone, or is no longer pending.
    pub async fn forget_pending(&self, id: &str) -> Result<(), StoreError> {
        match &self.kind {
            Kind::Memory(m) => {
                m.forget(id);
                Ok(())
            }
            Kind::Redis(r) => Box::pin(self.health.guard(r.forget(id))).await,
            Kind::Sqlite(s) => Box::pin(self.health.guard(s.forget(id))).await,
        }
    }

    /// Whether launch `id`'s callback arrived (it consumed its state), on any instance.
    pub async fn returned(&self, id: &str) -> Result<bool, StoreError> {
        match &self.kind {
            Kind::Memory(m) => Ok(m.returned(id)),
            Kind::Redis(r) => Box::pin(self.health.guard(r.returned(id))).await,
            Kind::Sqlite(s) => Box::pin(self.health.guard(s.returned(id))).await,
        }
    }

    /// Replaces pending launch `settled.id` by `settled` if it is still pending: `Ok(true)` for
    /// exactly one caller across every instance on this store.
    pub async fn settle(&self, settled: &LaunchRecord) -> Result<bool, StoreError> {
        let text = match &self.kind {
            Kind::Memory(m) => return Ok(m.settle(settled)),
            Kind::Redis(r) => r.encode(settled)?,
            Kind::Sqlite(s) => s.encode(settled)?,
        };
        let id = settled.id();
        match &self.kind {
            Kind::Memory(_) => Ok(false),
            Kind::Redis(r) => Box::pin(self.health.guard(r.settle(id, &text))).await,
            Kind::Sqlite(s) => Box::pin(self.health.guard(s.settle(id, &text))).await,
        }
    }
}
