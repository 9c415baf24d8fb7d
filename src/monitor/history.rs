//! Runs and board rows in the configured store (memory, Redis or SQLite), bounded to the last
//! `history` runs per registration, and the lease that lets one instance of several sharing a
//! store run a given probe in a given period: Redis `SET NX PX`, a SQLite unique row, a memory
//! set. Runs hold no secret and no PHI (see `run`), so they are stored in clear.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tower_sessions_redis_store::fred::prelude::{
    Expiration, KeysInterface, ListInterface, SetOptions,
};
use tower_sessions_sqlx_store::sqlx::{self, Row};

use super::run::{Change, Run, Status};
use crate::store::{Backend, Kind, StoreError};

/// One registration's row: its status since when, the last change and the last run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RowState {
    pub status: Status,
    /// Unix milliseconds: since when the status is what it is.
    pub since: i64,
    pub last_change: Option<Change>,
    pub last_run: Run,
}

impl RowState {
    /// The state after `run` (whose `change` this sets when the status changed).
    pub fn after(before: Option<&RowState>, run: &mut Run) -> RowState {
        match before {
            Some(b) if b.status == run.status => RowState {
                status: b.status,
                since: b.since,
                last_change: b.last_change.clone(),
                last_run: run.clone(),
            },
            Some(b) => {
                let change = Change {
                    from: b.status,
                    to: run.status,
                    at: run.at,
                };
                run.change = Some(change.clone());
                RowState {
                    status: run.status,
                    since: run.at,
                    last_change: Some(change),
                    last_run: run.clone(),
                }
            }
            None => RowState {
                status: run.status,
                since: run.at,
                last_change: None,
                last_run: run.clone(),
            },
        }
    }
}

/// The monitor's part of the store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct History {
    store: Backend,
    memory: Arc<Mutex<Memory>>,
    keep: usize,
}

#[derive(Debug, Default)]
struct Memory {
    rows: HashMap<String, (VecDeque<Run>, Option<RowState>)>,
    leases: HashSet<(String, i64)>,
}

const RUNS: &str = "sld:monitor:runs:";
const STATE: &str = "sld:monitor:state:";
const LEASE: &str = "sld:monitor:lease:";

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS sld_monitor_runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, registration TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sld_monitor_runs_reg ON sld_monitor_runs (registration, seq);
CREATE TABLE IF NOT EXISTS sld_monitor_state (registration TEXT PRIMARY KEY NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sld_monitor_lease (
    registration TEXT NOT NULL, slot INTEGER NOT NULL, PRIMARY KEY (registration, slot));";

fn redis_err(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("redis: {e}"))
}

fn sqlite_err(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("sqlite: {e}"))
}

fn json_err(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("monitor history: {e}"))
}

