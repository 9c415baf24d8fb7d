//! `GET /launches` and `GET /launches/{id}`: this browser's launches and one result, as a page
//! or, for `Accept: application/json`, as the same facts in JSON. Another browser gets 404.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use serde_json::Value;

use super::csrf::Csrf;
use super::launch::Params;
use super::problem::wants_json;
use super::session::BrowserSession;
use super::twin::{gate_for, report_of, result_json, through_gate};
use super::{Problem, paths};
use std::sync::Arc;

use super::AppState;
use crate::flow;
use crate::record::{LaunchRecord, PendingFlow};

mod downloads;
mod list;
mod page;
pub use downloads::{report_json, report_md};
pub use list::list;

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
    if let Some(r) = stored.filter(|r| r.owner() == session.data.browser) {
        return Ok(r);
    }
    match session.flow(id) {
        Some(f) => pending(state, f, &session.data.browser)
            .await
            .map(Arc::new)
            .ok_or_else(no_such_launch),
        None => Err(no_such_launch()),
    }
}

/// A launch with no record yet, as it stands: waiting for its callback, or, once it is late
/// and its state was used, failed with `callback.result_not_kept`: the callback came back but
/// its result was lost (store down, server killed), so it did not "never return".
async fn pending(state: &AppState, f: &PendingFlow, browser: &str) -> Option<LaunchRecord> {
    let owner = crate::record::Owner {
        browser: browser.to_string(),
        request_id: f.request_id.clone(),
    };
    let r = flow::pending_view(&state.core, f, owner).await?;
    let late =
        state.core.now() - f.created_at >= state.config.never_returned_after.as_secs() as i64;
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
            .find(|r| r.id() == id && r.owner() == session.data.browser)
        {
            Some(r) => out.push(r.clone()),
            None => {
                if let Some(f) = session.flow(id) {
                    out.extend(pending(state, f, &session.data.browser).await.map(Arc::new));
                }
            }
        }
    }
    Ok(out)
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

/// The result page (or its JSON twin) of `found`, from its report.
fn render(
    state: &AppState,
    found: Arc<LaunchRecord>,
    query: Option<&str>,
    headers: &HeaderMap,
    csrf: Option<&str>,
    notice: Option<&'static str>,
) -> Result<Response, Problem> {
    let gate = gate_for(&state.config, &state.sealer, &found);
    let shown = through_gate(&found, &gate);
    let report = report_of(state, shown.record);
    let params = Params::parse(query);
    let reveal = params.all("reveal").contains(&"tokens");
    if wants_json(headers) || params.all("format").contains(&"json") {
        let mut json = result_json(&report, shown.access_jwt.as_ref(), reveal, &gate);
        if let (Some(n), Value::Object(map)) = (notice, &mut json) {
            map.insert("not_stored".into(), Value::String(n.into()));
        }
        return Ok(Json(json).into_response());
    }
    let view = page::View {
        report: &report,
        access_jwt: shown.access_jwt.as_ref(),
        params: &params,
        reveal,
        gate: &gate,
        csrf,
        notice,
    };
    super::views::render_page(&page::build(state, view))
}
