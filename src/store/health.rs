//! Whether the store answers, as a circuit breaker: the first failed command (or probe) opens
//! it, and while it is open every request fails at once instead of waiting out the command
//! timeout; the probe in the background (see `Backend::open`) closes it again as soon as the
//! store answers (SQLite: takes a record-sized write). `/readyz` reports the same state.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::StoreError;

/// The breaker of one store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Health(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    /// "redis", "sqlite" or "memory", for messages.
    kind: &'static str,
    open: AtomicBool,
    /// Why it opened (the store's own error text, no secrets: URLs are not in it).
    reason: Mutex<String>,
}

impl Health {
    pub fn new(kind: &'static str) -> Self {
        Health(Arc::new(Inner {
            kind,
            open: AtomicBool::new(false),
            reason: Mutex::new(String::new()),
        }))
    }

    pub fn kind(&self) -> &'static str {
        self.0.kind
    }

    /// `Err` at once while the breaker is open.
    pub fn check(&self) -> Result<(), StoreError> {
        match self.down() {
            None => Ok(()),
            Some(why) => Err(StoreError(format!(
                "{}: not answering ({why}); failing fast until it answers again",
                self.0.kind
            ))),
        }
    }

    /// Why the store is down, if it is.
    pub fn down(&self) -> Option<String> {
        if !self.0.open.load(Ordering::Acquire) {
            return None;
        }
        Some(self.0.reason.lock().map(|r| r.clone()).unwrap_or_default())
    }

    /// A command failed: open the breaker.
    pub fn failed(&self, e: &StoreError) {
        if let Ok(mut r) = self.0.reason.lock() {
            r.clone_from(&e.0);
        }
        if !self.0.open.swap(true, Ordering::AcqRel) {
            tracing::warn!(store = self.0.kind, error = %e, "store not answering: requests fail fast until it answers again");
        }
    }

    /// A command (or the probe) succeeded: close the breaker.
    pub fn answered(&self) {
        if self.0.open.swap(false, Ordering::AcqRel) {
            tracing::info!(store = self.0.kind, "store answering again");
        }
    }

    /// Runs `op` unless the breaker is open; a failure opens it. Only the probe closes it: a
    /// read that succeeds says nothing about writes (a full disk still serves reads).
    pub async fn guard<T>(
        &self,
        op: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.check()?;
        let out = op.await;
        if let Err(e) = &out {
            self.failed(e);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failure_opens_the_breaker_and_an_answer_closes_it() {
        let h = Health::new("redis");
        assert!(h.check().is_ok());
        let r: Result<(), _> = h.guard(async { Err(StoreError("boom".into())) }).await;
        assert!(r.is_err());
        let fast = h.guard(async { Ok(()) }).await;
        assert!(fast.unwrap_err().0.contains("boom"), "fails at once");
        h.answered(); // the probe
        assert!(h.guard(async { Ok(()) }).await.is_ok());
    }
}
