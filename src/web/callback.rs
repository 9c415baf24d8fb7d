//! `GET /callback`: the redirect URI. Checks the state (this browser's, single use: removed
//! before anything else), handles an `error`, exchanges the code, records the result and answers
//! 303 to the result page so the code leaves the address bar.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::complete;
use super::launch::Params;
use super::session::{BrowserSession, cookie_present};
use super::{Problem, paths};
use crate::diagnosis::Diagnosis;
use crate::diagnosis::classify;
use crate::record::{LaunchRecord, PendingFlow, now, state_hash};
use crate::smart::Step;
use crate::state::AppState;

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
    let Ok(Some(state_param)) = params.one("state") else {
        let d = Diagnosis::new(
            id!("callback.missing_state"),
            "The callback carries no single state value, so it cannot be tied to a launch.",
        )
        .with("Parameters received", param_names(&params));
        return Err(relaunch(StatusCode::BAD_REQUEST, d));
    };
    let hash = state_hash(state_param);
    // Single use: take the flow out of the session and save before doing anything with it.
    let flow = match session.data.flows.iter().position(|f| f.state_hash == hash) {
        Some(i) => session.data.flows.remove(i),
        None => return Err(unmatched_state(&session, &headers, &hash)),
    };
    session.save().await?;
    if !state.consumed.consume(&hash) {
        return Err(reused(&flow.launch_id));
    }
    let Some(mut record) = session.launch(&flow.launch_id).cloned() else {
        return Err(relaunch(
            StatusCode::BAD_REQUEST,
            Diagnosis::new(
                id!("callback.unknown_state"),
                "The launch this state belonged to is no longer kept.",
            ),
        ));
    };
    complete(&state, &flow, &params, &mut record).await;
    tracing::info!(launch = %record.id, outcome = ?record.outcome, step = record.step.as_str(), "launch finished");
    let id = record.id.clone();
    if let Some(slot) = session.launch_mut(&id) {
        *slot = record;
    }
    session.data.completed.push((hash, id.clone()));
    // A new session id once tokens are held (session fixation).
    session.cycle_id().await?;
    session.save().await?;
    Ok(Redirect::to(&paths::launch_result(&id)).into_response())
}

fn param_names(params: &Params) -> String {
    ["code", "state", "error", "iss"]
        .iter()
        .filter(|n| !params.all(n).is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(", ")
}

fn reused(launch_id: &str) -> Problem {
    relaunch(
        StatusCode::BAD_REQUEST,
        Diagnosis::new(
            id!("callback.state_reused"),
            "This callback was already used; its code cannot be exchanged twice.",
        ),
    )
    .link("The launch it completed", paths::launch_result(launch_id))
}

/// Tells apart: no cookie at all, a state this browser already completed, a browser with no
/// launch in progress, and one whose launches have other states.
fn unmatched_state(session: &BrowserSession, headers: &HeaderMap, hash: &str) -> Problem {
    if let Some((_, id)) = session.data.completed.iter().find(|(h, _)| h == hash) {
        return reused(id);
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

/// Fills `record` from the callback parameters and, when there is a code, the token exchange.
async fn complete(
    state: &AppState,
    flow: &PendingFlow,
    params: &Params,
    record: &mut LaunchRecord,
) {
    record.step = Step::Callback;
    let first = |n: &str| params.all(n).first().map(|s| s.to_string());
    if let (Some(got), Some(expected)) = (first("iss"), flow.issuer.as_deref())
        && got != expected
    {
        let d = Diagnosis::new(
            id!("callback.issuer_mismatch"),
            "The authorization response names another issuer than discovery did (RFC 9207).",
        )
        .with("iss received", got)
        .with("issuer expected", expected);
        record.fail(Step::Callback, [d], now());
        return;
    }
    if let Some(error) = first("error") {
        let d = classify::authorize_error(
            &error,
            first("error_description").as_deref(),
            first("error_uri").as_deref(),
        );
        record.fail(Step::Authorize, [d], now());
        return;
    }
    let Some(code) = first("code").filter(|c| !c.is_empty()) else {
        let d = Diagnosis::new(
            id!("callback.missing_code"),
            "The callback carries neither a code nor an error.",
        )
        .with("Parameters received", param_names(params));
        record.fail(Step::Callback, [d], now());
        return;
    };
    complete::exchange(state, flow, &code, record).await;
}
