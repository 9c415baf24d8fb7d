//! Scheduled probes (`[monitor]`): `check` for launch registrations and Backend Services runs
//! for `backend = true` ones, on a schedule inside `serve` (see `scheduler`) or once from
//! `smart-launch-doctor monitor --once`. Each run has a verdict (up, degraded, down); runs and
//! each registration's row are kept in the configured store (see `history`); a change of
//! status is recorded once, on the run that caused it, and posted to the webhook (see
//! `webhook`). `GET /status` shows the rows, `GET /probe` runs one probe for Prometheus.

pub mod clock;
pub mod config;
pub mod exposition;
pub mod history;
pub mod run;
mod scheduler;
pub mod text;
pub mod webhook;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

pub use clock::{Clock, ManualClock};
pub use config::MonitorConfig;
pub use history::{History, RowState};
pub use run::{Run, Status};
pub use scheduler::Running;

use crate::config::{Config, Registration};
use crate::state::Core;
use crate::store::{Backend, StoreError};

/// The monitor of one app instance. Cheap to clone.
#[derive(Clone)]
pub struct Monitor(Arc<Inner>);

struct Inner {
    config: MonitorConfig,
    history: History,
    webhook: Option<webhook::Webhook>,
    /// When this instance next runs each registration (Unix milliseconds).
    next: Mutex<HashMap<String, i64>>,
    /// Periods this instance has dealt with (run, or left to another instance holding the
    /// lease), and runs it made: tests wait on these instead of sleeping.
    handled: watch::Sender<u64>,
    ran: watch::Sender<u64>,
    /// The diagnosis ids each registration's last run here failed with (their gauges are set
    /// back to 0 when they clear).
    failing: Mutex<HashMap<String, Vec<String>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Monitor {
    /// The monitor for `config`, keeping its history in `store`. The webhook URL is read from
    /// `webhook_url_env` here: a missing variable is an error.
    pub fn new(config: &Config, store: Backend) -> Result<Self, String> {
        let m = &config.monitor;
        let webhook = match &m.webhook_url_env {
            Some(var) => Some(webhook::Webhook::from_env(var, config)?),
            None => None,
        };
        Ok(Monitor(Arc::new(Inner {
            history: History::new(store, m.history),
            config: m.clone(),
            webhook,
            next: Mutex::default(),
            handled: watch::Sender::new(0),
            ran: watch::Sender::new(0),
            failing: Mutex::default(),
        })))
    }

    pub fn config(&self) -> &MonitorConfig {
        &self.0.config
    }

    pub fn history(&self) -> &History {
        &self.0.history
    }

    /// The registrations probed on the schedule, in configuration order.
    pub fn watched<'a>(&self, config: &'a Config) -> Vec<&'a Registration> {
        config
            .registrations
            .iter()
            .filter(|r| self.0.config.watches(&r.id))
            .collect()
    }

    /// When this instance next runs `id` (Unix milliseconds), while the scheduler runs.
    pub fn next_run(&self, id: &str) -> Option<i64> {
        lock(&self.0.next).get(id).copied()
    }

    /// Periods dealt with and runs made by this instance so far.
    pub fn handled(&self) -> u64 {
        *self.0.handled.borrow()
    }

    pub fn ran(&self) -> u64 {
        *self.0.ran.borrow()
    }

    /// Returns once this instance has dealt with `n` periods in all.
    pub async fn wait_handled(&self, n: u64) {
        let mut rx = self.0.handled.subscribe();
        let _ = rx.wait_for(|h| *h >= n).await;
    }

    /// Starts the scheduler (when `[monitor]` is configured); stop it with [`Running::stop`].
    pub fn start(&self, core: Core) -> Running {
        scheduler::start(self.clone(), core)
    }

    /// Probes `reg` now, records the run and the row (a change once, with its webhook) and
    /// sets the metrics. `record: false` (the memory store of `monitor --once`) skips the
    /// store: the run is compared with nothing.
    pub async fn run_and_record(&self, core: &Core, reg: &Registration, record: bool) -> Run {
        let mut run = run::probe(core, reg, self.0.config.clock.now_ms()).await;
        if record && let Err(e) = self.record(core, &mut run).await {
            tracing::warn!(registration = %reg.id, error = %e, "monitor: run not recorded");
        }
        self.publish(core, &run);
        self.0.ran.send_modify(|n| *n += 1);
        run
    }

    async fn record(&self, core: &Core, run: &mut Run) -> Result<(), StoreError> {
        let before = self.0.history.state(&run.registration).await?;
        let state = RowState::after(before.as_ref(), run);
        self.0.history.record(run, &state).await?;
        if let (Some(hook), Some(change)) = (&self.0.webhook, &run.change) {
            hook.send(core, run, change);
        }
        Ok(())
    }

    /// The run's gauges on `/metrics`.
    pub(crate) fn publish(&self, core: &Core, run: &Run) {
        let now: Vec<String> = if run.status == Status::Down {
            run.diagnosis_ids().iter().map(|s| s.to_string()).collect()
        } else {
            Vec::new()
        };
        let before = lock(&self.0.failing).insert(run.registration.clone(), now.clone());
        let cleared: Vec<String> = before
            .unwrap_or_default()
            .into_iter()
            .filter(|id| !now.contains(id))
            .collect();
        core.metrics.probe(run, &now, &cleared);
    }

    fn set_next(&self, id: &str, at: i64) {
        lock(&self.0.next).insert(id.to_string(), at);
    }

    fn handled_one(&self) {
        self.0.handled.send_modify(|n| *n += 1);
    }
}
