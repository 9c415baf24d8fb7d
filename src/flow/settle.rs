//! Settling launches that never came back. A launch is stored as pending at `/launch` (see
//! `store::pending`); once it has been pending `never_returned_after_seconds` it is settled,
//! exactly once across every instance sharing the store: written back as failed at the
//! authorize step (`authorize.never_returned`), or, when its callback arrived but no result was
//! ever kept (the instance died mid-exchange), `callback.result_not_kept`; and counted once in
//! the metrics by whichever caller settled it. One function settles ([`Settler::settle_one`]);
//! the sweeper inside `serve` calls it for overdue launches (a bounded batch per tick), and
//! every read of launch records calls it for the overdue ones it read.
//!
//! A callback that arrives after its launch was settled still completes: its result replaces
//! the settled record (the page shows what the EHR answered), and it is counted again under its
//! own outcome; the `authorize.never_returned` already counted stays counted.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::diagnosis::assess::{AssessConfig, assess};
use crate::record::{LaunchRecord, Outcome};
use crate::smart::Step;
use crate::state::Core;
use crate::store::{Backend, StoreError};

/// Launches settled per sweeper tick at most, and per read.
pub const BATCH: usize = 100;

/// Settles overdue pending launches. Cheap to clone.
#[derive(Clone)]
pub struct Settler(Arc<Inner>);

struct Inner {
    core: Core,
    store: Backend,
    /// Sweeper ticks done, and launches this instance settled: tests wait on these.
    ticks: watch::Sender<u64>,
    settled: watch::Sender<u64>,
}

/// Whether `r` is a launch waiting for its callback (stored at `/launch`).
pub fn is_pending(r: &LaunchRecord) -> bool {
    r.outcome() == Outcome::Pending && r.step() == Step::Authorize
}

/// `r` as settled at `now` by the one reasoner (`diagnosis::assess`): failed at the authorize
/// step with `authorize.never_returned`, finished when the wait ran out; `None` while it is not
/// overdue. `returned`: its callback consumed the state (the EHR did answer; no result was
/// kept), so `callback.result_not_kept` instead.
pub fn settled(
    r: &LaunchRecord,
    returned: bool,
    cfg: &AssessConfig,
    now: i64,
) -> Option<LaunchRecord> {
    let a = assess(r, cfg, now);
    if !is_pending(r) || a.outcome == Outcome::Pending {
        return None;
    }
    if returned {
        return Some(super::callback::not_kept(r.clone()));
    }
    // What time alone found (`authorize.never_returned`), appended as the launch's failure.
    let found = a
        .diagnoses
        .into_iter()
        .filter(|d| !r.diagnoses().contains(d));
    let mut out = r.clone();
    let at = r.started_at() + cfg.never_returned_after_seconds;
    out.failed(a.step, found, at);
    Some(out)
}

impl Settler {
    /// Settles `store`'s launches after `never_returned_after_seconds`, by the core's clock
    /// (`monitor.clock`: the verdicts' clock).
    pub fn new(core: Core, store: Backend) -> Self {
        Settler(Arc::new(Inner {
            core,
            store,
            ticks: watch::Sender::new(0),
            settled: watch::Sender::new(0),
        }))
    }

    fn wait(&self) -> i64 {
        self.0.core.config.never_returned_after.as_secs() as i64
    }

    fn now(&self) -> i64 {
        self.0.core.now()
    }

    fn clock(&self) -> &crate::monitor::Clock {
        &self.0.core.config.monitor.clock
    }

    /// Whether `r` is pending and overdue now.
    fn overdue(&self, r: &LaunchRecord) -> bool {
        is_pending(r) && self.now() - r.started_at() >= self.wait()
    }

    /// Settles launch `id` if it is still pending: its settled record when this caller settled
    /// it (and counted it), `None` when another caller did, its callback's result came first,
    /// or the record is gone.
    pub async fn settle_one(&self, id: &str) -> Result<Option<LaunchRecord>, StoreError> {
        let store = &self.0.store;
        let Some(r) = store.launch(id).await? else {
            store.forget_pending(id).await?;
            return Ok(None);
        };
        if !is_pending(&r) {
            store.forget_pending(id).await?;
            return Ok(None);
        }
        let returned = store.returned(id).await?;
        let cfg = AssessConfig::of(&self.0.core.config);
        let Some(s) = settled(&r, returned, &cfg, self.now()) else {
            return Ok(None);
        };
        if !store.settle(&s).await? {
            return Ok(None);
        }
        tracing::info!(launch = %id, returned, "pending launch settled");
        super::count_finished(&self.0.core, &s);
        self.0.settled.send_modify(|n| *n += 1);
        Ok(Some(s))
    }

