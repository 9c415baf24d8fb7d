//! The launch store in process memory: bounded by the stored size of its records (moka's
//! weigher), least recently written out first; entries expire. Pending launches are indexed by
//! start time (see `pending`): every write of a launch goes through that index's lock, so
//! settling one is a compare-and-set against the callback's write. A pending launch is kept
//! encoded (MessagePack: one allocation, its weight is its length, decoded only when someone
//! looks); every other record as the record itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use moka::policy::EvictionPolicy;
use moka::sync::Cache;

use super::pending_index::PendingIndex;
use super::{Consumed, Limits};
use crate::record::LaunchRecord;

/// Each record with the sequence number of its last write (newest first in `recent`) and its
/// weight.
type Entry = (u64, u32, Held);

/// A record as held: finished ones as they are (read on every result page), pending ones
/// encoded, which `/launch` writes once and hardly anyone reads. Held as it is, a pending launch
/// weighed twice its encoding in memory; encoded as JSON, escaping its texts cost each
/// `/launch` a sixth of its time. MessagePack copies texts as they are.
#[derive(Clone, Debug)]
enum Held {
    Record(Arc<LaunchRecord>),
    Pending(Arc<[u8]>),
}

impl Held {
    fn record(&self, id: &str) -> Option<Arc<LaunchRecord>> {
        match self {
            Held::Record(r) => Some(r.clone()),
            Held::Pending(bytes) => match rmp_serde::from_slice(bytes) {
                Ok(r) => Some(Arc::new(r)),
                Err(e) => {
                    tracing::error!(launch = %id, error = %e, "a pending launch kept in memory does not decode");
                    None
                }
            },
        }
    }
}

/// Room for a pending record encoded at once (about 1.7 KB against an ordinary EHR).
const PENDING_BYTES: usize = 3 * 1024;

/// `record` in MessagePack, its members named (`None` only if a member failed to encode: never
/// for a record, whose maps have string keys).
fn encode(record: &LaunchRecord) -> Option<Arc<[u8]>> {
    let mut bytes = Vec::with_capacity(PENDING_BYTES);
    let mut encoder = rmp_serde::Serializer::new(&mut bytes).with_struct_map();
    serde::Serialize::serialize(record, &mut encoder).ok()?;
    Some(Arc::from(bytes))
}

/// Records and consumed states of this process.
#[derive(Clone, Debug)]
pub struct MemoryBackend {
    launches: Cache<String, Entry>,
    consumed: Cache<String, Arc<str>>,
    writes: Arc<AtomicU64>,
    pending: PendingIndex,
}

/// What an entry costs besides its JSON: the key, the cache's own bookkeeping.
const ENTRY_OVERHEAD: u64 = 256;

/// The size of `record` as stored (its compact JSON, [`LaunchRecord::weight`]), plus
/// [`ENTRY_OVERHEAD`].
pub fn weight(record: &LaunchRecord) -> u32 {
    weight_of(record.weight())
}

