//! Callbacks in flight. Once a callback's state is consumed its work (token exchange, reads,
//! storing the result) runs in a task of its own: a browser that goes away mid-callback does
//! not stop it, a retry of the same callback waits for it instead of being told the state was
//! used, and a shutdown waits for it, or, past its grace, settles it (stored as
//! `callback.interrupted`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::AppState;
use crate::flow::callback::{self, CallbackParams};
use crate::record::{LaunchRecord, Owner, PendingFlow};
use crate::store::Kept;

/// How long settled callbacks may take to store their records at shutdown.
const SETTLE_STORE: Duration = Duration::from_secs(3);

/// Shared by every request; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Inflight(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    tracker: TaskTracker,
    cancel: CancellationToken,
    /// Launch id → resolves (true) once its record is kept.
    running: Mutex<HashMap<String, watch::Receiver<bool>>>,
}

/// Whether a launch's final record has been kept; held while it is being kept.
pub type Final = Arc<tokio::sync::Mutex<bool>>;

impl Inflight {
    /// Completes `flow` with the callback's `answer` in its own task and keeps the record.
    /// The lock returned is held while the final record is kept (then reads `true`): a
    /// placeholder kept under it while it reads `false` is always replaced, never the reverse.
    pub fn complete(
        &self,
        state: &AppState,
        flow: PendingFlow,
        answer: CallbackParams,
        owner: Owner,
    ) -> (JoinHandle<(LaunchRecord, Kept)>, Final) {
        let finished = Final::default();
        let (done, rx) = watch::channel(false);
        if let Ok(mut running) = self.0.running.lock() {
            running.insert(flow.launch_id.clone(), rx);
        }
        let (state, cancel) = (state.clone(), self.0.cancel.clone());
        let last = finished.clone();
        let task = self.0.tracker.spawn(async move {
            let work =
                callback::complete(&state.core, &state.sealer, &flow, &answer, owner.clone());
            let record = tokio::select! {
                r = work => r,
                () = cancel.cancelled() => callback::interrupted(&state.core, &flow, owner),
            };
            let verdict = crate::flow::report(&state.core, &record);
            tracing::info!(launch = %record.id(), outcome = verdict.outcome_label(), step = verdict.step().as_str(), "launch finished");
            let mut kept_final = last.lock().await;
            let kept = state.store.keep(&record).await;
            *kept_final = true;
            drop(kept_final);
            if let Ok(mut running) = state.callbacks.0.running.lock() {
                running.remove(&flow.launch_id);
            }
            let _ = done.send(true);
            (record, kept)
        });
        (task, finished)
    }

    /// Waits for launch `id`'s callback if it is in flight here.
    pub async fn wait(&self, id: &str) {
        let rx = self.0.running.lock().ok().and_then(|r| r.get(id).cloned());
        if let Some(mut rx) = rx {
            let _ = rx.wait_for(|kept| *kept).await;
        }
    }

    /// At shutdown: lets callbacks in flight finish until `deadline`, then settles the rest
    /// (each stores an interrupted record) and waits a little for their stores.
    pub async fn settle(&self, deadline: tokio::time::Instant) {
        self.0.tracker.close();
        if tokio::time::timeout_at(deadline, self.0.tracker.wait())
            .await
            .is_ok()
        {
            return;
        }
        tracing::warn!(
            callbacks = self.0.tracker.len(),
            "shutdown grace over: settling the callbacks still in flight"
        );
        self.0.cancel.cancel();
        let _ = tokio::time::timeout(SETTLE_STORE, self.0.tracker.wait()).await;
    }
}
