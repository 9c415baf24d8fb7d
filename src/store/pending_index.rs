//! The memory store's pending launches: each one's encoding (MessagePack), indexed by start time
//! (overdue ones are found without a scan of every record) and marked once its callback
//! arrived. Held here, under the one lock every write of a launch takes anyway, not in the
//! cache of finished records: keeping one is two map inserts, and a flood of launches that
//! never return pushes out older pending launches only, never a finished result. Bounded by
//! their summed weight (oldest out first) and by age (none older than the store's TTL).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// Shared by clones of the memory store.
#[derive(Clone, Debug)]
pub struct PendingIndex(Arc<Mutex<Index>>);

/// Each id is allocated once, shared by both maps. Ordered by start time, then by arrival: the
/// order holds integers only, so an insert compares no strings and lands at the end (launches
/// start in time order).
#[derive(Debug)]
pub struct Index {
    by_start: BTreeMap<(i64, u64), Arc<str>>,
    entries: HashMap<Arc<str>, Entry>,
    arrivals: u64,
    /// Summed weight of the entries held, at most `max_bytes` after every insert.
    bytes: u64,
    max_bytes: u64,
}

#[derive(Debug)]
struct Entry {
    /// Its place in `by_start`.
    key: (i64, u64),
    /// The callback arrived (the launch's state was consumed).
    returned: bool,
    /// The store's write sequence number (newest first in `recent`).
    seq: u64,
    weight: u32,
    encoded: Arc<[u8]>,
}

/// A pending launch as held: its write sequence number, id and encoding.
pub type Held = (u64, Arc<str>, Arc<[u8]>);

impl PendingIndex {
    /// An index holding encodings of at most `max_bytes` summed weight.
    pub fn new(max_bytes: u64) -> Self {
        PendingIndex(Arc::new(Mutex::new(Index {
            by_start: BTreeMap::new(),
            entries: HashMap::new(),
            arrivals: 0,
            bytes: 0,
            max_bytes,
        })))
    }

    pub fn lock(&self) -> MutexGuard<'_, Index> {
        match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

impl Index {
    /// Holds pending launch `id` (unless it is held already: false), then lets go of launches
    /// started before `expired_before`, and of the oldest while the weight is over budget.
    pub fn insert(
        &mut self,
        id: &str,
        started_at: i64,
        seq: u64,
        (weight, encoded): (u32, Arc<[u8]>),
        expired_before: i64,
    ) -> bool {
        if self.entries.contains_key(id) {
            return false;
        }
        let id: Arc<str> = Arc::from(id);
        let key = (started_at, self.arrivals);
        self.arrivals += 1;
        self.by_start.insert(key, id.clone());
        self.bytes += u64::from(weight);
        let entry = Entry {
            key,
            returned: false,
            seq,
            weight,
            encoded,
        };
        self.entries.insert(id, entry);
        while let Some((&(at, _), oldest)) = self.by_start.first_key_value() {
            if at >= expired_before && self.bytes <= self.max_bytes {
                break;
            }
            let oldest = oldest.clone();
            self.remove(&oldest);
        }
        true
    }

    /// The encoding of launch `id` while it is pending.
    pub fn get(&self, id: &str) -> Option<Arc<[u8]>> {
        self.entries.get(id).map(|e| e.encoded.clone())
    }

    /// True when `id` was pending (and is no longer).
    pub fn remove(&mut self, id: &str) -> bool {
        match self.entries.remove(id) {
            Some(entry) => {
                self.by_start.remove(&entry.key);
                self.bytes -= u64::from(entry.weight);
                true
            }
            None => false,
        }
    }

    pub fn mark_returned(&mut self, id: &str) {
        if let Some(entry) = self.entries.get_mut(id) {
            entry.returned = true;
        }
    }

    pub fn returned(&self, id: &str) -> bool {
        self.entries.get(id).is_some_and(|e| e.returned)
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

    /// Every pending launch held, in no order.
    pub fn held(&self) -> Vec<Held> {
        self.entries
            .iter()
            .map(|(id, e)| (e.seq, id.clone(), e.encoded.clone()))
            .collect()
    }

    /// Pending launches held, and their summed weight.
    pub fn size(&self) -> (u64, u64) {
        (self.entries.len() as u64, self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(n: usize) -> (u32, Arc<[u8]>) {
        (n as u32, Arc::from(vec![7u8; n]))
    }

    #[test]
    fn the_oldest_go_first_when_over_budget_and_none_outlives_the_ttl() {
        let index = PendingIndex::new(3_000);
        let mut i = index.lock();
        assert!(i.insert("a", 100, 0, encoded(1_000), 0));
        assert!(i.insert("b", 101, 1, encoded(1_000), 0));
        assert!(!i.insert("b", 101, 2, encoded(5), 0), "held already");
        assert!(i.insert("c", 102, 3, encoded(1_000), 0));
        assert_eq!(i.size(), (3, 3_000));
        i.mark_returned("a");
        assert!(i.returned("a"));
        // Over budget: the oldest goes, returned or not.
        assert!(i.insert("d", 103, 4, encoded(1_000), 0));
        assert_eq!(i.size(), (3, 3_000));
        assert!(i.get("a").is_none() && !i.returned("a"));
        assert_eq!(i.overdue(i64::MAX, 10), ["b", "c", "d"]);
        // Launches started before the cutoff go, whatever the budget.
        assert!(i.insert("e", 200, 5, encoded(10), 103));
        assert_eq!(i.overdue(i64::MAX, 10), ["d", "e"]);
        assert_eq!(i.size(), (2, 1_010));
        assert_eq!(i.get("e").as_deref(), Some(&[7u8; 10][..]));
        assert!(i.remove("d") && !i.remove("d"));
        assert_eq!(i.size(), (1, 10));
        let held = i.held();
        assert_eq!((held[0].0, &*held[0].1), (5, "e"));
    }
}
