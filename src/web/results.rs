//! `GET /launches` and `GET /launches/{id}`: this browser's launches and one result, as a page
//! or, for `Accept: application/json`, as the same facts in JSON. Another browser gets 404.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use serde_json::{Value, json};

use super::csrf::Csrf;
use super::launch::Params;
use super::problem::wants_json;
use super::session::BrowserSession;
use super::twin::{gate_for, headline, result_json, through_gate};
use super::views::{self, IdentityView, LaunchRow, LaunchesPage, RefreshView, ResultPage};
use super::{Problem, paths, words};
use std::sync::Arc;

use super::AppState;
use crate::config::PRACTICE_ID;
use crate::diagnosis::transcript::Exchange;
use crate::diagnosis::{Diagnosis, report};
use crate::flow;
use crate::record::{AppRef, LaunchRecord, Outcome, PendingFlow, now};
use crate::smart::{LaunchKind, Step};

fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Pending => "pending",
        Outcome::Success => "success",
        Outcome::Error => "error",
    }
}

fn kind_str(k: LaunchKind) -> &'static str {
    match k {
        LaunchKind::Ehr => "EHR launch",
        LaunchKind::Standalone => "standalone launch",
        LaunchKind::Backend => "Backend Services run",
    }
}

/// The launch as it stands now: a launch still pending after `never_returned_after_seconds`
/// has failed (`authorize.never_returned`), so its headline, step bar, JSON `outcome` and
/// diagnoses all say so. Returns the record to show and its diagnoses.
fn as_of_now(state: &AppState, r: &LaunchRecord) -> Option<LaunchRecord> {
    let wait = state.config.never_returned_after.as_secs() as i64;
    // A launch pending at the token step came back: its exchange is still running (waiting).
    if r.outcome != Outcome::Pending
        || super::waiting::is_exchanging(r)
        || now() - r.started_at < wait
    {
        return None;
    }
    let mut out = r.clone();
    out.outcome = Outcome::Error;
    out.diagnoses.push(
        Diagnosis::new(
            id!("authorize.never_returned"),
            format!("The browser went to the authorization server and did not come back to the callback within {wait} seconds."),
        )
        .with("redirect_uri sent", &r.redirect_uri)
        .with("client_id sent", &r.app.client_id)
        .with("Started", views::format_time(r.started_at)),
    );
    Some(out)
}

/// `r` with the failure that time alone brings (see [`as_of_now`]) applied in place, and, for a
/// launch that stopped at the authorize or callback step, the authorization request as a
/// transcript entry: the browser sent it, not this server, but it is what failed.
fn settle(state: &AppState, r: &mut LaunchRecord) {
    if let Some(now) = as_of_now(state, r) {
        *r = now;
    }
    let stopped_there = r.outcome != Outcome::Success
        && matches!(r.step, Step::Authorize | Step::Callback)
        && !r.transcript.iter().any(|x| x.step == "authorize");
    if let Some(url) = r.authorize_url.clone().filter(|_| stopped_there) {
        let at = r
            .transcript
            .iter()
            .position(|x| x.step != "discovery" && x.step != "launch")
            .unwrap_or(r.transcript.len());
        r.transcript.insert(at, authorize_entry(url));
    }
}

/// The authorization request as the browser sent it (state and PKCE verifier never kept).
fn authorize_entry(url: String) -> Exchange {
    Exchange {
        step: "authorize".into(),
        method: "GET".into(),
        url,
        request_headers: Vec::new(),
        request_body: None,
        status: None,
        response_headers: Vec::new(),
        response_body: None,
        duration_ms: 0,
        error: Some(AUTHORIZE_NOTE.into()),
        cached: false,
    }
}

/// What the authorize entry is, in its own words.
const AUTHORIZE_NOTE: &str = "Sent by the browser, not by this server: the EHR answered the browser (its sign-in page, its error page, or a redirect to the callback). The state is shown as [not kept] and the PKCE verifier is never shown; Launch again makes a fresh pair. To retry by hand, open the URL in a browser.";

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    session: BrowserSession,
) -> Result<Response, Problem> {
    let all = this_browsers_launches(&state, &session).await?;
    let settled: Vec<LaunchRecord> = all
        .iter()
        .map(|r| as_of_now(&state, r).unwrap_or_else(|| r.as_ref().clone()))
        .collect();
    let launches: Vec<&LaunchRecord> = settled.iter().collect();
    if wants_json(&headers)
        || Params::parse(query.as_deref())
            .all("format")
            .contains(&"json")
    {
        let items: Vec<Value> = launches
            .iter()
            .map(|r| {
                json!({"id": r.id, "outcome": r.outcome, "step": r.step, "kind": r.kind, "registration": r.app,
                       "started_at": r.started_at, "diagnoses": r.diagnoses.iter().map(|d| d.id()).collect::<Vec<_>>()})
            })
            .collect();
        return Ok(Json(json!({ "launches": items })).into_response());
    }
    let rows = launches
        .iter()
        .map(|r| LaunchRow {
            href: paths::launch_result(&r.id),
            name: r.app.name.clone(),
            kind: kind_str(r.kind),
            started: views::format_time(r.started_at),
            outcome: outcome_str(r.outcome),
            step: r.step.as_str(),
            ids: words::ids_line(&r.diagnoses),
        })
        .collect();
    views::render_page(&LaunchesPage { rows })
}

