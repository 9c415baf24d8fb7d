//! The memory store's index of pending launches: ids by start time (overdue ones are found
//! without a scan of every record), each marked once its callback arrived.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// Shared by clones of the memory store.
#[derive(Clone, Debug, Default)]
pub struct PendingIndex(Arc<Mutex<Index>>);

#[derive(Debug, Default)]
pub struct Index {
    by_start: BTreeSet<(i64, String)>,
    /// Launch id → (started at, callback arrived).
    entries: HashMap<String, (i64, bool)>,
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
        if self
            .entries
            .insert(id.to_string(), (started_at, false))
            .is_none()
        {
            self.by_start.insert((started_at, id.to_string()));
        }
    }

    /// True when `id` was pending (and is no longer).
    pub fn remove(&mut self, id: &str) -> bool {
        match self.entries.remove(id) {
            Some((at, _)) => {
                self.by_start.remove(&(at, id.to_string()));
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
            .take_while(|(at, _)| *at <= cutoff)
            .take(limit)
            .map(|(_, id)| id.clone())
            .collect()
    }
}
