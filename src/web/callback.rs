//! `GET /callback`: the redirect URI. Checks the state (this browser's, single use: consumed in
//! the shared store before anything else, so concurrent replays on any instance make one token
//! request), hands the rest to `flow::callback` in a task of its own (see `inflight`), keeps the
//! record and answers 303 to the result page so the code leaves the address bar. When the store
//! does not take the record, the result page is the answer itself, rendered from memory.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::AppState;
use super::launch::Params;
use super::results;
use super::session::{BrowserSession, cookie_present};
use super::twin::report_of;
use super::waiting::{Finished, finish_or_wait};
use super::{Problem, paths};
use crate::diagnosis::Diagnosis;
use crate::flow::callback::CallbackParams;
use crate::record::Owner;
use crate::record::{LaunchRecord, Outcome, state_hash};
use crate::store::{Consumed, Kept};

fn relaunch(status: StatusCode, d: Diagnosis) -> Problem {
    Problem::diagnosed(status, d)
        .link("Start again", paths::HOME)
        .link("Your launches", paths::LAUNCHES)
}

pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    mut session: BrowserSession,
) -> Result<Response, Problem> {
    let params = Params::parse(query.as_deref());
    let state_param = match params.one("state") {
        Ok(Some(s)) => s,
        found => {
            let summary = match found {
                Err(n) => format!(
                    "The callback carries {n} state values; it must carry exactly one, so it cannot be tied to a launch."
                ),
                _ => "The callback carries no state, so it cannot be tied to a launch.".into(),
            };
            let duplicated = found.is_err();
            let d = with_error_received(
                Diagnosis::new(id!("callback.missing_state"), summary)
                    .with("Parameters received", param_names(&params)),
                &params,
            );
            let mut problem = relaunch(StatusCode::BAD_REQUEST, d);
            if duplicated {
                // Same diagnosis (no single state to match), but the headline names what came.
                problem.title = "The callback carries more than one state".into();
            }
            return Err(problem);
        }
    };
    let hash = state_hash(state_param);
    let Some(i) = session.data.flows.iter().position(|f| f.state_hash == hash) else {
        let problem = unmatched_state(&state, &session, &headers, &hash).await;
        return Err(problem.map_diagnoses(|d| with_error_received(d, &params)));
    };
    let flow = session.data.flows.remove(i);
    // Single use across instances: the first to consume the state goes on, every other stops.
    match state
        .store
        .consume_state(&hash, &flow.launch_id)
        .await
        .map_err(|e| Problem::store(&e))?
    {
        Consumed::Now => {}
        Consumed::Before(id) => return already_completed(&state, &id, session.owns(&id)).await,
    }
    let first = |n: &str| params.all(n).first().map(|s| s.to_string());
    let answer = CallbackParams {
        iss: first("iss"),
        error: first("error"),
        error_description: first("error_description"),
        error_uri: first("error_uri"),
        code: first("code"),
        names: param_names(&params),
    };
    let owner = Owner {
        browser: session.browser_id(),
        request_id: session.request_id.clone(),
    };
    // In a task of its own: finished and kept even if this browser goes away meanwhile. A slow
    // EHR gets a waiting page after a moment instead of a browser left hanging.
    let id = flow.launch_id.clone();
    let running = state
        .callbacks
        .complete(&state, flow.clone(), answer, owner.clone());
    let (record, kept) = match finish_or_wait(&state, &flow, owner, running).await {
        Finished::Now(record, kept) => (record, kept),
        Finished::Later(kept) => {
            if matches!(kept, None | Some(Kept::Stored)) {
                session.cycle_id().await?;
                session.save().await?;
            }
            let to = format!("{}?since={}", paths::launch_result(&id), state.core.now());
            return Ok(Redirect::to(&to).into_response());
        }
        Finished::Failed => {
            return Err(Problem::store(&crate::store::StoreError(
                "the callback task failed".into(),
            )));
        }
    };
    match kept {
        Kept::Stored => {
            // A new session id once tokens are held (session fixation); one session write.
            session.cycle_id().await?;
            session.save().await?;
            Ok(Redirect::to(&paths::launch_result(record.id())).into_response())
        }
        // The store did not take it: the browser gets its result from memory, and the session
        // is left as it was (writing it would fail the same way).
        Kept::Waiting => results::from_memory(&state, &headers, record, false),
        Kept::Lost(_) => results::from_memory(&state, &headers, record, true),
    }
}

/// A state this browser's pending launch `id` already used: the first callback's answer never
/// reached it (the store failed, the connection dropped, a reload). The result it made is
/// shown once kept (waiting for it here while it is in flight); else the state counts as reused.
/// A state used before: this browser's own launch goes to its result once there is one (a retry
/// or Back never reads "already used" for a result that exists); another browser is told.
async fn already_completed(state: &AppState, id: &str, own: bool) -> Result<Response, Problem> {
    if own {
        state.callbacks.wait(id).await;
        if let Ok(Some(r)) = state.store.launch(id).await
            && report_of(state, LaunchRecord::clone(&r)).outcome() != Outcome::Pending
        {
            return Ok(Redirect::to(&paths::launch_result(id)).into_response());
        }
    }
    Err(reused(id, own))
}

fn param_names(params: &Params) -> String {
    ["code", "state", "error", "iss"]
        .iter()
        .filter(|n| !params.all(n).is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(", ")
}

/// An authorization error that came with a callback we cannot place is still shown.
fn with_error_received(d: Diagnosis, params: &Params) -> Diagnosis {
    let first = |n: &str| {
        params
            .all(n)
            .first()
            .map(|s| s.to_string())
            .unwrap_or_default()
    };
    d.with("error received", first("error"))
        .with("error_description received", first("error_description"))
}

/// A callback whose state was used before. When this browser made that launch it is the Back
/// button after a finished sign-in: a neutral page that leads to the result, not an alarm.
fn reused(launch_id: &str, own: bool) -> Problem {
    if own {
        return super::views::sign_in_finished(launch_id);
    }
    relaunch(
        StatusCode::BAD_REQUEST,
        Diagnosis::new(
            id!("callback.state_reused"),
            "This callback was already used; its code cannot be exchanged twice.",
        ),
    )
    .link("The launch it completed", paths::launch_result(launch_id))
}

/// Tells apart: a state already used (by any browser), no cookie at all, a browser with no
/// launch in progress, and one whose launches have other states.
async fn unmatched_state(
    state: &AppState,
    session: &BrowserSession,
    headers: &HeaderMap,
    hash: &str,
) -> Problem {
    if let Ok(Some(id)) = state.store.consumed_by(hash).await {
        return reused(&id, session.owns(&id));
    }
    if !cookie_present(headers) {
        let d = Diagnosis::new(id!("callback.no_session"), "The browser sent no session cookie with the callback, so it cannot be tied to a launch.")
            .with("Cookie", "absent");
        return relaunch(StatusCode::BAD_REQUEST, d);
    }
    if session.data.flows.is_empty() {
        let d = Diagnosis::new(
            id!("callback.unknown_state"),
            "This browser has no launch in progress with that state.",
        )
        .with("Launches in progress in this browser", "0");
        return relaunch(StatusCode::BAD_REQUEST, d);
    }
    let d = Diagnosis::new(
        id!("callback.state_mismatch"),
        "The state differs from every launch this browser started.",
    )
    .with(
        "Launches in progress in this browser",
        session.data.flows.len().to_string(),
    );
    relaunch(StatusCode::BAD_REQUEST, d)
}
