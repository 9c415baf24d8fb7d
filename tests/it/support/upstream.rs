//! Deliberately broken upstreams on loopback: a server that never answers, a plain listener for
//! a TLS handshake, an axum server answering whatever a test wants, and a hand-written one for
//! answers HTTP libraries refuse to produce.

use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Accepts connections and never answers (held open until the test ends).
pub async fn blackhole() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    port
}

/// Serves `router` on a loopback port; returns its origin `http://127.0.0.1:PORT`.
pub async fn serve(router: Router) -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        let _ = axum::serve(l, router).await;
    });
    format!("http://127.0.0.1:{port}")
}

/// What a hand-written server saw of one request.
#[derive(Clone, Debug)]
pub struct RawRequest {
    pub method: String,
    /// The request target as sent, e.g. `/fhir/.well-known/smart-configuration`.
    pub path: String,
}

/// A server that writes bytes by hand, for misbehaviour axum cannot produce (lying
/// `Content-Length`, invalid UTF-8, a body trickled out byte by byte). Each connection's request
/// is read in full (head and `Content-Length` body), then `answer` owns the socket; the
/// connection is closed when it returns. Every request is also logged in order. Returns the
/// origin `http://127.0.0.1:PORT` and the log.
pub async fn raw<F, Fut>(answer: F) -> (String, Arc<Mutex<Vec<RawRequest>>>)
where
    F: Fn(RawRequest, TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (answer, seen) = (Arc::new(answer), log.clone());
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let (answer, seen) = (answer.clone(), seen.clone());
            tokio::spawn(async move {
                if let Some(req) = read_request(&mut s).await {
                    seen.lock().unwrap().push(req.clone());
                    answer(req, s).await;
                }
            });
        }
    });
    (format!("http://127.0.0.1:{port}"), log)
}

/// A [`raw`] server answering every request with `bytes(request)`, written at once.
pub async fn raw_bytes(
    bytes: impl Fn(&RawRequest) -> Vec<u8> + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<RawRequest>>>) {
    let bytes = Arc::new(bytes);
    raw(move |req, mut s| {
        let out = bytes(&req);
        async move {
            let _ = s.write_all(&out).await;
            let _ = s.shutdown().await;
        }
    })
    .await
}

/// An HTTP/1.1 response head (status line, `Connection: close`, `headers`) and `body`.
pub fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    let mut out = (out + "\r\n").into_bytes();
    out.extend_from_slice(body);
    out
}

/// Reads one request: the head, then as many body bytes as `Content-Length` says, so that
/// closing the socket afterwards sends FIN, not a reset that would hide the answer.
async fn read_request(s: &mut TcpStream) -> Option<RawRequest> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let body_len = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < head_end + body_len {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let mut first = head.lines().next()?.split(' ');
    Some(RawRequest {
        method: first.next()?.to_string(),
        path: first.next()?.to_string(),
    })
}
