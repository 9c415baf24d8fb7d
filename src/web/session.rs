//! This browser's server-side data, typed, under one session key (tower-sessions'
//! strongly-typed pattern), kept small: a browser id, the launches waiting for their callback
//! and the ids of its launches. Results live in the launch store, not here. The data is one
//! compact JSON string, so a session costs one allocation in memory and a few hundred bytes in
//! Redis or SQLite. A session that no longer decodes is treated as empty.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::Problem;
use crate::record::{PendingFlow, random_id};

/// The session cookie's name.
pub const COOKIE: &str = "sld_session";
/// The one session key; the memory store keeps its value without a map around it.
pub const KEY: &str = "b";
/// Launches kept per browser; the oldest go first.
pub const MAX_LAUNCHES: usize = 25;
/// Pending flows older than this are dropped: codes would be long expired.
const FLOW_TTL_SECS: i64 = 30 * 60;

#[derive(Default, Serialize, Deserialize)]
pub struct Data {
    /// This browser's id; launch records name it as their owner.
    #[serde(rename = "b", default)]
    pub browser: String,
    /// Launches waiting for their callback.
    #[serde(rename = "f", default)]
    pub flows: Vec<PendingFlow>,
    /// Ids of this browser's launches, pending or finished, oldest first.
    #[serde(rename = "l", default)]
    pub launches: Vec<String>,
}

/// The session plus its typed data; call [`BrowserSession::save`] after changing `data`.
pub struct BrowserSession {
    session: Session,
    pub data: Data,
    /// The id of the request this session was read for (see `middleware`).
    pub request_id: String,
}

impl<S: Send + Sync> FromRequestParts<S> for BrowserSession {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, msg)| {
                Problem::plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Session unavailable",
                    msg,
                )
            })?;
        let data = match session.get::<String>(KEY).await {
            Ok(Some(text)) => serde_json::from_str(&text).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "a session no longer decodes; starting afresh");
                Data::default()
            }),
            Ok(None) => Data::default(),
            Err(tower_sessions::session::Error::SerdeJson(e)) => {
                tracing::warn!(error = %e, "a session no longer decodes; starting afresh");
                Data::default()
            }
            Err(e) => return Err(Problem::session_store(&e)),
        };
        let request_id = super::middleware::current_request_id(&parts.extensions);
        Ok(BrowserSession {
            session,
            data,
            request_id,
        })
    }
}

impl BrowserSession {
    /// This browser's id, created on first use (saved with the next [`save`](Self::save)).
    pub fn browser_id(&mut self) -> String {
        if self.data.browser.is_empty() {
            self.data.browser = random_id();
        }
        self.data.browser.clone()
    }

    /// Marks the data for saving: the session layer writes it once, after the handler (a store
    /// that fails then turns the response into `session.store_unavailable`, see `problem`).
    pub async fn save(&mut self) -> Result<(), Problem> {
        self.prune(crate::record::now());
        // Sized for a browser with a launch or two pending: written without growing.
        let mut text = Vec::with_capacity(512);
        let text = match serde_json::to_writer(&mut text, &self.data) {
            Ok(()) => String::from_utf8(text).unwrap_or_default(),
            Err(_) => String::new(),
        };
        self.session
            .insert(KEY, text)
            .await
            .map_err(|e| Problem::session_store(&e))
    }

    /// A new session id, same data: after the token exchange (session fixation). Takes effect
    /// with the next [`save`](Self::save).
    pub async fn cycle_id(&mut self) -> Result<(), Problem> {
        self.session
            .cycle_id()
            .await
            .map_err(|e| Problem::session_store(&e))
    }

    /// Whether launch `id` belongs to this browser.
    pub fn owns(&self, id: &str) -> bool {
        self.data.launches.iter().any(|l| l == id)
    }

    pub fn flow(&self, launch_id: &str) -> Option<&PendingFlow> {
        self.data.flows.iter().find(|f| f.launch_id == launch_id)
    }

    fn prune(&mut self, now: i64) {
        self.data
            .flows
            .retain(|f| now - f.created_at < FLOW_TTL_SECS);
        let excess = self.data.launches.len().saturating_sub(MAX_LAUNCHES);
        self.data.launches.drain(..excess);
        let kept = &self.data.launches;
        self.data.flows.retain(|f| kept.contains(&f.launch_id));
    }
}

/// Whether the request carried our session cookie at all.
pub fn cookie_present(headers: &HeaderMap) -> bool {
    cookie(headers, COOKIE).is_some()
}

/// The value of cookie `name`, if the request carried it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|s| s.split(';'))
        .find_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{AppRef, state_hash};
    use crate::smart::LaunchKind;

    #[test]
    fn a_session_with_a_pending_launch_stays_small() {
        let flow = PendingFlow {
            launch_id: random_id(),
            state_hash: state_hash("a state of 22 chars..."),
            verifier: "v".repeat(43),
            app: AppRef::Registered("registration-id".into()),
            kind: LaunchKind::Ehr,
            created_at: 1_800_000_000,
            launch: Some("a-launch-value-from-the-ehr".into()),
            fetched_discovery: true,
            request_id: "0123456789abcdef0123456789abcdef".into(),
        };
        let data = Data {
            browser: random_id(),
            launches: vec![flow.launch_id.clone()],
            flows: vec![flow],
        };
        let text = serde_json::to_string(&data).unwrap();
        assert!(text.len() < 400, "{} bytes: {text}", text.len());
        let back: Data = serde_json::from_str(&text).unwrap();
        assert_eq!(back.flows[0].verifier, "v".repeat(43));
    }
}
