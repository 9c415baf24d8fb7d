//! Pending launches in Redis. Storing one and settling one are each a Lua script, so each is
//! atomic: a pending record is stored only where no record of the launch exists (`SET NX`), and
//! joins the sorted set `sld:pending` (scored by start time) in the same step; settling removes
//! the launch from that set and writes the settled record in one step, only if the removal took
//! it out (`ZREM` returns 1 for exactly one caller on any number of instances). The callback's
//! write removes the launch from the set before writing (see `put`), so it is never replaced.

use tower_sessions_redis_store::fred::prelude::{ClientLike, KeysInterface, SortedSetsInterface};
use tower_sessions_redis_store::fred::types::{CustomCommand, Limit};

use super::{LAUNCH_PREFIX, MAX_RECENT, RECENT_KEY, RedisBackend, err, now_millis};
use crate::store::StoreError;

/// Pending launch ids, scored by start time (seconds).
pub const PENDING_KEY: &str = "sld:pending";
/// `sld:returned:{launch id}`: the launch's callback consumed its state.
pub const RETURNED_PREFIX: &str = "sld:returned:";

/// KEYS: record, pending set, recent set. ARGV: stored form, TTL, start time, id, recency
/// score, the rank below which `recent` is trimmed.
const PUT_NEW: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[4])
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, tonumber(ARGV[6]))
  return 1
end
return 0";

/// KEYS: record, pending set, recent set. ARGV: settled stored form, id, TTL, recency score.
const SETTLE: &str = r"
if redis.call('ZREM', KEYS[2], ARGV[2]) == 1 and redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
  return 1
end
return 0";

impl RedisBackend {
    async fn eval(
        &self,
        script: &str,
        keys: [String; 3],
        args: Vec<String>,
    ) -> Result<i64, StoreError> {
        let mut all = vec![script.to_string(), "3".to_string()];
        all.extend(keys);
        all.extend(args);
        self.pool
            .custom(CustomCommand::new_static("EVAL", None, false), all)
            .await
            .map_err(err)
    }

    fn keys(id: &str) -> [String; 3] {
        [
            format!("{LAUNCH_PREFIX}{id}"),
            PENDING_KEY.to_string(),
            RECENT_KEY.to_string(),
        ]
    }

    /// Stores pending launch `id` (stored form `text`, started at `started_at`) unless a record
    /// of it exists.
    pub async fn put_new(&self, id: &str, text: &str, started_at: i64) -> Result<(), StoreError> {
        let args = vec![
            text.to_string(),
            self.ttl_secs.to_string(),
            started_at.to_string(),
            id.to_string(),
            now_millis().to_string(),
            (-(MAX_RECENT as i64) - 1).to_string(),
        ];
        self.eval(PUT_NEW, Self::keys(id), args).await.map(|_| ())
    }

    /// Replaces pending launch `id` by its settled form `text` if it is still pending: true for
    /// exactly one caller.
    pub async fn settle(&self, id: &str, text: &str) -> Result<bool, StoreError> {
        let args = vec![
            text.to_string(),
            id.to_string(),
            self.ttl_secs.to_string(),
            now_millis().to_string(),
        ];
        Ok(self.eval(SETTLE, Self::keys(id), args).await? == 1)
    }

    /// Ids of pending launches started at `cutoff` or before, oldest first, at most `limit`.
    pub async fn overdue(&self, cutoff: i64, limit: usize) -> Result<Vec<String>, StoreError> {
        let limit = Some(Limit::from((0, limit as i64)));
        self.pool
            .zrangebyscore(PENDING_KEY, "-inf", cutoff as f64, false, limit)
            .await
            .map_err(err)
    }

    /// Launch `id` is pending no more (its record is gone).
    pub async fn forget(&self, id: &str) -> Result<(), StoreError> {
        self.pool.zrem(PENDING_KEY, id).await.map_err(err)
    }

    /// Whether launch `id`'s callback arrived (consumed its state).
    pub async fn returned(&self, id: &str) -> Result<bool, StoreError> {
        let n: i64 = self
            .pool
            .exists(format!("{RETURNED_PREFIX}{id}"))
            .await
            .map_err(err)?;
        Ok(n > 0)
    }
}
