//! Deliberately broken upstreams on loopback: a server that never answers, a plain listener for
//! a TLS handshake, and an axum server answering whatever a test wants.

use axum::Router;
use tokio::net::TcpListener;

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
