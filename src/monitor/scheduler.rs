//! The schedule inside `serve`: one task per watched registration. Time is cut into periods of
//! `every` (aligned on the clock, so every instance sharing a store agrees on them); in each
//! period a registration runs once, `jitter` at most after the period begins, on whichever
//! instance takes the period's lease first. At most `concurrency` probes run at once. Stopping
//! cancels waiting and running probes alike (a cancelled run records nothing).

use std::sync::Arc;

use rand::Rng;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::Monitor;
use crate::config::Registration;
use crate::state::Core;

/// The running scheduler.
pub struct Running {
    cancel: CancellationToken,
    tasks: JoinSet<()>,
}

impl Running {
    /// Stops every probe task and waits for them to end.
    pub async fn stop(mut self) {
        self.cancel.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

pub(super) fn start(monitor: Monitor, core: Core) -> Running {
    let cancel = CancellationToken::new();
    let mut tasks = JoinSet::new();
    if monitor.config().enabled {
        let permits = Arc::new(Semaphore::new(monitor.config().concurrency));
        let watched: Vec<Registration> =
            monitor.watched(&core.config).into_iter().cloned().collect();
        tracing::info!(
            registrations = watched.len(),
            every_seconds = monitor.config().every.as_secs(),
            "monitor: scheduled probes on"
        );
        for reg in watched {
            let (m, c, p, stop) = (
                monitor.clone(),
                core.clone(),
                permits.clone(),
                cancel.clone(),
            );
            tasks.spawn(async move {
                tokio::select! {
                    () = watch_one(&m, &c, &reg, &p) => {}
                    () = stop.cancelled() => {}
                }
            });
        }
    }
    Running { cancel, tasks }
}

async fn watch_one(m: &Monitor, core: &Core, reg: &Registration, permits: &Semaphore) {
    let config = m.config();
    let clock = &config.clock;
    let every = (config.every.as_millis() as i64).max(1);
    let jitter = config.jitter.as_millis() as i64;
    let mut slot = clock.now_ms().div_euclid(every);
    loop {
        let offset = if jitter > 0 {
            rand::rng().random_range(0..=jitter)
        } else {
            0
        };
        let at = slot * every + offset;
        m.set_next(&reg.id, at.max(clock.now_ms()));
        clock.sleep_until(at).await;
        let Ok(_permit) = permits.acquire().await else {
            return;
        };
        // Held two periods: every instance has tried this period's lease before it lapses.
        match m.history().lease(&reg.id, slot, 2 * every).await {
            Ok(true) => {
                m.run_and_record(core, reg, true).await;
            }
            Ok(false) => {
                // Another instance runs this period: this one's gauges follow the stored row
                // (the last run any instance finished), so every /metrics tells the same.
                if let Ok(Some(row)) = m.history().state(&reg.id).await {
                    m.publish(core, &row.last_run);
                }
            }
            Err(e) => {
                // Without the store there is no lease and no history: the probe still runs
                // so that its metrics tell the truth.
                tracing::warn!(registration = %reg.id, error = %e, "monitor: no lease (store not answering); probing anyway");
                m.run_and_record(core, reg, true).await;
            }
        }
        m.handled_one();
        slot = (slot + 1).max(clock.now_ms().div_euclid(every));
    }
}
