//! This browser's server-side data, typed, under one session key (tower-sessions'
//! strongly-typed pattern). The cookie carries only the session id.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::Problem;
use crate::record::{LaunchRecord, PendingFlow};

/// The session cookie's name.
pub const COOKIE: &str = "sld_session";
const KEY: &str = "browser";
/// Launches kept per browser; the oldest go first.
const MAX_LAUNCHES: usize = 25;
/// Pending flows older than this are dropped: codes would be long expired.
const FLOW_TTL_SECS: i64 = 30 * 60;

#[derive(Default, Serialize, Deserialize)]
pub struct Data {
    /// Per-session token for POST forms.
    pub csrf: String,
    pub flows: Vec<PendingFlow>,
    pub launches: Vec<LaunchRecord>,
    /// State hashes whose callback already ran, with the launch id they completed.
    pub completed: Vec<(String, String)>,
}

/// The session plus its typed data; call [`BrowserSession::save`] after changing `data`.
pub struct BrowserSession {
    session: Session,
    pub data: Data,
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
        let data = session
            .get::<Data>(KEY)
            .await
            .map_err(|e| Problem::session_store(&e))?
            .unwrap_or_default();
        Ok(BrowserSession { session, data })
    }
}

impl BrowserSession {
    /// Writes the data to the store now (not only at the end of the response).
    pub async fn save(&mut self) -> Result<(), Problem> {
        self.prune(crate::record::now());
        self.session
            .insert(KEY, &self.data)
            .await
            .map_err(|e| Problem::session_store(&e))?;
        self.session
            .save()
            .await
            .map_err(|e| Problem::session_store(&e))
    }

    /// A new session id, same data: after the token exchange (session fixation).
    pub async fn cycle_id(&mut self) -> Result<(), Problem> {
        self.session
            .cycle_id()
            .await
            .map_err(|e| Problem::session_store(&e))
    }

    /// The CSRF token for forms, created on first use.
    pub fn csrf_token(&mut self) -> String {
        if self.data.csrf.is_empty() {
            self.data.csrf = oauth2::CsrfToken::new_random().secret().clone();
        }
        self.data.csrf.clone()
    }

    /// Whether `token` is this session's CSRF token (constant time).
    pub fn csrf_ok(&self, token: &str) -> bool {
        let ours = self.data.csrf.as_bytes();
        !ours.is_empty()
            && ours.len() == token.len()
            && ours
                .iter()
                .zip(token.as_bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    pub fn launch(&self, id: &str) -> Option<&LaunchRecord> {
        self.data.launches.iter().find(|l| l.id == id)
    }

    pub fn launch_mut(&mut self, id: &str) -> Option<&mut LaunchRecord> {
        self.data.launches.iter_mut().find(|l| l.id == id)
    }

    fn prune(&mut self, now: i64) {
        self.data
            .flows
            .retain(|f| now - f.created_at < FLOW_TTL_SECS);
        let excess = self.data.launches.len().saturating_sub(MAX_LAUNCHES);
        self.data.launches.drain(..excess);
        let excess = self.data.completed.len().saturating_sub(4 * MAX_LAUNCHES);
        self.data.completed.drain(..excess);
    }
}

/// Whether the request carried our session cookie at all.
pub fn cookie_present(headers: &HeaderMap) -> bool {
    headers.get_all(header::COOKIE).iter().any(|v| {
        v.to_str().is_ok_and(|s| {
            s.split(';')
                .any(|c| c.trim_start().starts_with(&format!("{COOKIE}=")))
        })
    })
}
