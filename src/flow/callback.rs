//! The callback's parameters and the launch's pending flow in, the finished launch record out:
//! the RFC 9207 issuer check, an authorization error, or the code exchange and the proof reads.

use crate::config::StoredRegistration;
use crate::diagnosis::Diagnosis;
use crate::diagnosis::classify;
use crate::record::{LaunchRecord, Owner, PendingFlow};
use crate::seal::Sealer;
use crate::smart::Step;
use crate::smart::http::Recorder;
use crate::state::Core;

use super::complete::{self, AppGone};

/// What the authorization server sent back (the first value of each).
#[derive(Default)]
pub struct CallbackParams {
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub error_uri: Option<String>,
    pub code: Option<String>,
    /// Which of code, state, error and iss were present, for the evidence.
    pub names: String,
}

/// Completes the launch `flow` started; the record (`owner`'s: the browser and the callback's
/// request) is ready to store (and counted in the metrics).
pub async fn complete(
    core: &Core,
    sealer: &Sealer,
    flow: &PendingFlow,
    params: &CallbackParams,
    owner: Owner,
) -> LaunchRecord {
    let mut record = complete_uncounted(core, sealer, flow, params, owner).await;
    record.fit_budget();
    super::count_finished(core, &record);
    record
}

async fn complete_uncounted(
    core: &Core,
    sealer: &Sealer,
    flow: &PendingFlow,
    params: &CallbackParams,
    owner: Owner,
) -> LaunchRecord {
    let Some(shown) = super::flow_registration(core, flow) else {
        return gone(core, flow, owner, AppGone::NotConfigured);
    };
    let app = match complete::app_credentials(core, sealer, &flow.app) {
        Ok(app) => app,
        Err(why) => return gone(core, flow, owner, why),
    };
    let rec = Recorder::default();
    let discovered = super::discover(core, &shown.iss, &rec).await;
    let d = match discovered {
        Ok(d) => d,
        Err(diag) => {
            let mut r = super::pending_record(core, super::Head::of(flow, owner), &shown, None);
            r.transcribed(rec.exchanges());
            r.failed(Step::Discovery, [diag], core.now());
            return r;
        }
    };
    let mut record = super::flow_record(core, flow, owner, &shown, Some(&d));
    record.transcribed(super::discovery_transcript(
        &d,
        rec.exchanges(),
        flow.fetched_discovery,
    ));
    record.reached(Step::Callback);
    if let (Some(got), Some(expected)) = (&params.iss, d.issuer.as_deref())
        && got != expected
    {
        let d = Diagnosis::new(
            id!("callback.issuer_mismatch"),
            "The authorization response names another issuer than discovery did (RFC 9207).",
        )
        .with("iss received", got)
        .with("issuer expected", expected);
        record.failed(Step::Callback, [d], core.now());
        return record;
    }
    if let Some(error) = &params.error {
        let d = classify::authorize_error(
            error,
            params.error_description.as_deref(),
            params.error_uri.as_deref(),
        );
        record.failed(Step::Authorize, [d], core.now());
        return record;
    }
    let Some(code) = params.code.as_deref().filter(|c| !c.is_empty()) else {
        let d = Diagnosis::new(
            id!("callback.missing_code"),
            "The callback carries neither a code nor an error.",
        )
        .with("Parameters received", &params.names);
        record.failed(Step::Callback, [d], core.now());
        return record;
    };
    complete::exchange(core, &app, &d, flow, code, &mut record).await;
    record
}

/// The record of a launch whose callback was stopped by the server shutting down before the
/// token endpoint answered (counted in the metrics): stored, so the launch does not read as
/// never returned.
pub fn interrupted(core: &Core, flow: &PendingFlow, owner: Owner) -> LaunchRecord {
    let mut r = base(core, flow, owner);
    let d = Diagnosis::new(
        id!("callback.interrupted"),
        "The server shut down while the callback was being completed; the token endpoint may have issued tokens.",
    )
    .with("Callback for", &flow.launch_id);
    r.failed(Step::Token, [d], core.now());
    super::count_finished(core, &r);
    r
}

/// A launch whose callback arrived (its state was used) but whose result was never kept: it
/// failed then, it did not "never return".
pub fn not_kept(mut r: LaunchRecord) -> LaunchRecord {
    let d = Diagnosis::new(
        id!("callback.result_not_kept"),
        "The callback reached this server and its state was used, but no result was kept: the store did not take it, or the server stopped first.",
    );
    let at = r.started_at();
    r.failed(Step::Token, [d], at);
    r
}

/// A record for a launch whose app can no longer be used.
fn gone(core: &Core, flow: &PendingFlow, owner: Owner, why: AppGone) -> LaunchRecord {
    let mut r = base(core, flow, owner);
    r.failed(Step::Callback, [complete::app_gone(why)], core.now());
    r
}

/// The launch's record before its callback, also when its registration is gone.
fn base(core: &Core, flow: &PendingFlow, owner: Owner) -> LaunchRecord {
    let head = super::Head::of(flow, owner);
    match super::flow_registration(core, flow) {
        Some(reg) => super::pending_record(core, head, &reg, None),
        None => {
            let placeholder = StoredRegistration::of(&crate::config::Registration::simple(
                "unknown",
                "A registration no longer configured",
                "",
                "",
                crate::config::ClientAuth::None,
                "",
            ));
            let mut o = super::opening(core, head, &placeholder, None);
            o.app.id = match &flow.app {
                crate::record::AppRef::Registered(id) => id.clone(),
                crate::record::AppRef::AdHoc(s) => s.reg.id.clone(),
            };
            LaunchRecord::open(o)
        }
    }
}
