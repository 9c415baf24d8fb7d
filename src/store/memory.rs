//! The launch store in process memory: finished records in a cache bounded by their stored size
//! (moka's weigher), least recently written out first; entries expire. Pending launches are
//! held apart, encoded (MessagePack: one allocation, its weight is its length, decoded only when
//! someone looks), in the index of pending launches (see `pending_index`), which takes at most a
//! quarter of the budget: a flood of launches that never come back cannot push out a finished
//! result. Every write of a launch goes through that index's lock, so settling one is a
//! compare-and-set against the callback's write.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use moka::policy::EvictionPolicy;
use moka::sync::Cache;

use super::pending_index::PendingIndex;
use super::{Consumed, Limits};
use crate::record::LaunchRecord;

/// Each finished record with the sequence number of its last write (newest first in `recent`)
/// and its weight.
type Entry = (u64, u32, Arc<LaunchRecord>);

/// Room for a pending record encoded at once (about 1.9 KB against an ordinary EHR).
const PENDING_BYTES: usize = 3 * 1024;

thread_local! {
    /// Each thread's encoding buffer, kept between launches: a record is encoded there, then
    /// copied once into an allocation of its size.
    static ENCODING: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(PENDING_BYTES));
}

/// `record` in MessagePack, its members named (`None` only if a member failed to encode: never
/// for a record, whose maps have string keys). Held as it is, a pending launch weighed twice its
/// encoding in memory; encoded as JSON, escaping its texts cost each `/launch` a sixth of its
/// time. MessagePack copies texts as they are.
fn encode(record: &LaunchRecord) -> Option<Arc<[u8]>> {
    ENCODING.with(|buffer| {
        let mut bytes = buffer.try_borrow_mut().ok()?;
        bytes.clear();
        let mut encoder = rmp_serde::Serializer::new(&mut *bytes).with_struct_map();
        serde::Serialize::serialize(record, &mut encoder).ok()?;
        let encoded = Arc::from(&bytes[..]);
        // A rare huge record does not stay behind in every thread.
        bytes.truncate(0);
        bytes.shrink_to(PENDING_BYTES);
        Some(encoded)
    })
}

fn decode(id: &str, bytes: &[u8]) -> Option<Arc<LaunchRecord>> {
    match rmp_serde::from_slice(bytes) {
        Ok(r) => Some(Arc::new(r)),
        Err(e) => {
            tracing::error!(launch = %id, error = %e, "a pending launch kept in memory does not decode");
            None
        }
    }
}

/// Records and consumed states of this process.
#[derive(Clone, Debug)]
pub struct MemoryBackend {
    launches: Cache<String, Entry>,
    consumed: Cache<String, Arc<str>>,
    writes: Arc<AtomicU64>,
    pending: PendingIndex,
    /// How long a pending launch is held at most (the store's TTL), in seconds.
    ttl_secs: i64,
}

