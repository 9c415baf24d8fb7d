//! Starting a launch: discovery, then the authorization request. What the browser's session
//! must keep comes back as a [`PendingFlow`], what the launch store keeps as a pending record;
//! nothing is stored here.

use std::sync::Arc;

use crate::config::{Registration, StoredRegistration};
use crate::diagnosis::Diagnosis;
use crate::record::{AppRef, LaunchRecord, Owner, PendingFlow, random_id, state_hash};
use crate::smart::authorize::{self, AuthorizeParams};
use crate::smart::discovery::Discovered;
use crate::smart::http::Recorder;
use crate::smart::id_token;
use crate::smart::{LaunchKind, Step};
use crate::state::Core;

/// How a start ended.
pub enum Started {
    /// Send the browser to `url`; keep `flow` in its session and `record` (the launch as it
    /// stands until its callback: endpoints, discovery transcript, authorization request) in
    /// the launch store.
    Redirect {
        url: String,
        flow: PendingFlow,
        record: Arc<LaunchRecord>,
    },
    /// Failed before the redirect (discovery, or an unusable endpoint): a finished record.
    Failed(Box<LaunchRecord>),
}

/// Discovery (usually from the cache) and the authorization URL with a fresh state and PKCE pair.
/// Counted in the metrics: started, and finished when it fails before the redirect. The record
/// belongs to `owner` (the browser and the `/launch` request).
pub async fn start(
    core: &Core,
    app: AppRef,
    reg: &Registration,
    kind: LaunchKind,
    launch: Option<&str>,
    owner: Owner,
) -> Started {
    core.metrics.launch_started(&app, kind);
    let started = start_uncounted(core, app, reg, kind, launch, owner).await;
    if let Started::Failed(r) = &started {
        super::count_finished(core, r);
    }
    started
}

async fn start_uncounted(
    core: &Core,
    app: AppRef,
    reg: &Registration,
    kind: LaunchKind,
    launch: Option<&str>,
    owner: Owner,
) -> Started {
    let started = core.now();
    let id = random_id();
    let head = |owner| super::Head {
        id: &id,
        app: &app,
        kind,
        started_at: started,
        owner,
        launch_request_id: "",
    };
    let rec = Recorder::default();
    let scope = super::requested_scope(reg, kind);
    // Discovery, then the OpenID warm-up, each boxed: their futures (a cache lookup; the fetch
    // itself is boxed further down) were copied whole each time the request's future moved.
    let discovered = Box::pin(super::discover(core, &reg.iss, &rec)).await;
    if let Ok(d) = &discovered
        && !d.oidc_warm.is_set()
        && scope.split_whitespace().any(|s| s == "openid")
    {
        Box::pin(warm_oidc(core, &reg.iss, d)).await;
    }
    let d = match discovered {
        Ok(d) => d,
        Err(diag) => {
            let mut r =
                super::pending_record(core, head(owner), &StoredRegistration::of(reg), None);
            r.transcribed(rec.exchanges());
            r.failed(Step::Discovery, [diag], core.now());
            return Started::Failed(Box::new(r));
        }
    };
    let built = authorize::build(&AuthorizeParams {
        authorization_endpoint: &d.authorization_endpoint,
        client_id: &reg.client_id,
        redirect_uri: &core.redirect_uri,
        scope,
        aud: &reg.iss,
        launch,
    });
    match built {
        Ok(req) => {
            let made = rec.exchanges();
            let shown = req.shown();
            let flow = PendingFlow {
                launch_id: id.clone(),
                state_hash: state_hash(&req.state),
                verifier: req.verifier,
                app,
                kind,
                created_at: started,
                launch: launch.map(str::to_string),
                fetched_discovery: !made.is_empty(),
                request_id: owner.request_id.clone(),
            };
            // What the pages show while it waits, kept now: the discovery cache may expire
            // before anyone looks. Bounded without a budget pass: discovery's two or three
            // exchanges each have their bodies capped when recorded. Discovery answered from
            // the cache is kept as its request lines only (method, URL, status): its headers
            // and bodies are the cache's, the same for every launch, and copying them made
            // each `/launch` allocate five kilobytes (half its throughput).
            let reg = StoredRegistration::of(reg);
            let mut record = super::record_of_flow(core, &flow, owner, &reg, Some(&d), Some(shown));
            record.transcribed(if made.is_empty() {
                super::discovery_lines(&d)
            } else {
                made
            });
            Started::Redirect {
                url: req.url,
                flow,
                record: Arc::new(record),
            }
        }
        Err(why) => {
            let reg = StoredRegistration::of(reg);
            let mut r = super::pending_record(core, head(owner), &reg, Some(&d));
            r.transcribed(super::discovery_transcript(&d, rec.exchanges(), false));
            let diag = Diagnosis::new(
                id!("discovery.missing_fields"),
                format!("A discovered endpoint is unusable: {why}."),
            );
            r.failed(Step::Discovery, [diag], core.now());
            Started::Failed(Box::new(r))
        }
    }
}

/// Starts fetching the issuer's OpenID configuration and JWKS in the background when they are
/// not cached, so the callback (a user's sign-in later) finds them warm. Never awaited: the
/// browser's redirect does not wait for it. Found cached, the document `d` remembers it.
async fn warm_oidc(core: &Core, iss: &str, d: &Discovered) {
    let issuer = d.issuer.as_deref().unwrap_or(iss);
    if !id_token::needs_warming(&core.oidc, issuer).await {
        d.oidc_warm.set();
        return;
    }
    let (core, iss, issuer) = (core.clone(), iss.to_string(), issuer.to_string());
    tokio::spawn(async move { id_token::warm(core.outbound_for(&iss), &core.oidc, &issuer).await });
}
