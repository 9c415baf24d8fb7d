//! Starting a launch: the EHR launch (`/launch?iss=…&launch=…`), the standalone launch of a
//! registration, and the ad-hoc form. All three end in [`begin`]: discovery, then the redirect
//! to the authorization endpoint.

use std::borrow::Cow;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::AppState;
use super::csrf::{self, Csrf};
use super::limit::Allowed;
use super::middleware::LaunchStarted;
use super::session::BrowserSession;
use super::{Problem, home, paths};
use crate::config::{
    AuthMethod, AuthorizeMethod, ClientAuth, Registration, Secret, normalize_iss, without_userinfo,
};
use crate::diagnosis::Diagnosis;
use crate::flow::start::{self, Started};
use crate::record::{AppRef, Owner, SealedApp};
use crate::smart::LaunchKind;
use crate::smart::net_policy::NetPolicy;

/// The scope of developer-mode launches of unregistered FHIR servers.
const UNREGISTERED_SCOPE: &str = "launch openid fhirUser patient/*.read";

pub use super::params::Params;

fn bad_launch(d: Diagnosis) -> Problem {
    Problem::diagnosed(StatusCode::BAD_REQUEST, d).link("Home", paths::HOME)
}

/// `GET /launch?iss=…&launch=…`: the EHR launch. An unregistered `iss` is never contacted.
pub async fn ehr(
    State(state): State<AppState>,
    _: Allowed,
    RawQuery(query): RawQuery,
    session: BrowserSession,
) -> Result<Response, Problem> {
    let params = Params::parse(query.as_deref());
    let iss = match params.one("iss") {
        Ok(Some(iss)) => iss,
        Ok(None) => {
            return Err(bad_launch(Diagnosis::new(
                id!("launch.missing_iss"),
                "The launch request carries no iss, so there is no FHIR server to launch against.",
            )));
        }
        Err(n) => {
            return Err(bad_launch(
                Diagnosis::new(
                    id!("launch.invalid_iss"),
                    format!("iss was given {n} times."),
                )
                .with(
                    "iss values",
                    params
                        .all("iss")
                        .iter()
                        .map(|i| without_userinfo(i))
                        .collect::<Vec<_>>()
                        .join(" | "),
                ),
            ));
        }
    };
    // A registered FHIR base as sent (the usual case) is already normalized: no URL to parse.
    let registered = state.config.registration_for_iss(iss);
    let normalized = match registered {
        Some(reg) => Ok(reg.iss.clone()),
        None => normalize_iss(iss),
    }
    .map_err(|why| {
        bad_launch(
            Diagnosis::new(
                id!("launch.invalid_iss"),
                format!("iss is not a usable FHIR base: {why}."),
            )
            // Never echo a user name or password given in the URL.
            .with("iss", without_userinfo(iss)),
        )
    })?;
    let (reg, app) = match registered.or_else(|| state.config.registration_for_iss(&normalized)) {
        Some(reg) => (Cow::Borrowed(reg), AppRef::Registered(reg.id.clone())),
        // Developer mode: a public client for any FHIR server, through the guarded client.
        None if state.config.allow_unregistered_iss => {
            let reg = Registration::simple(
                "unregistered",
                "Unregistered FHIR server (developer mode)",
                normalized.clone(),
                state.config.unregistered_client_id.clone(),
                ClientAuth::None,
                UNREGISTERED_SCOPE,
            );
            let app = AppRef::AdHoc(Box::new(SealedApp::seal(&reg, &state.sealer)));
            (Cow::Owned(reg), app)
        }
        None => return Err(bad_launch(not_registered(&state, &normalized))),
    };
    let launch = match params.one("launch") {
        Ok(Some(l)) => l.to_string(),
        Ok(None) | Err(_) => {
            return Err(bad_launch(
                Diagnosis::new(
                    id!("launch.missing_launch"),
                    "The EHR opened the app with an iss but without exactly one launch parameter.",
                )
                .with("iss", &normalized)
                .with("launch values", params.all("launch").len().to_string()),
            ));
        }
    };
    begin(&state, session, app, &reg, LaunchKind::Ehr, Some(launch)).await
}

/// Names registrations on the same host, so "wrong tenant" and "sandbox vs production" show.
fn not_registered(state: &AppState, iss: &str) -> Diagnosis {
    let host = url::Url::parse(iss)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string));
    let near: Vec<&str> = state
        .config
        .registrations
        .iter()
        .filter(|r| {
            url::Url::parse(&r.iss)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                == host
        })
        .map(|r| r.iss.as_str())
        .collect();
    let near = distinct(near);
    let mut d = Diagnosis::new(
        id!("launch.iss_not_registered"),
        "No registration matches this FHIR server, so the launch stops here; nothing was sent to it.",
    )
    .with("iss", iss)
    .with("Registered on the same host", near.join(", "));
    if near.is_empty() {
        let all: Vec<&str> = state
            .config
            .registrations
            .iter()
            .map(|r| r.iss.as_str())
            .collect();
        let all: Vec<&str> = distinct(all).into_iter().take(10).collect();
        d = d.with("Registered FHIR bases", all.join(", "));
    } else {
        d = d.with_first_cause(
            "Another path or tenant on a host that is registered: compare the two URLs",
        );
    }
    d
}

