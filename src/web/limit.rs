//! A per-client-IP rate limit on the routes that start outbound work (launches, checks, gallery
//! runs), by `governor`'s GCRA: `per_minute` requests at once, then one more every
//! `60 / per_minute` seconds. Over the limit: 429 with `Retry-After`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Extensions, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter as Gcra};

use super::AppState;
use super::Problem;

/// Checks between sweeps of the addresses whose allowance has fully refilled.
const SWEEP_EVERY: usize = 1_024;

/// governor's keyed limiter: one GCRA state per address in a mutex-guarded map.
type PerAddress<C> =
    Gcra<IpAddr, DefaultKeyedStateStore<IpAddr>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The allowance of each address; `C` is a fake clock in tests.
pub struct RateLimiter<C: Clock = DefaultClock> {
    /// `None`: the limit is off.
    gcra: Option<PerAddress<C>>,
    checks: AtomicUsize,
}

impl RateLimiter {
    /// `per_minute` = 0 turns the limit off.
    pub fn new(per_minute: u32) -> Self {
        Self::with_clock(per_minute, DefaultClock::default())
    }
}

impl<C: Clock> RateLimiter<C> {
    fn with_clock(per_minute: u32, clock: C) -> Self {
        RateLimiter {
            gcra: NonZeroU32::new(per_minute).map(|n| {
                Gcra::new(
                    Quota::per_minute(n),
                    DefaultKeyedStateStore::default(),
                    clock,
                )
            }),
            checks: AtomicUsize::new(0),
        }
    }

    /// `Err(seconds to wait)` when `ip` is over the limit.
    pub fn hit(&self, ip: IpAddr) -> Result<(), u64> {
        let Some(gcra) = &self.gcra else {
            return Ok(());
        };
        // Forget addresses that are back to a full allowance, so memory stays bounded.
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            gcra.retain_recent();
            gcra.shrink_to_fit();
        }
        gcra.check_key(&ip).map_err(|not_until| {
            let wait = not_until.wait_time_from(gcra.clock().now());
            // Whole seconds, rounded up: retrying after `Retry-After` must succeed.
            (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
        })
    }

    /// Addresses currently remembered.
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.gcra.as_ref().map_or(0, |g| g.len())
    }
}

/// Requests to the practice EHR allowed per launch of the limit: a launch makes about eight
/// (discovery, authorize, sign-in, token, keys, reads), so the practice EHR stays usable for as
/// many launches as the limit allows, and no more.
pub const PRACTICE_REQUESTS_PER_LAUNCH: u32 = 8;

fn peer(extensions: &Extensions) -> IpAddr {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .or_else(|| {
            extensions
                .get::<ConnectInfo<super::listener::Peer>>()
                .map(|c| c.0.0.ip())
        })
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// The practice EHR's limit: every request under `/practice`, per client IP (429 +
/// `Retry-After`, as plain text: it is the other side of the wire).
pub async fn limit_practice(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ip = peer(req.extensions());
    match state.practice_limiter.hit(ip) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            tracing::warn!(%ip, "practice EHR rate limit reached");
            state.metrics.rate_limited("practice");
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, wait.to_string())],
                "too many requests to the practice EHR",
            )
                .into_response()
        }
    }
}

/// A request within its address's launch allowance, by the peer address of the connection
/// (proxies' headers are not trusted). Taken first by every page handler that starts outbound
/// work (launches, checks, gallery and Backend Services runs): an extractor, not a layer around
/// those routes, which would box each of them once more and clone the boxes on every request.
/// Over the limit: 429 with `Retry-After`.
pub struct Allowed;

impl FromRequestParts<AppState> for Allowed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match over_limit(state, peer(&parts.extensions)) {
            Some(refused) => Err(refused),
            None => Ok(Allowed),
        }
    }
}

/// The same limit as a middleware, for routes outside the pages (sign-in, `/probe`).
pub async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match over_limit(&state, peer(req.extensions())) {
        Some(refused) => refused,
        None => next.run(req).await,
    }
}

/// The 429 for `ip` when it is over the launch limit.
fn over_limit(state: &AppState, ip: IpAddr) -> Option<Response> {
    let wait = state.limiter.hit(ip).err()?;
    tracing::warn!(%ip, "launch rate limit reached");
    state.metrics.rate_limited("launch");
    let problem = Problem::plain(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many launches",
        format!(
            "This address started more than {} launches or checks in a minute. Try again in {wait} s.",
            state.config.launch_rate_limit_per_minute
        ),
    );
    Some(([(header::RETRY_AFTER, wait.to_string())], problem).into_response())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use governor::clock::FakeRelativeClock;

    use super::*;

    const HOME: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[test]
    fn the_limit_allows_a_burst_then_one_more_per_interval() {
        let clock = FakeRelativeClock::default();
        let l = RateLimiter::with_clock(2, clock.clone());
        assert!(l.hit(HOME).is_ok());
        assert!(l.hit(HOME).is_ok());
        clock.advance(Duration::from_secs(10));
        // Two a minute: the next one is allowed 30 s after the first.
        assert_eq!(l.hit(HOME), Err(20));
        assert!(
            l.hit(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))).is_ok(),
            "per address"
        );
        clock.advance(Duration::from_millis(19_500));
        assert_eq!(l.hit(HOME), Err(1), "rounded up, never 0");
        clock.advance(Duration::from_millis(500));
        assert!(l.hit(HOME).is_ok(), "refilled");
        assert_eq!(l.hit(HOME), Err(30));
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let l = RateLimiter::new(0);
        for _ in 0..1000 {
            assert!(l.hit(HOME).is_ok());
        }
    }

    #[test]
    fn addresses_with_a_full_allowance_again_are_forgotten() {
        let clock = FakeRelativeClock::default();
        let l = RateLimiter::with_clock(60, clock.clone());
        for i in 0..SWEEP_EVERY as u32 - 1 {
            assert!(l.hit(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i))).is_ok());
        }
        assert_eq!(l.remembered(), SWEEP_EVERY - 1);
        clock.advance(Duration::from_secs(2));
        // The check that triggers the sweep is counted after it.
        assert!(l.hit(HOME).is_ok());
        assert_eq!(l.remembered(), 1);
    }
}
