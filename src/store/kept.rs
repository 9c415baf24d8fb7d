//! Results waiting for the store: a bounded write-behind queue in process memory. A record
//! whose write failed (Redis down, disk full) is kept here, readable like a stored one, and
//! written again with backoff until the store takes it or the record's time to live passes.
//! One record per launch id: a newer version replaces the one waiting.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::record::LaunchRecord;

/// A record waiting to be written, with its stored form (sealed, ready to write).
#[derive(Clone, Debug)]
pub struct Waiting {
    pub record: Arc<LaunchRecord>,
    pub text: Arc<str>,
    /// Bumped by every replacement, so a write of an older version does not remove a newer one.
    pub version: u64,
    /// A pending launch: written only where no record of it exists yet.
    pub new: bool,
}

/// The queue; cheap to clone.
#[derive(Clone, Debug)]
pub struct WriteBehind(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    max_bytes: usize,
    ttl: Duration,
    queue: Mutex<Queue>,
    wake: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct Queue {
    items: HashMap<String, (Waiting, Instant)>,
    bytes: usize,
    versions: u64,
}

/// Backoff between rounds of writes: doubling from the first to the last.
pub const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));

impl WriteBehind {
    /// A queue holding at most `max_bytes` of stored records, each for at most `ttl`.
    pub fn new(max_bytes: usize, ttl: Duration) -> Self {
        WriteBehind(Arc::new(Inner {
            max_bytes,
            ttl,
            queue: Mutex::default(),
            wake: tokio::sync::Notify::new(),
        }))
    }

    /// Keeps `record` (stored form `text`) to be written later; `false` when it does not fit.
    pub fn push(&self, record: Arc<LaunchRecord>, text: Arc<str>) -> bool {
        self.push_as(record, text, false)
    }

    /// Like [`push`](Self::push); `new`: a pending launch, written only if nothing replaced it.
    pub fn push_as(&self, record: Arc<LaunchRecord>, text: Arc<str>, new: bool) -> bool {
        let Ok(mut q) = self.0.queue.lock() else {
            return false;
        };
        let old = q.items.get(record.id()).map_or(0, |(w, _)| w.text.len());
        if q.bytes - old + text.len() > self.0.max_bytes {
            return false;
        }
        q.versions += 1;
        let version = q.versions;
        q.bytes = q.bytes - old + text.len();
        let until = Instant::now() + self.0.ttl;
        let id = record.id().to_string();
        q.items.insert(
            id,
            (
                Waiting {
                    record,
                    text,
                    version,
                    new,
                },
                until,
            ),
        );
        drop(q);
        self.0.wake.notify_one();
        true
    }

    /// The waiting record of launch `id`.
    pub fn get(&self, id: &str) -> Option<Arc<LaunchRecord>> {
        let q = self.0.queue.lock().ok()?;
        q.items.get(id).map(|(w, _)| w.record.clone())
    }

    /// Whether a version of launch `id` waits (a newer write must then wait behind it).
    pub fn holds(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    /// Everything waiting, oldest version first; records past their time to live are dropped.
    pub fn snapshot(&self) -> Vec<Waiting> {
        let Ok(mut q) = self.0.queue.lock() else {
            return Vec::new();
        };
        let now = Instant::now();
        let expired: Vec<String> = q
            .items
            .iter()
            .filter(|(_, (_, until))| *until <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            if let Some((w, _)) = q.items.remove(&id) {
                q.bytes -= w.text.len();
                tracing::error!(launch = %id, "a result waited for the store longer than its time to live; dropped");
            }
        }
        let mut all: Vec<Waiting> = q.items.values().map(|(w, _)| w.clone()).collect();
        all.sort_by_key(|w| w.version);
        all
    }

    /// `w` was written: forget it, unless a newer version replaced it meanwhile.
    pub fn written(&self, w: &Waiting) {
        let Ok(mut q) = self.0.queue.lock() else {
            return;
        };
        if q.items
            .get(w.record.id())
            .is_some_and(|(x, _)| x.version == w.version)
        {
            q.items.remove(w.record.id());
            q.bytes -= w.text.len();
        }
    }

    pub fn len(&self) -> usize {
        self.0.queue.lock().map(|q| q.items.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held now.
    pub fn bytes(&self) -> usize {
        self.0.queue.lock().map(|q| q.bytes).unwrap_or(0)
    }

    /// Resolves when something is pushed.
    pub async fn pushed(&self) {
        self.0.wake.notified().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str) -> Arc<LaunchRecord> {
        Arc::new(super::super::sample_record(id))
    }

    #[test]
    fn the_queue_is_bounded_by_bytes_and_keeps_the_newest_version() {
        let q = WriteBehind::new(10, Duration::from_secs(60));
        assert!(q.push(record("a"), "12345".into()));
        assert!(q.push(record("a"), "1234567".into()), "replaces: 7 bytes");
        assert!(!q.push(record("b"), "12345".into()), "7 + 5 > 10");
        let waiting = q.snapshot();
        assert_eq!(waiting.len(), 1);
        assert_eq!(&*waiting[0].text, "1234567");
        q.written(&waiting[0]);
        assert!(q.is_empty());
        assert_eq!(q.bytes(), 0);
    }

    #[test]
    fn a_write_of_an_older_version_keeps_the_newer_waiting() {
        let q = WriteBehind::new(100, Duration::from_secs(60));
        q.push(record("a"), "old".into());
        let old = q.snapshot().remove(0);
        q.push(record("a"), "new".into());
        q.written(&old);
        assert_eq!(&*q.snapshot()[0].text, "new");
    }
}
