//! The launch store in process memory: bounded, entries expire (moka).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use moka::sync::Cache;

use super::{Consumed, Limits};
use crate::record::LaunchRecord;

/// Records and consumed states of this process.
#[derive(Clone, Debug)]
pub struct MemoryBackend {
    /// Each record with the sequence number of its last write (newest first in `recent`).
    launches: Cache<String, (u64, Arc<LaunchRecord>)>,
    consumed: Cache<String, Arc<str>>,
    writes: Arc<AtomicU64>,
}

impl MemoryBackend {
    pub fn new(limits: Limits) -> Self {
        MemoryBackend {
            launches: Cache::builder()
                .max_capacity(limits.max_records)
                .time_to_live(limits.ttl)
                .build(),
            // A state is worth remembering as long as its flow could still be presented.
            consumed: Cache::builder()
                .max_capacity(limits.max_records.saturating_mul(4))
                .time_to_live(limits.ttl)
                .build(),
            writes: Arc::default(),
        }
    }

    pub fn put(&self, record: &LaunchRecord) {
        let seq = self.writes.fetch_add(1, Ordering::Relaxed);
        self.launches
            .insert(record.id.clone(), (seq, Arc::new(record.clone())));
    }

    pub fn get(&self, id: &str) -> Option<Arc<LaunchRecord>> {
        self.launches.get(id).map(|(_, r)| r)
    }

    /// Atomic per key: of concurrent callers, exactly one inserts.
    pub fn consume(&self, state_hash: &str, launch_id: &str) -> Consumed {
        let entry = self
            .consumed
            .entry(state_hash.to_string())
            .or_insert_with(|| Arc::from(launch_id));
        if entry.is_fresh() {
            Consumed::Now
        } else {
            Consumed::Before(entry.into_value().to_string())
        }
    }

    pub fn consumed_by(&self, state_hash: &str) -> Option<String> {
        self.consumed.get(state_hash).map(|id| id.to_string())
    }

    /// The `limit` records written last, newest first.
    pub fn recent(&self, limit: usize) -> Vec<Arc<LaunchRecord>> {
        let mut all: Vec<(u64, Arc<LaunchRecord>)> =
            self.launches.iter().map(|(_, entry)| entry).collect();
        all.sort_by_key(|(seq, _)| std::cmp::Reverse(*seq));
        all.into_iter().take(limit).map(|(_, r)| r).collect()
    }

    /// Records held now (for tests and the benchmark).
    pub fn launch_count(&self) -> u64 {
        self.launches.run_pending_tasks();
        self.launches.entry_count()
    }
}
