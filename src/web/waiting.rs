//! The callback's answer while the EHR is slow: when the launch's task (see `inflight`) has not
//! finished within `waiting_page_after` (2 s), the callback keeps the launch as pending at the token step and
//! answers at once with the result page, which refreshes itself (a meta refresh: no script
//! needed) until the final record, always kept after the placeholder, replaces it.

use tokio::task::JoinHandle;

use super::AppState;
use super::inflight::Final;
use crate::flow;
use crate::record::{LaunchRecord, Owner, PendingFlow};
use crate::smart::Step;
use crate::store::Kept;

/// After this long, the waiting page says the EHR is slow to answer.
pub const SLOW_SECS: i64 = 5;

/// What the callback answers with.
pub enum Finished {
    /// The launch finished in time: its record and how it was kept.
    Now(LaunchRecord, Kept),
    /// Still running: a placeholder pending at the token step was kept this way (`None`: the
    /// final record was kept first, or no placeholder could be made).
    Later(Option<Kept>),
    /// The task itself failed.
    Failed,
}

/// Waits up to `waiting_page_after` for `task`, else keeps the placeholder of `flow` (owned by `owner`).
pub async fn finish_or_wait(
    state: &AppState,
    flow: &PendingFlow,
    owner: Owner,
    (mut task, last): (JoinHandle<(LaunchRecord, Kept)>, Final),
) -> Finished {
    match tokio::time::timeout(state.config.waiting_page_after, &mut task).await {
        Ok(Ok((record, kept))) => Finished::Now(record, kept),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "callback task failed");
            Finished::Failed
        }
        Err(_) => {
            // Under the lock the final record is kept with: kept after it, never instead.
            let kept_final = last.lock().await;
            if *kept_final {
                return Finished::Later(None);
            }
            let Some(placeholder) = exchanging(state, flow, owner).await else {
                return Finished::Later(None);
            };
            Finished::Later(Some(state.store.keep(&placeholder).await))
        }
    }
}

/// The launch as it stands while the token request is out: pending at the token step.
async fn exchanging(state: &AppState, flow: &PendingFlow, owner: Owner) -> Option<LaunchRecord> {
    let mut r = flow::pending_view(&state.core, flow, owner).await?;
    r.reached(Step::Token);
    Some(r)
}
