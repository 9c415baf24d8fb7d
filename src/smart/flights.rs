//! A TTL cache bounded in bytes whose loads are single-flight per key (moka's `try_get_with`),
//! for the discovery documents, OpenID configurations and JWKS.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::http::Recorder;
use super::transcript::Exchange;

/// A TTL cache bounded in bytes (moka's `weigher`) whose loads are single-flight per key
/// (moka's `try_get_with`).
///
/// A failed load is handed to every caller that was waiting for it, with the exchanges it made
/// (each launch's transcript shows the requests behind its diagnosis), and is not cached: the
/// next call tries again. A zero time to live turns it off: every call loads.
pub struct Flights<V>(Option<moka::future::Cache<String, V>>);

/// A failed single-flight load: its error and the exchanges that led to it.
struct Failed<E> {
    error: E,
    exchanges: Vec<Exchange>,
}

impl<V: Clone + Send + Sync + 'static> Flights<V> {
    /// Values weighed by `weigh` (bytes; its key is added), at most `budget` bytes in all: the
    /// least used go first beyond it. A value heavier than the whole budget is never kept.
    pub fn weighted(ttl: Duration, budget: u64, weigh: fn(&V) -> u32) -> Self {
        Flights((!ttl.is_zero()).then(|| {
            moka::future::Cache::builder()
                .max_capacity(budget)
                .weigher(move |k: &String, v: &V| {
                    weigh(v).saturating_add(u32::try_from(k.len()).unwrap_or(u32::MAX))
                })
                .time_to_live(ttl)
                .build()
        }))
    }

    /// The cached value for `key`, or the one `load()` produces (recording into `rec`).
    /// Concurrent callers for the same key wait for one load; if it fails they get its error and
    /// its exchanges are copied into their own recorders.
    ///
    /// `load` is called only on a miss, and its future is boxed: a hit (nearly every launch)
    /// neither builds nor moves the fetch's state, which is kilobytes of HTTP futures.
    pub async fn get_or_load<L, F, E>(&self, key: &str, rec: &Recorder, load: L) -> Result<V, E>
    where
        L: FnOnce() -> F,
        F: Future<Output = Result<V, E>>,
        E: Clone + Send + Sync + 'static,
    {
        let Some(cache) = &self.0 else {
            return Box::pin(load()).await;
        };
        if let Some(hit) = cache.get(key).await {
            return Ok(hit);
        }
        let ran = AtomicBool::new(false);
        // Boxed too: moka's single-flight future is larger than the rest of a hit's together.
        let result = Box::pin(cache.try_get_with_by_ref(key, async {
            ran.store(true, Ordering::Relaxed);
            let before = rec.exchanges().len();
            Box::pin(load()).await.map_err(|error| Failed {
                error,
                exchanges: rec.exchanges().split_off(before),
            })
        }))
        .await;
        result.map_err(|failed| {
            if !ran.load(Ordering::Relaxed) {
                rec.extend(&failed.exchanges);
            }
            failed.error.clone()
        })
    }

    /// Whether values are kept at all (a zero time to live turns caching off).
    pub fn enabled(&self) -> bool {
        self.0.is_some()
    }

    /// The cached value for `key`, if any (never loads).
    pub async fn peek(&self, key: &str) -> Option<V> {
        self.0.as_ref()?.get(key).await
    }

    /// Drops every value, as if each had expired.
    pub fn expire_all(&self) {
        if let Some(cache) = &self.0 {
            cache.invalidate_all();
        }
    }

    /// Drops `key` if it still holds `stale` (compared with `same`): a later [`get_or_load`]
    /// fetches again, unless someone already replaced it.
    ///
    /// [`get_or_load`]: Flights::get_or_load
    pub async fn forget_if(&self, key: &str, stale: &V, same: impl FnOnce(&V, &V) -> bool) {
        let Some(cache) = &self.0 else {
            return;
        };
        cache
            .entry_by_ref(key)
            .and_compute_with(|entry| {
                let op = match entry {
                    Some(e) if same(e.value(), stale) => moka::ops::compute::Op::Remove,
                    _ => moka::ops::compute::Op::Nop,
                };
                std::future::ready(op)
            })
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_weighted_cache_keeps_no_more_bytes_than_its_budget() {
        let cache: Flights<String> =
            Flights::weighted(Duration::from_secs(60), 1000, |v: &String| v.len() as u32);
        let rec = Recorder::default();
        for i in 0..10 {
            let v = cache
                .get_or_load(&format!("k{i}"), &rec, || async {
                    Ok::<_, String>("x".repeat(300))
                })
                .await;
            assert_eq!(v.map(|v| v.len()), Ok(300));
        }
        let inner = cache.0.as_ref().unwrap();
        inner.run_pending_tasks().await;
        assert!(inner.weighted_size() <= 1000, "{}", inner.weighted_size());
        assert!(inner.entry_count() <= 3, "{}", inner.entry_count());
        // Heavier than the whole budget: served, never kept.
        let big = cache
            .get_or_load("big", &rec, || async { Ok::<_, String>("x".repeat(5000)) })
            .await;
        assert_eq!(big.map(|v| v.len()), Ok(5000));
        inner.run_pending_tasks().await;
        assert!(cache.peek("big").await.is_none());
    }
}