fn weight_of(stored_bytes: usize) -> u32 {
    let bytes = (stored_bytes as u64).saturating_add(ENTRY_OVERHEAD);
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

impl MemoryBackend {
    pub fn new(limits: Limits) -> Self {
        MemoryBackend {
            launches: Cache::builder()
                .max_capacity(limits.max_bytes)
                .weigher(|_, (_, w, _): &Entry| *w)
                // A new result always gets in (TinyLFU would turn a newcomer away when full).
                .eviction_policy(EvictionPolicy::lru())
                .time_to_live(limits.ttl)
                .build(),
            // A state is worth remembering as long as its flow could still be presented.
            consumed: Cache::builder()
                .max_capacity(limits.max_bytes / 8)
                .weigher(|k: &String, v: &Arc<str>| (k.len() + v.len() + 64) as u32)
                .eviction_policy(EvictionPolicy::lru())
                .time_to_live(limits.ttl)
                .build(),
            writes: Arc::default(),
            pending: PendingIndex::default(),
        }
    }

    fn insert(&self, record: &LaunchRecord) {
        let w = weight(record);
        self.hold(record.id(), w, Held::Record(Arc::new(record.clone())));
    }

    fn hold(&self, id: &str, weight: u32, held: Held) {
        let seq = self.writes.fetch_add(1, Ordering::Relaxed);
        self.launches.insert(id.to_string(), (seq, weight, held));
    }

    /// Stores (or replaces) a record; a launch pending until now is pending no more.
    pub fn put(&self, record: &LaunchRecord) {
        let mut index = self.pending.lock();
        index.remove(record.id());
        self.insert(record);
    }

    /// Stores a pending launch unless a record of it exists (the callback's is never replaced),
    /// encoded: written once, its length is its weight.
    pub fn put_new(&self, record: &LaunchRecord) {
        let (w, held) = match encode(record) {
            Some(bytes) => (weight_of(bytes.len()), Held::Pending(bytes)),
            None => (weight(record), Held::Record(Arc::new(record.clone()))),
        };
        let mut index = self.pending.lock();
        if self.launches.contains_key(record.id()) {
            return;
        }
        index.insert(record.id(), record.started_at());
        self.hold(record.id(), w, held);
    }

    /// Ids of pending launches started at `cutoff` or before, oldest first, at most `limit`.
    pub fn overdue(&self, cutoff: i64, limit: usize) -> Vec<String> {
        self.pending.lock().overdue(cutoff, limit)
    }

    /// Launch `id` is pending no more (its record is gone).
    pub fn forget(&self, id: &str) {
        self.pending.lock().remove(id);
    }

    /// Whether launch `id`'s callback arrived (its state was consumed).
    pub fn returned(&self, id: &str) -> bool {
        self.pending.lock().returned(id)
    }

    /// Replaces pending launch `id` by `settled` if it is still pending (and still kept): true for
    /// exactly one caller.
    pub fn settle(&self, settled: &LaunchRecord) -> bool {
        let mut index = self.pending.lock();
        if !index.remove(settled.id()) || !self.launches.contains_key(settled.id()) {
            return false;
        }
        self.insert(settled);
        true
    }

    pub fn get(&self, id: &str) -> Option<Arc<LaunchRecord>> {
        self.launches.get(id)?.2.record(id)
    }

    /// Atomic per key: of concurrent callers, exactly one inserts.
    pub fn consume(&self, state_hash: &str, launch_id: &str) -> Consumed {
        let entry = self
            .consumed
            .entry(state_hash.to_string())
            .or_insert_with(|| Arc::from(launch_id));
        if entry.is_fresh() {
            self.pending.lock().mark_returned(launch_id);
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
        let mut all: Vec<(u64, Arc<String>, Held)> = self
            .launches
            .iter()
            .map(|(id, (seq, _, held))| (seq, id, held))
            .collect();
        all.sort_by_key(|(seq, _, _)| std::cmp::Reverse(*seq));
        all.into_iter()
            .take(limit)
            .filter_map(|(_, id, held)| held.record(&id))
            .collect()
    }

    /// Records held now (for tests and the benchmark).
    pub fn launch_count(&self) -> u64 {
        self.launches.run_pending_tasks();
        self.launches.entry_count()
    }

    /// The summed weight of the records held now (see [`weight`]).
    pub fn launch_bytes(&self) -> u64 {
        self.launches.run_pending_tasks();
        self.launches.weighted_size()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::diagnosis::transcript::Exchange;

    /// A completed launch weighing about what the issue measured (~28 KB stored).
    fn completed(id: usize) -> LaunchRecord {
        let mut r = super::super::sample_record(&format!("launch-{id}"));
        r.transcribed([Exchange {
            step: crate::smart::transcript::ExchangeStep::Fhir,
            method: "GET".into(),
            url: "https://ehr.example/fhir/Patient/1".into(),
            request_headers: Vec::new(),
            request_body: None,
            status: Some(200),
            response_headers: Vec::new(),
            response_body: Some("x".repeat(28_000)),
            duration_ms: 10,
            error: None,
            cached: false,
        }]);
        r
    }

    #[test]
    fn a_pending_launch_kept_encoded_reads_back_whole_and_weighs_its_encoding() {
        let store = MemoryBackend::new(Limits::new(Duration::from_secs(3600)));
        let mut pending = completed(1);
        let mut raised =
            crate::diagnosis::Diagnosis::new(id!("launch.insecure_iss"), "plain \"http\"")
                .with("iss", "http://ehr.example/fhir")
                .with_first_cause("a cause");
        raised.raised = true;
        pending.found([
            raised,
            crate::diagnosis::Diagnosis::new(id!("discovery.incomplete"), "lacks fields"),
        ]);
        store.put_new(&pending);
        let json = |r: &LaunchRecord| serde_json::to_string(r).unwrap();
        let back = store.get("launch-1").expect("kept");
        assert_eq!(json(&back), json(&pending));
        let recent = store.recent(10);
        assert_eq!(recent.len(), 1);
        assert_eq!(json(&recent[0]), json(&pending));
        assert_eq!(
            store.launch_bytes(),
            encode(&pending).unwrap().len() as u64 + ENTRY_OVERHEAD
        );
        assert_eq!(store.overdue(i64::MAX, 10), vec!["launch-1".to_string()]);
        // A second pending write of the same launch changes nothing; its settlement replaces it.
        let mut other = completed(1);
        let again = other.transcript()[0].clone();
        other.transcribed([again]);
        store.put_new(&other);
        assert_eq!(json(&store.get("launch-1").unwrap()), json(&pending));
        assert!(store.settle(&other));
        assert_eq!(
            store.get("launch-1").unwrap().transcript().len(),
            pending.transcript().len() + 1
        );
        assert!(store.overdue(i64::MAX, 10).is_empty());
    }

    #[test]
    fn ten_thousand_completed_launches_stay_within_the_byte_budget() {
        let budget = 64 << 20;
        let store = MemoryBackend::new(Limits {
            max_bytes: budget,
            ..Limits::new(Duration::from_secs(3600))
        });
        for i in 0..10_000 {
            store.put(&completed(i));
        }
        let (bytes, count) = (store.launch_bytes(), store.launch_count());
        assert!(bytes <= budget, "{bytes} bytes held, budget {budget}");
        assert!(count < 10_000 && count > 1_000, "{count} records held");
        assert!(store.get("launch-9999").is_some(), "the newest is kept");
        assert!(store.get("launch-0").is_none(), "the oldest went first");
    }
}