/// The result's heading: what happened in plain words; a failure names its step second.
fn result_title(r: &LaunchRecord, ranked: &[&Diagnosis]) -> String {
    let what = if r.backend.is_some() {
        "Backend Services run"
    } else {
        "Launch"
    };
    match r.outcome {
        // The sign-in worked; a refresh that failed since is said in the same breath.
        Outcome::Success
            if r.refreshes
                .last()
                .is_some_and(|f| f.outcome == Outcome::Error) =>
        {
            format!("{what} succeeded; the last token refresh failed")
        }
        Outcome::Success => format!("{what} succeeded"),
        Outcome::Pending => format!("{what} in progress"),
        Outcome::Error => {
            let top = ranked.iter().find(|d| d.is_error()).map(|d| d.id());
            words::failure_headline(r.step, top)
        }
    }
}

fn no_such_launch() -> Problem {
    Problem::plain(
        StatusCode::NOT_FOUND,
        "No such launch",
        "This browser has no launch with this id. Results are visible only to the browser that made the launch.",
    )
    .link("Your launches", paths::LAUNCHES)
}

/// This browser's launch `id`: its stored record, or its pending flow shown as one.
pub(super) async fn find(
    state: &AppState,
    session: &BrowserSession,
    id: &str,
) -> Result<Arc<LaunchRecord>, Problem> {
    if !session.owns(id) {
        return Err(no_such_launch());
    }
    let stored = state
        .store
        .launch(id)
        .await
        .map_err(|e| Problem::store(&e))?;
    let stored = state.settler.on_read_one(stored).await;
    if let Some(r) = stored.filter(|r| r.owner == session.data.browser) {
        return Ok(r);
    }
    match session.flow(id) {
        Some(f) => pending(state, f)
            .await
            .map(Arc::new)
            .ok_or_else(no_such_launch),
        None => Err(no_such_launch()),
    }
}

/// A launch with no record yet, as it stands: waiting for its callback, or, once it is late
/// and its state was used, failed with `callback.result_not_kept`: the callback came back but
/// its result was lost (store down, server killed), so it did not "never return".
async fn pending(state: &AppState, f: &PendingFlow) -> Option<LaunchRecord> {
    let r = flow::pending_view(&state.core, f).await?;
    let late = now() - f.created_at >= state.config.never_returned_after.as_secs() as i64;
    if late && let Ok(Some(_)) = state.store.consumed_by(&f.state_hash).await {
        return Some(flow::callback::not_kept(r));
    }
    Some(r)
}

/// This browser's launches, newest first: one read of the launch store for all of them.
async fn this_browsers_launches(
    state: &AppState,
    session: &BrowserSession,
) -> Result<Vec<Arc<LaunchRecord>>, Problem> {
    let ids = &session.data.launches;
    let stored = state
        .store
        .launches(ids)
        .await
        .map_err(|e| Problem::store(&e))?;
    let stored = state.settler.on_read(stored).await;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids.iter().rev() {
        match stored
            .iter()
            .find(|r| &r.id == id && r.owner == session.data.browser)
        {
            Some(r) => out.push(r.clone()),
            None => {
                if let Some(f) = session.flow(id) {
                    out.extend(pending(state, f).await.map(Arc::new));
                }
            }
        }
    }
    Ok(out)
}

/// A report is meant to be shared: without patient and user details unless the owner asks for
/// them (`?reveal=patient`).
fn shareable(found: Arc<LaunchRecord>, query: Option<&str>) -> Arc<LaunchRecord> {
    if Params::parse(query).all("reveal").contains(&"patient") {
        found
    } else {
        Arc::new(crate::phi::minimized(&found))
    }
}

