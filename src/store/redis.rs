//! The launch store in Redis: one key per record and per consumed state, each with a TTL.

use std::sync::Arc;
use std::time::Duration;

use tower_sessions_redis_store::fred::prelude::{
    ClientLike, Config as RedisConfig, ConnectionConfig, Expiration, KeysInterface,
    PerformanceConfig, Pool, ReconnectPolicy, SetOptions,
};

use super::{Consumed, Limits, StoreError, decode, encode};
use crate::record::LaunchRecord;

const LAUNCH_PREFIX: &str = "sld:launch:";
const STATE_PREFIX: &str = "sld:state:";

/// A Redis connection pool, shared with the session store.
#[derive(Clone, Debug)]
pub struct RedisBackend {
    pub pool: Pool,
    ttl_secs: i64,
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("redis: {e}"))
}

impl RedisBackend {
    /// Connects in the background and keeps reconnecting; never blocks start-up.
    pub fn open(url: &str, limits: Limits) -> Result<Self, String> {
        let config = RedisConfig::from_url(url).map_err(|e| e.to_string())?;
        let perf = PerformanceConfig {
            default_command_timeout: Duration::from_secs(2),
            ..Default::default()
        };
        let connection = ConnectionConfig {
            connection_timeout: Duration::from_secs(2),
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
        })
    }

    pub async fn put(&self, record: &LaunchRecord) -> Result<(), StoreError> {
        let key = format!("{LAUNCH_PREFIX}{}", record.id);
        self.pool
            .set::<(), _, _>(
                key,
                encode(record)?,
                Some(Expiration::EX(self.ttl_secs)),
                None,
                false,
            )
            .await
            .map_err(err)
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
            .filter_map(|(id, v)| decode(id, &v?))
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
}
