//! The scheduler's clock: the system's, or a manual one that tests advance (no sleeps as
//! synchronisation: a test moves time forward and waits for the runs it caused).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// Milliseconds since the Unix epoch, and waiting for a moment.
#[derive(Clone, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    Manual(ManualClock),
}

/// A clock that moves only when told to.
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<watch::Sender<i64>>);

impl ManualClock {
    /// A clock showing `start_ms`.
    pub fn new(start_ms: i64) -> Self {
        ManualClock(Arc::new(watch::Sender::new(start_ms)))
    }

    /// Moves the clock forward by `d`; sleepers whose moment came wake up.
    pub fn advance(&self, d: Duration) {
        self.0.send_modify(|now| *now += d.as_millis() as i64);
    }

    pub fn now_ms(&self) -> i64 {
        *self.0.borrow()
    }
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        match self {
            Clock::System => {
                (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
            }
            Clock::Manual(m) => m.now_ms(),
        }
    }

    /// Returns once the clock shows `at_ms` or later.
    pub async fn sleep_until(&self, at_ms: i64) {
        match self {
            Clock::System => {
                let wait = (at_ms - self.now_ms()).max(0) as u64;
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            Clock::Manual(m) => {
                let mut rx = m.0.subscribe();
                // The sender lives as long as the clock: `wait_for` ends only when time comes.
                let _ = rx.wait_for(|now| *now >= at_ms).await;
            }
        }
    }
}