/// `report.json`: the JSON twin, tokens always redacted, as a download.
pub async fn report_json(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    session: BrowserSession,
) -> Result<Response, Problem> {
    let found = shareable(find(&state, &session, &id).await?, query.as_deref());
    let gate = gate_for(&state.config, &state.sealer, &found);
    let mut shown = through_gate(&found, &gate);
    settle(&state, &mut shown.record);
    let r = &shown.record;
    let body = serde_json::to_string_pretty(&result_json(&shown, &r.diagnoses, false, &gate))
        .unwrap_or_default();
    Ok(download(
        "application/json",
        &download_name(&id, query.as_deref(), "json"),
        body,
    ))
}

/// `report.md`: the launch as Markdown for a support forum.
pub async fn report_md(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    session: BrowserSession,
) -> Result<Response, Problem> {
    let found = shareable(find(&state, &session, &id).await?, query.as_deref());
    let gate = gate_for(&state.config, &state.sealer, &found);
    let mut r = through_gate(&found, &gate).record;
    settle(&state, &mut r);
    let r = &r;
    let md = gate.scrub(&report::markdown(
        r,
        &r.diagnoses,
        &views::format_time(r.started_at),
    ));
    Ok(download(
        "text/markdown; charset=utf-8",
        &download_name(&id, query.as_deref(), "md"),
        md,
    ))
}

/// `launch-{id}-redacted.json`, or `launch-{id}-with-patient.json` when the owner asked for the
/// patient and user details: the two never overwrite each other, and the name warns before a
/// file with a patient's name is posted anywhere.
fn download_name(id: &str, query: Option<&str>, ext: &str) -> String {
    let which = if Params::parse(query).all("reveal").contains(&"patient") {
        "with-patient"
    } else {
        "redacted"
    };
    format!("launch-{id}-{which}.{ext}")
}

fn download(content_type: &'static str, filename: &str, body: String) -> Response {
    let disposition = format!("attachment; filename=\"{filename}\"");
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

/// Where "Launch again" goes: the same standalone launch of a configured registration; for an
/// EHR launch the practice EHR's chart (a real EHR's launch code cannot be reused) or home; the
/// form for an ad-hoc app (its values are not kept in a URL).
fn again(state: &AppState, r: &LaunchRecord) -> (String, String) {
    let registered = match &r.app_ref {
        Some(AppRef::Registered(id)) => state.config.registration(id),
        _ => None,
    };
    match (registered, r.kind) {
        (Some(reg), LaunchKind::Standalone) => (
            paths::standalone(&reg.id),
            format!("Launch {} again", reg.name),
        ),
        (Some(reg), LaunchKind::Ehr) if state.practice.is_some() && reg.id == PRACTICE_ID => (
            paths::PRACTICE_EHR_PAGE.to_string(),
            "Launch again from the practice EHR".into(),
        ),
        // A gallery entry's registration is made per run, named `gallery-{entry}`.
        (None, _) if r.app.id.starts_with("gallery-") => (
            format!("{}#{}", paths::GALLERY, r.app.id),
            "Run this gallery entry again".into(),
        ),
        (_, LaunchKind::Ehr) => (paths::HOME.to_string(), "Launch again from your EHR".into()),
        _ => (paths::HOME.to_string(), "Launch again".into()),
    }
}

pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    csrf: Csrf,
    session: BrowserSession,
) -> Result<Response, Problem> {
    let found = find(&state, &session, &id).await?;
    let page = render(
        &state,
        found,
        query.as_deref(),
        &headers,
        Some(&csrf.token),
        None,
    )?;
    Ok(csrf.attach(&state.config, page))
}

/// What the callback answers when the store did not take its result: the result page itself,
/// from memory, saying so (`lost`: not even kept to write later). No refresh form: refreshing
/// needs the stored record.
pub(super) fn from_memory(
    state: &AppState,
    headers: &HeaderMap,
    record: LaunchRecord,
    lost: bool,
) -> Result<Response, Problem> {
    let notice = if lost {
        "This result could not be kept: the launch store did not answer and this server had no room left to hold it. The EHR answered (tokens shown below were issued); this page is the only copy. Start the launch again for a result you can come back to."
    } else {
        "The launch store did not answer, so this result is shown from this server's memory. It is kept here and written to the store as soon as the store answers again; until then it may be missing from Your launches, and it is lost if this server stops first."
    };
    let mut resp = render(state, Arc::new(record), None, headers, None, Some(notice))?;
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(resp)
}

