//! Runs the steps of a launch (start → callback → token → identity → reads) and calls
//! `diagnosis::classify` on what `smart/` brings back. Used by the web handlers and, for the
//! parts that need no browser, by the `check` command. No HTML and no sessions here.

pub mod backend;
pub mod callback;
pub mod complete;
pub mod findings;
pub mod prove;
pub mod scorecard;
pub mod settle;
pub mod start;

use crate::config::{Registration, StoredRegistration};
use crate::diagnosis::Diagnosis;
use crate::diagnosis::assess::AssessConfig;
use crate::diagnosis::classify;
use crate::diagnosis::launch_report::LaunchReport;
use crate::record::{AppRef, AppSummary, Endpoints, LaunchRecord, Opening, Owner, PendingFlow};
use crate::smart::authorize::{self, AuthorizeParams};
use std::sync::Arc;

use crate::smart::discovery::{self, Discovered, Source};
use crate::smart::http::Recorder;
use crate::smart::transcript::Exchange;
use crate::smart::{LaunchKind, Step};
use crate::state::Core;

/// Discovery for `iss` (from the cache, or fetched once for all who ask together), named.
pub async fn discover(
    core: &Core,
    iss: &str,
    rec: &Recorder,
) -> Result<Arc<Discovered>, Diagnosis> {
    let found = discovery::discover(core.outbound_for(iss), &core.discovery, iss, rec).await;
    core.metrics.discovery(&rec.exchanges());
    found.map_err(|f| classify::discovery_failure(&f))
}

/// Discovery fetched afresh for a check (`check`, `/check/{id}`): never answered from the launch
/// cache and not counted in the metrics, named like a launch's.
pub async fn discover_fresh(
    core: &Core,
    iss: &str,
    rec: &Recorder,
) -> Result<Arc<Discovered>, Diagnosis> {
    let fresh = discovery::Cache::new(std::time::Duration::ZERO);
    let found = discovery::discover(core.outbound_for(iss), &fresh, iss, rec).await;
    found.map_err(|f| classify::discovery_failure(&f))
}

/// The discovery exchanges a record shows: those this request made, else those of the fetch
/// that filled the cache, marked `cached` unless that fetch was this launch's own.
pub fn discovery_transcript(d: &Discovered, made_now: Vec<Exchange>, own: bool) -> Vec<Exchange> {
    if !made_now.is_empty() {
        return made_now;
    }
    let cached = !own;
    d.transcript
        .iter()
        .cloned()
        .map(|mut x| {
            x.cached = cached;
            x
        })
        .collect()
}

/// The cached discovery exchanges as request lines only (step, method, URL, status, time,
/// marked cached): what a pending launch keeps of an answer every launch shares.
pub fn discovery_lines(d: &Discovered) -> Vec<Exchange> {
    d.transcript
        .iter()
        .map(|x| Exchange {
            step: x.step,
            method: x.method.clone(),
            url: x.url.clone(),
            request_headers: Vec::new(),
            request_body: None,
            status: x.status,
            response_headers: Vec::new(),
            response_body: None,
            duration_ms: x.duration_ms,
            error: x.error.clone(),
            cached: true,
        })
        .collect()
}

/// The report of `r` on the core's clock: the verdict every view and the metrics read.
pub fn report(core: &Core, r: &LaunchRecord) -> LaunchReport {
    LaunchReport::assemble(r.clone(), &AssessConfig::of(&core.config), core.now())
}

/// The finished launch `r` counted in the metrics from its report: the outcome, step and
/// diagnoses every view shows.
pub fn count_finished(core: &Core, r: &LaunchRecord) {
    if core.metrics.enabled() {
        core.metrics.launch_finished(&report(core, r));
    }
}

/// The scope a launch of `reg` requests.
pub fn requested_scope(reg: &Registration, kind: LaunchKind) -> &str {
    scope_for(&reg.scope, &reg.standalone_scope, kind)
}

/// The EHR-launch (and backend) scope or the standalone one, by launch kind.
fn scope_for<'a>(scope: &'a str, standalone_scope: &'a str, kind: LaunchKind) -> &'a str {
    match kind {
        LaunchKind::Ehr | LaunchKind::Backend => scope,
        LaunchKind::Standalone => standalone_scope,
    }
}

/// How the pages name where the endpoints came from.
pub fn endpoints(d: &Discovered) -> Endpoints {
    Endpoints {
        source: match d.source {
            Source::WellKnown => ".well-known/smart-configuration",
            Source::CapabilityStatement => "CapabilityStatement (metadata)",
        }
        .to_string(),
        authorization_endpoint: d.authorization_endpoint.clone(),
        token_endpoint: d.token_endpoint.clone(),
    }
}

/// Who a launch's record is opened for, and when: what every record of a launch starts with.
pub struct Head<'a> {
    pub id: &'a str,
    pub app: &'a AppRef,
    pub kind: LaunchKind,
    pub started_at: i64,
    pub owner: Owner,
    /// The `/launch` request, for a record its callback opens (empty otherwise).
    pub launch_request_id: &'a str,
}

