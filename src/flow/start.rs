//! Starting a launch: discovery, then the authorization request. What the browser's session
//! must keep comes back as a [`PendingFlow`]; nothing is stored here.

use crate::config::Registration;
use crate::diagnosis::Diagnosis;
use crate::record::{AppRef, LaunchRecord, PendingFlow, now, random_id, state_hash};
use crate::smart::authorize::{self, AuthorizeParams};
use crate::smart::http::Recorder;
use crate::smart::{LaunchKind, Step};
use crate::state::Core;

/// How a start ended.
pub enum Started {
    /// Send the browser to `url`; keep `flow` in its session.
    Redirect { url: String, flow: PendingFlow },
    /// Failed before the redirect (discovery, or an unusable endpoint): a finished record.
    Failed(LaunchRecord),
}

/// Discovery (usually from the cache) and the authorization URL with a fresh state and PKCE pair.
/// Counted in the metrics: started, and finished when it fails before the redirect.
pub async fn start(
    core: &Core,
    app: AppRef,
    reg: &Registration,
    kind: LaunchKind,
    launch: Option<&str>,
) -> Started {
    core.metrics.launch_started(&app, kind);
    let started = start_uncounted(core, app, reg, kind, launch).await;
    if let Started::Failed(r) = &started {
        core.metrics.launch_finished(r);
    }
    started
}

async fn start_uncounted(
    core: &Core,
    app: AppRef,
    reg: &Registration,
    kind: LaunchKind,
    launch: Option<&str>,
) -> Started {
    let started = now();
    let id = random_id();
    let rec = Recorder::default();
    let discovered = super::discover(core, &reg.iss, &rec).await;
    let d = match discovered {
        Ok(d) => d,
        Err(diag) => {
            let mut r = super::pending_record(core, &id, &app, reg, kind, started, None);
            r.transcript = rec.exchanges();
            r.fail(Step::Discovery, [diag], now());
            return Started::Failed(r);
        }
    };
    let built = authorize::build(&AuthorizeParams {
        authorization_endpoint: &d.authorization_endpoint,
        client_id: &reg.client_id,
        redirect_uri: &core.redirect_uri,
        scope: super::requested_scope(reg, kind),
        aud: &reg.iss,
        launch,
    });
    match built {
        Ok(req) => Started::Redirect {
            url: req.url,
            flow: PendingFlow {
                launch_id: id,
                state_hash: state_hash(&req.state),
                verifier: req.verifier,
                app,
                kind,
                created_at: started,
                launch: launch.map(str::to_string),
                fetched_discovery: !rec.exchanges().is_empty(),
            },
        },
        Err(why) => {
            let mut r = super::pending_record(core, &id, &app, reg, kind, started, Some(&d));
            r.transcript = super::discovery_transcript(&d, rec.exchanges(), false);
            let diag = Diagnosis::new(
                id!("discovery.missing_fields"),
                format!("A discovered endpoint is unusable: {why}."),
            );
            r.fail(Step::Discovery, [diag], now());
            Started::Failed(r)
        }
    }
}