impl History {
    /// The history in `store`, keeping the last `keep` runs of each registration.
    pub fn new(store: Backend, keep: usize) -> Self {
        History {
            store,
            memory: Arc::default(),
            keep: keep.max(1),
        }
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Memory> {
        match self.memory.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    async fn sqlite(
        &self,
        s: &crate::store::SqliteBackend,
    ) -> Result<tower_sessions_sqlx_store::sqlx::SqlitePool, StoreError> {
        let pool = s.pool().await?;
        sqlx::raw_sql(SCHEMA)
            .execute(&pool)
            .await
            .map_err(sqlite_err)?;
        Ok(pool)
    }

    /// Takes the lease of `registration` for period `slot` (held for `hold_ms`): `true` for
    /// exactly one caller among every instance on this store.
    pub async fn lease(
        &self,
        registration: &str,
        slot: i64,
        hold_ms: i64,
    ) -> Result<bool, StoreError> {
        match &self.store.kind {
            Kind::Memory(_) => {
                let mut m = self.memory();
                m.leases.retain(|(_, s)| *s >= slot - 2);
                Ok(m.leases.insert((registration.to_string(), slot)))
            }
            Kind::Redis(r) => {
                let set: Option<String> = self
                    .store
                    .health
                    .guard(async {
                        r.pool
                            .set(
                                format!("{LEASE}{registration}:{slot}"),
                                "1",
                                Some(Expiration::PX(hold_ms.max(1))),
                                Some(SetOptions::NX),
                                false,
                            )
                            .await
                            .map_err(redis_err)
                    })
                    .await?;
                Ok(set.is_some())
            }
            Kind::Sqlite(s) => {
                let pool = self.store.health.guard(self.sqlite(s)).await?;
                let inserted = sqlx::query(
                    "INSERT INTO sld_monitor_lease (registration, slot) VALUES (?, ?) ON CONFLICT DO NOTHING",
                )
                .bind(registration)
                .bind(slot)
                .execute(&pool)
                .await
                .map_err(sqlite_err)?
                .rows_affected();
                sqlx::query("DELETE FROM sld_monitor_lease WHERE registration = ? AND slot < ?")
                    .bind(registration)
                    .bind(slot - 2)
                    .execute(&pool)
                    .await
                    .map_err(sqlite_err)?;
                Ok(inserted == 1)
            }
        }
    }

    /// The row of `registration`, once it has run.
    pub async fn state(&self, registration: &str) -> Result<Option<RowState>, StoreError> {
        let text: Option<String> = match &self.store.kind {
            Kind::Memory(_) => {
                return Ok(self
                    .memory()
                    .rows
                    .get(registration)
                    .and_then(|(_, s)| s.clone()));
            }
            Kind::Redis(r) => {
                self.store
                    .health
                    .guard(async {
                        r.pool
                            .get(format!("{STATE}{registration}"))
                            .await
                            .map_err(redis_err)
                    })
                    .await?
            }
            Kind::Sqlite(s) => {
                let pool = self.store.health.guard(self.sqlite(s)).await?;
                sqlx::query_scalar("SELECT data FROM sld_monitor_state WHERE registration = ?")
                    .bind(registration)
                    .fetch_optional(&pool)
                    .await
                    .map_err(sqlite_err)?
            }
        };
        text.map(|t| serde_json::from_str(&t).map_err(json_err))
            .transpose()
    }

    /// Keeps `run` (dropping the oldest beyond the limit) and the row it leads to.
    pub async fn record(&self, run: &Run, state: &RowState) -> Result<(), StoreError> {
        let reg = run.registration.as_str();
        match &self.store.kind {
            Kind::Memory(_) => {
                let mut m = self.memory();
                let (runs, row) = m.rows.entry(reg.to_string()).or_default();
                runs.push_front(run.clone());
                runs.truncate(self.keep);
                *row = Some(state.clone());
                Ok(())
            }
            Kind::Redis(r) => {
                let run_text = serde_json::to_string(run).map_err(json_err)?;
                let state_text = serde_json::to_string(state).map_err(json_err)?;
                let key = format!("{RUNS}{reg}");
                let keep = self.keep as i64;
                self.store
                    .health
                    .guard(async {
                        r.pool
                            .lpush::<(), _, _>(key.clone(), run_text)
                            .await
                            .map_err(redis_err)?;
                        r.pool
                            .ltrim::<(), _>(key, 0, keep - 1)
                            .await
                            .map_err(redis_err)?;
                        r.pool
                            .set::<(), _, _>(format!("{STATE}{reg}"), state_text, None, None, false)
                            .await
                            .map_err(redis_err)
                    })
                    .await
            }
            Kind::Sqlite(s) => {
                let run_text = serde_json::to_string(run).map_err(json_err)?;
                let state_text = serde_json::to_string(state).map_err(json_err)?;
                let pool = self.store.health.guard(self.sqlite(s)).await?;
                sqlx::query("INSERT INTO sld_monitor_runs (registration, data) VALUES (?, ?)")
                    .bind(reg)
                    .bind(run_text)
                    .execute(&pool)
                    .await
                    .map_err(sqlite_err)?;
                sqlx::query(
                    "DELETE FROM sld_monitor_runs WHERE registration = ? AND seq NOT IN
                     (SELECT seq FROM sld_monitor_runs WHERE registration = ? ORDER BY seq DESC LIMIT ?)",
                )
                .bind(reg)
                .bind(reg)
                .bind(self.keep as i64)
                .execute(&pool)
                .await
                .map_err(sqlite_err)?;
                sqlx::query(
                    "INSERT INTO sld_monitor_state (registration, data) VALUES (?, ?)
                     ON CONFLICT(registration) DO UPDATE SET data = excluded.data",
                )
                .bind(reg)
                .bind(state_text)
                .execute(&pool)
                .await
                .map_err(sqlite_err)?;
                Ok(())
            }
        }
    }

    /// The runs of `registration` kept, newest first.
    pub async fn runs(&self, registration: &str) -> Result<Vec<Run>, StoreError> {
        let texts: Vec<String> = match &self.store.kind {
            Kind::Memory(_) => {
                return Ok(self
                    .memory()
                    .rows
                    .get(registration)
                    .map(|(runs, _)| runs.iter().cloned().collect())
                    .unwrap_or_default());
            }
            Kind::Redis(r) => {
                self.store
                    .health
                    .guard(async {
                        r.pool
                            .lrange(format!("{RUNS}{registration}"), 0, self.keep as i64 - 1)
                            .await
                            .map_err(redis_err)
                    })
                    .await?
            }
            Kind::Sqlite(s) => {
                let pool = self.store.health.guard(self.sqlite(s)).await?;
                let rows = sqlx::query(
                    "SELECT data FROM sld_monitor_runs WHERE registration = ? ORDER BY seq DESC LIMIT ?",
                )
                .bind(registration)
                .bind(self.keep as i64)
                .fetch_all(&pool)
                .await
                .map_err(sqlite_err)?;
                rows.iter()
                    .filter_map(|r| r.try_get::<String, _>("data").ok())
                    .collect()
            }
        };
        // A run that no longer parses (an older version's) is skipped, not an error.
        Ok(texts
            .iter()
            .filter_map(|t| serde_json::from_str(t).ok())
            .collect())
    }
}
