//! The launch store in Redis: one key per record and per consumed state, each with a TTL.
//! Pending launches are also in a sorted set by start time (`sld:pending`); a launch leaves it
//! when any record of its callback is written, or when it is settled (see `pending.rs`).

use std::sync::Arc;
use std::time::Duration;

use tower_sessions_redis_store::fred::prelude::{
    ClientLike, Config as RedisConfig, ConnectionConfig, Expiration, KeysInterface,
    PerformanceConfig, Pool, ReconnectPolicy, SetOptions, SortedSetsInterface,
};

use super::{Consumed, Limits, MAX_RECENT, StoreError, decode, encode};
use crate::record::LaunchRecord;
use crate::seal::Sealer;

mod pending;
pub use pending::{PENDING_KEY, RETURNED_PREFIX};

const LAUNCH_PREFIX: &str = "sld:launch:";
const STATE_PREFIX: &str = "sld:state:";
/// Signed-out support-view sign-ins (hashes of their nonces).
const REVOKED_PREFIX: &str = "sld:revoked:";
/// A sorted set of launch ids scored by their last write time, trimmed to `MAX_RECENT`.
const RECENT_KEY: &str = "sld:recent";

/// A Redis connection pool, shared with the session store.
#[derive(Clone, Debug)]
pub struct RedisBackend {
    pub pool: Pool,
    ttl_secs: i64,
    sealer: Sealer,
    probe_timeout: Duration,
}

/// Milliseconds since the epoch: the recency score (seconds would tie within one second).
fn now_millis() -> f64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as f64
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("redis: {e}"))
}

impl RedisBackend {
    /// Connects in the background and keeps reconnecting; never blocks start-up.
    pub fn open(url: &str, limits: Limits, sealer: Sealer) -> Result<Self, String> {
        let config = RedisConfig::from_url(url).map_err(|e| e.to_string())?;
        let perf = PerformanceConfig {
            default_command_timeout: limits.command_timeout,
            ..Default::default()
        };
        let connection = ConnectionConfig {
            connection_timeout: limits.connect_timeout,
            max_command_attempts: 1,
            ..Default::default()
        };
        let policy = ReconnectPolicy::new_constant(0, 500);
        let pool = Pool::new(config, Some(perf), Some(connection), Some(policy), 2)
            .map_err(|e| e.to_string())?;
        drop(pool.connect());
        Ok(RedisBackend {
            pool,
            ttl_secs: limits.ttl.as_secs().max(1) as i64,
            sealer,
            // A PING answers in a millisecond; waiting for it longer than half a second only
            // delays noticing that Redis is gone (a queued command waits for the reconnection).
            probe_timeout: limits.command_timeout.min(Duration::from_millis(500)),
        })
    }

    /// `record` as stored.
    pub fn encode(&self, record: &LaunchRecord) -> Result<String, StoreError> {
        encode(record, &self.sealer)
    }

    /// Whether Redis answers a `PING` within the command timeout (at most half a second).
    pub async fn ping(&self) -> Result<(), StoreError> {
        if !self.pool.clients().iter().any(|c| c.is_connected()) {
            return Err(StoreError("redis: not connected".into()));
        }
        match tokio::time::timeout(self.probe_timeout, self.pool.ping::<()>(None)).await {
            Ok(r) => r.map_err(err),
            Err(_) => Err(StoreError("redis: no answer to PING".into())),
        }
    }

    /// Stores record `id` in its stored form `text` (see `encode`). The launch leaves the pending
    /// set first: a settlement either happened before (and is replaced) or finds nothing to settle.
    pub async fn put(&self, id: &str, text: &str) -> Result<(), StoreError> {
        self.pool
            .zrem::<(), _, _>(PENDING_KEY, id)
            .await
            .map_err(err)?;
        let key = format!("{LAUNCH_PREFIX}{id}");
        self.pool
            .set::<(), _, _>(key, text, Some(Expiration::EX(self.ttl_secs)), None, false)
            .await
            .map_err(err)?;
        self.pool
            .zadd::<(), _, _>(RECENT_KEY, None, None, false, false, (now_millis(), id))
            .await
            .map_err(err)?;
        // Keep the newest MAX_RECENT; older ids (and those of expired records) fall off.
        self.pool
            .zremrangebyrank::<(), _>(RECENT_KEY, 0, -(MAX_RECENT as i64) - 1)
            .await
            .map_err(err)
    }

    /// The newest `limit` records still kept, newest first.
    pub async fn recent(&self, limit: usize) -> Result<Vec<Arc<LaunchRecord>>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = self
            .pool
            .zrange(RECENT_KEY, 0, limit as i64 - 1, None, true, None, false)
            .await
            .map_err(err)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.get_many(&ids).await
    }

    pub async fn get_many(&self, ids: &[String]) -> Result<Vec<Arc<LaunchRecord>>, StoreError> {
        let keys: Vec<String> = ids
            .iter()
            .map(|id| format!("{LAUNCH_PREFIX}{id}"))
            .collect();
        let values: Vec<Option<String>> = if keys.len() == 1 {
            vec![self.pool.get(keys[0].clone()).await.map_err(err)?]
        } else {
            self.pool.mget(keys).await.map_err(err)?
        };
        Ok(ids
            .iter()
            .zip(values)
            .filter_map(|(id, v)| decode(id, &v?, &self.sealer))
            .collect())
    }

    /// `SET NX`: of any number of instances, exactly one sets the key.
    pub async fn consume(&self, state_hash: &str, launch_id: &str) -> Result<Consumed, StoreError> {
        let key = format!("{STATE_PREFIX}{state_hash}");
        let set: Option<String> = self
            .pool
            .set(
                key.clone(),
                launch_id,
                Some(Expiration::EX(self.ttl_secs)),
                Some(SetOptions::NX),
                false,
            )
            .await
            .map_err(err)?;
        if set.is_some() {
            // Its callback arrived: if it is never stored, the launch did not "never return".
            self.pool
                .set::<(), _, _>(
                    format!("{RETURNED_PREFIX}{launch_id}"),
                    "1",
                    Some(Expiration::EX(self.ttl_secs)),
                    None,
                    false,
                )
                .await
                .map_err(err)?;
            return Ok(Consumed::Now);
        }
        let by: Option<String> = self.pool.get(key).await.map_err(err)?;
        Ok(Consumed::Before(by.unwrap_or_default()))
    }

    pub async fn consumed_by(&self, state_hash: &str) -> Result<Option<String>, StoreError> {
        self.pool
            .get(format!("{STATE_PREFIX}{state_hash}"))
            .await
            .map_err(err)
    }

    /// Remembers `key` as revoked for `ttl_secs` (shared by every instance on this Redis).
    pub async fn revoke(&self, key: &str, ttl_secs: i64) -> Result<(), StoreError> {
        let _: Option<String> = self
            .pool
            .set(
                format!("{REVOKED_PREFIX}{key}"),
                "1",
                Some(Expiration::EX(ttl_secs.max(1))),
                None,
                false,
            )
            .await
            .map_err(err)?;
        Ok(())
    }

    pub async fn is_revoked(&self, key: &str) -> Result<bool, StoreError> {
        let v: Option<String> = self
            .pool
            .get(format!("{REVOKED_PREFIX}{key}"))
            .await
            .map_err(err)?;
        Ok(v.is_some())
    }
}
