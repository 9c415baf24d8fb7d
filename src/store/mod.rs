//! Where launches live between requests, in the backend `session_store` names: process memory
//! (bounded), Redis (keys with a TTL, shared by instances) or SQLite (a table, survives a
//! restart). Two things are kept here, apart from the browser's session:
//! - launch records, keyed by launch id, each with the browser that owns it, so results of two
//!   tabs never overwrite each other and a session read stays cheap;
//! - consumed `state` values, taken atomically (Redis `SET NX`, a SQLite unique insert, a
//!   memory map entry), so concurrent replays of one callback on any number of instances let
//!   exactly one through to the token endpoint.
//!
//! Outside process memory a record's results (token responses, the id_token's claims, the user
//! and patient read, the transcript with its FHIR bodies) are sealed with the `sealing_key_env`
//! key (AES-256-GCM, see `seal`): Redis and SQLite hold no patient data or tokens in clear. What
//! stays in clear (ids, registration, times, outcome, step, diagnoses) is what the support view
//! lists. A record sealed with another key reads back without its results.

mod codec;
mod health;
mod kept;
mod memory;
mod pending;
mod pending_index;
mod redis;
mod revoked;
mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use crate::record::LaunchRecord;
use crate::seal::Sealer;
use codec::{decode, encode};

pub use health::Health;
pub use kept::WriteBehind;
pub use memory::MemoryBackend;
pub use redis::RedisBackend;
pub use sqlite::SqliteBackend;

/// Why the store could not answer.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// What consuming a state found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Consumed {
    /// This request is the first and only one to use it.
    Now,
    /// Already used, by the callback of this launch.
    Before(String),
}

/// Where records live: the configured backend, shared by the session store and the launch store.
#[derive(Clone, Debug)]
pub enum Kind {
    Memory(MemoryBackend),
    Redis(RedisBackend),
    Sqlite(SqliteBackend),
}

/// The launch store: the backend, its breaker, and the results waiting for it (write-behind).
/// Every read sees a waiting result as if it were stored.
#[derive(Clone, Debug)]
pub struct Backend {
    pub kind: Kind,
    /// Open while the backend does not answer: requests fail at once (see `health`).
    pub health: Health,
    waiting: WriteBehind,
}

/// Limits of the launch store.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// How long a record (and a consumed state) is kept.
    pub ttl: Duration,
    /// In memory: the stored size of the records kept at most (least recently written out
    /// first); used states take at most an eighth more.
    pub max_bytes: u64,
    /// Results waiting for Redis or SQLite to answer, at most (stored size).
    pub waiting_bytes: usize,
    /// Redis: how long connecting may take, and one command.
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
}

impl Limits {
    /// The defaults of the configuration keys (see `config`).
    pub fn new(ttl: Duration) -> Self {
        Limits {
            ttl,
            max_bytes: 256 << 20,
            waiting_bytes: 32 << 20,
            connect_timeout: Duration::from_secs(1),
            command_timeout: Duration::from_secs(1),
        }
    }
}

/// How [`Backend::keep`] kept a record.
#[derive(Debug)]
pub enum Kept {
    /// In the store.
    Stored,
    /// In this process, waiting for the store to answer; written as soon as it does.
    Waiting,
    /// Nowhere: the store did not answer and no room was left to wait.
    Lost(StoreError),
}

impl Backend {
    /// Opens the backend for `session_store` (`None`: memory). Redis and SQLite connect lazily:
    /// start-up never blocks on them, and while one does not answer requests fail at once
    /// (the breaker), until the probe finds it answering again.
    /// `sealer` seals the private parts of records kept in Redis or SQLite.
    pub fn open(url: Option<&str>, limits: Limits, sealer: Sealer) -> Result<Self, String> {
        let (kind, health) = match url {
            None => (
                Kind::Memory(MemoryBackend::new(limits)),
                Health::new("memory"),
            ),
            Some(u) if u.starts_with("sqlite:") => (
                Kind::Sqlite(SqliteBackend::open(u, limits, sealer)?),
                Health::new("sqlite"),
            ),
            Some(u) => (
                Kind::Redis(RedisBackend::open(u, limits, sealer)?),
                Health::new("redis"),
            ),
        };
        let backend = Backend {
            kind,
            health,
            waiting: WriteBehind::new(limits.waiting_bytes, limits.ttl),
        };
        if !matches!(backend.kind, Kind::Memory(_)) {
            tokio::spawn(backend.clone().probe());
            tokio::spawn(backend.clone().write_behind());
        }
        Ok(backend)
    }