/// Each base once, in order: several registrations (e.g. `practice`, `practice-backend`) may
/// share one FHIR base.
fn distinct(bases: Vec<&str>) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::with_capacity(bases.len());
    for b in bases {
        if !out.contains(&b) {
            out.push(b);
        }
    }
    out
}

/// `GET /standalone/{id}`: a standalone launch of a configured registration.
pub async fn standalone(
    State(state): State<AppState>,
    _: Allowed,
    Path(id): Path<String>,
    session: BrowserSession,
) -> Result<Response, Problem> {
    let Some(reg) = state.config.registration(&id).cloned() else {
        return Err(Problem::unknown_registration(&id));
    };
    if reg.backend {
        // A Backend Services client has no sign-in: a launch would end at the EHR's error page.
        return Err(Problem::plain(
            StatusCode::BAD_REQUEST,
            "Not a launch",
            format!("{} is a Backend Services client: it has no sign-in to launch. Run it from the home page instead.", reg.name),
        )
        .link("Home", paths::HOME));
    }
    let app = AppRef::Registered(reg.id.clone());
    begin(&state, session, app, &reg, LaunchKind::Standalone, None).await
}

/// The ad-hoc form's fields. The secret is never echoed back.
#[derive(Deserialize, Default)]
pub struct AdHocForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub iss: String,
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub auth: String,
    #[serde(default)]
    pub client_secret: String,
    #[serde(default)]
    pub scope: String,
}

/// `POST /standalone`: a standalone launch of an app typed into the form.
pub async fn adhoc(
    State(state): State<AppState>,
    _: Allowed,
    headers: HeaderMap,
    csrf: Csrf,
    session: BrowserSession,
    form: Result<Form<AdHocForm>, FormRejection>,
) -> Result<Response, Problem> {
    let reg = match adhoc_registration(&state, &headers, csrf, form)? {
        Ok(reg) => reg,
        Err(page) => return Ok(page),
    };
    let app = AppRef::AdHoc(Box::new(SealedApp::seal(&reg, &state.sealer)));
    begin(&state, session, app, &reg, LaunchKind::Standalone, None).await
}

