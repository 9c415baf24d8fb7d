//! Part of the binary (not the library): the built-in practice EHR started in-process for one
//! command (`check`, `backend`), so its registrations need no running `serve`.

use std::path::Path;
use std::process::ExitCode;

use smart_launch_doctor::config::{
    Config, PRACTICE_BACKEND_ID, PRACTICE_BACKEND_SECRET_ID, PRACTICE_ID, Registration,
};
use smart_launch_doctor::state::Core;
use smart_launch_doctor::{AppState, app};

/// Whether `id` names one of the practice EHR's built-in registrations.
fn is_practice_id(id: &str) -> bool {
    id == PRACTICE_ID || id == PRACTICE_BACKEND_ID || id == PRACTICE_BACKEND_SECRET_ID
}

/// The practice EHR served on a free loopback port for this command. Its state's configuration
/// made the `practice-backend` key and registered the public half with this very EHR, so a
/// practice registration is run with this state's core, registration and key, never a second
/// `Config`'s (whose fresh key the EHR would not know).
pub struct LocalPractice {
    state: AppState,
    /// `http://127.0.0.1:PORT/`: a registration is served here when its `iss` starts with it.
    origin: String,
}

impl LocalPractice {
    /// Starts the practice EHR when one of `ids` is a practice registration that would be served
    /// by it (the practice EHR on, `public_url` not set); says so on stderr for `command`.
    /// `Ok(None)` otherwise: then those registrations are used where they point. When it should
    /// start but cannot (as `serve` could not: e.g. `admin_token_env` names a variable that is not
    /// set), says what is missing on stderr and gives exit status 2, never checking the
    /// registrations somewhere else instead.
    pub async fn start<'a>(
        path: Option<&Path>,
        ids: impl Iterator<Item = &'a str>,
        command: &str,
        what: &str,
    ) -> Result<Option<Self>, ExitCode> {
        // Nothing to bind or load (no second key made) when no practice registration is asked for.
        let ids: Vec<&str> = ids.filter(|id| is_practice_id(id)).collect();
        if ids.is_empty() {
            return Ok(None);
        }
        let refuse = |why: String| {
            eprintln!("{command}: cannot start the practice EHR in-process for {what}: {why}");
            ExitCode::from(2)
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| refuse(format!("cannot listen on 127.0.0.1: {e}")))?;
        let addr = listener.local_addr().map_err(|e| refuse(e.to_string()))?;
        let config = Config::load(path, addr).map_err(|e| refuse(e.to_string()))?;
        let origin = format!("http://{addr}/");
        if !ids.iter().any(|id| served(&config, &origin, id).is_some()) {
            return Ok(None);
        }
        let state = AppState::new(config).map_err(|e| refuse(e.to_string()))?;
        let router = app(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        eprintln!("{command}: started the practice EHR in-process at {origin}practice for {what}");
        Ok(Some(Self { state, origin }))
    }

    /// The core to run registration `id` with and its registration (with its key) as this EHR
    /// knows them; `None` when `id` is not a practice registration served here.
    pub fn registration(&self, id: &str) -> Option<(&Core, Registration)> {
        let reg = served(&self.state.config, &self.origin, id)?.clone();
        Some((&self.state.core, reg))
    }
}

/// Practice registration `id` when `config` has the practice EHR on and `id` points at `origin`.
fn served<'c>(config: &'c Config, origin: &str, id: &str) -> Option<&'c Registration> {
    let reg = config.registration(id)?;
    (config.practice_ehr && is_practice_id(id) && reg.iss.starts_with(origin)).then_some(reg)
}
