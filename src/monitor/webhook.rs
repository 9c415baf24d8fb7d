//! The optional webhook: one JSON POST per state change to the URL held by the variable
//! `webhook_url_env` names. The URL goes through the outbound address policy like any URL we
//! did not register (a private address needs `allow_private_hosts`); it is itself often a
//! secret (a chat webhook's path is its key), so logs name its host only. The body names the
//! registration, the change, the diagnosis ids and a link to the row's history: no secret,
//! token, URL of the EHR or patient data. Retries are bounded, with backoff.

use crate::smart::transcript::ExchangeStep;
use std::time::Duration;

use serde_json::json;

use super::run::{Change, Run};
use crate::config::Config;
use crate::smart::http::Recorder;
use crate::state::Core;

/// Attempts per change, and the wait before the second (doubling after).
pub const ATTEMPTS: u32 = 4;
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// Where state changes are posted.
#[derive(Clone)]
pub struct Webhook {
    url: String,
    host: String,
    /// `public_url`, for the link in the body.
    base: String,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Webhook({})", self.host)
    }
}

impl Webhook {
    /// The webhook whose URL the variable `var` holds.
    pub fn from_env(var: &str, config: &Config) -> Result<Self, String> {
        let url = std::env::var(var).map_err(|_| {
            format!("monitor.webhook_url_env: the environment variable {var} is not set")
        })?;
        let parsed = url::Url::parse(url.trim()).map_err(|_| {
            format!("monitor.webhook_url_env: the variable {var} does not hold a URL")
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!(
                "monitor.webhook_url_env: the variable {var} must hold an http(s) URL"
            ));
        }
        Ok(Webhook {
            host: parsed.host_str().unwrap_or("").to_string(),
            url: url.trim().to_string(),
            base: config.public_url.as_str().trim_end_matches('/').to_string(),
        })
    }

    /// The body posted for `change` of `run`.
    pub fn body(&self, run: &Run, change: &Change) -> serde_json::Value {
        let at = time::OffsetDateTime::from_unix_timestamp(change.at.div_euclid(1000))
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            });
        json!({
            "registration": run.registration,
            "from": change.from,
            "to": change.to,
            "diagnosis_ids": run.diagnosis_ids(),
            "failing_step": run.failing_step,
            "at": at,
            "link": format!("{}/status/{}", self.base, run.registration),
        })
    }

    /// Posts the change in the background (bounded retries); never blocks the probe.
    pub fn send(&self, core: &Core, run: &Run, change: &Change) {
        let body = self.body(run, change).to_string().into_bytes();
        let (hook, core, registration) = (self.clone(), core.clone(), run.registration.clone());
        tokio::spawn(async move {
            let mut wait = FIRST_BACKOFF;
            for attempt in 1..=ATTEMPTS {
                match hook.post(&core, body.clone()).await {
                    Ok(()) => return,
                    Err(why) => {
                        tracing::warn!(%registration, host = %hook.host, attempt, %why, "monitor: webhook not delivered")
                    }
                }
                if attempt < ATTEMPTS {
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
            }
        });
    }

    async fn post(&self, core: &Core, body: Vec<u8>) -> Result<(), String> {
        let req = http::Request::post(&self.url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body)
            .map_err(|_| "not a usable URL".to_string())?;
        let resp = core
            .outbound_for(&self.url)
            .send(req, ExchangeStep::Webhook, &Recorder::default())
            .await
            .map_err(|e| match e {
                crate::smart::http::NetError::PrivateTarget { address, .. } => {
                    format!("refused by the address policy ({address})")
                }
                _ => "no answer".to_string(),
            })?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {}", resp.status().as_u16()))
        }
    }
}
