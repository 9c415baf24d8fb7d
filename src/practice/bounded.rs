//! Size limits for what the fake remembers. In tests it lives for seconds; as the built-in
//! practice EHR it lives as long as the app, so every log and table forgets its oldest entries
//! instead of growing without bound.

use std::collections::{HashMap, VecDeque};
use std::ops::Deref;

/// Most requests (and violations) kept in the record.
pub(super) const MAX_RECORDED: usize = 1_000;

/// Most entries kept in each table of issued things: launches, codes, tokens, sign-ins.
const MAX_ISSUED: usize = 10_000;

/// Appends `item`, dropping the oldest once the log holds [`MAX_RECORDED`].
pub(super) fn push_recorded<T>(log: &mut VecDeque<T>, item: T) {
    while log.len() >= MAX_RECORDED {
        log.pop_front();
    }
    log.push_back(item);
}

/// A map from random keys (codes, tokens) that forgets its oldest insertions once it holds
/// [`MAX_ISSUED`]. Reads go through `Deref` to the `HashMap`; changes go through the methods
/// here, so the insertion order stays known.
#[derive(Debug)]
pub(super) struct Bounded<V> {
    map: HashMap<String, V>,
    /// Keys in insertion order. A key removed early stays listed until it falls off the front,
    /// which is harmless: the keys are random and never inserted twice.
    order: VecDeque<String>,
}

impl<V> Default for Bounded<V> {
    fn default() -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

impl<V> Deref for Bounded<V> {
    type Target = HashMap<String, V>;

    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl<V> Bounded<V> {
    /// Inserts or replaces; returns whether `key` was new. Forgets the oldest keys beyond the
    /// limit.
    pub(super) fn insert(&mut self, key: String, value: V) -> bool {
        let fresh = self.map.insert(key.clone(), value).is_none();
        if fresh {
            self.order.push_back(key);
        }
        while self.order.len() > MAX_ISSUED {
            if let Some(oldest) = self.order.pop_front() {
                self.map.remove(&oldest);
            }
        }
        fresh
    }

    /// Removes `key`, returning its value.
    pub(super) fn remove(&mut self, key: &str) -> Option<V> {
        self.map.remove(key)
    }

    /// The value of `key`, mutably.
    pub(super) fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.map.get_mut(key)
    }

    /// Every value, mutably.
    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.map.values_mut()
    }
}