    /// Settles up to [`BATCH`] launches overdue now, oldest first; how many this call settled.
    pub async fn settle_overdue(&self) -> Result<usize, StoreError> {
        self.settle_until(&CancellationToken::new()).await
    }

    /// [`settle_overdue`](Self::settle_overdue), stopping between launches once `stop` is
    /// cancelled (never inside one: a launch settled is always counted).
    async fn settle_until(&self, stop: &CancellationToken) -> Result<usize, StoreError> {
        let cutoff = self.now() - self.wait();
        let mut n = 0;
        for id in self.0.store.overdue(cutoff, BATCH).await? {
            if stop.is_cancelled() {
                break;
            }
            n += usize::from(self.settle_one(&id).await?.is_some());
        }
        Ok(n)
    }

    /// `records` as read, with the overdue pending ones settled (at most [`BATCH`]): each
    /// replaced by its settled record, or, when another caller settled it first, by the record
    /// read again. A store that does not answer leaves them as read.
    pub async fn on_read(&self, mut records: Vec<Arc<LaunchRecord>>) -> Vec<Arc<LaunchRecord>> {
        let due: Vec<usize> = (0..records.len())
            .filter(|&i| self.overdue(&records[i]))
            .take(BATCH)
            .collect();
        for i in due {
            let id = records[i].id().to_string();
            let now = match self.settle_one(&id).await {
                Ok(Some(s)) => Some(Arc::new(s)),
                Ok(None) => self.0.store.launch(&id).await.ok().flatten(),
                Err(e) => {
                    tracing::warn!(launch = %id, error = %e, "pending launch not settled on read");
                    None
                }
            };
            if let Some(r) = now {
                records[i] = r;
            }
        }
        records
    }

    /// [`on_read`](Self::on_read) for one record.
    pub async fn on_read_one(&self, r: Option<Arc<LaunchRecord>>) -> Option<Arc<LaunchRecord>> {
        match r {
            Some(r) if self.overdue(&r) => self.on_read(vec![r]).await.pop(),
            r => r,
        }
    }

    /// Launches this instance settled, and sweeper ticks done, so far.
    pub fn settled_count(&self) -> u64 {
        *self.0.settled.borrow()
    }

    /// Returns once the sweeper has done `n` ticks in all (the first when it starts).
    pub async fn wait_ticks(&self, n: u64) {
        let mut rx = self.0.ticks.subscribe();
        let _ = rx.wait_for(|t| *t >= n).await;
    }

    /// How often the sweeper looks: a quarter of the wait, between 1 and 30 seconds.
    fn tick(&self) -> Duration {
        (self.0.core.config.never_returned_after / 4)
            .clamp(Duration::from_secs(1), Duration::from_secs(30))
    }

    /// Starts the sweeper (inside `serve`); stop it with [`Sweeping::stop`].
    pub fn start(&self) -> Sweeping {
        let cancel = CancellationToken::new();
        let (me, stop) = (self.clone(), cancel.clone());
        let task = tokio::spawn(async move { me.sweep(&stop).await });
        Sweeping { cancel, task }
    }

    async fn sweep(&self, stop: &CancellationToken) {
        let every = self.tick().as_millis() as i64;
        loop {
            // The next tick is fixed before this one's work: a test that saw this tick counted
            // knows when the next one comes.
            let at = self.clock().now_ms() + every;
            match self.settle_until(stop).await {
                Ok(n) if n > 0 => tracing::info!(settled = n, "never-returned sweep"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "never-returned sweep: store not answering"),
            }
            self.0.ticks.send_modify(|t| *t += 1);
            tokio::select! {
                () = self.clock().sleep_until(at) => {}
                () = stop.cancelled() => return,
            }
        }
    }
}

/// The running sweeper.
pub struct Sweeping {
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl Sweeping {
    /// Stops the sweeper (after the launch being settled, if any) and waits for it to end.
    pub async fn stop(self) {
        self.cancel.cancel();
        let _ = self.task.await;
    }
}