/// What an entry costs besides its stored bytes: the key, the cache's own bookkeeping.
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
        let pending_bytes = limits.max_bytes / 4;
        MemoryBackend {
            launches: Cache::builder()
                .max_capacity(limits.max_bytes - pending_bytes)
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
            pending: PendingIndex::new(pending_bytes),
            ttl_secs: i64::try_from(limits.ttl.as_secs()).unwrap_or(i64::MAX),
        }
    }

    fn seq(&self) -> u64 {
        self.writes.fetch_add(1, Ordering::Relaxed)
    }

    fn insert(&self, record: &LaunchRecord) {
        let entry = (self.seq(), weight(record), Arc::new(record.clone()));
        self.launches.insert(record.id().to_string(), entry);
    }

    /// Stores (or replaces) a record; a launch pending until now is pending no more (in that
    /// order, under the index's lock: a reader finds one or the other, never neither).
    pub fn put(&self, record: &LaunchRecord) {
        let mut index = self.pending.lock();
        self.insert(record);
        index.remove(record.id());
    }

    /// Holds a pending launch, encoded: written once, its length is its weight. A second
    /// pending write of the same launch changes nothing. No finished record of it can exist
    /// yet: in memory, a launch is written pending before its id leaves this process (the
    /// redirect to the authorization server), and only by `/launch`.
    pub fn put_new(&self, record: &LaunchRecord) {
        let Some(bytes) = encode(record) else {
            tracing::error!(launch = %record.id(), "a pending launch does not encode; kept as a record, never settled");
            return self.insert(record);
        };
        let held = (weight_of(bytes.len()), bytes);
        let expired_before = record.started_at().saturating_sub(self.ttl_secs);
        let seq = self.seq();
        self.pending
            .lock()
            .insert(record.id(), record.started_at(), seq, held, expired_before);
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

    /// Replaces pending launch `id` by `settled` if it is still pending (and still held): true
    /// for exactly one caller.
    pub fn settle(&self, settled: &LaunchRecord) -> bool {
        let mut index = self.pending.lock();
        if !index.remove(settled.id()) {
            return false;
        }
        self.insert(settled);
        true
    }

    pub fn get(&self, id: &str) -> Option<Arc<LaunchRecord>> {
        // The index first: a launch leaves it only once its record is in the cache.
        let pending = self.pending.lock().get(id);
        match pending {
            Some(bytes) => decode(id, &bytes),
            None => Some(self.launches.get(id)?.2),
        }
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

    /// The `limit` records written last, newest first, pending or finished.
    pub fn recent(&self, limit: usize) -> Vec<Arc<LaunchRecord>> {
        enum Found {
            Record(Arc<LaunchRecord>),
            Pending(Arc<str>, Arc<[u8]>),
        }
        let mut all: Vec<(u64, Found)> = self
            .launches
            .iter()
            .map(|(_, (seq, _, record))| (seq, Found::Record(record)))
            .collect();
        let pending = self.pending.lock().held();
        all.extend(
            pending
                .into_iter()
                .map(|(seq, id, bytes)| (seq, Found::Pending(id, bytes))),
        );
        all.sort_by_key(|(seq, _)| std::cmp::Reverse(*seq));
        all.into_iter()
            .take(limit)
            .filter_map(|(_, found)| match found {
                Found::Record(r) => Some(r),
                Found::Pending(id, bytes) => decode(&id, &bytes),
            })
            .collect()
    }

    /// Records held now, pending ones included (for tests and the benchmark).
    pub fn launch_count(&self) -> u64 {
        self.launches.run_pending_tasks();
        self.launches.entry_count() + self.pending.lock().size().0
    }

    /// The summed weight of the records held now, pending ones included (see [`weight`]).
    pub fn launch_bytes(&self) -> u64 {
        self.launches.run_pending_tasks();
        self.launches.weighted_size() + self.pending.lock().size().1
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

    #[test]
    fn a_flood_of_pending_launches_pushes_out_older_pending_ones_never_a_result() {
        let budget = 4 << 20;
        let store = MemoryBackend::new(Limits {
            max_bytes: budget,
            ..Limits::new(Duration::from_secs(3600))
        });
        store.put(&completed(0));
        let pending = |i: u64| super::super::sample_record(&format!("pending-{i:05}"));
        let held = encode(&pending(0)).unwrap().len() as u64 + ENTRY_OVERHEAD;
        for i in 0..budget / held {
            store.put_new(&pending(i));
        }
        assert!(store.get("launch-0").is_some(), "the result stays");
        assert!(
            store.get("pending-0").is_none(),
            "the oldest pending launch went"
        );
        let (count, bytes) = store.pending.lock().size();
        assert!(
            bytes <= budget / 4,
            "{bytes} bytes pending, a quarter of {budget}"
        );
        assert_eq!(count, budget / 4 / held);
        let newest = format!("pending-{:05}", budget / held - 1);
        assert_eq!(store.get(&newest).unwrap().id(), newest);
        assert_eq!(store.recent(1)[0].id(), newest);
    }
}
