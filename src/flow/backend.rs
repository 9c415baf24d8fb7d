//! A SMART Backend Services run, for the web handler (`POST /backend/{id}`) and the `backend`
//! command alike: discovery, `client_credentials` with a client assertion, the token response
//! classified like any other (an `invalid_client` gets the assertion self-check), the Backend
//! Services rules, two labelled probes of the token endpoint, and one FHIR read with the token.
//! The result is a launch record of kind `backend`; storing it is the caller's business.

use super::complete::{Asked, classify_answer, credentials};
use super::{Head, discover, discovery_transcript, endpoints, opening};
use crate::config::{Registration, StoredRegistration};
use crate::diagnosis::Diagnosis;
use crate::diagnosis::classify::backend::{self as rules, ProbeAnswer};
use crate::diagnosis::classify::{self, identity};
use crate::record::{AppRef, LaunchRecord, Owner, random_id};
use crate::smart::backend::{self, Probed};
use crate::smart::http::Recorder;
use crate::smart::{LaunchKind, Step, fhir};
use crate::state::Core;

/// Runs `reg` (a `backend = true` registration) for `owner`. Counted in the metrics like a
/// launch (kind `backend`).
pub async fn run(core: &Core, app: AppRef, reg: &Registration, owner: Owner) -> LaunchRecord {
    core.metrics.launch_started(&app, LaunchKind::Backend);
    let mut record = run_uncounted(core, app, reg, owner).await;
    record.fit_budget();
    super::count_finished(core, &record);
    record
}

async fn run_uncounted(core: &Core, app: AppRef, reg: &Registration, owner: Owner) -> LaunchRecord {
    let head = Head {
        id: &random_id(),
        app: &app,
        kind: LaunchKind::Backend,
        started_at: core.now(),
        owner,
        launch_request_id: "",
    };
    let mut o = opening(core, head, &StoredRegistration::of(reg), None);
    // No browser comes back: there is no redirect URI in a Backend Services run.
    o.redirect_uri = String::new();
    o.backend_read = Some(reg.backend_read.clone());
    let mut record = LaunchRecord::open(o);
    if reg.iss.starts_with("http://") {
        record.found([Diagnosis::new(
            id!("launch.insecure_iss"),
            "The FHIR base uses plain http.",
        )
        .with("iss", &reg.iss)]);
    }
    let rec = Recorder::default();
    let d = match discover(core, &reg.iss, &rec).await {
        Ok(d) => d,
        Err(diagnosis) => {
            record.transcribed(rec.exchanges());
            record.failed(Step::Discovery, [diagnosis], core.now());
            return record;
        }
    };
    record.transcribed(discovery_transcript(&d, rec.exchanges(), false));
    record.discovered(endpoints(&d));
    record.found(classify::discovery_warnings(&d));
    // The server scorecard's discovery part, as on every launch; the Backend Services rules
    // join it below.
    super::scorecard::discovery(&d, &mut record);
    record.found(rules::symmetric_auth(reg.auth.method()));
    record.found(classify::registration_vs_discovery(
        &d,
        reg.auth.method(),
        LaunchKind::Backend,
        &reg.scope,
    ));
    record.reached(Step::Token);
    let http = core.outbound_for(&reg.iss);
    let creds = credentials(reg, &d.token_endpoint);
    let rec = Recorder::default();
    let result = backend::token(http, &creds, &reg.scope, &rec).await;
    record.transcribed(rec.exchanges());
    let methods = &d.token_endpoint_auth_methods_supported;
    let asked = Asked {
        reg,
        token_endpoint: &d.token_endpoint,
        requested_scope: &reg.scope,
        kind: LaunchKind::Backend,
        // Nothing before the token request proved the client id known.
        client_known: false,
        methods,
    };
    let token = match classify_answer(&result, &asked) {
        Ok((token, warnings)) => {
            record.found(warnings);
            token
        }
        Err(ds) => {
            record.failed(Step::Token, ds, core.now());
            return record;
        }
    };
    let mut checks = Vec::new();
    let mut found: Vec<Diagnosis> = Vec::new();
    for (c, d) in rules::token_rules(&token) {
        checks.push(c);
        found.extend(d);
    }
    let received_at = core.now();
    record.token_exchanged(token);
    let access = record
        .token()
        .map(|t| t.access_token.expose().to_string())
        .unwrap_or_default();
    record.reached(Step::Fhir);
    let rec = Recorder::default();
    let url = format!("{}/{}", reg.iss.trim_end_matches('/'), reg.backend_read);
    let read = fhir::read(http, &url, &access, &rec).await;
    let read_after = core.now() - received_at;
    record.transcribed(rec.exchanges());
    // The probes come last, so their answers never stand between the token and its proof.
    if let Some(key) = reg.auth.key() {
        let rec = Recorder::default();
        let probed = backend::probes(http, &creds, key, &reg.scope, &rec).await;
        record.transcribed(rec.exchanges());
        let answer = |p: Probed| ProbeAnswer {
            status: p.status,
            body: p.body,
        };
        for (c, d) in [
            probed
                .grant_type
                .map(answer)
                .map(|a| rules::bogus_grant_type(&a)),
            probed
                .assertion_type
                .map(answer)
                .map(|a| rules::bogus_assertion_type(&a)),
        ]
        .into_iter()
        .flatten()
        {
            checks.push(c);
            found.extend(d);
        }
    } else {
        // Each probe carries a freshly signed client assertion: a secret client cannot send it.
        let why = "the probe sends a signed client assertion; this client authenticates with a client secret";
        for entry in [
            id!("server.backend_bogus_grant_accepted"),
            id!("server.backend_bogus_assertion_type_accepted"),
        ] {
            let mut c = crate::diagnosis::conformance::Check::not_tested(entry, why);
            c.rule = rules::RULE.to_string();
            checks.push(c);
        }
    }
    record.found(found);
    record.checked(checks.iter().cloned());
    match read {
        Ok(resource) => {
            record.backend_proved(checks, Some(resource));
            record.succeeded(core.now());
        }
        Err(f) => {
            record.backend_proved(checks, None);
            let what = format!("the Backend Services proof read ({})", reg.backend_read);
            let left = identity::lifetime_left(record.token(), read_after);
            let d = identity::with_clock(identity::fhir_read(&what, &f), left);
            record.failed(Step::Fhir, [d], core.now());
        }
    }
    record
}
