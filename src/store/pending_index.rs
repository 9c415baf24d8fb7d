//! The memory store's index of pending launches: ids by start time (overdue ones are found
//! without a scan of every record), each marked once its callback arrived.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// Shared by clones of the memory store.
#[derive(Clone, Debug, Default)]
pub struct PendingIndex(Arc<Mutex<Index>>);

/// Each id is allocated once, shared by both maps. Ordered by start time, then by arrival: the
/// order holds integers only, so an insert compares no strings and lands at the end (launches
/// start in time order).
#[derive(Debug, Default)]
pub struct Index {
    by_start: BTreeMap<(i64, u64), Arc<str>>,
    /// Launch id → (its place in `by_start`, callback arrived).
    entries: HashMap<Arc<str>, ((i64, u64), bool)>,
    arrivals: u64,
}

impl PendingIndex {
    pub fn lock(&self) -> MutexGuard<'_, Index> {
        match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

impl Index {
    pub fn insert(&mut self, id: &str, started_at: i64) {
        if self.entries.contains_key(id) {
            return;
        }
        let id: Arc<str> = Arc::from(id);
        let key = (started_at, self.arrivals);
        self.arrivals += 1;
        self.by_start.insert(key, id.clone());
        self.entries.insert(id, (key, false));
    }

    /// True when `id` was pending (and is no longer).
    pub fn remove(&mut self, id: &str) -> bool {
        match self.entries.remove_entry(id) {
            Some((_, (key, _))) => {
                self.by_start.remove(&key);
                true
            }
            None => false,
        }
    }

    pub fn mark_returned(&mut self, id: &str) {
        if let Some((_, returned)) = self.entries.get_mut(id) {
            *returned = true;
        }
    }

    pub fn returned(&self, id: &str) -> bool {
        self.entries.get(id).is_some_and(|(_, r)| *r)
    }

    /// At most `limit` ids started at `cutoff` or before, oldest first.
    pub fn overdue(&self, cutoff: i64, limit: usize) -> Vec<String> {
        self.by_start
            .iter()
            .take_while(|((at, _), _)| *at <= cutoff)
            .take(limit)
            .map(|(_, id)| id.to_string())
            .collect()
    }
}
