//! Size limits for what the fake remembers. In tests it lives for seconds; as the built-in
//! practice EHR it lives as long as the app, so every log and table forgets its oldest entries
//! instead of growing without bound.

use std::collections::{HashMap, VecDeque};
use std::ops::Deref;

/// Most requests (and violations) kept in the record.
pub(super) const MAX_RECORDED: usize = 1_000;

/// Most entries kept in each table of issued things: launches, codes, tokens, sign-ins.
const MAX_ISSUED: usize = 10_000;

/// Most bytes the request log holds (headers and bodies): 1,000 requests of 64 KiB would be
/// 64 MiB; the log forgets its oldest requests first.
pub(super) const MAX_RECORDED_BYTES: usize = 4 * 1024 * 1024;

/// The bytes a recorded request holds.
pub(super) fn request_bytes(r: &super::RecordedRequest) -> usize {
    r.method.len()
        + r.path.len()
        + r.query.as_ref().map_or(0, String::len)
        + r.headers
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>()
        + r.body.len()
}

/// Appends a request to the log, dropping the oldest while it holds more than
/// [`MAX_RECORDED`] requests or [`MAX_RECORDED_BYTES`] bytes (`bytes` tracks the total).
pub(super) fn push_request(
    log: &mut VecDeque<super::RecordedRequest>,
    bytes: &mut usize,
    item: super::RecordedRequest,
) {
    *bytes += request_bytes(&item);
    log.push_back(item);
    while log.len() > MAX_RECORDED || (*bytes > MAX_RECORDED_BYTES && log.len() > 1) {
        if let Some(old) = log.pop_front() {
            *bytes = bytes.saturating_sub(request_bytes(&old));
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::practice::RecordedRequest;

    fn request(body_bytes: usize) -> RecordedRequest {
        RecordedRequest {
            method: "POST".into(),
            path: "/token".into(),
            query: None,
            headers: Vec::new(),
            body: "x".repeat(body_bytes),
        }
    }

    #[test]
    fn the_request_log_is_bounded_in_bytes_and_in_count() {
        let (mut log, mut bytes) = (VecDeque::new(), 0);
        for _ in 0..200 {
            push_request(&mut log, &mut bytes, request(64 * 1024));
        }
        assert!(bytes <= MAX_RECORDED_BYTES, "{bytes}");
        assert_eq!(bytes, log.iter().map(request_bytes).sum::<usize>());
        assert!(log.len() < 200 && log.len() >= 60, "{}", log.len());
        for _ in 0..2 * MAX_RECORDED {
            push_request(&mut log, &mut bytes, request(1));
        }
        assert_eq!(log.len(), MAX_RECORDED);
        assert_eq!(bytes, log.iter().map(request_bytes).sum::<usize>());
    }
}
