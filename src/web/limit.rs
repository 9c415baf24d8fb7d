//! A per-client-IP rate limit on the routes that start outbound work (launches, checks, gallery
//! runs): a fixed one-minute window per address. Over the limit: 429 with `Retry-After`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Problem;
use crate::state::AppState;

const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered before old windows are swept.
const SWEEP_AT: usize = 10_000;

/// Counts per address in the current window.
pub struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl RateLimiter {
    /// `per_minute` = 0 turns the limit off.
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds to wait)` when `ip` is over the limit.
    pub fn hit(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = windows.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
        if entry.1 > self.per_minute {
            let left = WINDOW.saturating_sub(now.duration_since(entry.0));
            return Err(left.as_secs().max(1));
        }
        Ok(())
    }
}

/// The middleware: the peer address from the connection (proxies' headers are not trusted).
pub async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    match state.limiter.hit(ip, Instant::now()) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            tracing::warn!(%ip, "launch rate limit reached");
            let problem = Problem::plain(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many launches",
                format!(
                    "This address started more than {} launches or checks in a minute. Try again in {wait} s.",
                    state.config.launch_rate_limit_per_minute
                ),
            );
            ([(header::RETRY_AFTER, wait.to_string())], problem).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_allows_the_limit_then_refuses_until_it_ends() {
        let l = RateLimiter::new(2);
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let t0 = Instant::now();
        assert!(l.hit(ip, t0).is_ok());
        assert!(l.hit(ip, t0).is_ok());
        let wait = l.hit(ip, t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, 50);
        assert!(
            l.hit(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), t0).is_ok(),
            "per address"
        );
        assert!(l.hit(ip, t0 + WINDOW).is_ok(), "a new window");
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let l = RateLimiter::new(0);
        for _ in 0..1000 {
            assert!(
                l.hit(IpAddr::V4(Ipv4Addr::LOCALHOST), Instant::now())
                    .is_ok()
            );
        }
    }
}
