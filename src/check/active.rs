//! `check`'s part of the active server probes and the certification grade: SMART v1-only
//! (always, from discovery), and with `active_probes = true` the foreign-`aud` authorize request
//! and CORS on discovery and `/metadata` for public clients. A probe that does not run is a
//! `not_tested` check with its reason.

use crate::config::{ClientAuth, Registration};
use crate::diagnosis::conformance::Check;
use crate::diagnosis::conformance::active::{self, PROBES_OFF};
use crate::smart::active as probes;
use crate::smart::authorize::AuthorizeParams;
use crate::smart::discovery::Discovered;
use crate::smart::http::Recorder;
use crate::state::Core;

/// The practice EHR's sign-in form for its authorize endpoint, when `reg` is served by the
/// built-in practice EHR (the only server whose login is followed without a person).
fn practice_login(core: &Core, reg: &Registration, d: &Discovered) -> Option<String> {
    let c = &core.config;
    let iss = reg.iss.trim_end_matches('/');
    let practice = c.practice_ehr && (iss == c.practice_fhir_base() || c.is_practice_base(iss));
    let endpoint = d.authorization_endpoint.as_str();
    practice
        .then(|| endpoint.strip_suffix("/auth/authorize"))
        .flatten()
        .map(|base| format!("{base}/auth/login"))
}

/// The foreign-`aud` probe's check (not tested unless `active_probes`; never for a backend
/// client, which has no authorize step).
pub(crate) async fn aud(
    core: &Core,
    reg: &Registration,
    d: &Discovered,
    redirect_uri: &str,
    rec: &Recorder,
) -> Check {
    if !reg.active_probes {
        return active::aud(None, PROBES_OFF);
    }
    if reg.backend {
        return active::aud(None, "a backend client has no authorize step");
    }
    let p = AuthorizeParams {
        authorization_endpoint: &d.authorization_endpoint,
        client_id: &reg.client_id,
        redirect_uri,
        scope: &reg.standalone_scope,
        aud: &reg.iss,
        launch: None,
    };
    let login = practice_login(core, reg, d);
    let http = core.outbound_for(&reg.iss);
    let answer = probes::foreign_aud(http, &p, login.as_deref(), rec).await;
    active::aud(Some(&answer), "")
}

/// The checks, in order: SMART v1-only, foreign `aud`, CORS.
pub async fn checks(
    core: &Core,
    reg: &Registration,
    d: &Discovered,
    redirect_uri: &str,
    rec: &Recorder,
) -> Vec<Check> {
    let mut out = vec![active::smart_v1_only(d)];
    let http = core.outbound_for(&reg.iss);
    out.push(aud(core, reg, d, redirect_uri, rec).await);
    let cors = if !reg.active_probes {
        active::cors(&[], PROBES_OFF)
    } else if reg.auth != ClientAuth::None {
        active::cors(
            &[],
            "CORS matters to browser apps (public clients); this registration is confidential",
        )
    } else {
        let base = reg.iss.trim_end_matches('/');
        let mut answers = Vec::new();
        for url in [
            format!("{base}/.well-known/smart-configuration"),
            format!("{base}/metadata"),
        ] {
            let a = probes::cors(http, &url, rec).await;
            answers.push((url, a));
        }
        active::cors(&answers, "")
    };
    out.push(cors);
    out
}