    /// The most recently stored records of every browser, newest first, at most `limit` (and at
    /// most [`MAX_RECENT`]): for the support view. Results waiting for the store come first.
    pub async fn recent(&self, limit: usize) -> Result<Vec<Arc<LaunchRecord>>, StoreError> {
        let limit = limit.min(MAX_RECENT);
        let stored = match &self.kind {
            Kind::Memory(m) => m.recent(limit),
            Kind::Redis(r) => self.health.guard(r.recent(limit)).await?,
            Kind::Sqlite(s) => self.health.guard(s.recent(limit)).await?,
        };
        let mut out: Vec<Arc<LaunchRecord>> = self
            .waiting
            .snapshot()
            .into_iter()
            .rev()
            .map(|w| w.record)
            .collect();
        out.extend(stored.into_iter().filter(|r| !self.waiting.holds(r.id())));
        out.truncate(limit);
        Ok(out)
    }

    /// Keeps a launch record: in the store, or, when the store does not answer, in this
    /// process until it does.
    pub async fn keep(&self, record: &LaunchRecord) -> Kept {
        let text = match &self.kind {
            Kind::Memory(m) => {
                m.put(record);
                return Kept::Stored;
            }
            Kind::Redis(r) => r.encode(record),
            Kind::Sqlite(s) => s.encode(record),
        };
        let text: Arc<str> = match text {
            Ok(t) => t.into(),
            Err(e) => return Kept::Lost(e),
        };
        // Behind a waiting version of itself: written in order by the write-behind task.
        if !self.waiting.holds(record.id()) {
            match self.write(record.id(), &text).await {
                Ok(()) => return Kept::Stored,
                Err(e) => {
                    tracing::warn!(launch = %record.id(), error = %e, "result not stored; kept to write when the store answers")
                }
            }
        }
        if self.waiting.push(Arc::new(record.clone()), text) {
            Kept::Waiting
        } else {
            tracing::error!(launch = %record.id(), "result lost: the store does not answer and no room is left to keep it");
            Kept::Lost(StoreError(
                "the store does not answer and no room is left to keep the result".into(),
            ))
        }
    }

    /// Stores (or replaces) a launch record; `Err` only when it could not be kept at all (see
    /// [`keep`](Self::keep)).
    pub async fn put_launch(&self, record: &LaunchRecord) -> Result<(), StoreError> {
        match self.keep(record).await {
            Kept::Lost(e) => Err(e),
            Kept::Stored | Kept::Waiting => Ok(()),
        }
    }

    // Redis and SQLite arms are boxed: their futures are kilobytes, and unboxed every caller's
    // future (the memory backend's too) would carry and move that state on each request.

    async fn write(&self, id: &str, text: &str) -> Result<(), StoreError> {
        match &self.kind {
            Kind::Memory(_) => Ok(()),
            Kind::Redis(r) => Box::pin(self.health.guard(r.put(id, text))).await,
            Kind::Sqlite(s) => Box::pin(self.health.guard(s.put(id, text))).await,
        }
    }

    /// The records among `ids` that are still kept, in the order of `ids`.
    pub async fn launches(&self, ids: &[String]) -> Result<Vec<Arc<LaunchRecord>>, StoreError> {
        let waiting: Vec<Option<Arc<LaunchRecord>>> =
            ids.iter().map(|id| self.waiting.get(id)).collect();
        let rest: Vec<String> = ids
            .iter()
            .zip(&waiting)
            .filter(|(_, w)| w.is_none())
            .map(|(id, _)| id.clone())
            .collect();
        let mut stored = if rest.is_empty() {
            Vec::new()
        } else {
            match &self.kind {
                Kind::Memory(m) => rest.iter().filter_map(|id| m.get(id)).collect(),
                Kind::Redis(r) => Box::pin(self.health.guard(r.get_many(&rest))).await?,
                Kind::Sqlite(s) => Box::pin(self.health.guard(s.get_many(&rest))).await?,
            }
        }
        .into_iter();
        // Both lists follow the order of `ids`: merge them.
        let mut out = Vec::with_capacity(ids.len());
        let mut next = stored.next();
        for (id, w) in ids.iter().zip(waiting) {
            match w {
                Some(r) => out.push(r),
                None => {
                    if next.as_ref().is_some_and(|r| r.id() == id) {
                        out.extend(next.take());
                        next = stored.next();
                    }
                }
            }
        }
        Ok(out)
    }