/// The result page (or its JSON twin) of `found`.
fn render(
    state: &AppState,
    found: Arc<LaunchRecord>,
    query: Option<&str>,
    headers: &HeaderMap,
    csrf: Option<&str>,
    notice: Option<&'static str>,
) -> Result<Response, Problem> {
    let gate = gate_for(&state.config, &state.sealer, &found);
    let mut shown = through_gate(&found, &gate);
    settle(state, &mut shown.record);
    let r = &shown.record;
    let params = Params::parse(query);
    let reveal = params.all("reveal").contains(&"tokens");
    let diagnoses = r.diagnoses.clone();
    if wants_json(headers) || params.all("format").contains(&"json") {
        let mut json = result_json(&shown, &diagnoses, reveal, &gate);
        if let (Some(n), Value::Object(map)) = (notice, &mut json) {
            map.insert("not_stored".into(), Value::String(n.into()));
        }
        return Ok(Json(json).into_response());
    }
    let token_fields = |t: &serde_json::Map<String, Value>| {
        let mut t = Value::Object(t.clone());
        if reveal {
            gate.mask_claims(&mut t);
        }
        match t {
            Value::Object(t) => views::token_fields(&t, reveal),
            _ => Vec::new(),
        }
    };
    let granted = r
        .token_response
        .as_ref()
        .and_then(|t| t.get("scope"))
        .and_then(Value::as_str);
    let expires = r
        .token_response
        .as_ref()
        .and_then(|t| t.get("expires_in"))
        .and_then(Value::as_i64)
        .map(|s| {
            let at = r.finished_at.unwrap_or(r.started_at) + s;
            (at, views::format_time(at))
        });
    let ranked = words::ranked(&diagnoses);
    let page = ResultPage {
        r,
        title: result_title(r, &ranked),
        headline: headline(r, &diagnoses),
        outcome: outcome_str(r.outcome),
        kind: kind_str(r.kind),
        started: views::format_time(r.started_at),
        steps: views::steps(r),
        errors: ranked.iter().copied().filter(|d| d.is_error()).collect(),
        warnings: ranked
            .iter()
            .copied()
            .filter(|d| !d.is_error() && !words::is_note(d))
            .collect(),
        notes: ranked
            .iter()
            .copied()
            .filter(|d| words::is_note(d))
            .collect(),
        exchanging: super::waiting::is_exchanging(r).then(|| {
            let since = params.one("since").ok().flatten();
            let since = since.and_then(|s| s.parse::<i64>().ok());
            since.map_or(0, |s| (now() - s).max(0))
        }),
        timeout_secs: state.config.http.timeout.as_secs(),
        personal: r.patient.is_some() || r.identity.is_some() || r.encounter.is_some(),
        fields: r
            .token_response
            .as_ref()
            .map(token_fields)
            .unwrap_or_default(),
        scopes: if r.token_response.is_some() {
            views::scope_rows(&r.requested_scope, granted)
        } else {
            Vec::new()
        },
        expires,
        reveal,
        wait_seconds: state.config.never_returned_after.as_secs(),
        again: again(state, r),
        has_tokens: r.token_response.is_some(),
        transcript: &r.transcript,
        self_href: paths::launch_result(&r.id),
        curl: (r.outcome == Outcome::Error)
            .then(|| report::failing_exchange(r).map(report::curl))
            .flatten(),
        retry_url: r
            .transcript
            .iter()
            .find(|x| x.step == "authorize" && x.status.is_none())
            .map(|x| x.url.clone()),
        reports: paths::reports(&r.id),
        identity: r.identity.as_ref().map(|i| IdentityView {
            verified: i.id_token.verified,
            fhir_user: i.id_token.fhir_user.clone().unwrap_or_default(),
            unverified_fhir_user: if i.id_token.verified {
                String::new()
            } else {
                i.id_token.claims["fhirUser"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            },
            user: i.user.clone(),
            header: views::pretty(&i.id_token.header),
            claims: views::pretty(&i.id_token.claims),
        }),
        patient: r.patient.as_ref(),
        encounter: r.encounter.as_ref(),
        access_jwt: shown
            .access_jwt
            .as_ref()
            .map(|(h, c)| (views::pretty(h), views::pretty(c))),
        refreshes: r
            .refreshes
            .iter()
            .map(|f| RefreshView {
                at: views::format_time(f.at),
                outcome: outcome_str(f.outcome),
                fields: f
                    .token_response
                    .as_ref()
                    .map(token_fields)
                    .unwrap_or_default(),
                diagnoses: &f.diagnoses,
            })
            .collect(),
        refresh_form: csrf
            .filter(|_| r.newest("refresh_token").is_some())
            .map(|token| (paths::refresh(&r.id), token.to_string())),
        extra: super::scorecard::LaunchExtras::of(r),
        notice,
    };
    views::render_page(&page)
}
