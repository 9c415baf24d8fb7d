//! The in-memory session store: tower-sessions' `MemoryStore` keeps expired sessions forever,
//! so a long-running server would grow without bound. This one sweeps expired records at most
//! once a minute, when sessions are created.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio::sync::Mutex;
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store;

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