    /// One record.
    pub async fn launch(&self, id: &str) -> Result<Option<Arc<LaunchRecord>>, StoreError> {
        Ok(self.launches(&[id.to_string()]).await?.into_iter().next())
    }

    /// Marks `state_hash` used by `launch_id`, atomically across every instance on this backend.
    pub async fn consume_state(
        &self,
        state_hash: &str,
        launch_id: &str,
    ) -> Result<Consumed, StoreError> {
        match &self.kind {
            Kind::Memory(m) => Ok(m.consume(state_hash, launch_id)),
            Kind::Redis(r) => Box::pin(self.health.guard(r.consume(state_hash, launch_id))).await,
            Kind::Sqlite(s) => Box::pin(self.health.guard(s.consume(state_hash, launch_id))).await,
        }
    }

    /// The launch that consumed `state_hash`, if one did (read only).
    pub async fn consumed_by(&self, state_hash: &str) -> Result<Option<String>, StoreError> {
        match &self.kind {
            Kind::Memory(m) => Ok(m.consumed_by(state_hash)),
            Kind::Redis(r) => Box::pin(self.health.guard(r.consumed_by(state_hash))).await,
            Kind::Sqlite(s) => Box::pin(self.health.guard(s.consumed_by(state_hash))).await,
        }
    }

    /// Whether a new launch can be kept now; `Err` says why not.
    pub fn readiness(&self) -> Result<(), String> {
        match self.health.down() {
            Some(why) => Err(format!("{} store not answering: {why}", self.health.kind())),
            None => Ok(()),
        }
    }

    /// Results waiting for the store now.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Writes what waits, once each; true when nothing is left waiting.
    pub async fn flush(&self) -> bool {
        for w in self.waiting.snapshot() {
            if self.health.check().is_err() {
                break;
            }
            let written = if w.new {
                self.write_new(&w.record, &w.text).await
            } else {
                self.write(w.record.id(), &w.text).await
            };
            match written {
                Ok(()) => {
                    tracing::info!(launch = %w.record.id(), "a result that waited for the store is stored");
                    self.waiting.written(&w);
                }
                Err(_) => break,
            }
        }
        self.waiting.is_empty()
    }

    /// The write-behind task: writes waiting results with backoff until the store takes them.
    async fn write_behind(self) {
        let (first, last) = kept::BACKOFF;
        let mut delay = first;
        loop {
            if self.waiting.is_empty() {
                self.waiting.pushed().await;
                delay = first;
            }
            tokio::time::sleep(delay).await;
            delay = if self.flush().await {
                first
            } else {
                (delay * 2).min(last)
            };
        }
    }

    /// The probe task: asks the store every half second (a quarter while it is down), opening
    /// or closing the breaker. SQLite is also watched for its file being deleted or replaced.
    async fn probe(self) {
        loop {
            let down = self.health.down().is_some();
            let pause = if down { 250 } else { 500 };
            tokio::time::sleep(Duration::from_millis(pause)).await;
            let answer = match &self.kind {
                Kind::Memory(_) => return,
                Kind::Redis(r) => r.ping().await,
                Kind::Sqlite(s) => s.probe(down).await,
            };
            match answer {
                Ok(()) => self.health.answered(),
                Err(e) => self.health.failed(&e),
            }
        }
    }
}

#[cfg(test)]
pub(crate) fn sample_record(id: &str) -> LaunchRecord {
    use crate::config::{ClientAuth, Registration};
    let reg = Registration::simple(
        "app",
        "App",
        "https://ehr.example/fhir",
        "client",
        ClientAuth::None,
        "openid",
    );
    let mut r = LaunchRecord::open(crate::record::Opening {
        id: id.to_string(),
        kind: crate::smart::LaunchKind::Standalone,
        app: crate::record::AppSummary::of(&reg, false),
        app_ref: None,
        owner: crate::record::Owner {
            browser: "browser".into(),
            request_id: String::new(),
        },
        launch_request_id: String::new(),
        started_at: 1_800_000_000,
        requested_scope: "openid".into(),
        redirect_uri: "http://127.0.0.1/callback".into(),
        endpoints: None,
        authorize_url: None,
        backend_read: None,
    });
    r.reached(crate::smart::Step::Authorize);
    r
}

/// Records the support view can list at most (newest first).
pub const MAX_RECENT: usize = 1_000;
