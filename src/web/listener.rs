//! The listener the app is served from: any [`Listener`] whose connections answer hyper's own
//! refusals with a body. hyper refuses a request line too long to parse (414) or headers too
//! large (431) before the router sees the request, with an empty body; every 4xx of this app has
//! a body (a short page, or JSON when the refused request asked for it), so those two answers
//! are replaced on the way out.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Wraps a listener (`Guarded(tokio::net::TcpListener)`); serve it with `axum::serve`.
pub struct Guarded<L>(pub L);

impl<L: Listener> Listener for Guarded<L> {
    type Io = Refusals<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = self.0.accept().await;
        (Refusals::new(io), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// How much of a request is looked at for a sign that it wanted JSON.
const SNIFF_LIMIT: usize = 256 * 1024;

/// One connection. Reads pass through, noting whether the request asked for JSON (`format=json`
/// or `application/json` anywhere in its head); a response head of hyper's 414 or 431 is
/// replaced by one with a body.
pub struct Refusals<S> {
    inner: S,
    /// Whether the bytes read since the last response look like a request for JSON.
    json: bool,
    /// Bytes read since the last response (capped by [`SNIFF_LIMIT`]).
    seen: usize,
    /// The tail of the previous read, so a pattern split between two reads is still found.
    carry: Vec<u8>,
    /// A replacement answer being written, and how much of it is out.
    replacing: Option<(Vec<u8>, usize)>,
}

impl<S> Refusals<S> {
    fn new(inner: S) -> Self {
        Refusals {
            inner,
            json: false,
            seen: 0,
            carry: Vec::new(),
            replacing: None,
        }
    }

    fn sniff(&mut self, data: &[u8]) {
        if self.seen >= SNIFF_LIMIT || self.json {
            return;
        }
        self.seen += data.len();
        let mut window = std::mem::take(&mut self.carry);
        window.extend_from_slice(data);
        let lower = window.to_ascii_lowercase();
        self.json = [&b"format=json"[..], &b"application/json"[..]]
            .iter()
            .any(|p| lower.windows(p.len()).any(|w| w == *p));
        let keep = window.len().saturating_sub(20);
        self.carry = window.split_off(keep);
    }
}

/// The status of a response head hyper writes for a request it could not parse, if it is one of
/// those replaced here (hyper's refusals carry `content-length: 0`).
fn refusal(buf: &[u8]) -> Option<u16> {
    let head = std::str::from_utf8(buf.get(..buf.len().min(1024))?).ok()?;
    let status = if head.starts_with("HTTP/1.1 414 ") {
        414
    } else if head.starts_with("HTTP/1.1 431 ") {
        431
    } else {
        return None;
    };
    head.to_ascii_lowercase()
        .contains("content-length: 0\r\n")
        .then_some(status)
}

/// The replacement answer: status line, headers and body.
fn answer(status: u16, json: bool) -> Vec<u8> {
    let (reason, title, message) = match status {
        414 => (
            "URI Too Long",
            "Address too long",
            "The address (URL) of this request is too long for this server. Launch and callback parameters fit in a few kilobytes; check what added the rest.",
        ),
        _ => (
            "Request Header Fields Too Large",
            "Request headers too large",
            "The request's headers are too large for this server, often because of many or large cookies. Clear this site's cookies and try again.",
        ),
    };
    let (content_type, body) = if json {
        (
            "application/json",
            serde_json::json!({"error": {"status": status, "title": title, "message": message, "request_id": null, "diagnoses": [], "fields": []}})
                .to_string(),
        )
    } else {
        (
            "text/html; charset=utf-8",
            format!(
                "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title} · SMART Launch Doctor</title><link rel=\"stylesheet\" href=\"{style}\"></head><body><main id=\"main\"><section class=\"headline outcome-error\"><h1>{title}</h1><p class=\"plain\">{message}</p><p class=\"muted\">HTTP {status}</p></section><p><a href=\"{home}\">Home</a></p></main></body></html>\n",
                style = super::paths::STYLESHEET,
                home = super::paths::HOME,
            ),
        )
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\ncache-control: no-store\r\nx-content-type-options: nosniff\r\ncontent-security-policy: default-src 'none'; style-src 'self'; base-uri 'none'; frame-ancestors 'none'\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

impl<S: AsyncRead + Unpin> AsyncRead for Refusals<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let new = buf.filled()[before..].to_vec();
            this.sniff(&new);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Refusals<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.replacing.is_none() {
            match refusal(buf) {
                Some(status) => this.replacing = Some((answer(status, this.json), 0)),
                None => {
                    // A response begins or goes on: the next request is sniffed afresh.
                    this.json = false;
                    this.seen = 0;
                    this.carry.clear();
                    return Pin::new(&mut this.inner).poll_write(cx, buf);
                }
            }
        }
        // Our answer stands for hyper's bytes: report them written once ours are.
        while let Some((bytes, done)) = this.replacing.as_mut() {
            if *done >= bytes.len() {
                this.replacing = None;
                return Poll::Ready(Ok(buf.len()));
            }
            match Pin::new(&mut this.inner).poll_write(cx, &bytes[*done..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *done += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::refusal;

    #[test]
    fn only_hypers_empty_414_and_431_are_replaced() {
        assert_eq!(
            refusal(b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: x\r\n\r\n"),
            Some(414)
        );
        assert_eq!(
            refusal(b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n"),
            Some(431)
        );
        assert_eq!(
            refusal(b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 120\r\n\r\n"),
            None
        );
        assert_eq!(
            refusal(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"),
            None
        );
    }
}

/// The client's address on a [`Guarded`] TCP connection, for
/// `into_make_service_with_connect_info::<Peer>()` (the rate limit reads it).
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub std::net::SocketAddr);

impl
    axum::extract::connect_info::Connected<
        axum::serve::IncomingStream<'_, Guarded<tokio::net::TcpListener>>,
    > for Peer
{
    fn connect_info(
        stream: axum::serve::IncomingStream<'_, Guarded<tokio::net::TcpListener>>,
    ) -> Self {
        Peer(*stream.remote_addr())
    }
}

/// Serves `state`'s app on `listener` until `shutdown` resolves, then drains: see
/// [`crate::config::Operations`]. Each connection has hyper's header-read timeout (which also
/// closes idle keep-alive connections), at most `max_connections` are served at once, and after
/// `shutdown` open connections get `shutdown_grace` to finish; callbacks still in flight then
/// are settled and stored, results waiting for the store get a last write, and this returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: super::AppState,
    shutdown: impl std::future::Future<Output = ()>,
) -> io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto;

    let ops = state.config.operations.clone();
    let router = super::router(state.clone());
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(ops.header_read_timeout)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(ops.header_read_timeout));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(ops.max_connections));
    let mut listener = Guarded(listener);
    let mut shutdown = std::pin::pin!(shutdown);
    // Scheduled probes (`[monitor]`), stopped with the listener.
    let monitor = state.monitor.start(state.core.clone());
    // Launches that never returned are settled in the background (`flow::settle`).
    let sweeper = state.settler.start();
    loop {
        // A full house waits here: the kernel's backlog holds the next connections.
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p,
            () = &mut shutdown => break,
        };
        let Ok(permit) = permit else { break };
        let (io, addr) = tokio::select! {
            c = listener.accept() => c,
            () = &mut shutdown => break,
        };
        let service = WithPeer {
            router: router.clone(),
            peer: Peer(addr),
        };
        let conn = builder
            .serve_connection(TokioIo::new(io), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    monitor.stop().await;
    sweeper.stop().await;
    let deadline = tokio::time::Instant::now() + ops.shutdown_grace;
    tracing::info!(
        grace_seconds = ops.shutdown_grace.as_secs(),
        "no longer accepting; open connections may finish"
    );
    let mut drain = std::pin::pin!(graceful.shutdown());
    let drained = tokio::time::timeout_at(deadline, &mut drain).await.is_ok();
    state.callbacks.settle(deadline).await;
    if !drained {
        // Settled callbacks answer their browsers; then the rest are closed.
        let _ = tokio::time::timeout(ANSWER_SETTLED, &mut drain).await;
        tracing::warn!("shutdown grace over: closing the connections still open");
    }
    if !state.store.flush().await {
        tracing::error!(
            waiting = state.store.waiting(),
            "results still waiting for the store are lost at exit"
        );
    }
    Ok(())
}

/// After the grace, how long settled callbacks have to answer their browsers.
const ANSWER_SETTLED: std::time::Duration = std::time::Duration::from_secs(1);

/// The router with the client's address in each request's extensions (the rate limit reads it).
#[derive(Clone)]
struct WithPeer {
    router: axum::Router,
    peer: Peer,
}

impl hyper::service::Service<http::Request<hyper::body::Incoming>> for WithPeer {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = axum::routing::future::RouteFuture<std::convert::Infallible>;

    fn call(&self, mut req: http::Request<hyper::body::Incoming>) -> Self::Future {
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(self.peer));
        tower::Service::call(&mut self.router.clone(), req)
    }
}