impl<'a> Head<'a> {
    /// The head of `flow`'s record, for `owner`.
    pub fn of(flow: &'a PendingFlow, owner: Owner) -> Self {
        Head {
            id: &flow.launch_id,
            app: &flow.app,
            kind: flow.kind,
            started_at: flow.created_at,
            owner,
            launch_request_id: &flow.request_id,
        }
    }
}

/// What a launch of `reg` knows when its record is opened.
pub fn opening(
    core: &Core,
    head: Head<'_>,
    reg: &StoredRegistration,
    d: Option<&Discovered>,
) -> Opening {
    Opening {
        id: head.id.to_string(),
        kind: head.kind,
        app: AppSummary::shown(reg, matches!(head.app, AppRef::AdHoc(_))),
        app_ref: Some(head.app.clone()),
        owner: head.owner,
        launch_request_id: head.launch_request_id.to_string(),
        started_at: head.started_at,
        requested_scope: scope_for(&reg.scope, &reg.standalone_scope, head.kind).to_string(),
        redirect_uri: core.redirect_uri.clone(),
        endpoints: d.map(endpoints),
        authorize_url: None,
        backend_read: None,
    }
}

/// The findings that follow from the registration and discovery alone.
fn opening_findings(
    core: &Core,
    o: &Opening,
    reg: &StoredRegistration,
    d: Option<&Arc<Discovered>>,
) -> Vec<Diagnosis> {
    let mut diagnoses = Vec::new();
    if reg.iss.starts_with("http://") {
        diagnoses.push(
            Diagnosis::new(id!("launch.insecure_iss"), "The FHIR base uses plain http.")
                .with("iss", &reg.iss),
        );
    }
    if let Some(d) = d {
        diagnoses.extend(core.opening.of(d, reg.auth, o.kind, &o.requested_scope));
    }
    diagnoses
}

/// A launch as it stands before its callback: the registration (as shown: no secret or key),
/// what discovery said (when known) and the findings that follow from them.
pub fn pending_record(
    core: &Core,
    head: Head<'_>,
    reg: &StoredRegistration,
    discovered: Option<&Arc<Discovered>>,
) -> LaunchRecord {
    open(
        core,
        opening(core, head, reg, discovered.map(Arc::as_ref)),
        reg,
        discovered,
    )
}

/// `o` opened, with the findings of the registration and discovery; at the authorize step when
/// discovery is known.
fn open(
    core: &Core,
    o: Opening,
    reg: &StoredRegistration,
    discovered: Option<&Arc<Discovered>>,
) -> LaunchRecord {
    let found = opening_findings(core, &o, reg, discovered);
    let mut r = LaunchRecord::open(o);
    r.found(found);
    if discovered.is_some() {
        r.reached(Step::Authorize);
    }
    r
}

/// The registration a pending flow names, for showing it (secrets not opened).
pub fn flow_registration(core: &Core, flow: &PendingFlow) -> Option<StoredRegistration> {
    match &flow.app {
        AppRef::Registered(id) => core.config.registration(id).map(StoredRegistration::of),
        AppRef::AdHoc(sealed) => Some(sealed.reg.clone()),
    }
}

/// A pending flow as a record (for `owner`), with discovery from the cache if it is there
/// (never fetched).
pub async fn pending_view(core: &Core, flow: &PendingFlow, owner: Owner) -> Option<LaunchRecord> {
    let reg = flow_registration(core, flow)?;
    let d = core.discovery.peek(&reg.iss).await;
    Some(flow_record(core, flow, owner, &reg, d.as_ref()))
}

/// The record of `flow` before its callback (for `owner`), with the authorization request it
/// made (rebuilt from the flow's verifier).
pub fn flow_record(
    core: &Core,
    flow: &PendingFlow,
    owner: Owner,
    reg: &StoredRegistration,
    d: Option<&Arc<Discovered>>,
) -> LaunchRecord {
    let shown = d.and_then(|d| {
        let params = AuthorizeParams {
            authorization_endpoint: &d.authorization_endpoint,
            client_id: &reg.client_id,
            redirect_uri: &core.redirect_uri,
            scope: scope_for(&reg.scope, &reg.standalone_scope, flow.kind),
            aud: &reg.iss,
            launch: flow.launch.as_deref(),
        };
        authorize::shown(&params, &flow.verifier).ok()
    });
    record_of_flow(core, flow, owner, reg, d, shown)
}

/// [`flow_record`] with the authorization request as shown already known (`/launch` has it).
pub fn record_of_flow(
    core: &Core,
    flow: &PendingFlow,
    owner: Owner,
    reg: &StoredRegistration,
    d: Option<&Arc<Discovered>>,
    authorize_url: Option<String>,
) -> LaunchRecord {
    let mut o = opening(core, Head::of(flow, owner), reg, d.map(Arc::as_ref));
    o.authorize_url = authorize_url;
    let mut r = open(core, o, reg, d);
    // A pending flow exists only once the browser was sent to the authorization endpoint:
    // discovery succeeded even when its cached answer has expired since.
    if d.is_none() {
        r.reached(Step::Authorize);
    }
    r
}