/// The ad-hoc form, checked: `Ok(Ok(registration))`, or `Ok(Err(page))` with the form again and
/// its errors (400), or a problem (form off, unreadable, CSRF token wrong). Shared by the
/// launch and the check of an ad-hoc app.
pub fn adhoc_registration(
    state: &AppState,
    headers: &HeaderMap,
    csrf: Csrf,
    form: Result<Form<AdHocForm>, FormRejection>,
) -> Result<Result<Registration, Response>, Problem> {
    if !state.config.adhoc_launch {
        return Err(Problem::plain(
            StatusCode::FORBIDDEN,
            "The ad-hoc form is off",
            "This server only launches and checks configured registrations (adhoc_launch = false).",
        ));
    }
    let Form(form) = form.map_err(Problem::unreadable_form)?;
    if !csrf::verify(state, headers, &form.csrf) {
        return Err(Problem::plain(StatusCode::FORBIDDEN, "Form expired", "The form's security token did not match this browser's session. Reload the home page and try again.").link("Home", paths::HOME));
    }
    let checked = validate_adhoc(&form).and_then(|reg| {
        // A registered FHIR base is trusted wherever it is (as `outbound_for` trusts its origin).
        let registered = state.config.registration_for_iss(&reg.iss).is_some();
        let policy = state.config.net_policy();
        match private_target(&form.iss, &reg.iss, &policy).filter(|_| !registered) {
            Some(why) => Err(vec![("iss".to_string(), why)]),
            None => Ok(reg),
        }
    });
    match checked {
        Ok(reg) => Ok(Ok(reg)),
        // The JSON twin of the form shown again: the same messages, per field.
        Err(errors) if super::problem::wants_json(headers) => {
            let mut p = Problem::plain(
                StatusCode::BAD_REQUEST,
                "Please correct the form",
                errors
                    .iter()
                    .map(|(f, m)| format!("{f}: {m}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            p.fields = errors;
            Err(p)
        }
        Err(errors) => Ok(Err(home::render_with_errors(state, csrf, &form, errors)?)),
    }
}

/// Why an ad-hoc FHIR base is refused before anything is sent: a literal address the policy
/// refuses (in any WHATWG form: `2130706433`, `0x7f.1`, `[::ffff:…]`) or `localhost`. `written`
/// is the base as typed, `iss` the normalized one. Names that resolve to refused addresses are
/// refused by the guarded resolver when the launch runs.
pub fn private_target(written: &str, iss: &str, policy: &NetPolicy) -> Option<String> {
    let url = url::Url::parse(iss).ok()?;
    let meant = match url.host()? {
        url::Host::Ipv4(ip) => policy.refuses(ip.into())?.to_string(),
        url::Host::Ipv6(ip) => policy.refuses(ip.into())?.to_string(),
        url::Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            let local = d == "localhost" || d.ends_with(".localhost");
            (local && !policy.allows_name(&d)).then_some(format!("{d} (loopback)"))?
        }
    };
    let host = url.host_str().unwrap_or_default();
    let written = without_userinfo(written.trim());
    Some(format!(
        "{host} is a loopback, private or link-local address ({written} as written; it means {meant}): this server does not contact those for apps typed into this form (net.private_target; allow_private_networks is off). Register the FHIR base in the configuration, or ask the administrator to allow private networks for a local test server"
    ))
}

pub fn validate_adhoc(f: &AdHocForm) -> Result<Registration, Vec<(String, String)>> {
    let mut errors = Vec::new();
    let iss = normalize_iss(&f.iss)
        .map_err(|e| errors.push(("iss".to_string(), e)))
        .unwrap_or_default();
    let client_id = f.client_id.trim();
    if client_id.is_empty() || client_id.len() > 512 {
        errors.push((
            "client_id".into(),
            "is required (at most 512 characters)".into(),
        ));
    }
    let auth = AuthMethod::parse(&f.auth).filter(|m| *m != AuthMethod::PrivateKeyJwt);
    if auth.is_none() {
        errors.push((
            "auth".into(),
            "choose none, client_secret_basic or client_secret_post".into(),
        ));
    }
    let needs_secret = auth.is_some_and(AuthMethod::uses_secret);
    if needs_secret && f.client_secret.is_empty() {
        errors.push((
            "client_secret".into(),
            "this method needs the client secret".into(),
        ));
    }
    let scope = f.scope.split_whitespace().collect::<Vec<_>>().join(" ");
    if scope.is_empty() {
        errors.push(("scope".into(), "is required".into()));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let secret = needs_secret.then(|| Secret::new(f.client_secret.clone()));
    // Built once here: a method without its secret cannot leave the form.
    let auth = ClientAuth::new(auth.unwrap_or(AuthMethod::None), secret, None)
        .map_err(|why| vec![("client_secret".to_string(), why)])?;
    let name = format!("Ad-hoc: {client_id}");
    let mut reg = Registration::simple("adhoc", name, iss, client_id, auth, &scope);
    // The form's scope is sent as typed, for a standalone launch.
    reg.standalone_scope = scope;
    Ok(reg)
}

/// Discovery, then the redirect to the authorization endpoint; one session write. A failure
/// before the redirect is stored as a finished launch and shown on its result page.
pub(super) async fn begin(
    state: &AppState,
    mut session: BrowserSession,
    app: AppRef,
    reg: &Registration,
    kind: LaunchKind,
    launch: Option<String>,
) -> Result<Response, Problem> {
    let owner = Owner {
        browser: session.browser_id(),
        request_id: session.request_id.clone(),
    };
    let started = start::start(&state.core, app, reg, kind, launch.as_deref(), owner).await;
    match started {
        Started::Redirect { url, flow, record } => {
            let started = LaunchStarted {
                launch: flow.launch_id.clone(),
                registration: reg.id.clone(),
            };
            session.data.launches.push(flow.launch_id.clone());
            session.data.flows.push(flow);
            // Both before the redirect (the callback must find them), side by side. A pending
            // record the store cannot take waits in memory for it; lost, it is logged and the
            // browser's session still knows the launch.
            let (saved, kept) = tokio::join!(session.save(), state.store.keep_pending(record));
            if matches!(kept, crate::store::Kept::Lost(_)) {
                state.metrics.store_error("launch");
            }
            saved?;
            let mut resp = match reg.authorize_method {
                AuthorizeMethod::Get => Redirect::to(&url).into_response(),
                AuthorizeMethod::Post => super::authorize_post::page(&url)?,
            };
            resp.extensions_mut().insert(started);
            Ok(resp)
        }
        Started::Failed(record) => {
            state
                .store
                .put_launch(&record)
                .await
                .map_err(|e| Problem::store(&e))?;
            session.data.launches.push(record.id().to_string());
            session.save().await?;
            Ok(Redirect::to(&paths::launch_result(record.id())).into_response())
        }
    }
}
